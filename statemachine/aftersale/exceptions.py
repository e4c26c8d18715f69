"""Every error the domain raises, as one tree under ``AfterSaleError``.

    AfterSaleError
    ├── InvalidInput            a field breaks a rule (names the field)     → INVALID_ARGUMENT
    │   └── EvidenceRequired        images missing where the rules ask for them
    ├── NotFound                no request with that id                     → NOT_FOUND
    ├── PermissionDenied        the actor may not act on / see this request → PERMISSION_DENIED
    ├── ActionRefused           the action is not allowed now               → FAILED_PRECONDITION
    │   ├── InvalidState            not from this state (lists allowed actions)
    │   ├── NegotiationRequired     reject before a matching failed negotiation
    │   ├── RejectionForbidden      a reject reason that is never allowed
    │   ├── LimitExceeded           a per-request or per-order-line limit (SPEC §8)
    │   └── StaleTimer              a timer whose request moved on (storage drops it)
    └── Conflict
        ├── VersionConflict         stale expected_version / lost a race    → ABORTED
        ├── IdempotencyKeyReused    same key, different body                → ALREADY_EXISTS
        └── IdempotentCallSuperseded  same key and body, the call took effect  → ALREADY_EXISTS
                                    and the request moved on since

Which is which (README "Errors"): a request that is wrong whatever the stored request says —
a field missing, malformed, too long or too many, two fields that contradict each other, an
option sent without the evidence its catalogue entry always requires — is ``InvalidInput``
(checked before anything is read). A well-formed request that the stored request's state,
history or limits refuse now is an ``ActionRefused``.

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
    """A field of the command breaks a rule; nothing was changed. ``reason`` says which kind
    of rule: ``FIELD_REQUIRED`` when ``rule`` starts with "required", else ``FIELD_INVALID``
    unless given (``TOKEN_NOT_ISSUED``, ``BODY_UNDECODABLE``, ...)."""

    reason = "FIELD_INVALID"

    def __init__(self, field_name: str, rule: str, message_zh: str, reason: str = "") -> None:
        super().__init__(f"{field_name}: {rule}")
        self.field = field_name
        self.rule = rule
        self.message_zh = message_zh
        self.reason = reason or ("FIELD_REQUIRED" if rule.startswith("required") else self.reason)


class EvidenceRequired(InvalidInput):
    """Images the option or the action always requires are missing (a request wrong whatever
    the stored request says, so INVALID_ARGUMENT naming ``images``)."""

    reason = "EVIDENCE_REQUIRED"


class NotFound(AfterSaleError):
    """No such request (subclasses name other resources: what, its reason and metadata key)."""

    reason = "NOT_FOUND"
    resource_type = "aftersale.v1.AfterSale"
    info_reason = "REQUEST_NOT_FOUND"
    key = "request_id"
    what_zh = "售后单"

    def __init__(self, request_id: str) -> None:
        super().__init__(f"after-sale request {request_id} not found")
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Denial:
    """Why a party may not do something: a stable reason and the why in en and zh."""

    reason: str  # NOT_YOUR_REQUEST, ROLE_NOT_ALLOWED, OUT_OF_SCOPE, ...
    why: str
    why_zh: str


class PermissionDenied(AfterSaleError):
    """``actor`` may not do this; ``request_id`` is "" when no request was named."""

    reason = "PERMISSION_DENIED"

    def __init__(self, request_id: str, actor: str, denial: Denial) -> None:
        subject = f"on {request_id}" if request_id else "here"
        super().__init__(f"{actor} may not act {subject}: {denial.why}")
        self.request_id = request_id
        self.actor = actor
        self.why = denial.why
        self.why_zh = denial.why_zh
        self.reason = denial.reason


class ActionRefused(AfterSaleError):
    """The action is not allowed in the request's current situation."""

    reason = "ACTION_REFUSED"

    def __init__(
        self,
        request_id: str,
        state: State | None,
        action: Action | None,
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


class IdempotentCallSuperseded(Conflict):
    """A retry of a call that took effect (``request_id`` at ``version``, event ``event_id``)
    after the request moved on: its first answer, the record as of that version, is kept
    nowhere any more, so the caller reads the request as it is now."""

    reason = "IDEMPOTENT_CALL_SUPERSEDED"

    def __init__(self, key: str, request_id: str, version: int, event_id: str) -> None:
        super().__init__(
            f"idempotency key {key!r}: the call took effect (request {request_id} version "
            f"{version}, event {event_id}) and the request has moved on since; read it"
        )
        self.key = key
        self.request_id = request_id
        self.version = version
        self.event_id = event_id
