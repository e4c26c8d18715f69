"""Health checks and polling for the tests of health, self-healing and the ops status."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICE = "aftersale.v1.AfterSaleService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health(channel: Any, service: str = "") -> int:
    """The grpc.health.v1 status of ``service`` ("": the whole server)."""
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    status: int = reply.status
    return status


async def readiness(channel: Any) -> tuple[int, int]:
    """The server's and the service's status (they move together)."""
    return await health(channel, ""), await health(channel, SERVICE)


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float, what: str) -> None:
    """Poll ``check`` every 50 ms until it holds; fail after ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        assert loop.time() < deadline, f"not within {within_s}s: {what}"
        await asyncio.sleep(0.05)
