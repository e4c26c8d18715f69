"""The generated parts of SPEC.md, the product's rules, rendered from the machine and catalogues.

SPEC.md is prose with generated blocks between markers::

    <!-- BEGIN GENERATED states (make spec) -->
    ...
    <!-- END GENERATED states -->

``python -m aftersale.specdoc --write SPEC.md`` (``make spec``) replaces every block's body
with what the code says now; ``tests/unit/test_spec_fresh.py`` fails when a block is stale,
so the tables (states, actions and who takes them, the negotiation catalogue, reject rules,
timers, limits) cannot drift from the code. The prose around them is written by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from aftersale.catalog import KINDS, NEGOTIATION_OPTIONS, REJECT_REASONS
from aftersale.groups import OPEN_STATES, TERMINAL_STATES
from aftersale.policy import DAY_MS, HOUR_MS, Policy
from aftersale.refunds import REFUND_REASONS
from aftersale.table import SOURCES_OF, TRANSITIONS
from aftersale.timers import TIMER_TABLE, duration_ms
from aftersale.vocabulary import (
    ACTION_ROLES,
    QUALITY_REASONS,
    STATE_ZH,
    Action,
    BuyerReason,
    RefundReason,
    Role,
    State,
)

_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED (?P<name>[a-z-]+) \(make spec\) -->\n)(?P<body>.*?)"
    r"(<!-- END GENERATED (?P=name) -->)",
    re.DOTALL,
)


def _code(value: str) -> str:
    return f"`{value}`"


def _duration(ms: int) -> str:
    if ms % DAY_MS == 0 and ms >= DAY_MS:
        return f"{ms // DAY_MS} d"
    return f"{ms // HOUR_MS} h" if ms % HOUR_MS == 0 else f"{ms // 1000} s"


def _states(policy: Policy) -> list[str]:
    lines = ["| state | 中文 | terminal | its timer fires |", "|---|---|---|---|"]
    for state in State:
        spec = TIMER_TABLE.get(state)
        timer = "—" if spec is None else _code(spec.action.value)
        terminal = "yes" if state in TERMINAL_STATES else "no"
        lines.append(f"| `{state.value}` | {STATE_ZH[state]} | {terminal} | {timer} |")
    return lines


def _reasons(policy: Policy) -> list[str]:
    quality = [r for r in BuyerReason if r in QUALITY_REASONS]
    other = [r for r in BuyerReason if r not in QUALITY_REASONS]
    return [
        "| | values |",
        "|---|---|",
        f"| buyer reasons, quality | {', '.join(_code(r.value) for r in quality)} |",
        f"| buyer reasons, other | {', '.join(_code(r.value) for r in other)} |",
        "| why money moved (`refund_reason`), set by | "
        + ", ".join(f"`{r.value}` ({_code(a.value)})" for a, r in REFUND_REASONS.items())
        + " |",
        f"| every `refund_reason` | {', '.join(_code(r.value) for r in RefundReason)} |",
    ]


def _sources(action: Action) -> str:
    sources = SOURCES_OF[action]
    if set(sources) == OPEN_STATES:
        return "every open state"
    return ", ".join("(new)" if s is None else _code(s.value) for s in sources)


def _targets(action: Action) -> str:
    targets: list[str] = []
    for t in TRANSITIONS:
        if t.action != action:
            continue
        to = "same state" if t.source == t.target else _code(t.target.value)
        guard = f" when `{' and '.join(t.guards)}`" if t.guards else ""
        if f"{to}{guard}" not in targets:
            targets.append(f"{to}{guard}")
    return "; ".join(targets)


def _actions(policy: Policy) -> list[str]:
    lines = ["| action | who | from | to |", "|---|---|---|---|"]
    for action in Action:
        roles = ", ".join(sorted(r.value for r in ACTION_ROLES[action]))
        lines.append(f"| `{action.value}` | {roles} | {_sources(action)} | {_targets(action)} |")
    return lines


def _roles(policy: Policy) -> list[str]:
    lines = ["| role | actions |", "|---|---|"]
    for role in Role:
        actions = [a for a in Action if role in ACTION_ROLES[a]]
        lines.append(f"| `{role.value}` | {', '.join(_code(a.value) for a in actions)} |")
    return lines


def _catalogue(policy: Policy) -> list[str]:
    lines = ["| kind | option | from | types | images |", "|---|---|---|---|---|"]
    for spec in NEGOTIATION_OPTIONS.values():
        kind = KINDS[spec.kind]
        states = ", ".join(sorted(_code(s.value) for s in spec.from_states))
        types = ", ".join(sorted(t.value for t in spec.types))
        lines.append(
            f"| `{spec.kind.value}` {kind.title_zh} ({kind.title_en}) | `{spec.option.value}` "
            f"{spec.title_zh} ({spec.title_en}) | {states} | {types} | "
            f"{'required' if spec.images_required else 'optional'} |"
        )
    return lines


def _rejections(policy: Policy) -> list[str]:
    lines = [
        "| reject reason | unlocked by a REJECTED or TIMED_OUT negotiation of | from | evidence |",
        "|---|---|---|---|",
    ]
    for spec in REJECT_REASONS.values():
        options = " or ".join(_code(o.value) for o in spec.unlocking_options)
        states = ", ".join(sorted(_code(s.value) for s in spec.from_states)) or "—"
        lines.append(
            f"| `{spec.reason.value}` {spec.title_zh} ({spec.title_en}) | "
            f"{options or '**never allowed**'} | {states} | {spec.guidance_en} |"
        )
    return lines


def _timers(policy: Policy) -> list[str]:
    lines = [
        "| state | timer | default | fires | due |",
        "|---|---|---|---|---|",
    ]
    for state, spec in TIMER_TABLE.items():
        default = _duration(duration_ms(policy.durations, spec.duration))
        lines.append(
            f"| `{state.value}` | `{spec.kind.value}` | {default} (`{spec.duration}`) | "
            f"`{spec.action.value}` | {spec.note} |"
        )
    return lines


def _limits(policy: Policy) -> list[str]:
    rows = [
        ("applications + modifications per order line", policy.max_attempts_per_line),
        ("negotiation rounds per request", policy.max_negotiation_rounds),
        ("text length (messages, proofs), characters", policy.max_text_chars),
        ("images per action", policy.max_images),
        ("characters of one media reference", policy.max_media_ref_chars),
        ("evidence images over a request's life", policy.max_evidence_images),
        ("contact attempts per request", policy.max_contact_attempts),
        ("contact quota requests per request", policy.max_contact_quota_requests),
        ("escalations + interventions per request", policy.max_disputes),
        ("proof requests per dispute", policy.max_proof_requests),
        ("proof submissions per dispute", policy.max_proofs),
        ("proof images per dispute", policy.max_dispute_proof_images),
        ("refund attempts (the first and the platform's retries)", policy.max_refund_attempts),
        ("reminders of an unanswered refund, then flagged for ops", policy.max_refund_reminders),
        ("furthest proof deadline", _duration(policy.max_proof_deadline_ms)),
        ("largest amount, fen", f"{policy.max_amount:_}".replace("_", " ")),
    ]
    lines = ["| limit | default |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    return lines


BLOCKS: dict[str, Callable[[Policy], list[str]]] = {
    "states": _states,
    "reasons": _reasons,
    "actions": _actions,
    "roles": _roles,
    "catalogue": _catalogue,
    "rejections": _rejections,
    "timers": _timers,
    "limits": _limits,
}


class SpecDocError(ValueError):
    """SPEC.md names a block this module cannot render, or lacks one it must have."""


def render(text: str, policy: Policy | None = None) -> str:
    """``text`` with every generated block's body replaced by what the code says now."""
    policy = policy or Policy()
    found: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in BLOCKS:
            raise SpecDocError(f"SPEC.md has a block {name!r}; known: {', '.join(BLOCKS)}")
        found.append(name)
        body = "\n".join(BLOCKS[name](policy)) + "\n"
        return f"{match.group(1)}{body}{match.group(4)}"

    rendered = _BLOCK.sub(fill, text)
    missing = [name for name in BLOCKS if name not in found]
    if missing:
        raise SpecDocError(f"SPEC.md lacks the generated blocks {missing}")
    return rendered


def main(argv: list[str] | None = None) -> int:
    """``python -m aftersale.specdoc [--write] PATH``: print (or rewrite) the rendered file."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", type=Path, help="SPEC.md")
    parser.add_argument("--write", action="store_true", help="rewrite the file in place")
    args = parser.parse_args(argv)
    rendered = render(args.path.read_text(encoding="utf-8"))
    if args.write:
        args.path.write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
