"""Sections 1 and 5: transitions end to end over gRPC, against an empty RPC on the same server.

Client processes (``bench.load_client``) are separate from the service processes
(``bench.service_procs``). For each concurrency level the same clients first run the two
realistic flows, then ``Health/Check`` (the ceiling); at the level with the best transition
throughput both are repeated, alternating, to get the ratio's spread. Then an open-loop phase
at 80 % of that peak measures latency under a load the service can carry. Scale-out runs the
peak level against 1 and then 2 service processes sharing the port. CPU seconds of every
process are read from /proc around each phase, so a reader sees who used the two cores.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import redis_servers
from bench.flames import summarise
from bench.load_client import Tokens, client_process
from bench.machine import cpu_seconds, machine_busy_seconds
from bench.service_procs import ServiceGroup, reuse_port_env, write_tokens
from bench.stats import Spread, latency_summary
from service.storage.redis_server import free_port


@dataclass(frozen=True, slots=True)
class Plan:
    levels: tuple[int, ...] = (1, 4, 16, 64)
    warmup_s: float = 1.0
    window_s: float = 4.0
    repeats: int = 3
    open_window_s: float = 6.0
    # Each open-loop share is measured in this many windows, the shares taking turns: one
    # window's p99 on this VM swings by an order of magnitude (a GC pause, a scheduler hiccup).
    open_repeats: int = 3
    client_processes: int = 2
    scale_out_repeats: int = 2
    retries: int = 2  # per phase, when other work on the machine disturbed the measurement
    background_limit: float = 0.2  # cores of other work tolerated during a phase

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            levels=(1, 16),
            window_s=2.0,
            repeats=2,
            open_window_s=3.0,
            open_repeats=2,
            scale_out_repeats=1,
        )


@dataclass
class PhaseResult:
    mode: str
    concurrency: int
    rps: float
    latency: dict[str, float]
    errors: dict[str, int]
    flows_per_s: float
    cpu: dict[str, float] = field(default_factory=dict)  # share of one core, per process group
    overloaded: int = 0
    discarded: int = 0  # earlier measurements of this phase thrown away: other work was running
    calls: int = 0  # every RPC that finished during the phase, warm-up included
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group
    elapsed_s: float = 0.0  # the phase, warm-up and start delay included (what cpu_s spans)
    latencies_s: list[float] = field(default_factory=list, repr=False)  # the window's, raw

    def cpu_us_per_call(self, group: str, idle_cores: float = 0.0) -> float:
        """µs of ``group``'s CPU per RPC of the phase; ``idle_cores`` (what the group uses with
        no RPC touching it, e.g. Redis during the empty RPCs) taken off first."""
        if not self.calls:
            return math.nan
        spent = self.cpu_s.get(group, 0.0) - idle_cores * self.elapsed_s
        return max(0.0, spent) * 1e6 / self.calls

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "concurrency": self.concurrency,
            "rps": round(self.rps, 1),
            "flows_per_s": round(self.flows_per_s, 1),
            **self.latency,
            "errors": self.errors,
            "cpu_cores_used": self.cpu,
            "calls": self.calls,
            "cpu_us_per_call": {
                g: round(self.cpu_us_per_call(g), 1) for g in ("service", "redis", "clients")
            },
            **({"overloaded_sends": self.overloaded} if self.overloaded else {}),
            **({"discarded_busy_measurements": self.discarded} if self.discarded else {}),
        }


class ClientPool:
    """Long-lived client processes, each serving one command at a time over a pipe."""

    retry_budget_s = 60.0  # seconds all pools of a run may spend re-measuring busy phases

    def __init__(self, count: int, targets: list[str], tokens: Tokens, tag: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        for index in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=client_process,
                args=(child, targets, tokens, f"{tag}c{index}"),
                daemon=True,
            )
            process.start()
            self.conns.append(parent)
            self.processes.append(process)
        for conn in self.conns:
            if not conn.poll(60):
                raise RuntimeError("a client process did not connect within 60 s")
            assert conn.recv() == "ready"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def run(self, command: dict[str, Any], concurrency: int = 0) -> list[dict[str, Any]]:
        """Send ``command`` to every process (``concurrency`` split over them); wait."""
        used = len(self.conns) if concurrency == 0 else max(1, min(concurrency, len(self.conns)))
        active = self.conns[:used]
        start_at = time.time() + 0.3
        for index, conn in enumerate(active):
            share = concurrency // len(active) + (1 if index < concurrency % len(active) else 0)
            conn.send({**command, "start_at": start_at, "concurrency": share})
        return [conn.recv() for conn in active]

    def close(self) -> None:
        for conn in self.conns:
            conn.send({"mode": "exit"})
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.terminate()


def _cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds per process group, and of everything else on the machine (``other``)."""
    used = {group: sum(cpu_seconds(p) for p in members) for group, members in pids.items()}
    used["other"] = machine_busy_seconds() - sum(used.values())
    return used


