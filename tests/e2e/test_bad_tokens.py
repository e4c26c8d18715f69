"""Page tokens and cursors from outside (SPEC §8): anything that is not a token this service
issued is INVALID_ARGUMENT naming the field (``page_token``, ``cursor``), never INTERNAL —
for the cases seen in the wild and for whatever hypothesis makes of text and base64 of JSON."""

from __future__ import annotations

import asyncio
import base64
import json
import zlib
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.gen.aftersale.v1 import aftersale_pb2 as pb
from tests.e2e.support import Api, Request, applied, bad_field, rpc_error
from tests.reliability import fuzz

OPEN_WAIT_S = 2.0  # a stream that has not failed by then was accepted
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def plain_cursor(document: Any) -> str:
    """A cursor in the storage's unsealed form: base64 of zlib'd JSON."""
    return b64(zlib.compress(json.dumps(document).encode()))


@pytest.fixture
async def req(api: Api) -> Request:
    return await applied(api)


async def watch_outcome(api: Api, cursor: str) -> grpc.StatusCode:
    """OK when the stream opened (it is cancelled then), else the code it ended with."""
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=cursor))
    try:
        await asyncio.wait_for(stream.read(), timeout=OPEN_WAIT_S)
    except TimeoutError:
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as error:
        assert error.code() != grpc.StatusCode.INVALID_ARGUMENT or bad_field(error) == "cursor"
        return error.code()
    finally:
        stream.cancel()
    return grpc.StatusCode.OK


async def test_a_list_page_token_of_true_and_text_is_invalid_argument(api: Api) -> None:
    token = b64(b'[true,"x"]')

    error = await rpc_error(api.ops.ListAfterSales(pb.ListAfterSalesRequest(page_token=token)))

    assert bad_field(error) == "page_token"


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(plain_cursor({"n": 64, "ids": {"0": "1 "}}), id="space-after-the-id"),
        pytest.param(plain_cursor({"n": 64, "ids": {"0": "١-0"}}), id="non-ascii-digit"),
        pytest.param(plain_cursor({"n": 64, "ids": {"0": f"{10**25}-0"}}), id="ten-to-the-25"),
        pytest.param(plain_cursor({"n": 64, "ids": {"-1": "1-0"}}), id="negative-shard"),
        pytest.param(plain_cursor({"n": 64, "ids": []}), id="ids-not-an-object"),
        pytest.param(b64(zlib.compress(b"[" * 5_000 + b"]" * 5_000)), id="deeply-nested"),
    ],
)
async def test_a_malformed_cursor_is_invalid_argument_naming_the_cursor(
    api: Api, cursor: str
) -> None:
    stream = api.ops.WatchTransitions(pb.WatchTransitionsRequest(cursor=cursor))

    error = await rpc_error(stream.read())

    assert bad_field(error) == "cursor"


@FUZZ
@given(token=fuzz.tokens())
async def test_any_list_page_token_is_ok_or_invalid_argument(api: Api, token: str) -> None:
    request = pb.ListAfterSalesRequest(page_token=token)

    try:
        await api.ops.ListAfterSales(request)
    except grpc.aio.AioRpcError as error:
        assert bad_field(error) == "page_token", (token, error.code(), error.details())


@FUZZ
@given(token=fuzz.tokens() | st.from_regex(r"[0-9]{1,12}", fullmatch=True))
async def test_any_history_page_token_is_ok_or_invalid_argument(req: Request, token: str) -> None:
    request = pb.GetHistoryRequest(request_id=req.request_id, page_token=token)

    try:
        await req.buyer.GetHistory(request)
    except grpc.aio.AioRpcError as error:
        assert bad_field(error) == "page_token", (token, error.code(), error.details())


@FUZZ
@given(cursor=fuzz.tokens())
async def test_any_watch_cursor_is_ok_or_invalid_argument(api: Api, cursor: str) -> None:
    code = await watch_outcome(api, cursor)

    assert code in (grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT), (cursor, code)
