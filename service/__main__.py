"""``python -m service`` (console script ``aftersale``): run the service, or call it.

    serve        the gRPC server (and the timer worker unless AFTERSALE_TIMERS=0)
    timers       the timer worker only (scale timers apart from the API)
    get, history, watch, fire-timer, status
                 ops calls through the API (see ``service.cli``)
    health       the server's health (exit 0 when SERVING), for probes

Configuration comes from the environment (``service.config``). Logs are key=value lines on
stderr. SIGTERM or SIGINT stops gracefully: the process exits 0 once everything is stopped.
SIGHUP reads the tokens file again (a file that cannot be read keeps the tokens in use).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Sequence

import uvloop  # a faster event loop for Redis I/O and the servicer; grpc.aio runs on it

from service import cli
from service.config import ConfigError, Settings


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=… logger=… msg="…"`` (plus ``exc="…"``): one greppable line per record."""

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [
            f"ts={ts}.{int(record.msecs):03d}Z",
            f"level={record.levelname}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _usage_banner(address: str, settings: Settings) -> str:
    scheme = "" if settings.tls_cert else "-plaintext "
    tokens = settings.tokens_path
    ops_token = f"$(python -m service token ops --tokens {tokens})"
    return "\n".join(
        [
            f"aftersale listening on {address}",
            f"  tokens (bearer, per calling service): {tokens}",
            f"  list the API:   grpcurl {scheme}{address} list aftersale.v1.AfterSaleService",
            f'  call it as ops: grpcurl {scheme}-H "authorization: Bearer {ops_token}" \\',
            f'                    -d \'{{"request_id": "AS07-…"}}\' {address} \\',
            "                    aftersale.v1.AfterSaleService/GetAfterSale",
            f"  or:             python -m service get AS07-… --address {address}",
        ]
    )


async def _run(settings: Settings, *, serve: bool) -> int:
    from service.bootstrap import build  # noqa: PLC0415 - keeps `--help` and the CLI light

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before build: a signal then waits for it
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: None)  # never fatal; ignored until built
    app = await build(settings, serve=serve)
    loop.add_signal_handler(signal.SIGHUP, app.reload)  # read the tokens file again
    try:
        await app.start()
        if serve:
            print(_usage_banner(app.address, settings), flush=True)
        await stop.wait()
        logging.getLogger("service").info("stopping on signal")
    finally:
        await app.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``aftersale`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="aftersale", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC server (and the timer worker)")
    commands.add_parser("timers", help="run the timer worker only")
    cli.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"aftersale: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command in ("serve", "timers"):
        configure_logging(settings.log_level)
        if args.command == "timers" and not settings.timers_enabled:
            print("aftersale: AFTERSALE_TIMERS=0 leaves `timers` nothing to do", file=sys.stderr)
            return 2
        try:
            return uvloop.run(_run(settings, serve=args.command == "serve"))
        except Exception as exc:  # bind, Redis, token file, …: one line says why, log has more
            logging.getLogger("service").critical("cannot start: %s", exc, exc_info=exc)
            print(f"aftersale: cannot start: {exc}", file=sys.stderr)
            return 1
    return cli.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
