"""``python -m bench.lua_cost``: what each step of the commit script costs inside Redis.

Issue 14, lever 4. The two flows run through the real handlers (``service.bootstrap.build``)
against a dedicated redis-server; every commit script call they make (KEYS and ARGV, in
order) is recorded. Then the recorded calls are replayed with EVALSHA, in pipelines, over a
flushed database, once per *variant* of the script: the script as shipped, and the script
with one step removed (a text edit of ``commit.lua``, asserted to apply, so a changed script
fails here instead of measuring something else). Variants alternate in rounds, so drift on a
shared machine weighs on all of them. Measured per variant and round, from Redis itself:

* ``INFO commandstats``: ``cmdstat_evalsha`` µs per call (the script's whole run, the
  commands it calls included) and, for the script as shipped, each command it calls (Redis
  6.2 counts a script's ``redis.call`` commands in their own commandstats rows);
* the redis-server process's CPU (``/proc``) per call: the script plus reading and parsing
  the request and writing the reply.

A step's cost is the shipped script's µs minus the variant's (medians over the rounds). Every
replayed call must answer OK (a variant that broke a later call's check would measure
something else).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import AsyncScript

from aftersale.clock import SystemClock
from bench import redis_servers
from bench.inprocess import one_flow
from bench.product import build_parts, run_async
from service.storage.commit import COMMIT
from service.storage.repository import RedisRepository


# name → the edits (a regex over the script, its replacement) that remove one step: each
# call is taken out as an expression (an emptied `if … then end` or loop is still valid Lua),
# so the edits hold while the lines around them change. Every edit must match (else the
# script changed under the variant and it would measure something else), except in the
# variants of OPTIONAL, which are left out when their step is not in the script.
def _call(command: str, key: str) -> str:
    """A ``redis.call`` of ``command`` on ``key`` whose arguments hold no parentheses."""
    return rf"redis\.call\('{command}', {key}\b[^()]*\)"


VARIANTS: dict[str, list[tuple[str, str]]] = {
    "shipped": [],
    "no_idempotency_check": [(_call("HMGET", "idempotency_key"), "{}")],
    "no_xadd": [(r"redis\.call\('XADD', events_key, '\*', unpack\(h\.event\)\)", "'1-1'")],
    "no_record_del": [(_call("DEL", "record_key"), "")],
    "no_history": [(r"redis\.call\('RPUSH', history_key, [^\n]*", "")],  # its whole line
    "no_timers": [
        (_call("ZREM", "timers_key"), ""),
        (r"redis\.call\('ZREM', leased_key, old_member\)", ""),
        (_call("ZADD", "timers_key"), ""),
    ],
    "no_listings": [
        (_call("ZADD", f"{name}_listing_key"), "") for name in ("shop", "buyer", "order", "shard")
    ],
    "no_counters": [(_call("HINCRBY", "shop_stats_key"), "")],
    "no_flagged": [(_call("ZADD", "flagged_key"), ""), (_call("ZREM", "flagged_key"), "")],
    "no_idempotency_write": [
        (_call("HSET", "idempotency_key"), ""),
        (_call("EXPIRE", "idempotency_key"), ""),
    ],
    "no_terminal_queue": [(_call("ZADD", "terminal_key"), "")],
}
OPTIONAL = {"no_terminal_queue"}  # the retention sweep's queue, where the script has one
# Not a variant of the steps: the header's decoding alone, and an empty script with the same
# KEYS and ARGV (the cost of calling a script at all). Both write nothing.
DECODE_ONLY = "local h = cjson.decode(ARGV[1])\nreturn {'OK', '1-1'}\n"
EMPTY = "return {'OK', '1-1'}\n"


def variant_source(name: str) -> str | None:
    """The commit script without the step of variant ``name``; None for an OPTIONAL variant
    whose step the script does not have."""
    source = COMMIT
    for pattern, replacement in VARIANTS[name]:
        source, count = re.subn(pattern, replacement, source)
        if not count:
            if name in OPTIONAL:
                return None
            raise RuntimeError(f"variant {name}: the script no longer matches {pattern!r}")
    return source


class Recorder:
    """Wraps a repository's ``coalescer.run_script``: records the calls of one script (KEYS,
    ARGV, in order) and runs every call as before."""

    def __init__(self, repository: RedisRepository, script: AsyncScript) -> None:
        self.script = script
        self.calls: list[tuple[list[str], list[Any]]] = []
        self._run = run = repository.coalescer.run_script

        async def recorded(script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
            if script is self.script:
                self.calls.append((list(keys), list(args)))
            return await run(script, keys, args)

        repository.coalescer.run_script = recorded  # type: ignore[method-assign]


async def record_calls(url: str, flows: int) -> list[tuple[list[str], list[Any]]]:
    """The commit script calls of ``flows`` flows through the handlers, in order."""
    async with build_parts(url, SystemClock()) as parts:
        recorder = Recorder(parts.repository, parts.repository.scripts.commit)
        for index in range(flows):
            await one_flow(parts.handlers, index, "luacost")
        return recorder.calls


Calls = list[tuple[list[str], list[Any]]]


def _reading(client: redis.Redis) -> tuple[float, float]:
    """(µs the server spent in EVALSHA so far, its process CPU µs so far), one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.info("commandstats")
    pipe.info("cpu")
    stats, cpu = pipe.execute()
    script = float(stats.get("cmdstat_evalsha", {}).get("usec", 0))
    return script, (float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])) * 1e6


