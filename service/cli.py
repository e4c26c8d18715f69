"""Ops commands that call the running service through its API (as PLATFORM by default).

    aftersale get REQUEST_ID              the request (JSON)
    aftersale history REQUEST_ID          its transitions, oldest first (JSON lines)
    aftersale watch [--from-oldest] …     the transition stream (JSON lines) until Ctrl-C
    aftersale fire-timer REQUEST_ID       fire the pending timer now
    aftersale token SERVICE               print a token of SERVICE from the token file
    aftersale status [--limit N]          the ops status (GetStatus, JSON)
    aftersale health [--liveness]         the server's grpc.health.v1 status: exit 0 when
                                          SERVING, 1 otherwise (no answer included)
    aftersale call RPC [BODY] [--lang L]  any RPC by name, JSON in, JSON out, error details
                                          decoded (``service.call``)

The bearer token comes from the data directory's token file (``ops`` by default), so on the
machine that runs ``make run`` these work with no flags. ``health`` needs no token: it is what
container and orchestrator probes run (readiness by default, ``--liveness`` for liveness;
names and meaning in ``service.health``).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from service.api.errors import retry_channel_options
from service.api.tokens import TokenFileError, token_of
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc


def add_commands(commands: Any) -> None:
    """Add the ops subcommands to an argparse subparsers object."""
    for name, help_text in (
        ("get", "show one request"),
        ("history", "show a request's transitions"),
        ("fire-timer", "fire a request's pending timer now"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("request_id")
        connection_options(command)
        if name == "fire-timer":
            command.add_argument("--expected-version", type=int, default=None)
    watch = commands.add_parser("watch", help="follow the transition stream")
    connection_options(watch)
    watch.add_argument("--cursor", default="", help="resume after this cursor")
    watch.add_argument("--from-oldest", action="store_true", help="start at the oldest event")
    watch.add_argument("--filter-shop", default="", help="only this shop's events")
    watch.add_argument("--filter-order", default="", help="only this order's events")
    token = commands.add_parser("token", help="print a token of a calling service")
    token.add_argument("service", nargs="?", default="ops")
    token.add_argument("--tokens", type=Path, default=None, help="token file")
    status = commands.add_parser("status", help="show the ops status (GetStatus)")
    connection_options(status)
    status.add_argument("--limit", type=int, default=0, help="overdue timers/flagged listed")
    health = commands.add_parser("health", help="exit 0 if the server is serving (probes)")
    health.add_argument("--address", default=None, help="host:port (default AFTERSALE_LISTEN)")
    health.add_argument("--liveness", action="store_true", help="liveness, not readiness")
    health.add_argument("--name", default=None, help="health service name to check instead")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds to wait (3)")
    health.add_argument("--ca-cert", type=Path, default=None, help="TLS: CA of the server")


def connection_options(command: argparse.ArgumentParser) -> None:
    """The flags that say where the server is and who calls it (ops by default)."""
    command.add_argument("--address", default=None, help="host:port (default AFTERSALE_LISTEN)")
    command.add_argument("--tokens", type=Path, default=None, help="token file")
    command.add_argument("--service", default="ops", help="whose token to use (default ops)")
    command.add_argument("--token", default=None, help="bearer token (overrides --service)")
    command.add_argument("--role", default="PLATFORM", help="x-actor-role (default PLATFORM)")
    command.add_argument("--actor-id", default="", help="x-actor-id (buyer, operator)")
    command.add_argument("--shop-id", default="", help="x-shop-id (merchant)")
    command.add_argument("--ca-cert", type=Path, default=None, help="TLS: CA of the server")


@dataclass(frozen=True)
class Caller:
    """Where to call and as whom, from the connection flags and the settings."""

    address: str
    ca_cert: Path | None
    metadata: list[tuple[str, str]]


def caller(args: argparse.Namespace, settings: Settings) -> Caller:
    """The caller the flags describe; raises ``TokenFileError`` if no token can be had."""
    token = args.token or token_of(args.tokens or settings.tokens_path, service=args.service)
    metadata = [("authorization", f"Bearer {token}"), ("x-actor-role", args.role)]
    metadata += [
        (k, v) for k, v in (("x-actor-id", args.actor_id), ("x-shop-id", args.shop_id)) if v
    ]
    return Caller(args.address or settings.listen, args.ca_cert or settings.tls_cert, metadata)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ops command; the exit status is 1 for an RPC error, 2 for a usage error."""
    if args.command == "health":
        return check_health(args, settings)
    try:
        if args.command == "token":
            print(token_of(args.tokens or settings.tokens_path, service=args.service))
            return 0
        who = caller(args, settings)
    except TokenFileError as exc:
        print(f"aftersale: {exc}", file=sys.stderr)
        return 2
    with open_channel(who.address, who.ca_cert) as channel:
        stub = new_stub(channel)
        try:
            for message in _call(stub, args, who.metadata):
                print(to_json(message, zeros=args.command == "status"), flush=True)
        except grpc.RpcError as error:
            _print_error(error)
            return 1
        except (KeyboardInterrupt, BrokenPipeError):
            return 0
    return 0


