"""Section ``archive``: the archiver's throughput against the transition peak, and the
transition throughput with an archiver running against without.

A PostgreSQL of the section's own (the embedded one, ``service.archive.postgres_server``, in
``var/bench/postgres``, fsync on as in production). Each round starts from an empty Redis and
an empty archive.

1. **Drain** (the archiver's own speed): the closed-loop transition load at the knee, with no
   archive, commits a backlog; then one archiver-only process (``python -m service timers``,
   ``AFTERSALE_TIMERS=0``) archives it from its first start (subscription at the oldest event,
   and the backfill beside it). Reported: events archived per second (first to last archived),
   per CPU second of the archiver process, and PostgreSQL's CPU per event; **headroom** =
   archiver events/s ÷ the transition rate of that load (≥ 1: it keeps up with the peak).
2. **A/B** at the knee, alternating: the service without an archive (``off``), with its
   archiver in-process (``in_process``: the default deployment), and with the archiver in a
   process of its own (``separate``: ``AFTERSALE_ARCHIVER=0`` on the server, one ``timers``
   process). Reported: transitions/s, and the time after the load until the archive holds
   every event (``drain_s``: ≈ 0 when the archiver kept up), and the service process's CPU per
   transition (the archiver's too when apart): on a shared machine throughput moves with
   whatever else runs, CPU per transition much less, and a saturated service commits
   1 ÷ (CPU per transition), so ``projected_change_pct`` is the change the archiver's CPU
   makes. **Target**: with an archiver, within 10 % of without.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from redis import Redis

from bench import redis_servers
from bench.machine import cpu_seconds
from bench.service_procs import ServiceGroup
from bench.stats import Spread
from bench.transitions import ClientPool, Plan, Setup, _phase, service_env
from service.archive.migrate import migrate
from service.archive.postgres_server import EmbeddedPostgres
from service.storage.keys import Keys
from service.storage.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
MODES = ("off", "in_process", "separate")


@dataclass(frozen=True, slots=True)
class ArchivePlan:
    rounds: int = 3
    drain_timeout_s: float = 120.0

    @classmethod
    def quick(cls) -> ArchivePlan:
        return cls(rounds=1)


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (PostgreSQL's backends), so far."""
    total = cpu_seconds(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_tree_cpu(int(child)) for child in children)


async def _count(url: str, sql: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(sql))
    finally:
        await connection.close()


def _archived(url: str) -> int:
    return asyncio.run(_count(url, "SELECT count(*) FROM events"))


def _reset(url: str, redis_url: str) -> None:
    async def empty() -> None:
        connection = await asyncpg.connect(url)
        try:
            await migrate(connection)
            await connection.execute("TRUNCATE requests, events")
        finally:
            await connection.close()

    asyncio.run(empty())
    redis_servers.flush(redis_url)


def _committed(redis_url: str) -> int:
    """Events in the shard streams (nothing trims them within a round)."""
    client = Redis.from_url(redis_url)
    try:
        keys = Keys()
        return sum(int(client.xlen(keys.events(s))) for s in keys.all_shards())
    finally:
        client.close()


class ArchiverProcess:
    """``python -m service timers`` running only the archiver."""

    def __init__(self, setup: Setup, archive_url: str, work_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
        self.env.update({
            "REDIS_URL": setup.redis_url,
            "AFTERSALE_ARCHIVE_URL": archive_url,
            "AFTERSALE_TIMERS": "0",
            "AFTERSALE_DATA_DIR": str(work_dir),
            "AFTERSALE_METRICS_LISTEN": "",
            "AFTERSALE_LOG_LEVEL": "WARNING",
            **service_env(),
        })  # fmt: skip
        self.log = work_dir / "archiver.log"
        work_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "timers"], cwd=ROOT, env=self.env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _until_archived(url: str, events: int, timeout_s: float) -> tuple[float, float]:
    """Poll until the archive holds ``events``: (when the first was seen, when all were)."""
    first = 0.0
    deadline = time.perf_counter() + timeout_s
    while True:
        now = time.perf_counter()
        count = _archived(url)
        if count and not first:
            first = now
        if count >= events:
            return first or now, now
        if now > deadline:
            raise RuntimeError(f"archived {count} of {events} events in {timeout_s:g} s")
        time.sleep(0.05)


def _drain(
    setup: Setup, plan: Plan, concurrency: int, pg: EmbeddedPostgres, timeout_s: float
) -> dict[str, Any]:
    _reset(pg.url, setup.redis_url)
    servers = _servers(setup, "drain", {"AFTERSALE_ARCHIVE_URL": "off"})
    with servers:
        pool = ClientPool(plan.client_processes, servers.targets, setup.tokens, "a")
        try:
            pids = {"service": servers.pids, "redis": [setup.redis_pid], "clients": pool.pids}
            load = _phase(pool, pids, "closed", concurrency, plan)
        finally:
            pool.close()
    events = _committed(setup.redis_url)
    pg_pid = pg.pid or 0
    pg_before = _tree_cpu(pg_pid)
    archiver = ArchiverProcess(setup, pg.url, setup.work_dir / "archiver-drain")
    try:
        first, last = _until_archived(pg.url, events, timeout_s)
        cpu = cpu_seconds(archiver.process.pid)
        pg_cpu = _tree_cpu(pg_pid) - pg_before  # before its backends end with the archiver
    finally:
        archiver.stop()
    seconds = max(last - first, 1e-3)
    rate = events / seconds
    return {
        "events": events,
        "transition_rps": round(load.rps, 1),
        "archived_per_s": round(rate, 1),
        "archived_per_cpu_s": round(events / cpu, 1) if cpu else None,
        "archiver_cpu_s": round(cpu, 2),
        "postgres_cpu_us_per_event": round(pg_cpu / events * 1e6, 1) if events else None,
        "headroom": round(rate / load.rps, 2) if load.rps else None,
    }


