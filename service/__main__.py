"""``python -m service`` (console script ``aftersale``): run the service, or call it.

    serve        the gRPC server (and the timer worker unless AFTERSALE_TIMERS=0);
                 --workers N|auto: N such processes on one port under a supervisor
    timers       the timer worker only (scale timers apart from the API), and the archiver
    get, history, watch, fire-timer, status
                 ops calls through the API (see ``service.cli``)
    call         any RPC by name with a JSON body; error details decoded (``service.call``)
    health       the server's health (exit 0 when SERVING), for probes

Configuration comes from the environment (``service.config``). Logs go to stderr as JSON lines
(``AFTERSALE_LOG_FORMAT``; key=value text on a terminal), one access line per RPC; metrics are
served on ``AFTERSALE_METRICS_LISTEN``; tracing follows the ``OTEL_*`` variables. SIGTERM or
SIGINT stops gracefully: the process exits 0 once everything is stopped. SIGHUP reads the
tokens file again (a file that cannot be read keeps the tokens in use).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import signal
import sys
from collections.abc import Sequence

import uvloop  # a faster event loop for Redis I/O and the servicer; grpc.aio runs on it

from service import call, cli
from service.config import ConfigError, Settings
from service.gc_tuning import freeze_startup_heap, tune_gc
from service.observability import logs
from service.supervisor import supervise
from service.workers import WorkerLink, add_serve_arguments, serve_workers


def configure_logging(level: str, log_format: str = "auto") -> None:
    """Every logger to stderr at ``level``: JSON lines, or key=value text (``auto``: text on
    a terminal, JSON otherwise), with the RPC and trace of the call that wrote them."""
    logs.configure(level, log_format)


def _usage_banner(address: str, settings: Settings, metrics_address: str = "") -> str:
    scheme = "" if settings.tls_cert else "-plaintext "
    tokens = settings.tokens_path
    python = shlex.quote(sys.executable)  # bare `python` outside the venv lacks the packages
    ops_token = f"$({python} -m service token ops --tokens {tokens})"
    lines = [
        f"aftersale listening on {address}",
        f"  tokens (bearer, per calling service): {tokens}",
        f"  list the API:   grpcurl {scheme}{address} list aftersale.v1.AfterSaleService",
        f'  call it as ops: grpcurl {scheme}-H "authorization: Bearer {ops_token}" \\',
        f'                    -d \'{{"request_id": "AS07-…"}}\' {address} \\',
        "                    aftersale.v1.AfterSaleService/GetAfterSale",
        f"  or:             {python} -m service get AS07-… --address {address}",
        f"  metrics:        http://{metrics_address}/metrics" if metrics_address else "",
    ]
    return "\n".join(line for line in lines if line)


async def _run(settings: Settings, *, serve: bool, worker: WorkerLink | None = None) -> int:
    from service.bootstrap import build  # noqa: PLC0415 - keeps `--help` and the CLI light

    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before build: a signal then waits for it
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: None)  # never fatal; ignored until built
    app = await build(settings, serve=serve)
    loop.add_signal_handler(signal.SIGHUP, app.reload)  # read the tokens file again
    try:
        await app.start()
        freeze_startup_heap()  # after start: the app's own objects are made by then
        if worker is not None:
            worker.started(stop)  # the supervisor prints the banner once
        elif serve:
            print(_usage_banner(app.address, settings, app.metrics_address), flush=True)
        await stop.wait()
        logging.getLogger("service").info("stopping on signal")
    finally:
        await app.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``aftersale`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="aftersale", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gRPC server (and the timer worker)")
    add_serve_arguments(serve)
    commands.add_parser("timers", help="run the timer worker only")
    cli.add_commands(commands)
    call.add_command(commands)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"aftersale: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command in ("serve", "timers"):
        configure_logging(settings.log_level, settings.log_format)
        archiving = settings.archiver_enabled and settings.archive_mode != "off"
        if args.command == "timers" and not settings.timers_enabled and not archiving:
            print("aftersale: AFTERSALE_TIMERS=0 leaves `timers` nothing to do (no archiver: "
                  "the archive is off)", file=sys.stderr)  # fmt: skip
            return 2
        worker = WorkerLink.of(args) if args.command == "serve" else None
        try:
            workers = serve_workers(args, settings) if args.command == "serve" else 1
        except ConfigError as exc:
            print(f"aftersale: configuration error: {exc}", file=sys.stderr)
            return 2
        try:
            if workers > 1 and worker is None:
                return supervise(settings, workers)
            if worker is not None:
                settings = worker.settings(settings)
            return uvloop.run(_run(settings, serve=args.command == "serve", worker=worker))
        except Exception as exc:  # bind, Redis, token file, …: one line says why, log has more
            logging.getLogger("service").critical("cannot start: %s", exc, exc_info=exc)
            print(f"aftersale: cannot start: {exc}", file=sys.stderr)
            return 1
    if args.command == "call":
        return call.run(args, settings)
    return cli.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
