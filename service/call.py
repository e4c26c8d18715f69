"""``aftersale call RPC [BODY]``: any RPC by name, with a JSON body, for ops at a terminal.

    aftersale call GetAfterSale '{"request_id": "AS07-…"}' --lang zh-CN
    aftersale call RejectAfterSale @reject.json --service order-system --role MERCHANT \\
        --shop-id shop-9
    echo '{}' | aftersale call ListRejectReasons -

The method and its message types come from the stubs' own descriptors (``service.gen``), so
no reflection and no proto file is needed. A reply is printed as JSON on stdout (a stream: one
line per message). A refusal is printed as JSON too, with its ``google.rpc.Status`` details
decoded (ErrorInfo, LocalizedMessage, RetryInfo, BadRequest, PreconditionFailure, …: the
ones ``buf curl`` shows as base64), and one line on stderr: code, reason and the message in
``--lang``. Exit status: 0 answered, 1 refused or failed, 2 bad usage (unknown RPC, body that
does not parse).

A mutating request sent without ``idempotency_key`` gets a fresh one, named on stderr, so a
retry can reuse it (``--idempotency-key`` sets it).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from service import cli
from service.api.tokens import TokenFileError
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["AfterSaleService"]
# Registers every google.rpc detail type, so the Status' Any details decode to JSON.
DETAIL_TYPES = error_details_pb2.DESCRIPTOR
LANGUAGES = {"zh": "zh-CN", "zh-cn": "zh-CN", "en": "en-US", "en-us": "en-US"}


class UsageError(ValueError):
    """The RPC name or the body cannot make a call (exit status 2)."""


def add_command(commands: Any) -> None:
    """Add ``call`` to an argparse subparsers object."""
    call = commands.add_parser("call", help="call any RPC by name with a JSON body")
    call.add_argument("rpc", help="e.g. GetAfterSale (or aftersale.v1.AfterSaleService/…)")
    # Required (no default): an optional positional would stop flags between the two.
    call.add_argument("body", help="JSON ('{}' for an empty request), @FILE, or - for stdin")
    call.add_argument("--lang", default="en-US", help="zh-CN or en-US: the message shown")
    call.add_argument("--idempotency-key", default=None, help="default: a fresh one")
    call.add_argument("--timeout", type=float, default=None, help="seconds (unary calls)")
    cli.connection_options(call)


def method_named(name: str) -> MethodDescriptor:
    """The method of ``AfterSaleService`` called ``name`` (full or short)."""
    short = name.rsplit("/", 1)[-1]
    method = SERVICE.methods_by_name.get(short)
    if method is None:
        known = ", ".join(sorted(SERVICE.methods_by_name))
        raise UsageError(f"no RPC {name!r} in {SERVICE.full_name}; known: {known}")
    return method


def request_of(method: MethodDescriptor, body: str, key: str | None) -> Message:
    """Parse ``body`` (JSON, proto or JSON field names) into the method's request message."""
    request = message_factory.GetMessageClass(method.input_type)()
    try:
        json_format.Parse(body, request)
    except json_format.ParseError as exc:
        raise UsageError(f"body of {method.name}: {exc}") from exc
    field = "idempotency_key"
    if field in request.DESCRIPTOR.fields_by_name and not getattr(request, field):
        setattr(request, field, key or uuid.uuid4().hex)
        print(f"{field}: {getattr(request, field)}", file=sys.stderr)
    return request


def invoke(
    channel: grpc.Channel,
    method: MethodDescriptor,
    request: Message,
    metadata: list[tuple[str, str]],
    timeout: float | None,
) -> Iterator[Message]:
    """Send ``request``; yield the reply (or, for a server stream, every message)."""
    path = f"/{SERVICE.full_name}/{method.name}"
    reply_class = message_factory.GetMessageClass(method.output_type)
    serializer, deserializer = type(request).SerializeToString, reply_class.FromString
    if method.server_streaming:
        stream = channel.unary_stream(path, serializer, deserializer)
        yield from stream(request, metadata=metadata)
        return
    unary = channel.unary_unary(path, serializer, deserializer)
    yield unary(request, metadata=metadata, timeout=timeout)


def error_document(error: grpc.RpcError, lang: str) -> dict[str, Any]:
    """The status of a failed call with its details decoded, as a JSON-ready dict.

    LocalizedMessage details other than ``lang`` are left out when ``lang`` is present.
    """
    status = rpc_status.from_call(error)
    document: dict[str, Any] = {"code": error.code().name, "message": error.details()}
    if status is None:
        return document
    details = [_detail(any_detail) for any_detail in status.details]
    localized = [d for d in details if d.get("@type", "").endswith("LocalizedMessage")]
    if any(d.get("locale") == lang for d in localized):
        details = [d for d in details if d not in localized or d.get("locale") == lang]
    document["details"] = details
    return document


def _detail(any_detail: Any) -> dict[str, Any]:
    wrapper = status_pb2.Status(details=[any_detail])
    try:
        decoded = json_format.MessageToDict(wrapper, preserving_proto_field_name=True)
    except json_format.Error:  # a detail type this client does not know: keep it opaque
        return {"@type": any_detail.type_url, "value": any_detail.value.hex()}
    detail: dict[str, Any] = decoded["details"][0]
    return detail


def summary(document: dict[str, Any]) -> str:
    """One line for a person: code, reason, the localized message (or the status message)."""
    details = document.get("details", [])
    reason = next((d["reason"] for d in details if d.get("@type", "").endswith("ErrorInfo")), "")
    text = next(
        (d["message"] for d in details if d.get("@type", "").endswith("LocalizedMessage")),
        document["message"],
    )
    return " ".join(part for part in (document["code"], reason, text) if part)


def _body(argument: str) -> str:
    if argument == "-":
        return sys.stdin.read()
    if argument.startswith("@"):
        return Path(argument[1:]).read_text(encoding="utf-8")
    return argument


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``call``: 0 when answered, 1 when refused or failed, 2 for a usage error."""
    lang = LANGUAGES.get(args.lang.lower(), args.lang)
    try:
        method = method_named(args.rpc)
        request = request_of(method, _body(args.body), args.idempotency_key)
        caller = cli.caller(args, settings)
    except (UsageError, OSError, TokenFileError) as exc:
        print(f"aftersale: {exc}", file=sys.stderr)
        return 2
    with cli.open_channel(caller.address, caller.ca_cert) as channel:
        try:
            for reply in invoke(channel, method, request, caller.metadata, args.timeout):
                print(cli.to_json(reply), flush=True)
        except grpc.RpcError as error:
            document = error_document(error, lang)
            print(json.dumps(document, ensure_ascii=False, indent=2), flush=True)
            print(f"error: {summary(document)}", file=sys.stderr, flush=True)
            return 1
        except (KeyboardInterrupt, BrokenPipeError):
            return 0
    return 0
