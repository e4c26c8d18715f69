"""Every error the domain raises, as one tree under ``AfterSaleError``.

    AfterSaleError
    ├── InvalidInput            a field breaks a rule (names the field)     → INVALID_ARGUMENT
    ├── NotFound                no request with that id                     → NOT_FOUND
    ├── PermissionDenied        the actor may not act on / see this request → PERMISSION_DENIED
    ├── ActionRefused           the action is not allowed now               → FAILED_PRECONDITION
    │   ├── InvalidState            not from this state (lists allowed actions)
    │   ├── NegotiationRequired     reject before a matching failed negotiation
    │   ├── EvidenceRequired        images missing where the rules ask for them
    │   ├── RejectionForbidden      a reject reason that is never allowed
    │   ├── LimitExceeded           a per-request or per-order-line limit (SPEC §8)
    │   └── StaleTimer              a timer whose request moved on (storage drops it)
    └── Conflict
        ├── VersionConflict         stale expected_version / lost a race    → ABORTED
        └── IdempotencyKeyReused    same key, different body                → ALREADY_EXISTS

Every refusal carries a ``Refusal``: a stable machine reason, zh and en explanations and the
recommended next step, so the API can render it without knowing the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aftersale.vocabulary import Action, State


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action is refused now, for machines (``reason``) and people (zh, en)."""

    reason: str  # stable, e.g. "NEGOTIATION_REQUIRED"
    message_en: str
    message_zh: str
    next_step_en: str = ""
    next_step_zh: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class AfterSaleError(Exception):
    """Base of every domain error."""

    reason: str = "AFTER_SALE_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(AfterSaleError):
    """A field of the command breaks a rule; nothing was changed."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, field_name: str, rule: str, message_zh: str = "") -> None:
        super().__init__(f"{field_name}: {rule}")
        self.field = field_name
        self.rule = rule
        self.message_zh = message_zh or rule


class NotFound(AfterSaleError):
    reason = "NOT_FOUND"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"after-sale request {request_id} not found")
        self.request_id = request_id


class PermissionDenied(AfterSaleError):
    reason = "PERMISSION_DENIED"

    def __init__(self, request_id: str, actor: str, why: str) -> None:
        super().__init__(f"{actor} may not act on {request_id}: {why}")
        self.request_id = request_id
        self.actor = actor
        self.why = why


class ActionRefused(AfterSaleError):
    """The action is not allowed in the request's current situation."""

    reason = "ACTION_REFUSED"

    def __init__(
        self,
        request_id: str,
        state: State | None,
        action: Action,
        refusal: Refusal,
        allowed: tuple[Action, ...] = (),
    ) -> None:
        super().__init__(refusal.message_en)
        self.request_id = request_id
        self.state = state
        self.action = action
        self.refusal = refusal
        self.allowed = allowed
        self.reason = refusal.reason


class InvalidState(ActionRefused):
    """The action has no transition from the current state."""


class NegotiationRequired(ActionRefused):
    """SPEC §5: a rejection needs a matching negotiation the buyer refused or let time out."""


class EvidenceRequired(ActionRefused):
    """Images are required by the option or the rule."""


class RejectionForbidden(ActionRefused):
    """A reject reason that is never allowed (``REASON_MISMATCH``)."""


class LimitExceeded(ActionRefused):
    """A per-request or per-order-line limit of SPEC §8."""


class StaleTimer(ActionRefused):
    """A fired timer no longer matches the request (version or action moved on): it does
    nothing, and storage drops it. Reason ``STALE_TIMER``."""


class Conflict(AfterSaleError):
    reason = "CONFLICT"


class VersionConflict(Conflict):
    reason = "VERSION_CONFLICT"

    def __init__(self, request_id: str, expected: int, actual: int) -> None:
        super().__init__(f"{request_id}: expected version {expected}, found {actual}")
        self.request_id = request_id
        self.expected = expected
        self.actual = actual


class IdempotencyKeyReused(Conflict):
    reason = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was used with a different request body")
        self.key = key