def _servers(setup: Setup, name: str, env: dict[str, str]) -> ServiceGroup:
    return ServiceGroup(
        count=1,
        port=free_port(),
        extra_env={**service_env(), **env},
        redis_url=setup.redis_url,
        tokens_file=setup.tokens_file,
        work_dir=setup.work_dir / f"service-archive-{name}",
    )


def _ab_round(
    mode: str, setup: Setup, plan: Plan, concurrency: int, pg: EmbeddedPostgres, timeout_s: float
) -> dict[str, Any]:
    _reset(pg.url, setup.redis_url)
    env = {"AFTERSALE_ARCHIVE_URL": "off" if mode == "off" else pg.url}
    if mode == "separate":
        env["AFTERSALE_ARCHIVER"] = "0"
    archiver = None
    with _servers(setup, mode, env) as servers:
        if mode == "separate":
            archiver = ArchiverProcess(setup, pg.url, setup.work_dir / "archiver-ab")
        pool = ClientPool(plan.client_processes, servers.targets, setup.tokens, "b")
        try:
            pids = {"service": servers.pids, "redis": [setup.redis_pid], "clients": pool.pids}
            if archiver is not None:
                pids["archiver"] = [archiver.process.pid]
            result = _phase(pool, pids, "closed", concurrency, plan)
        finally:
            pool.close()
        ended = time.perf_counter()
        drain_s = None
        try:
            if mode != "off":
                _, done = _until_archived(pg.url, _committed(setup.redis_url), timeout_s)
                drain_s = round(max(0.0, done - ended), 2)
        finally:
            if archiver is not None:
                archiver.stop()
    rps = max(result.rps, 1e-9)
    return {
        "mode": mode,
        "transition_rps": round(result.rps, 1),
        "drain_s": drain_s,
        "cpu": result.cpu,
        # CPU per transition: what throughput a saturated process reaches, and far less
        # disturbed than throughput by other work on the machine
        "service_cpu_us_per_transition": round(result.cpu.get("service", 0.0) / rps * 1e6, 1),
        "archiver_cpu_us_per_transition": round(result.cpu.get("archiver", 0.0) / rps * 1e6, 1),
    }


def run(
    setup: Setup, plan: Plan, concurrency: int, log: Any, archive: ArchivePlan | None = None
) -> dict[str, Any]:
    """The archive section (see the module docstring)."""
    archive = archive or ArchivePlan()
    directory = setup.work_dir / "postgres"
    shutil.rmtree(directory, ignore_errors=True)
    pg = EmbeddedPostgres(directory).start()
    out: dict[str, Any] = {"concurrency": concurrency, "postgres": "embedded 16, fsync on"}
    try:
        drain = _drain(setup, plan, concurrency, pg, archive.drain_timeout_s)
        log(
            f"  drain: {drain['events']} events at {drain['archived_per_s']:.0f}/s "
            f"({drain['archived_per_cpu_s']}/CPU s; PostgreSQL {drain['postgres_cpu_us_per_event']}"
            f" µs/event) vs transitions {drain['transition_rps']:.0f}/s: headroom "
            f"{drain['headroom']}"
        )
        out["drain"] = drain
        rounds = []
        for index in range(archive.rounds):
            for mode in MODES if index % 2 == 0 else tuple(reversed(MODES)):
                result = _ab_round(mode, setup, plan, concurrency, pg, archive.drain_timeout_s)
                log(f"  {mode:>10}: {result['transition_rps']:7.0f} transitions/s, "
                    f"drain {result['drain_s']} s")  # fmt: skip
                rounds.append(result)
    finally:
        pg.stop()
    out["rounds"] = rounds

    def of(mode: str, key: str) -> list[float]:
        return [r[key] for r in rounds if r["mode"] == mode]

    for mode in MODES:
        out[mode] = {
            key: Spread.of(of(mode, key)).as_dict()
            for key in ("transition_rps", "service_cpu_us_per_transition",
                        "archiver_cpu_us_per_transition")
        }  # fmt: skip
    base = statistics.median(of("off", "transition_rps"))
    base_cpu = statistics.median(of("off", "service_cpu_us_per_transition"))
    for mode in ("in_process", "separate"):
        change = (statistics.median(of(mode, "transition_rps")) - base) / base * 100
        cpu = statistics.median(of(mode, "service_cpu_us_per_transition"))
        # A saturated service process commits 1 / (CPU per transition): the change that
        # the archiver's CPU alone makes, whatever else ran on the machine meanwhile.
        projected = (base_cpu / cpu - 1) * 100 if cpu else 0.0
        out[mode]["change_pct"] = round(change, 1)
        out[mode]["projected_change_pct"] = round(projected, 1)
        log(f"  {mode} vs off: {change:+.1f} % transitions/s measured, {projected:+.1f} % from "
            f"the service's CPU per transition ({base_cpu:.0f} → {cpu:.0f} µs; target: within "
            f"10 %)")  # fmt: skip
    return out