def _phase(
    pool: ClientPool,
    pids: dict[str, list[int]],
    mode: str,
    concurrency: int,
    plan: Plan,
    *,
    rate: float = 0.0,
    window_s: float | None = None,
) -> PhaseResult:
    """One measured phase; measured again (up to ``plan.retries``) while other work on the
    machine kept more than ``plan.background_limit`` cores busy during it. The result says
    how many measurements were discarded that way."""
    for attempt in range(plan.retries + 1):
        started = time.perf_counter()
        result = _measure(pool, pids, mode, concurrency, plan, rate=rate, window_s=window_s)
        result.discarded = attempt
        if result.cpu.get("other", 0.0) <= plan.background_limit or pool.retry_budget_s <= 0:
            break
        type(pool).retry_budget_s -= time.perf_counter() - started  # shared by the run
    return result


def _measure(
    pool: ClientPool,
    pids: dict[str, list[int]],
    mode: str,
    concurrency: int,
    plan: Plan,
    *,
    rate: float = 0.0,
    window_s: float | None = None,
) -> PhaseResult:
    window = plan.window_s if window_s is None else window_s
    command: dict[str, Any] = {"mode": mode, "warmup_s": plan.warmup_s, "window_s": window}
    if mode == "open":
        command["rate"] = rate / len(pool.conns)
    before, started = _cpu(pids), time.perf_counter()
    replies = pool.run(command, 0 if mode == "open" else concurrency)
    elapsed = time.perf_counter() - started
    after = _cpu(pids)
    latencies = [x for r in replies for x in r["latencies"]]
    errors: dict[str, int] = {}
    for reply in replies:
        for name, count in reply["errors"].items():
            errors[name] = errors.get(name, 0) + count
    cpu_s = {g: max(0.0, after[g] - before[g]) for g in after}
    return PhaseResult(
        mode=mode,
        concurrency=concurrency,
        rps=len(latencies) / window,
        latency=latency_summary(latencies),
        errors=errors,
        flows_per_s=sum(r["flows_done"] for r in replies) / window,
        cpu={g: round(seconds / elapsed, 2) for g, seconds in cpu_s.items()},
        overloaded=sum(r["overloaded"] for r in replies),
        calls=sum(r["calls"] for r in replies),
        cpu_s=cpu_s,
        elapsed_s=elapsed,
        latencies_s=latencies,
    )


@dataclass
class Setup:
    redis_url: str
    redis_pid: int
    tokens: Tokens
    tokens_file: Path
    work_dir: Path
    profile_dir: Path | None = None


def _group(
    setup: Setup, count: int, profile_name: str = "", *, shared_port: bool = True
) -> ServiceGroup:
    profile_to = None
    if setup.profile_dir is not None and profile_name:
        setup.profile_dir.mkdir(parents=True, exist_ok=True)
        profile_to = setup.profile_dir / f"{profile_name}.raw.txt"
    return ServiceGroup(
        count=count,
        port=free_port(),
        shared_port=shared_port,
        extra_env=service_env(),
        redis_url=setup.redis_url,
        tokens_file=setup.tokens_file,
        work_dir=setup.work_dir / "service",
        profile_to=profile_to,
    )


def service_env() -> dict[str, str]:
    """Extra service settings for an experiment: ``BENCH_SERVICE_ENV="K=V,K=V"`` (recorded in
    the results; ``make bench`` runs the defaults)."""
    raw = os.environ.get("BENCH_SERVICE_ENV", "")
    return dict(pair.split("=", 1) for pair in raw.split(",") if "=" in pair)


def _with_pool(
    setup: Setup, servers: ServiceGroup, plan: Plan, tag: str
) -> tuple[ClientPool, dict[str, list[int]]]:
    pool = ClientPool(plan.client_processes, servers.targets, setup.tokens, tag)
    pids = {"service": servers.pids, "redis": [setup.redis_pid], "clients": pool.pids}
    return pool, pids


