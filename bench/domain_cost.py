"""Section 2: what one action costs in the domain alone, beside bare python-statemachine.

* ``decide`` per action of both flows, over the record each action meets in production
  (includes the record copy ``decide`` makes and the transition event it builds);
* the record's stored form round trip (``codec.encode_record`` + ``decode_record``: every
  commit encodes once, every load decodes once), and ``AfterSale.copy`` (what ``decide``
  copies before running the machine);
* building one ``AfterSaleMachine`` (what a terminal transition costs on top: the reused
  instance stops in a final state and is rebuilt);
* the baseline: a bare 2-state python-statemachine machine (strict ``StateMachine``), built and
  sent one event, and one reused instance sending an event.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from statemachine import State, StateMachine

from aftersale.decide import decide
from aftersale.machine import AfterSaleMachine, RecordHolder
from aftersale.policy import Policy
from bench.flows import FLOWS, FlowStep, run_flow
from bench.stats import Spread
from service.storage.codec import decode_record, encode_record

NOW_MS = 1_790_000_000_000


class Toggle(StateMachine):
    """The smallest useful machine: two states, one event."""

    off = State(initial=True)
    on = State()
    switch = off.to(on) | on.to(off)


class _Holder:
    state: str | None = None


def time_us(fn: Callable[[], object], *, budget_s: float, repeats: int) -> Spread:
    """µs per call of ``fn``: ``repeats`` timed loops of about ``budget_s / repeats`` each."""
    fn()  # warm up caches and lazy imports
    started = time.perf_counter()
    calls = 1
    fn()
    one = max(time.perf_counter() - started, 1e-7)
    loops = max(1, int(budget_s / repeats / one))
    samples = []
    for _ in range(repeats):
        begin = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - begin) / loops * 1e6)
        calls += loops
    return Spread.of(samples)


def baseline(budget_s: float, repeats: int) -> dict[str, Spread]:
    def construct_and_send() -> None:
        Toggle(model=_Holder()).send("switch")

    reused = Toggle(model=_Holder())

    def reused_send() -> None:
        reused.send("switch")

    return {
        "construct_send_us": time_us(construct_and_send, budget_s=budget_s, repeats=repeats),
        "reused_send_us": time_us(reused_send, budget_s=budget_s, repeats=repeats),
    }


def ours(budget_s: float, repeats: int) -> dict[str, object]:
    policy = Policy()
    per_action: dict[str, dict[str, float | int]] = {}
    medians: list[float] = []
    for flow in FLOWS:
        for step in run_flow(flow, NOW_MS, policy):

            def call(s: FlowStep = step) -> None:
                decide(s.before, s.command, s.actor, NOW_MS + 86_400_000, policy)

            spread = time_us(call, budget_s=budget_s, repeats=repeats)
            per_action[f"{flow}.{step.action}"] = spread.as_dict()
            medians.append(spread.median)
    last = run_flow("return", NOW_MS, policy)[-1].before
    assert last is not None
    blob = encode_record(last)
    terminal = [v["median"] for k, v in per_action.items() if k.endswith("refund_succeeded")]
    others = [v["median"] for k, v in per_action.items() if not k.endswith("refund_succeeded")]
    return {
        "machine_construct_us": time_us(
            lambda: AfterSaleMachine(model=RecordHolder()), budget_s=budget_s, repeats=repeats
        ).as_dict(),
        "record_copy_us": time_us(last.copy, budget_s=budget_s, repeats=repeats).as_dict(),
        "decide_us_per_action": per_action,
        "decide_us_mean_over_flows": round(statistics.mean(medians), 1),
        "decide_us_terminal_transitions": round(statistics.mean(terminal), 1),
        "decide_us_other_transitions": round(statistics.mean(others), 1),
        "record_blob_roundtrip_us": time_us(
            lambda: decode_record(encode_record(last)), budget_s=budget_s, repeats=repeats
        ).as_dict(),
        "record_blob_bytes": len(blob),
    }


def run(quick: bool = False) -> dict[str, object]:
    budget, repeats = (0.3, 3) if quick else (1.0, 5)
    base = baseline(budget, repeats)
    result: dict[str, object] = {
        "python_statemachine_2_state": {k: v.as_dict() for k, v in base.items()}
    }
    result.update(ours(budget / 2, repeats))
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=1))
