"""An independent reference model of SPEC §3–§5 and §8, for the model-based test.

Written from the spec alone: it imports nothing from the domain (`aftersale`) or the service,
so a rule the product gets wrong is not copied into the oracle. States, actions and options
are plain strings, the spec's names.

Each model method takes one call and returns an `Outcome`: the status codes the spec allows
for it and, when "OK" is among them, what the call changes. Where the spec leaves the order
of checks open (a call that breaks two rules), every applicable code is accepted. Where it
leaves a rule open, the outcome says so in `note`, and the test accepts the listed codes.
The model tracks what the spec pins down: state, version, type, amount, the pending timer's
action, open negotiation, rounds, failed options since the latest application, line limits,
escalation window, dispute, proof requests and refund ids.

Readings the spec leaves open, accepted either way: apply at the deadline's very millisecond,
escalate or submit proof exactly at a window's end, AMOUNT_ONLY / PARTIAL_REFUND naming the
current type, REFUND_WITHOUT_RETURN with an amount, a repeated report of an older refund id,
a SUCCEEDED report contradicting an earlier FAILED once the request succeeded offline.
Positions taken: an asked party may submit proof more than once until its deadline; under
arbitration a timer is pending only while some asked party has neither answered nor missed;
a dispute's refund amount sets the refund, not the request's amount; a retried refund pays
the same money; intervene is refused under arbitration and while refunding (the team's
documented deviation from "any non-terminal", commit 379078e).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.reliability.spec import (
    ARB,
    AT_BOTH,
    CANCELED,
    CATALOGUE,
    DAY_MS,
    DENIED,
    ESCALATION_WINDOW_MS,
    FROM,
    INVALID,
    KEY_REUSED,
    MAX_ATTEMPTS,
    MAX_CONTACTS,
    MAX_DISPUTE_IMAGES,
    MAX_DISPUTES,
    MAX_IMAGES,
    MAX_PROOF_ASKS,
    MAX_PROOFS,
    MAX_QUOTA_REQUESTS,
    MAX_REF,
    MAX_REFUND_ATTEMPTS,
    MAX_REFUND_REMINDERS,
    MAX_ROUNDS,
    MAX_TEXT,
    MERCHANT_FAIL,
    MP,
    MWR,
    NOT_FOUND,
    OK,
    OVERDUE,
    PRECONDITION,
    REFUND_FAIL,
    REFUND_SUCCESS,
    REFUNDING,
    REJ_REFUND,
    REJ_RETURN,
    REJECT_RULES,
    RETRY_FAIL,
    RETURN_CLOSED,
    RETURN_SUCCESS,
    ROLE_OF,
    SUCCESS,
    TERMINAL,
    UWC,
    UWCU,
    UWR,
    timer_of,
)


@dataclass(frozen=True)
class Actor:
    role: str  # BUYER, MERCHANT, PAYMENT, PLATFORM
    id: str


@dataclass
class Negotiation:
    kind: str
    option: str
    handling: str
    proposed_type: str | None
    proposed_amount: int | None


@dataclass
class ProofAsk:
    """The platform asked ``parties`` for proof until ``deadline``."""

    parties: set[str]  # BUYER / MERCHANT
    deadline: int
    submitted: set[str] = field(default_factory=set)
    missed: set[str] = field(default_factory=set)

    @property
    def open(self) -> set[str]:
        return self.parties - self.submitted - self.missed


@dataclass
class Dispute:
    by: str  # BUYER or PLATFORM
    came_from: str
    asks: list[ProofAsk] = field(default_factory=list)
    images: int = 0
    proofs: int = 0

    @property
    def open_parties(self) -> set[str]:
        return set().union(*(a.open for a in self.asks)) if self.asks else set()

    def may_submit(self, role: str, now: int) -> str:
        """ "yes", "no" or "edge" (exactly at the deadline): a party asked, not past its
        deadline, may submit proof, more than once (the 20-image cap spans the dispute)."""
        answers = {
            "yes" if now < a.deadline else "edge" if now == a.deadline else "no"
            for a in self.asks
            if role in a.parties and role not in a.missed
        }
        return "yes" if "yes" in answers else "edge" if "edge" in answers else "no"


@dataclass
class Request:
    rid: str
    order_id: str
    sku_id: str
    shop_id: str
    buyer_id: str
    type: str
    amount: int
    paid: int
    reason: str
    first_reason: str
    state: str = MP
    version: int = 1
    negotiation: Negotiation | None = None
    rounds: int = 0
    failed: set[str] = field(default_factory=set)  # options failed since the latest application
    contacts: int = 0
    escalation_deadline: int | None = None
    dispute: Dispute | None = None
    refund_id: str = ""
    refund_amount: int = 0  # of the latest refund asked for
    refund_results: dict[str, str] = field(default_factory=dict)  # refund_id -> settled result
    quota_requests: int = 0
    disputes: int = 0  # escalations and interventions
    refund_attempts: int = 0  # refunds asked for, retries included
    reminders: int = 0  # of the refund in progress

    @property
    def timer(self) -> str | None:
        open_parties = bool(self.dispute and self.dispute.open_parties)
        return timer_of(self.state, open_parties, self.reminders >= MAX_REFUND_REMINDERS)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def success_state(self) -> str:
        return REFUND_SUCCESS if self.type == "REFUND" else RETURN_SUCCESS


@dataclass
class Line:
    active: str | None = None
    attempts: int = 0
    succeeded: bool = False


@dataclass
class Outcome:
    """What the spec allows a call to answer, and what an OK changes (``apply``)."""

    codes: frozenset[str]
    apply: Callable[[], None] | None = None
    bumps: bool = True  # an OK bumps the version (False: an idempotent no-op)
    note: str = ""

    @property
    def ok(self) -> bool:
        return OK in self.codes


def refused(*codes: str, note: str = "") -> Outcome:
    return Outcome(frozenset(codes), note=note)


class Errors:
    """Collects every rule a call breaks; the answer may be any of their codes.

    A rule whose codes include OK is one the spec leaves open: alone, it lets the call
    succeed (with its effect) or fail with its codes; next to a definite break, OK is out.
    """

    def __init__(self) -> None:
        self.codes: set[str] = set()
        self.notes: list[str] = []
        self.definite = False

    def add(self, codes: str | tuple[str, ...], note: str) -> None:
        codes = (codes,) if isinstance(codes, str) else codes
        self.codes.update(codes)
        self.notes.append(note)
        if OK not in codes:
            self.definite = True

    def outcome(self, apply: Callable[[], None], bumps: bool = True) -> Outcome:
        note = "; ".join(self.notes)
        if self.definite:
            return Outcome(frozenset(self.codes - {OK}), note=note)
        return Outcome(frozenset(self.codes | {OK}), apply, bumps, note)


def bad_text(value: str) -> bool:
    return len(value) > MAX_TEXT


def bad_images(images: list[str], low: int = 0, high: int = MAX_IMAGES) -> bool:
    return not low <= len(images) <= high or any(not i or len(i) > MAX_REF for i in images)


class Model:
    """Every request and order line the test created, and the clock the server runs on."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms
        self.requests: dict[str, Request] = {}
        self.lines: dict[tuple[str, str], Line] = {}
        self.refund_ids: set[str] = set()

    # -- helpers -------------------------------------------------------------------------

    def line_of(self, req: Request) -> Line:
        return self.lines.setdefault((req.order_id, req.sku_id), Line())

    def _common(self, req: Request, action: str, actor: Actor, errors: Errors) -> None:
        """Role, ownership and terminal/state checks shared by every request action."""
        self._party(req, action, actor, errors)
        if action in FROM and req.state not in FROM[action]:
            errors.add(PRECONDITION, f"{action} not from {req.state}")
        elif req.terminal:
            errors.add(PRECONDITION, f"{req.state} is terminal")

    @staticmethod
    def _party(req: Request, action: str, actor: Actor, errors: Errors) -> None:
        """Role and ownership (SPEC §9)."""
        if actor.role not in ROLE_OF[action]:
            errors.add(DENIED, f"{actor.role} may not {action}")
        elif actor.role == "BUYER" and actor.id != req.buyer_id:
            errors.add(DENIED, "another buyer's request")
        elif actor.role == "MERCHANT" and actor.id != req.shop_id:
            errors.add(DENIED, "another shop's request")
        elif actor.role == "PAYMENT" and not req.refund_id:
            errors.add(DENIED, "payment sees only requests with a refund")

    def _move(self, req: Request, state: str) -> None:
        req.state = state
        if state in TERMINAL:
            line = self.line_of(req)
            if line.active == req.rid:
                line.active = None
            if state in SUCCESS:
                line.succeeded = True

    def _refund(self, req: Request, amount: int | None = None) -> None:
        """Money must move: PLATFORM_REFUNDING with a new refund id (learnt from the answer),
        of ``amount`` (default: the request's amount)."""
        self._move(req, REFUNDING)
        req.refund_attempts += 1
        req.reminders = 0
        req.refund_id = ""  # set by the test from the response
        req.refund_amount = req.amount if amount is None else amount

    def _approve_like(self, req: Request) -> None:
        if req.type == "REFUND":
            self._refund(req)
        else:
            self._move(req, UWR)

    def _end_negotiation(self, req: Request, failed: bool) -> None:
        neg = req.negotiation
        assert neg is not None
        if failed:
            req.failed.add(neg.option)
        req.negotiation = None
        self._move(req, neg.handling)

    # -- apply -------------------------------------------------------------------------------

    def apply(
        self,
        actor: Actor,
        *,
        order_id: str,
        sku_id: str,
        shop_id: str,
        type_: str,
        amount: int,
        paid: int,
        reason: str,
        deadline_ms: int,
        description: str = "",
        images: list[str] | None = None,
    ) -> tuple[Outcome, Callable[[str], Request] | None]:
        """apply; on OK call the returned function with the new request id."""
        images = images or []
        errors = Errors()
        if actor.role != "BUYER":
            errors.add(DENIED, f"{actor.role} may not apply")
        if type_ not in ("REFUND", "RETURN"):
            errors.add(INVALID, "type")
        if reason == "UNSPECIFIED":
            errors.add(INVALID, "reason")
        if paid < 1:
            errors.add(INVALID, "paid_amount")
        if not 1 <= amount <= max(paid, 1):
            errors.add(INVALID, "amount")
        if bad_text(description) or bad_images(images):
            errors.add(INVALID, "description/images")
        if deadline_ms < self.now:
            errors.add((INVALID, PRECONDITION), "after-sale deadline passed")
        elif deadline_ms == self.now:
            errors.add((INVALID, PRECONDITION, OK), "applying at the deadline's very ms")
        line = self.lines.get((order_id, sku_id), Line())
        if line.succeeded:
            errors.add(PRECONDITION, "line already refunded")
        if line.active is not None:
            errors.add(PRECONDITION, "line has an open request")
        if line.attempts >= MAX_ATTEMPTS:
            errors.add(PRECONDITION, "line attempt cap")
        if errors.definite:
            return errors.outcome(lambda: None), None

        def create(rid: str) -> Request:
            req = Request(
                rid, order_id, sku_id, shop_id, actor.id, type_, amount, paid, reason, reason
            )
            self.requests[rid] = req
            entry = self.lines.setdefault((order_id, sku_id), Line())
            entry.active = rid
            entry.attempts += 1
            return req

        return Outcome(frozenset(errors.codes | {OK}), note="; ".join(errors.notes)), create

    # -- merchant ----------------------------------------------------------------------------

    def approve(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "approve", actor, errors)
        return errors.outcome(lambda: self._approve_like(req))

    def negotiate(
        self,
        req: Request,
        actor: Actor,
        *,
        kind: str,
        option: str,
        images: list[str],
        message: str = "",
        proposed_type: str | None = None,
        proposed_amount: int | None = None,
    ) -> Outcome:
        errors = Errors()
        self._common(req, "negotiate", actor, errors)
        if bad_text(message) or bad_images(images):
            errors.add(INVALID, "message/images")
        rule = CATALOGUE.get(option)
        if rule is None or kind != rule.kind:
            errors.add((INVALID, PRECONDITION), f"option {option} is not of kind {kind}")
        else:
            if rule.images and not images:  # a shape error: answered before any read
                errors.add((INVALID, PRECONDITION), f"{option} needs images")
            if req.state in AT_BOTH:
                if req.state not in rule.states or req.type not in rule.types:
                    errors.add((INVALID, PRECONDITION), f"{option} not for {req.state}/{req.type}")
                if option == "UNABLE_TO_CONTACT" and req.contacts == 0:
                    errors.add(PRECONDITION, "no contact attempt recorded")
        if rule is not None and rule.kind == "MODIFY_APPLICATION":
            self._check_proposal(req, option, proposed_type, proposed_amount, errors)
        elif proposed_type is not None or proposed_amount is not None:
            errors.add((INVALID, PRECONDITION, OK), "a proposal on a non-modify option")
        if req.rounds >= MAX_ROUNDS and req.state in AT_BOTH:
            errors.add(PRECONDITION, "negotiation round cap")

        def send() -> None:
            assert rule is not None
            new_type = proposed_type if rule.kind == "MODIFY_APPLICATION" else None
            if option == "REFUND_WITHOUT_RETURN":
                new_type = "REFUND"
            new_amount = proposed_amount if rule.kind == "MODIFY_APPLICATION" else None
            req.negotiation = Negotiation(kind, option, req.state, new_type, new_amount)
            req.rounds += 1
            self._move(req, UWCU)

        return errors.outcome(send)

    @staticmethod
    def _check_proposal(
        req: Request,
        option: str,
        proposed_type: str | None,
        proposed_amount: int | None,
        errors: Errors,
    ) -> None:
        amount_rule = (INVALID, PRECONDITION)
        if proposed_amount is not None and not 1 <= proposed_amount <= req.paid:
            errors.add(amount_rule, "proposed amount out of 1..paid")
        if option == "AMOUNT_ONLY":
            if proposed_amount is None or proposed_amount == req.amount:
                errors.add(amount_rule, "AMOUNT_ONLY needs a new amount")
            if proposed_type is not None:  # the same type again: the spec does not say
                codes = amount_rule if proposed_type != req.type else (*amount_rule, OK)
                errors.add(codes, "AMOUNT_ONLY changes only the amount")
        elif option in ("PARTIAL_REFUND", "RETURN_PARTIAL_REFUND"):
            if proposed_amount is None or proposed_amount >= req.amount:
                errors.add(amount_rule, f"{option} needs a smaller amount")
            if proposed_type is not None:
                codes = amount_rule if proposed_type != req.type else (*amount_rule, OK)
                errors.add(codes, f"{option} keeps the type")
        elif option == "REFUND_WITHOUT_RETURN":
            if proposed_type not in (None, "REFUND"):
                errors.add(amount_rule, "REFUND_WITHOUT_RETURN proposes REFUND")
            if proposed_amount is not None:  # the spec names only the type change
                errors.add((*amount_rule, OK), "REFUND_WITHOUT_RETURN with an amount")
        elif option == "NEW_PLAN_AGREED":
            changed_type = proposed_type is not None and proposed_type != req.type
            changed_amount = proposed_amount is not None and proposed_amount != req.amount
            if not (changed_type or changed_amount):
                errors.add(amount_rule, "NEW_PLAN_AGREED proposes nothing new")

    def withdraw_negotiation(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "withdraw_negotiation", actor, errors)
        return errors.outcome(lambda: self._end_negotiation(req, failed=False))

    def reject(
        self, req: Request, actor: Actor, *, reason: str, message: str, images: list[str]
    ) -> Outcome:
        errors = Errors()
        self._common(req, "reject", actor, errors)
        if bad_text(message) or len(images) > MAX_IMAGES or any(len(i) > MAX_REF for i in images):
            errors.add(INVALID, "message/images")
        if not any(images):
            errors.add((INVALID, PRECONDITION), "rejection needs evidence")
        rule = REJECT_RULES.get(reason)
        if rule is None:
            errors.add(INVALID, "reject_reason")
        elif req.state in AT_BOTH:
            unlocking, states = rule
            if not unlocking:
                errors.add(PRECONDITION, "REASON_MISMATCH is never allowed")
            elif req.state not in states:
                errors.add(PRECONDITION, f"{reason} not from {req.state}")
            elif not unlocking & req.failed:
                errors.add(PRECONDITION, "needs a failed matching negotiation")

        def do() -> None:
            self._move(req, REJ_REFUND if req.type == "REFUND" else REJ_RETURN)
            req.escalation_deadline = self.now + ESCALATION_WINDOW_MS

        return errors.outcome(do)

    def confirm_receipt(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "confirm_receipt", actor, errors)
        return errors.outcome(lambda: self._refund(req))

    def upload_refund_proof(self, req: Request, actor: Actor, images: list[str]) -> Outcome:
        errors = Errors()
        self._common(req, "upload_refund_proof", actor, errors)
        if len(images) > MAX_IMAGES or any(len(i) > MAX_REF for i in images):
            errors.add(INVALID, "images")
        if not images:
            errors.add((INVALID, PRECONDITION), "proof needs images")
        return errors.outcome(lambda: self._move(req, UWC))

    def record_contact_attempt(self, req: Request, actor: Actor, *, at_ms: int) -> Outcome:
        errors = Errors()
        self._common(req, "record_contact_attempt", actor, errors)
        if at_ms > self.now:
            errors.add((INVALID, PRECONDITION), "attempted_at in the future")
        if req.contacts >= MAX_CONTACTS:
            errors.add(PRECONDITION, "contact attempt cap")

        def do() -> None:
            req.contacts += 1

        return errors.outcome(do)

    def request_contact_quota(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "request_contact_quota", actor, errors)
        if req.quota_requests >= MAX_QUOTA_REQUESTS:
            errors.add(PRECONDITION, "contact quota cap")

        def do() -> None:
            req.quota_requests += 1

        return errors.outcome(do)

    # -- buyer -------------------------------------------------------------------------------

    def accept_negotiation(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "accept_negotiation", actor, errors)
        neg = req.negotiation
        if req.state == UWCU and neg is not None and neg.kind == "INVITE_VERIFY":
            errors.add(PRECONDITION, "INVITE_VERIFY is answered, not accepted")

        def do() -> None:
            assert neg is not None
            req.negotiation = None
            if neg.kind == "INVITE_CANCEL":
                self._move(req, CANCELED)
                return
            if neg.proposed_type is not None:
                req.type = neg.proposed_type
            if neg.proposed_amount is not None:
                req.amount = neg.proposed_amount
            if req.type == "REFUND" or neg.handling == MWR:
                self._refund(req)
            else:
                self._move(req, UWR)

        return errors.outcome(do)

    def reject_negotiation(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "reject_negotiation", actor, errors)
        return errors.outcome(lambda: self._end_negotiation(req, failed=True))

    def supplement_evidence(self, req: Request, actor: Actor, images: list[str]) -> Outcome:
        errors = Errors()
        self._common(req, "supplement_evidence", actor, errors)
        if bad_images(images):
            errors.add(INVALID, "images")
        if not images:
            errors.add((INVALID, PRECONDITION), "supplement needs images")
        neg = req.negotiation
        if req.state == UWCU and neg is not None and neg.kind != "INVITE_VERIFY":
            errors.add(PRECONDITION, "only an INVITE_VERIFY is answered with evidence")
        return errors.outcome(lambda: self._end_negotiation(req, failed=False))

    def modify_application(
        self, req: Request, actor: Actor, *, type_: str, amount: int, reason: str
    ) -> Outcome:
        errors = Errors()
        self._common(req, "modify_application", actor, errors)
        if type_ not in ("REFUND", "RETURN") or reason == "UNSPECIFIED":
            errors.add(INVALID, "type/reason")
        if not 1 <= amount <= req.paid:
            errors.add((INVALID, PRECONDITION), "amount out of 1..paid")
        if self.line_of(req).attempts >= MAX_ATTEMPTS:
            errors.add(PRECONDITION, "line attempt cap")

        def do() -> None:
            req.type, req.amount, req.reason = type_, amount, reason
            req.negotiation = None  # SUPERSEDED
            req.failed = set()
            self.line_of(req).attempts += 1
            self._move(req, MP)

        return errors.outcome(do)

    def cancel(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "cancel", actor, errors)

        def do() -> None:
            req.negotiation = None
            self._move(req, CANCELED)

        return errors.outcome(do)

    def submit_return_waybill(
        self, req: Request, actor: Actor, carrier: str, waybill: str
    ) -> Outcome:
        errors = Errors()
        self._common(req, "submit_return_waybill", actor, errors)
        if not carrier or not waybill or len(carrier) > MAX_TEXT or len(waybill) > MAX_TEXT:
            errors.add(INVALID, "carrier/waybill")
        return errors.outcome(lambda: self._move(req, MWR))

    def escalate(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "escalate", actor, errors)
        deadline = req.escalation_deadline
        if req.state in FROM["escalate"] and deadline is not None:
            if self.now > deadline:
                errors.add(PRECONDITION, "escalation window closed")
            elif self.now == deadline:
                errors.add((PRECONDITION, OK), "exactly at the window's end")
        if req.disputes >= MAX_DISPUTES:
            errors.add(PRECONDITION, "dispute cap")

        def do() -> None:
            req.disputes += 1
            req.dispute = Dispute("BUYER", req.state)
            self._move(req, ARB)

        return errors.outcome(do)

    def withdraw_escalation(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "withdraw_escalation", actor, errors)
        if req.state == ARB and (req.dispute is None or req.dispute.by != "BUYER"):
            errors.add(PRECONDITION, "not escalated by the buyer")

        def do() -> None:
            assert req.dispute is not None
            came_from = req.dispute.came_from
            req.dispute = None
            self._move(req, came_from)

        return errors.outcome(do)

    def confirm_offline_refund(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "confirm_offline_refund", actor, errors)
        return errors.outcome(lambda: self._settle(req))

    def _settle(self, req: Request) -> None:
        self._move(req, req.success_state())

    # -- buyer or merchant ---------------------------------------------------------------------

    def submit_proof(
        self, req: Request, actor: Actor, *, message: str, images: list[str]
    ) -> Outcome:
        errors = Errors()
        self._common(req, "submit_proof", actor, errors)
        if bad_text(message) or len(images) > MAX_IMAGES or any(len(i) > MAX_REF for i in images):
            errors.add(INVALID, "message/images")
        dispute = req.dispute
        if req.state == ARB and dispute is not None:
            may = dispute.may_submit(actor.role, self.now)
            if may == "no":
                errors.add(PRECONDITION, f"{actor.role} was not asked, or its deadline passed")
            elif may == "edge":
                errors.add((PRECONDITION, OK), "exactly at the proof deadline")
            if dispute.images + len(images) > MAX_DISPUTE_IMAGES:
                errors.add((INVALID, PRECONDITION), "more than 20 proof images")
            if dispute.proofs >= MAX_PROOFS:
                errors.add(PRECONDITION, "proof cap")

        def do() -> None:
            assert dispute is not None
            dispute.images += len(images)
            dispute.proofs += 1
            for ask in dispute.asks:
                if actor.role in ask.parties and self.now <= ask.deadline:
                    ask.submitted.add(actor.role)

        return errors.outcome(do)

    # -- payment -------------------------------------------------------------------------------

    def report_refund_result(
        self, req: Request, actor: Actor, *, refund_id: str, result: str
    ) -> Outcome:
        errors = Errors()
        self._party(req, "report_refund_result", actor, errors)
        if result not in ("SUCCEEDED", "FAILED"):
            errors.add(INVALID, "result")
        if errors.definite:
            return errors.outcome(lambda: None)
        settled = req.refund_results.get(refund_id)
        if settled is not None:
            if settled != result:
                codes = {PRECONDITION, INVALID, KEY_REUSED}
                if req.state in SUCCESS and result == "SUCCEEDED":
                    codes.add(OK)  # the spec is silent: accepted as a no-op by the product
                note = "contradicting report"
                return Outcome(frozenset(codes), lambda: None, bumps=False, note=note)
            if refund_id == req.refund_id:
                return Outcome(frozenset({OK}), lambda: None, bumps=False, note="repeat")
            return Outcome(frozenset({OK, PRECONDITION, INVALID}), lambda: None, bumps=False)
        if req.state != REFUNDING or refund_id != req.refund_id:
            return refused(PRECONDITION, INVALID, NOT_FOUND, note="not the refund in progress")

        def do() -> None:
            req.refund_results[refund_id] = result
            if result == "SUCCEEDED":
                self._settle(req)
            else:
                self._move(req, REFUND_FAIL)

        return Outcome(frozenset({OK}), do)

    # -- platform ------------------------------------------------------------------------------

    def intervene(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "intervene", actor, errors)
        if req.disputes >= MAX_DISPUTES:
            errors.add(PRECONDITION, "dispute cap")

        def do() -> None:
            req.disputes += 1
            req.dispute = Dispute("PLATFORM", req.state)
            req.negotiation = None
            self._move(req, ARB)

        return errors.outcome(do)

    def request_proof(
        self,
        req: Request,
        actor: Actor,
        *,
        party: str,
        deadline_in_ms: int | None,
        default_ms: int = 3 * DAY_MS,
    ) -> Outcome:
        errors = Errors()
        self._common(req, "request_proof", actor, errors)
        if party not in ("BUYER", "MERCHANT", "BOTH"):
            errors.add(INVALID, "party")
        if deadline_in_ms is not None and deadline_in_ms <= 0:
            errors.add(INVALID, "deadline not in the future")
        if req.state == ARB and req.dispute is not None and len(req.dispute.asks) >= MAX_PROOF_ASKS:
            errors.add(PRECONDITION, "proof request cap")

        def do() -> None:
            assert req.dispute is not None
            asked = {"BUYER", "MERCHANT"} if party == "BOTH" else {party}
            due = self.now + (default_ms if deadline_in_ms is None else deadline_in_ms)
            req.dispute.asks.append(ProofAsk(asked, due))

        return errors.outcome(do)

    def resolve_dispute(
        self, req: Request, actor: Actor, *, verdict: str, amount: int | None
    ) -> Outcome:
        errors = Errors()
        self._common(req, "resolve_dispute", actor, errors)
        if verdict not in ("MERCHANT_LIABLE", "BUYER_LIABLE", "BOTH_LIABLE"):
            errors.add(INVALID, "verdict")
        if verdict == "BUYER_LIABLE" and amount is not None:
            errors.add(INVALID, "no refund amount for BUYER_LIABLE")
        if verdict == "BOTH_LIABLE" and amount is None:
            errors.add(INVALID, "BOTH_LIABLE needs an amount")
        if amount is not None and not 1 <= amount <= req.paid:
            errors.add(INVALID, "refund amount out of 1..paid")

        def do() -> None:
            req.dispute = None
            if verdict == "BUYER_LIABLE":
                self._move(req, MERCHANT_FAIL)
            else:
                self._refund(req, amount)  # the request's own amount is unchanged

        return errors.outcome(do)

    def retry_refund(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "retry_refund", actor, errors)
        if req.state in FROM["retry_refund"] and req.refund_attempts >= MAX_REFUND_ATTEMPTS:
            errors.add(PRECONDITION, "refund attempt cap")
        return errors.outcome(lambda: self._refund(req, req.refund_amount))  # the same money

    def close_refund(self, req: Request, actor: Actor) -> Outcome:
        errors = Errors()
        self._common(req, "close_refund", actor, errors)
        return errors.outcome(lambda: self._move(req, RETRY_FAIL))

    # -- timers --------------------------------------------------------------------------------

    def fire_timer(self, req: Request, actor: Actor) -> Outcome:
        """Ops fire the pending timer now: its SYSTEM action runs as if due."""
        errors = Errors()
        self._common(req, "fire_timer", actor, errors)
        timer = req.timer
        if timer is None:
            errors.add(PRECONDITION, f"no timer pending in {req.state}")
        return errors.outcome(lambda: self.timeout(req))

    def timeout(self, req: Request) -> None:
        """The pending timer's SYSTEM action (SPEC §3, §6)."""
        state = req.state
        if state == MP:
            self._approve_like(req)
        elif state == UWCU:
            self._end_negotiation(req, failed=True)
        elif state == UWR:
            self._move(req, RETURN_CLOSED)
            req.escalation_deadline = self.now + ESCALATION_WINDOW_MS
        elif state == MWR:
            self._refund(req)
        elif state in (REJ_REFUND, REJ_RETURN, RETURN_CLOSED):
            self._move(req, CANCELED)
        elif state == ARB:
            assert req.dispute is not None
            for ask in req.dispute.asks:
                ask.missed |= ask.open
        elif state == REFUNDING:
            req.reminders += 1  # the same refund, signalled again
        elif state == REFUND_FAIL:
            self._move(req, OVERDUE)
        elif state == UWC:
            self._settle(req)
        else:
            raise AssertionError(f"no timer in {state}")
