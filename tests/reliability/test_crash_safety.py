"""Crash safety (SPEC §6–§8): concurrent flows with timers due every second, while the API
process (with its in-process timer worker) and a separate timer process are SIGKILLed at random
moments and restarted. Clients treat a broken call as unknown and retry it with the same
idempotency key. After the load, everything settles and ``checker`` judges what Redis holds:
histories replay to the stored state through SPEC §3 rows, versions are contiguous with one
stream event each, no timer is lost or left overdue, no refund is requested twice, every
acknowledged transition is stored and no transition happened that no client was told of.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_sync

from service.storage.redis_server import EmbeddedRedis
from tests.reliability.chaos import Plan, Report, run
from tests.reliability.inprocess import scale


def _judge(report: Report) -> None:
    print(f"\n{report.plan.victims} {report.plan.redis_mode}: {report.summary()}")
    assert not report.anomalies, "\n".join(report.anomalies[:40])
    kills = sum(report.kills.values())
    assert kills >= 1, "nothing was killed: the run was too short"


async def test_killed_processes_lose_nothing(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    if not redis_server.running:
        redis_server.start()
    plan = Plan(
        flows=scale(30, "RELIABILITY_FLOWS"),
        concurrency=15,
        load_s=5,
        victims=("serve", "timers", "both"),
        kill_every_s=(0.3, 0.9),
        settle_s=40,
        seed=1,
    )

    report = await run(plan, tmp_path, _fresh(redis_server))

    _judge(report)


@pytest.mark.chaos
async def test_killed_processes_lose_nothing_long(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    if not redis_server.running:
        redis_server.start()
    plan = Plan(
        flows=scale(2000, "RELIABILITY_FLOWS"),  # more than fit in load_s: load till the end
        concurrency=60,
        load_s=scale(150, "RELIABILITY_LOAD_S"),
        victims=("serve", "timers", "both", "serve", "timers"),
        kill_every_s=(0.5, 3.0),
        settle_s=120,
        seed=scale(7, "RELIABILITY_SEED"),
    )

    report = await run(plan, tmp_path, _fresh(redis_server))

    _judge(report)


def _fresh(server: EmbeddedRedis) -> EmbeddedRedis:
    """The session server, emptied (the run reads every key it holds)."""
    with redis_sync.Redis.from_url(server.url) as client:
        client.flushall()
    return server
