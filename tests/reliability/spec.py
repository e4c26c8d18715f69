"""SPEC §3–§5 and §8 as plain tables, written from the spec alone (no product imports):
states, status codes, the negotiation catalogue (§4), the reject rules (§5), which role takes
which action from which states (§3), the timer of each state (§6) and the transition rows
(§3) a recorded history may contain. ``refmodel`` plays calls against them; ``checker``
judges stored histories with ``TRANSITIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass

OK = "OK"
INVALID = "INVALID_ARGUMENT"
PRECONDITION = "FAILED_PRECONDITION"
DENIED = "PERMISSION_DENIED"
NOT_FOUND = "NOT_FOUND"
ABORTED = "ABORTED"
KEY_REUSED = "ALREADY_EXISTS"

MP = "MERCHANT_PROCESSING"
UWCU = "USER_WAIT_CONFIRM_UPDATE"
REJ_REFUND = "MERCHANT_REJECT_REFUND"
REJ_RETURN = "MERCHANT_REJECT_RETURN"
UWR = "USER_WAIT_RETURN"
MWR = "MERCHANT_WAIT_RECEIPT"
RETURN_CLOSED = "RETURN_CLOSED"
ARB = "PLATFORM_ARBITRATING"
REFUNDING = "PLATFORM_REFUNDING"
REFUND_FAIL = "PLATFORM_REFUND_FAIL"
UWC = "USER_WAIT_CONFIRM"
OVERDUE = "MERCHANT_OVERDUE_REFUND"
REFUND_SUCCESS = "MERCHANT_REFUND_SUCCESS"
RETURN_SUCCESS = "MERCHANT_RETURN_SUCCESS"
CANCELED = "USER_CANCELD"
MERCHANT_FAIL = "MERCHANT_FAIL"
RETRY_FAIL = "MERCHANT_REFUND_RETRY_FAIL"

TERMINAL = frozenset({REFUND_SUCCESS, RETURN_SUCCESS, CANCELED, MERCHANT_FAIL, RETRY_FAIL})
SUCCESS = frozenset({REFUND_SUCCESS, RETURN_SUCCESS})
REJECTED = frozenset({REJ_REFUND, REJ_RETURN})

# SPEC §6: the one timer each state runs, by the action it fires (a stored event names the
# armed timer only by its deadline; the state says which one it is).
STATE_TIMERS: dict[str, str] = {
    MP: "merchant_timeout",
    UWCU: "negotiation_timeout",
    UWR: "return_ship_timeout",
    MWR: "receipt_timeout",
    REJ_REFUND: "escalation_expired",
    REJ_RETURN: "escalation_expired",
    RETURN_CLOSED: "escalation_expired",
    ARB: "proof_timeout",
    REFUND_FAIL: "offline_refund_timeout",
    UWC: "offline_refund_confirm_timeout",
    REFUNDING: "refund_reminder",
}

MAX_ROUNDS = 3
MAX_ATTEMPTS = 5
MAX_TEXT = 500
MAX_IMAGES = 9
MAX_DISPUTE_IMAGES = 20
# What one request may accumulate (the default Policy's caps)
MAX_CONTACTS = 10
MAX_QUOTA_REQUESTS = 10
MAX_DISPUTES = 3
MAX_PROOF_ASKS = 10
MAX_PROOFS = 20
MAX_REFUND_ATTEMPTS = 5
MAX_REFUND_REMINDERS = 3
MAX_REF = 512
DAY_MS = 86_400_000
ESCALATION_WINDOW_MS = 7 * DAY_MS


@dataclass(frozen=True)
class OptionRule:
    """One catalogue row of SPEC §4."""

    kind: str
    states: frozenset[str]
    types: frozenset[str]
    images: bool


BOTH = frozenset({"REFUND", "RETURN"})
RET = frozenset({"RETURN"})
AT_MP = frozenset({MP})
AT_MWR = frozenset({MWR})
AT_BOTH = frozenset({MP, MWR})
CATALOGUE: dict[str, OptionRule] = {
    "AMOUNT_ONLY": OptionRule("MODIFY_APPLICATION", AT_MP, BOTH, True),
    "PARTIAL_REFUND": OptionRule("MODIFY_APPLICATION", AT_MP, BOTH, True),
    "RETURN_PARTIAL_REFUND": OptionRule("MODIFY_APPLICATION", AT_MWR, RET, True),
    "REFUND_WITHOUT_RETURN": OptionRule("MODIFY_APPLICATION", AT_MP, RET, False),
    "NEW_PLAN_AGREED": OptionRule("MODIFY_APPLICATION", AT_MP, BOTH, True),
    "EVIDENCE_MISMATCH": OptionRule("INVITE_VERIFY", AT_MP, BOTH, False),
    "EVIDENCE_UNCLEAR": OptionRule("INVITE_VERIFY", AT_MP, BOTH, False),
    "PERISHABLE_QUALITY_PROOF": OptionRule("INVITE_VERIFY", AT_MP, BOTH, False),
    "RETURN_WRONG_ITEM": OptionRule("INVITE_VERIFY", AT_MWR, RET, True),
    "RETURN_MISSING_PARTS": OptionRule("INVITE_VERIFY", AT_MWR, RET, True),
    "RETURN_AFFECTS_RESALE": OptionRule("INVITE_VERIFY", AT_MWR, RET, True),
    "UNABLE_TO_CONTACT": OptionRule("INVITE_VERIFY", AT_BOTH, BOTH, True),
    "AGREED_TO_CANCEL": OptionRule("INVITE_CANCEL", AT_BOTH, BOTH, True),
    "NO_QUALITY_ISSUE_VERIFIED": OptionRule("INVITE_CANCEL", AT_BOTH, BOTH, True),
    "RESEND_CORRECT_ITEM": OptionRule("INVITE_CANCEL", AT_MWR, RET, True),
}

# SPEC §5: reject reason -> (options whose failed negotiation unlocks it, states it is used from)
REJECT_RULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "AMOUNT_DISAGREEMENT": (frozenset({"AMOUNT_ONLY", "PARTIAL_REFUND"}), AT_MP),
    "EVIDENCE_NOT_PROVIDED": (
        frozenset({"EVIDENCE_MISMATCH", "EVIDENCE_UNCLEAR", "PERISHABLE_QUALITY_PROOF"}),
        AT_MP,
    ),
    "NO_QUALITY_ISSUE": (frozenset({"NO_QUALITY_ISSUE_VERIFIED"}), AT_BOTH),
    "BUYER_UNREACHABLE": (frozenset({"UNABLE_TO_CONTACT"}), AT_BOTH),
    "RETURN_ANOMALY": (
        frozenset(
            {
                "RETURN_WRONG_ITEM",
                "RETURN_MISSING_PARTS",
                "RETURN_AFFECTS_RESALE",
                "RESEND_CORRECT_ITEM",
            }
        ),
        AT_MWR,
    ),
    "REASON_MISMATCH": (frozenset(), frozenset()),
}

_NON_TERMINAL_STATES = frozenset(
    {MP, UWCU, REJ_REFUND, REJ_RETURN, UWR, MWR, RETURN_CLOSED, ARB, REFUNDING, REFUND_FAIL, UWC}
    | {OVERDUE}
)

# Which states each action may start from (SPEC §3), for the plain wrong-state check.
FROM: dict[str, frozenset[str]] = {
    "approve": AT_MP,
    "negotiate": AT_BOTH,
    "withdraw_negotiation": frozenset({UWCU}),
    "accept_negotiation": frozenset({UWCU}),
    "reject_negotiation": frozenset({UWCU}),
    "supplement_evidence": frozenset({UWCU}),
    "reject": AT_BOTH,
    "modify_application": frozenset({MP, UWCU, REJ_REFUND, REJ_RETURN}),
    "cancel": frozenset({MP, UWCU, REJ_REFUND, REJ_RETURN, UWR, RETURN_CLOSED}),
    "submit_return_waybill": frozenset({UWR}),
    "confirm_receipt": frozenset({MWR, UWR}),
    "escalate": frozenset({REJ_REFUND, REJ_RETURN, RETURN_CLOSED}),
    "request_proof": frozenset({ARB}),
    "submit_proof": frozenset({ARB}),
    "withdraw_escalation": frozenset({ARB}),
    "resolve_dispute": frozenset({ARB}),
    "upload_refund_proof": frozenset({REFUND_FAIL, OVERDUE}),
    "confirm_offline_refund": frozenset({UWC}),
    "retry_refund": frozenset({REFUND_FAIL, OVERDUE}),
    "close_refund": frozenset({OVERDUE}),
    # SPEC §3 says "any non-terminal"; the team refuses intervening under arbitration and while
    # a refund is in flight (so a payment result always lands) - commit 379078e, a documented
    # deviation the model follows.
    "intervene": _NON_TERMINAL_STATES - {ARB, REFUNDING},
}
ROLE_OF: dict[str, frozenset[str]] = {
    "apply": frozenset({"BUYER"}),
    "approve": frozenset({"MERCHANT"}),
    "negotiate": frozenset({"MERCHANT"}),
    "withdraw_negotiation": frozenset({"MERCHANT"}),
    "accept_negotiation": frozenset({"BUYER"}),
    "reject_negotiation": frozenset({"BUYER"}),
    "supplement_evidence": frozenset({"BUYER"}),
    "reject": frozenset({"MERCHANT"}),
    "modify_application": frozenset({"BUYER"}),
    "cancel": frozenset({"BUYER"}),
    "submit_return_waybill": frozenset({"BUYER"}),
    "confirm_receipt": frozenset({"MERCHANT"}),
    "escalate": frozenset({"BUYER"}),
    "withdraw_escalation": frozenset({"BUYER"}),
    "confirm_offline_refund": frozenset({"BUYER"}),
    "upload_refund_proof": frozenset({"MERCHANT"}),
    "record_contact_attempt": frozenset({"MERCHANT"}),
    "request_contact_quota": frozenset({"MERCHANT"}),
    "submit_proof": frozenset({"BUYER", "MERCHANT"}),
    "report_refund_result": frozenset({"PAYMENT"}),
    "intervene": frozenset({"PLATFORM"}),
    "request_proof": frozenset({"PLATFORM"}),
    "resolve_dispute": frozenset({"PLATFORM"}),
    "retry_refund": frozenset({"PLATFORM"}),
    "close_refund": frozenset({"PLATFORM"}),
    "fire_timer": frozenset({"PLATFORM"}),
}


def timer_of(state: str, dispute_open_parties: bool, reminded_out: bool = False) -> str | None:
    """The SYSTEM action pending in ``state`` (SPEC §6); None: no timer. ``reminded_out``: the
    refund in PLATFORM_REFUNDING was reminded as often as allowed (flagged for ops)."""
    return {
        MP: "merchant_timeout",
        UWCU: "negotiation_timeout",
        UWR: "return_ship_timeout",
        MWR: "receipt_timeout",
        REJ_REFUND: "escalation_expired",
        REJ_RETURN: "escalation_expired",
        RETURN_CLOSED: "escalation_expired",
        ARB: "proof_timeout" if dispute_open_parties else None,
        REFUNDING: None if reminded_out else "refund_reminder",
        REFUND_FAIL: "offline_refund_timeout",
        UWC: "offline_refund_confirm_timeout",
    }.get(state)


# -- the transition table alone (SPEC §3), to judge recorded histories -------------------------

_NON_TERMINAL = _NON_TERMINAL_STATES
_BACK_TO_HANDLING = frozenset({(UWCU, MP), (UWCU, MWR)})
_ESCALATABLE = frozenset({REJ_REFUND, REJ_RETURN, RETURN_CLOSED})


def _pairs(sources: frozenset[str], targets: frozenset[str]) -> frozenset[tuple[str, str]]:
    return frozenset((s, t) for s in sources for t in targets)


TRANSITIONS: dict[str, frozenset[tuple[str, str]]] = {
    "apply": frozenset({("", MP)}),
    "approve": _pairs(AT_MP, frozenset({REFUNDING, UWR})),
    "merchant_timeout": _pairs(AT_MP, frozenset({REFUNDING, UWR})),
    "negotiate": _pairs(AT_BOTH, frozenset({UWCU})),
    "withdraw_negotiation": _BACK_TO_HANDLING,
    "reject_negotiation": _BACK_TO_HANDLING,
    "supplement_evidence": _BACK_TO_HANDLING,
    "negotiation_timeout": _BACK_TO_HANDLING,
    "accept_negotiation": _pairs(frozenset({UWCU}), frozenset({REFUNDING, UWR, CANCELED})),
    "reject": frozenset({(MP, REJ_REFUND), (MP, REJ_RETURN), (MWR, REJ_RETURN)}),
    "modify_application": _pairs(FROM["modify_application"], AT_MP),
    "cancel": _pairs(FROM["cancel"], frozenset({CANCELED})),
    "submit_return_waybill": frozenset({(UWR, MWR)}),
    "return_ship_timeout": frozenset({(UWR, RETURN_CLOSED)}),
    "confirm_receipt": _pairs(frozenset({MWR, UWR}), frozenset({REFUNDING})),
    "receipt_timeout": frozenset({(MWR, REFUNDING)}),
    "escalate": _pairs(_ESCALATABLE, frozenset({ARB})),
    "intervene": _pairs(FROM["intervene"], frozenset({ARB})),
    "escalation_expired": _pairs(_ESCALATABLE, frozenset({CANCELED})),
    "request_proof": frozenset({(ARB, ARB)}),
    "submit_proof": frozenset({(ARB, ARB)}),
    "proof_timeout": frozenset({(ARB, ARB)}),
    "withdraw_escalation": _pairs(frozenset({ARB}), _ESCALATABLE),
    "resolve_dispute": _pairs(frozenset({ARB}), frozenset({REFUNDING, MERCHANT_FAIL})),
    "refund_succeeded": _pairs(frozenset({REFUNDING}), SUCCESS),
    "refund_failed": frozenset({(REFUNDING, REFUND_FAIL)}),
    "upload_refund_proof": _pairs(frozenset({REFUND_FAIL, OVERDUE}), frozenset({UWC})),
    "confirm_offline_refund": _pairs(frozenset({UWC}), SUCCESS),
    "offline_refund_confirm_timeout": _pairs(frozenset({UWC}), SUCCESS),
    "offline_refund_timeout": frozenset({(REFUND_FAIL, OVERDUE)}),
    "retry_refund": _pairs(frozenset({REFUND_FAIL, OVERDUE}), frozenset({REFUNDING})),
    "close_refund": frozenset({(OVERDUE, RETRY_FAIL)}),
    "record_contact_attempt": frozenset((s, s) for s in _NON_TERMINAL),
    "request_contact_quota": frozenset((s, s) for s in _NON_TERMINAL),
    "refund_reminder": frozenset({(REFUNDING, REFUNDING)}),
}
TIMER_ACTIONS = frozenset(
    {
        "merchant_timeout",
        "negotiation_timeout",
        "return_ship_timeout",
        "receipt_timeout",
        "escalation_expired",
        "proof_timeout",
        "offline_refund_timeout",
        "offline_refund_confirm_timeout",
        "refund_reminder",
    }
)