def replay_round(
    client: redis.Redis, shas: dict[str, str], calls: Calls, chunk: int
) -> dict[str, list[tuple[float, float]]]:
    """One round: every variant replays ``calls`` into a database of its own (SELECT), chunk by
    chunk, the variants taking turns (in a rotating order) on each chunk, so a burst of other
    work on the machine hits all of them alike. Returns per variant, per chunk: (EVALSHA µs,
    server process CPU µs), read from INFO right after the chunk."""
    client.flushall()
    databases = {name: index for index, name in enumerate(shas)}
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in shas}
    names = list(shas)
    last = _reading(client)
    for k, first in enumerate(range(0, len(calls), chunk)):
        turn = names[k % len(names) :] + names[: k % len(names)]
        for name in turn if k % 2 == 0 else reversed(turn):
            pipe = client.pipeline(transaction=False)
            pipe.execute_command("SELECT", databases[name])  # type: ignore[no-untyped-call]
            for keys, args in calls[first : first + chunk]:
                pipe.execute_command("EVALSHA", shas[name], len(keys), *keys, *args)  # type: ignore[no-untyped-call]
            for reply in pipe.execute()[1:]:
                status = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
                if status != "OK":
                    raise RuntimeError(f"variant {name}: a replayed commit answered {reply!r}")
            now = _reading(client)
            out[name].append((now[0] - last[0], now[1] - last[1]))
            last = now
    return out


def command_breakdown(client: redis.Redis, sha: str, calls: Calls) -> dict[str, dict[str, float]]:
    """The commands ``sha`` calls, over one replay: µs and calls per commit (commandstats)."""
    client.flushall()
    client.execute_command("SELECT", 0)  # type: ignore[no-untyped-call]
    client.config_resetstat()
    for first in range(0, len(calls), 64):
        pipe = client.pipeline(transaction=False)
        for keys, args in calls[first : first + 64]:
            pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]
        pipe.execute()
    stats = client.info("commandstats")
    skip = ("cmdstat_evalsha", "cmdstat_config", "cmdstat_flushall", "cmdstat_select")
    return {
        name.removeprefix("cmdstat_"): {
            "us": round(row["usec"] / len(calls), 2),
            "calls": round(row["calls"] / len(calls), 2),
        }
        for name, row in sorted(stats.items())
        if name not in skip
    }


def measure(flows: int = 400, rounds: int = 5, chunk: int = 32) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = redis_servers.start(Path(tmp) / "redis")
        try:
            calls = run_async(record_calls(server.url, flows))
            variants = {name: variant_source(name) for name in VARIANTS}
            sources = {name: src for name, src in variants.items() if src is not None}
            sources["decode_only"] = DECODE_ONLY
            sources["empty"] = EMPTY
            with redis.Redis.from_url(server.url, single_connection_client=True) as client:
                shas = {name: client.script_load(src) for name, src in sources.items()}
                rounds_out = [replay_round(client, shas, calls, chunk) for _ in range(rounds)]
                commands = command_breakdown(client, shas["shipped"], calls)
        finally:
            server.stop()
    return summarise(rounds_out, len(calls), commands)


def summarise(
    rounds: list[dict[str, list[tuple[float, float]]]],
    calls: int,
    commands: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Per variant: for each chunk the median over the rounds (a chunk hit by other work in one
    round does not count), summed over the chunks, per commit."""
    names = list(rounds[0])

    def per_commit(name: str, which: int) -> float:
        chunks = len(rounds[0][name])
        total = sum(statistics.median(r[name][k][which] for r in rounds) for k in range(chunks))
        return total / calls

    def round_totals(name: str, which: int) -> list[float]:
        return [sum(c[which] for c in r[name]) / calls for r in rounds]

    script = {n: per_commit(n, 0) for n in names}
    process = {n: per_commit(n, 1) for n in names}
    return {
        "calls": calls,
        "rounds": len(rounds),
        "script_us": {n: round(v, 2) for n, v in script.items()},
        "script_us_rounds": {n: [round(x, 1) for x in round_totals(n, 0)] for n in names},
        "process_cpu_us": {n: round(v, 2) for n, v in process.items()},
        "step_us": {n: round(script["shipped"] - v, 2) for n, v in script.items()},
        "step_process_us": {n: round(process["shipped"] - v, 2) for n, v in process.items()},
        "commands_of_shipped": commands,
    }


def main() -> None:
    flows = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    result = measure(flows, rounds)
    print(
        f"{result['calls']} commits per replay, {result['rounds']} rounds; µs per commit "
        "(per chunk the median over the rounds)"
    )
    print(f"{'variant':22} {'EVALSHA':>8} {'step':>6} {'server CPU':>10} {'step':>6}  rounds")
    for name, us in result["script_us"].items():
        spread = result["script_us_rounds"][name]
        print(
            f"{name:22} {us:8.2f} {result['step_us'][name]:6.2f} "
            f"{result['process_cpu_us'][name]:10.2f} {result['step_process_us'][name]:6.2f}  "
            f"{min(spread):.1f}–{max(spread):.1f}"
        )
    print("commands the shipped script calls: µs per commit (calls per commit)")
    for name, row in result["commands_of_shipped"].items():
        print(f"  {name:12} {row['us']:7.2f} ({row['calls']:.2f})")
    if os.environ.get("LUA_COST_JSON"):
        Path(os.environ["LUA_COST_JSON"]).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
