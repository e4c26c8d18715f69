"""The published retry policy (proto/aftersale/v1/service_config.json): it retries exactly
the codes whose reasons say "retry as is", and a Python gRPC channel that loads it retries a
real server's UNAVAILABLE until it succeeds."""

from __future__ import annotations

import json
from typing import Any

import grpc

from service.api.errors import REASONS, SERVICE_CONFIG, retry_channel_options, retry_policy_codes
from service.api.server import add_servicer
from service.cli import new_stub
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import aftersale_pb2_grpc


def test_the_service_config_retries_the_codes_of_the_retryable_reasons() -> None:
    config = json.loads(SERVICE_CONFIG.read_text())
    (method,) = config["methodConfig"]

    assert method["name"] == [{"service": "aftersale.v1.AfterSaleService"}]
    assert sorted(method["retryPolicy"]["retryableStatusCodes"]) == retry_policy_codes()
    assert retry_policy_codes() == ["RESOURCE_EXHAUSTED", "UNAVAILABLE"]
    # ABORTED carries RetryInfo too, but its retry needs a fresh read first: never automatic.
    assert REASONS["VERSION_CONFLICT"].retry_after_s == 0


class _FlakyService(aftersale_pb2_grpc.AfterSaleServiceServicer):
    """Answers UNAVAILABLE twice, then the request."""

    def __init__(self) -> None:
        self.calls = 0

    async def GetAfterSale(self, request: Any, context: Any) -> Any:  # noqa: N802 - the RPC
        self.calls += 1
        if self.calls <= 2:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "storage unavailable, retry later")
        return pb.GetAfterSaleResponse()


async def test_a_channel_with_the_service_config_retries_unavailable() -> None:
    flaky = _FlakyService()
    server = grpc.aio.server()
    add_servicer(flaky, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address, options=retry_channel_options()) as ch:
            stub = new_stub(ch)
            await stub.GetAfterSale(pb.GetAfterSaleRequest(request_id="AS01-x"), timeout=10)
        with_policy = flaky.calls
        async with grpc.aio.insecure_channel(address) as plain:
            flaky.calls = 0
            stub = new_stub(plain)
            try:
                await stub.GetAfterSale(pb.GetAfterSaleRequest(request_id="AS01-x"), timeout=10)
            except grpc.aio.AioRpcError as error:
                without = error.code()
    finally:
        await server.stop(None)

    assert with_policy == 3  # two UNAVAILABLE retried, the third answered
    assert without == grpc.StatusCode.UNAVAILABLE  # no policy: the first failure is final
    assert flaky.calls == 1
