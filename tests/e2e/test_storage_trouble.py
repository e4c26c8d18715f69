"""When Redis cannot serve, callers hear it as UNAVAILABLE with a reason, soon, and nothing is
written: a Redis that refuses writes (MISCONF: it cannot persist), a Redis out of memory
(maxmemory with noeviction) and a hung Redis (stopped with SIGSTOP; its client alone would
retry for about 20 s)."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from redis.asyncio import Redis
from redis.exceptions import OutOfMemoryError

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.connection import connect
from service.storage.redis_server import EmbeddedRedis
from tests.e2e.conftest import START_MS
from tests.e2e.support import Api, applied, create_request, detail, key, rpc_error, unique


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own: the tests here break it."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        pid = server.pid
        if pid is not None:
            os.kill(pid, signal.SIGCONT)  # a stopped server cannot be shut down
        server.stop()


@pytest.fixture
async def troubled(tmp_path: Path, own_redis: EmbeddedRedis) -> AsyncIterator[tuple[App, Api]]:
    settings = Settings(
        listen="127.0.0.1:0",
        data_dir=tmp_path / "data",
        timers_enabled=False,
        redis_url=own_redis.url,
        call_timeout_s=1.0,
        metrics_listen="",
    )
    clock = FakeClock(START_MS)
    client = connect(settings)
    assert isinstance(client, Redis)
    app = await build(settings, clock=clock, redis=client)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.address) as channel:
            yield app, Api(channel, settings.tokens_path, clock)
    finally:
        await app.stop(grace_s=0.5)
        await client.aclose()


async def test_a_redis_that_cannot_persist_answers_unavailable_and_writes_nothing(
    troubled: tuple[App, Api], own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    app, api = troubled
    req = await applied(api)
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    admin = app.redis
    await admin.config_set("save", "3600 1")
    await admin.config_set("dir", str(doomed))
    shutil.rmtree(doomed)  # the next snapshot fails: Redis refuses writes (MISCONF)
    await admin.bgsave()
    while (await admin.info("persistence"))["rdb_bgsave_in_progress"]:
        pass

    try:
        error = await rpc_error(
            req.buyer.CancelAfterSale(
                pb.CancelAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
            )
        )
    finally:
        await admin.config_set("save", "")  # else shutting the server down tries to save

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert detail(error, error_details_pb2.ErrorInfo).reason == "STORAGE_NOT_PERSISTING"
    assert (await req.view()).version == 1


async def test_a_full_redis_refuses_every_commit_whole_as_unavailable(
    troubled: tuple[App, Api],
) -> None:
    app, api = troubled
    req = await applied(api)
    admin = app.redis
    assert isinstance(admin, Redis)
    written = await _written(admin)
    cancelling = pb.CancelAfterSaleRequest(request_id=req.request_id, idempotency_key=key())
    await admin.config_set("maxmemory-policy", "noeviction")
    await admin.config_set("maxmemory", "1")  # every byte is past the limit now
    try:
        with pytest.raises(OutOfMemoryError):
            await admin.set("plain", "x")  # Redis refuses a plain write ...
        cancel = await rpc_error(req.buyer.CancelAfterSale(cancelling))  # ... and a commit
        create = await rpc_error(  # ... and a commit that makes a request
            api.buyer(req.buyer_id).CreateAfterSale(
                create_request(
                    order_id=unique("order"), sku_id="sku", shop_id=req.shop_id, clock=api.clock
                )
            )
        )
    finally:
        await admin.config_set("maxmemory", "0")

    for refused in (cancel, create):
        assert refused.code() == grpc.StatusCode.UNAVAILABLE
        assert detail(refused, error_details_pb2.ErrorInfo).reason == "STORAGE_FULL"
        assert "out of memory" in refused.details()
    assert await _written(admin) == written
    assert (await req.view()).version == 1
    retried = await req.buyer.CancelAfterSale(cancelling)  # the key was not used up
    assert retried.after_sale.version == 2


async def _written(admin: Redis) -> dict[str, object]:
    """Everything a commit writes, in a form to compare before and after."""
    keys = sorted(await admin.keys("*"))
    types = [await admin.type(name) for name in keys]
    sizes = [await admin.memory_usage(name) for name in keys]
    return {"keys": keys, "types": types, "sizes": sizes}


async def test_a_hung_redis_is_answered_within_the_call_timeout(
    troubled: tuple[App, Api], own_redis: EmbeddedRedis
) -> None:
    _, api = troubled
    req = await applied(api)
    assert own_redis.pid is not None
    os.kill(own_redis.pid, signal.SIGSTOP)
    try:
        error = await rpc_error(
            api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=req.request_id), timeout=15)
        )
    finally:
        os.kill(own_redis.pid, signal.SIGCONT)

    # Without the bound the client's retries outlast the 15 s deadline: DEADLINE_EXCEEDED.
    assert error.code() == grpc.StatusCode.UNAVAILABLE
