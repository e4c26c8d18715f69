"""``python -m bench.ab``: two service settings A/B over gRPC, alternated in one run.

Two service processes (``python -m service serve``) on the bench's Redis, one with the
settings ``BENCH_A`` and one with ``BENCH_B`` (``K=V,K=V``, e.g. ``AFTERSALE_REDIS_COALESCE=0``),
each with its own load clients; closed-loop phases of the section-1 flows alternate A B, B A,
… at one concurrency, and each phase reports transitions/s, the service's and Redis's CPU per
transition (``bench.transitions.PhaseResult``). Printed: medians, min–max, and the paired
differences B − A. For measuring one change end to end without the whole ``make bench``.

``python -m bench.ab [rounds] [concurrency] [window_s]`` (default 6, 16, 4);
``BENCH_AB_RATE=600``: open loop at that many RPCs/s instead (latency from the scheduled send).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from bench import machine, redis_servers
from bench.service_procs import ServiceGroup, write_tokens
from bench.transitions import ClientPool, PhaseResult, Plan, _phase
from service.storage.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"


def _env(name: str) -> dict[str, str]:
    raw = os.environ.get(name, "")
    return dict(pair.split("=", 1) for pair in raw.split(",") if "=" in pair)


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} ({min(values):.1f}–{max(values):.1f})"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    window = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    settings = {"A": _env("BENCH_A"), "B": _env("BENCH_B")}
    rate = float(os.environ.get("BENCH_AB_RATE", "0"))
    plan = Plan(window_s=window)
    tokens_file = WORK / "tokens.json"
    tokens = write_tokens(tokens_file)
    _waited, busy = machine.wait_until_quiet(float(os.environ.get("BENCH_QUIET_WAIT_S", "30")))
    print(f"A {settings['A']}  B {settings['B']}; machine busy {busy:.2f} cores at start")
    server = redis_servers.start(WORK / "redis-ab")
    assert server.pid is not None
    groups: dict[str, ServiceGroup] = {}
    pools: dict[str, ClientPool] = {}
    try:
        for name, extra in settings.items():
            groups[name] = ServiceGroup(
                count=1,
                port=free_port(),
                shared_port=False,
                extra_env=extra,
                redis_url=server.url,
                tokens_file=tokens_file,
                work_dir=WORK / f"service-{name}",
                profile_to=None,
            ).__enter__()
            pools[name] = ClientPool(plan.client_processes, groups[name].targets, tokens, name)
        phases: dict[str, list[PhaseResult]] = {"A": [], "B": []}
        for index in range(rounds):
            for name in ("A", "B") if index % 2 == 0 else ("B", "A"):
                pids = {
                    "service": groups[name].pids,
                    "redis": [server.pid],
                    "clients": pools[name].pids,
                }
                if rate:
                    phase = _phase(pools[name], pids, "open", 0, plan, rate=rate)
                else:
                    phase = _phase(pools[name], pids, "closed", concurrency, plan)
                phases[name].append(phase)
            a, b = phases["A"][-1], phases["B"][-1]
            print(
                f"  round {index}: A {a.rps:.0f}/s {a.cpu_us_per_call('service'):.0f} µs "
                f"(other {a.cpu.get('other', 0):.2f})  B {b.rps:.0f}/s "
                f"{b.cpu_us_per_call('service'):.0f} µs (other {b.cpu.get('other', 0):.2f})"
            )
    finally:
        for pool in pools.values():
            pool.close()
        for group in groups.values():
            group.__exit__(None, None, None)
        server.stop()
    measures: dict[str, Callable[[PhaseResult], float]] = {
        "transitions/s": lambda p: p.rps,
        "service CPU µs per transition": lambda p: p.cpu_us_per_call("service"),
        "Redis CPU µs per transition (gross)": lambda p: p.cpu_us_per_call("redis"),
        "p50 ms": lambda p: p.latency["p50_ms"],
        "p99 ms": lambda p: p.latency["p99_ms"],
    }
    load = f"open loop at {rate:.0f}/s" if rate else f"{concurrency} in flight"
    print(f"{rounds} rounds, {load}, {window:.0f} s windows: median (min–max)")
    for label, of in measures.items():
        values_a = [of(p) for p in phases["A"]]
        values_b = [of(p) for p in phases["B"]]
        paired = [y - x for x, y in zip(values_a, values_b, strict=True)]
        print(
            f"  {label:38} A {_summary(values_a)}  B {_summary(values_b)}  B−A {_summary(paired)}"
        )


if __name__ == "__main__":
    main()