# The generated module is untyped; the stub is used as Any.
new_stub: Callable[[Any], Any] = aftersale_pb2_grpc.AfterSaleServiceStub


def open_channel(address: str, ca_cert: Path | None) -> Any:
    """A blocking channel with the published retry policy: TLS when a CA certificate is
    given."""
    options = retry_channel_options()
    if ca_cert is None:
        return grpc.insecure_channel(address, options=options)
    credentials = grpc.ssl_channel_credentials(ca_cert.read_bytes())
    return grpc.secure_channel(address, credentials, options=options)


def _call(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> Iterator[Any]:
    if args.command == "get":
        yield stub.GetAfterSale(
            pb.GetAfterSaleRequest(request_id=args.request_id), metadata=metadata
        )
    elif args.command == "history":
        token = ""
        while True:
            request = pb.GetHistoryRequest(request_id=args.request_id, page_token=token)
            page = stub.GetHistory(request, metadata=metadata)
            yield from page.events
            token = page.next_page_token
            if not token:
                return
    elif args.command == "fire-timer":
        fire = pb.FireTimerRequest(
            request_id=args.request_id,
            idempotency_key=uuid.uuid4().hex,
            expected_version=args.expected_version,
        )
        yield stub.FireTimer(fire, metadata=metadata)
    elif args.command == "status":
        yield stub.GetStatus(pb.GetStatusRequest(limit=args.limit), metadata=metadata)
    elif args.command == "watch":
        watch = pb.WatchTransitionsRequest(
            cursor=args.cursor,
            from_oldest=args.from_oldest,
            shop_id=args.filter_shop,
            order_id=args.filter_order,
        )
        yield from stub.WatchTransitions(watch, metadata=metadata)


def to_json(message: Message, *, zeros: bool = False) -> str:
    """One line of JSON, proto field names, non-ASCII as is."""
    document = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=zeros
    )
    return json.dumps(document, ensure_ascii=False)


def check_health(args: argparse.Namespace, settings: Settings) -> int:
    """``health``: print the status of readiness (or liveness, or ``--name``); 0 if SERVING."""
    name = args.name if args.name is not None else ("liveness" if args.liveness else "")
    address, ca_cert = args.address or settings.listen, args.ca_cert or settings.tls_cert
    with open_channel(address, ca_cert) as channel:
        stub = health_stub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=args.timeout)
        except grpc.RpcError as error:
            print(f"UNKNOWN: {error.code().name}: {error.details()}", flush=True)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status, flush=True)
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


health_stub: Callable[[Any], Any] = health_pb2_grpc.HealthStub


def _print_error(error: Any) -> None:
    print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.LocalizedMessage,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
        ):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                print(f"  {kind.__name__}: {to_json(message)}", file=sys.stderr)