def run_main(setup: Setup, plan: Plan, log: Any) -> dict[str, Any]:
    """Ramp, ratio repeats and the open-loop phase against one service process."""
    out: dict[str, Any] = {}
    with _group(setup, 1, "transitions") as servers:
        pool, pids = _with_pool(setup, servers, plan, "m")
        try:
            ramp: list[dict[str, Any]] = []
            levels: list[PhaseResult] = []
            for level in plan.levels:
                moving = _phase(pool, pids, "closed", level, plan)
                empty = _phase(pool, pids, "empty", level, plan)
                log(
                    f"  c={level:>3}: transitions {moving.rps:7.0f}/s p50 "
                    f"{moving.latency['p50_ms']:.2f} p99 {moving.latency['p99_ms']:.2f} ms | "
                    f"empty {empty.rps:7.0f}/s  errors {sum(moving.errors.values())}"
                )
                ramp.append({"transitions": moving.as_dict(), "empty": empty.as_dict()})
                levels.append(moving)
            # The knee: the fewest in flight that reach 95 % of the best throughput (more in
            # flight past it only queues: same throughput, longer latency).
            best = max(m.rps for m in levels)
            peak_level = next(m.concurrency for m in levels if m.rps >= 0.95 * best)
            pairs: list[tuple[PhaseResult, PhaseResult]] = []
            for _ in range(plan.repeats):
                moving = _phase(pool, pids, "closed", peak_level, plan)
                empty = _phase(pool, pids, "empty", peak_level, plan)
                pairs.append((moving, empty))
            t_rps = [m.rps for m, _ in pairs]
            e_rps = [e.rps for _, e in pairs]
            ratios = [m.rps / e.rps for m, e in pairs if e.rps]
            log(
                f"  peak c={peak_level}: transitions {statistics.median(t_rps):.0f}/s, "
                f"empty {statistics.median(e_rps):.0f}/s, ratio {statistics.median(ratios):.3f}"
            )
            cpu = cpu_per_call(pairs)
            log(
                f"  CPU µs per RPC: service {cpu['service_us_per_transition']['median']:.0f} per "
                f"transition, {cpu['service_us_per_empty']['median']:.0f} per empty; Redis "
                f"{cpu['redis_us_per_transition']['median']:.0f} per transition "
                f"(≈ {cpu['transitions_per_redis_core']['median']:.0f} transitions/s per core)"
            )
            peak_rps = statistics.median(t_rps)
            open_phases = _open_loop(pool, pids, plan, peak_rps, log)
            out = {
                "ramp": ramp,
                "peak_concurrency": peak_level,
                "peak_repeats": [
                    {"transitions": m.as_dict(), "empty": e.as_dict()} for m, e in pairs
                ],
                "transition_rps": Spread.of(t_rps).as_dict(),
                "empty_rps": Spread.of(e_rps).as_dict(),
                "ratio": Spread.of(ratios).as_dict(3),
                "p50_ms": Spread.of([m.latency["p50_ms"] for m, _ in pairs]).as_dict(3),
                "p99_ms": Spread.of([m.latency["p99_ms"] for m, _ in pairs]).as_dict(3),
                "cpu_per_rpc": cpu,
                **open_phases,
            }
        finally:
            pool.close()
    return out


def _open_loop(
    pool: ClientPool,
    pids: dict[str, list[int]],
    plan: Plan,
    peak_rps: float,
    log: Any,
) -> dict[str, dict[str, Any]]:
    """The open loop at 70 % and at 80 % of the peak, each in ``plan.open_repeats`` windows
    taken in turns (70, 80, 70, 80, …). Latencies are reported over all windows of a share
    pooled (the p99 of every request sent at that rate), with each window's p99 beside them,
    so a reader sees whether one window's stall or the load itself sets the tail."""
    shares = (70, 80)
    windows: dict[int, list[PhaseResult]] = {share: [] for share in shares}
    for _ in range(plan.open_repeats):
        for share in shares:
            target = share / 100 * peak_rps
            phase = _phase(pool, pids, "open", 0, plan, rate=target, window_s=plan.open_window_s)
            windows[share].append(phase)
    out: dict[str, dict[str, Any]] = {}
    for share in shares:
        target = share / 100 * peak_rps
        phases = windows[share]
        pooled = latency_summary([x for p in phases for x in p.latencies_s])
        per_window = Spread.of([p.latency["p99_ms"] for p in phases])
        achieved = statistics.median(p.rps for p in phases)
        log(
            f"  open loop at {target:.0f}/s ({share} % of peak), {len(phases)} windows: "
            f"achieved {achieved:.0f}/s p50 {pooled['p50_ms']:.2f} p99 {pooled['p99_ms']:.2f} ms "
            f"(per window p99 {per_window.median:.2f}, {per_window.min:.2f}–{per_window.max:.2f})"
        )
        out[f"open_loop_{share}pct"] = {
            "target_rps": round(target, 1),
            "rps": round(achieved, 1),
            **pooled,
            "p99_ms_per_window": per_window.as_dict(3),
            # the most other work any window saw: the background check reads this key
            "cpu_cores_used": {"other": max(p.cpu.get("other", 0.0) for p in phases)},
            "windows": [p.as_dict() for p in phases],
        }
    return out


