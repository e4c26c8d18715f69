"""Health and server reflection answer without a token, so load balancers and grpcurl work."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from redis.asyncio import Redis

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings

SERVICE = "aftersale.v1.AfterSaleService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def health_stub(channel: Any) -> Any:
    return health_pb2_grpc.HealthStub(channel)


async def status_of(channel: Any, service: str) -> Any:
    reply = await health_stub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    return reply.status


async def test_health_is_serving_for_the_server_and_the_service(channel: Any) -> None:
    assert await status_of(channel, "") == SERVING
    assert await status_of(channel, SERVICE) == SERVING


async def test_health_turns_not_serving_when_a_stop_begins(app: App, channel: Any) -> None:
    app.drain_s = 0.5  # the window load balancers get to see NOT_SERVING
    stopping = asyncio.create_task(app.stop(grace_s=1.0))

    deadline = asyncio.get_running_loop().time() + 5
    while await status_of(channel, SERVICE) == SERVING:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    await stopping

    assert stopping.done()


def reflect(address: str) -> tuple[list[str], list[str], str]:
    """What a reflection client (grpcurl) sees: services, the service's methods, a type."""
    with grpc.insecure_channel(address) as sync_channel:
        database = ProtoReflectionDescriptorDatabase(sync_channel)
        services = list(database.get_services())
        pool = DescriptorPool(database)
        methods = [m.name for m in pool.FindServiceByName(SERVICE).methods]
        state = pool.FindMessageTypeByName("aftersale.v1.AfterSale").fields_by_name["state"]
        assert state.enum_type is not None
        return services, methods, state.enum_type.full_name


async def test_reflection_lists_the_service_and_resolves_its_types(app: App) -> None:
    services, methods, state_enum = await asyncio.to_thread(reflect, app.address)

    assert {SERVICE, "grpc.health.v1.Health"} <= set(services)
    assert {"RejectAfterSale", "WatchTransitions", "FireTimer"} <= set(methods)
    assert state_enum == "aftersale.v1.AfterSaleStatus"


async def test_shutdown_grace_drain_and_the_watch_keepalive_come_from_the_settings(
    settings: Settings, clock: FakeClock, redis: Redis
) -> None:
    configured = dataclasses.replace(
        settings, shutdown_grace_s=3.0, shutdown_drain_s=0.25, watch_keepalive_s=0.5
    )

    app = await build(configured, clock=clock, redis=redis)
    await app.stop()

    assert (app.grace_s, app.drain_s) == (3.0, 0.25)
    assert app.watch is not None and app.watch.keepalive_s == 0.5