def cpu_per_call(pairs: list[tuple[PhaseResult, PhaseResult]]) -> dict[str, dict[str, Any]]:
    """CPU per RPC over the (transitions, empty) repeats at the knee: the service's per
    transition and per empty RPC (gross: everything the process did in the phase), Redis's per
    transition net of what it used while the empty RPCs ran (its idle cron and the service's
    background polling, which no transition causes), and the transitions one Redis core would
    carry at that cost (the unit a Redis Cluster scales in)."""
    service_t = [m.cpu_us_per_call("service") for m, _ in pairs]
    service_e = [e.cpu_us_per_call("service") for _, e in pairs]
    redis_t = [
        m.cpu_us_per_call("redis", e.cpu_s.get("redis", 0.0) / e.elapsed_s) for m, e in pairs
    ]
    return {
        "service_us_per_transition": Spread.of(service_t).as_dict(),
        "service_us_per_empty": Spread.of(service_e).as_dict(),
        "service_transition_to_empty": Spread.of(
            [t / e for t, e in zip(service_t, service_e, strict=True) if e]
        ).as_dict(2),
        "redis_us_per_transition": Spread.of(redis_t).as_dict(),
        "redis_us_per_transition_gross": Spread.of(
            [m.cpu_us_per_call("redis") for m, _ in pairs]
        ).as_dict(),
        "transitions_per_redis_core": Spread.of([1e6 / r for r in redis_t if r > 0]).as_dict(0),
    }


def run_scale_out(setup: Setup, plan: Plan, concurrency: int, log: Any) -> dict[str, Any]:
    """The same closed-loop load against 1 and 2 service processes on one port."""
    out: dict[str, Any] = {}
    shared = reuse_port_env() is not None
    out["listening"] = (
        "one port shared (SO_REUSEPORT)"
        if shared
        else "one port per process, clients spread their connections (the service sets "
        "grpc.so_reuseport=0 and has no setting to share a port)"
    )
    for count in (1, 2):
        with _group(setup, count, shared_port=shared) as servers:
            pool, pids = _with_pool(setup, servers, plan, f"s{count}")
            try:
                runs = [
                    _phase(pool, pids, "closed", concurrency, plan)
                    for _ in range(plan.scale_out_repeats)
                ]
            finally:
                pool.close()
        rps = [r.rps for r in runs]
        log(f"  {count} service process(es): {statistics.median(rps):.0f} transitions/s")
        out[f"processes_{count}"] = {
            "transition_rps": Spread.of(rps).as_dict(),
            "runs": [r.as_dict() for r in runs],
        }
    one = out["processes_1"]["transition_rps"]["median"]
    two = out["processes_2"]["transition_rps"]["median"]
    out["speedup"] = round(two / one, 3) if one else None
    return out


def run_aof(setup: Setup, plan: Plan, concurrency: int, log: Any) -> dict[str, Any]:
    """The peak level once more, against a Redis with AOF ``everysec`` (``setup`` has it)."""
    with _group(setup, 1) as servers:
        pool, pids = _with_pool(setup, servers, plan, "aof")
        try:
            runs = [_phase(pool, pids, "closed", concurrency, plan) for _ in range(2)]
        finally:
            pool.close()
    rps = [r.rps for r in runs]
    log(f"  AOF everysec: {statistics.median(rps):.0f} transitions/s")
    return {"transition_rps": Spread.of(rps).as_dict(), "runs": [r.as_dict() for r in runs]}


def main() -> None:
    """``python -m bench.transitions [seconds] [concurrency]``: one closed-loop phase against a
    service process under ``py-spy record``; prints where the service's samples went."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    root = Path(__file__).resolve().parent.parent
    work = root / "var" / "bench"
    profiles = root / "bench" / "results" / "profiles"
    tokens_file = work / "tokens.json"
    tokens = write_tokens(tokens_file)
    server = redis_servers.start(work / "redis-profile")
    assert server.pid is not None
    setup = Setup(server.url, server.pid, tokens, tokens_file, work, profiles)
    plan = Plan(window_s=seconds)
    try:
        with _group(setup, 1, f"service-c{concurrency}") as servers:
            pool, pids = _with_pool(setup, servers, plan, "p")
            try:
                result = _phase(pool, pids, "closed", concurrency, plan)
            finally:
                pool.close()
        print(result.as_dict())
    finally:
        server.stop()
    print(summarise(profiles / f"service-c{concurrency}.raw.txt", 40, "AfterSaleServicer"))


if __name__ == "__main__":
    main()
