"""The guards of SPEC §3–§5 and the per-request limits of §8, as pure functions.

Each returns ``None`` when the action may go ahead, or a ``Refusal`` saying why not and what
to do instead. ``precondition`` looks at the record only (it answers "which actions are
allowed now"); ``refusal_for`` adds the checks on the command's content. ``machine.run``
calls ``refusal_for`` once per command, before ``send``; ``aftersale.allowed`` calls
``precondition``.
"""

from __future__ import annotations

from collections.abc import Callable

from aftersale import commands as c
from aftersale.catalog import NEGOTIATION_OPTIONS, Proposal, negotiation_spec
from aftersale.exceptions import Denial, Refusal
from aftersale.guide import title_zh
from aftersale.limits import limit_refusal
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.refusals import refusal
from aftersale.rejection import negotiate_allowed, reject_allowed, reject_command
from aftersale.vocabulary import (
    ACTION_ROLES,
    STATE_ZH,
    Action,
    AfterSaleType,
    NegotiationKind,
    NegotiationOption,
    Role,
    State,
)

TIMERS_ONLY = Denial(
    "ROLE_NOT_ALLOWED",
    "timers fire as SYSTEM, and SYSTEM only fires timers",
    "定时任务动作只能由系统定时任务触发,系统也只触发定时任务",
)
NOT_THE_APPLYING_BUYER = Denial(
    "NOT_YOUR_REQUEST", "not the applying buyer", "只有申请售后的买家本人可以提交申请"
)
NOT_THE_BUYER = Denial("NOT_YOUR_REQUEST", "not the request's buyer", "不是该售后单的买家")
NOT_THE_SHOP = Denial("NOT_YOUR_REQUEST", "not the request's shop", "不是该售后单的店铺")


def ownership_violation(
    record: AfterSale | None, command: c.Command, actor: Actor
) -> Denial | None:
    """Why ``actor`` may not send ``command`` to ``record`` (None when it may), SPEC §9."""
    action = c.action_of(command)
    if isinstance(command, c.FireTimer) != (actor.role == Role.SYSTEM):
        return TIMERS_ONLY
    if actor.role not in ACTION_ROLES[action]:
        return Denial(
            "ROLE_NOT_ALLOWED",
            f"{actor.role.value} may not {action.name}",
            f"{title_zh(actor.role)}不能执行“{title_zh(action)}”",
        )
    if isinstance(command, c.Apply):
        return None if actor.id == command.buyer_id else NOT_THE_APPLYING_BUYER
    return not_owner(record, actor) if record is not None else None


def not_owner(record: AfterSale, actor: Actor) -> Denial | None:
    """Why a buyer or merchant ``actor`` is not a party to ``record`` (None when it is)."""
    if actor.role == Role.BUYER and actor.id != record.buyer_id:
        return NOT_THE_BUYER
    if actor.role == Role.MERCHANT and actor.id != record.shop_id:
        return NOT_THE_SHOP
    return None


# -- negotiation (SPEC §4) ------------------------------------------------------------------


def option_refusal(
    record: AfterSale, kind: NegotiationKind, option: NegotiationOption
) -> Refusal | None:
    """Whether ``option`` (of ``kind``) fits the request's state, type and contact history."""
    spec = negotiation_spec(option)
    why = ""
    if spec.kind != kind:
        why, why_zh = f"with the kind {kind.name}", f"不属于协商类型“{title_zh(kind)}”"
    elif record.state not in spec.from_states:
        why, why_zh = f"while the request is {record.state.name}", f"不适用于“{_zh(record)}”"
    elif record.type not in spec.types:
        why, why_zh = f"for a {record.type.name} request", f"不适用于“{title_zh(record.type)}”售后"
    if why:
        return refusal(
            "OPTION_NOT_ALLOWED",
            option=option,
            options=tuple(sendable_options(record)),
            why_en=why,
            why_zh=why_zh,
        )
    if option == NegotiationOption.UNABLE_TO_CONTACT and not record.contact_attempts:
        return refusal("CONTACT_ATTEMPT_REQUIRED")
    return None


def sendable_options(record: AfterSale) -> list[NegotiationOption]:
    """The options whose state, type and contact rules the request meets now."""
    return [
        spec.option
        for spec in NEGOTIATION_OPTIONS.values()
        if record.state in spec.from_states
        and record.type in spec.types
        and (spec.option != NegotiationOption.UNABLE_TO_CONTACT or record.contact_attempts)
    ]


def _negotiate(record: AfterSale, command: c.Negotiate, policy: Policy) -> Refusal | None:
    spec = negotiation_spec(command.option)
    found = option_refusal(record, command.kind, command.option)
    if found:
        return found
    new_type = command.proposed_type or record.type
    new_amount = command.proposed_amount or record.amount
    amount = command.proposed_amount
    if spec.proposal == Proposal.AMOUNT_CHANGE and amount == record.amount:
        return _amount_refusal(amount, "it equals the current amount", "与当前金额相同")
    if spec.proposal == Proposal.AMOUNT_LOWER and amount is not None and amount >= record.amount:
        return _amount_refusal(amount, "it must be below the current amount", "须低于当前金额")
    if spec.proposal == Proposal.NEW_PLAN and (new_type, new_amount) == (
        record.type,
        record.amount,
    ):
        return _amount_refusal(amount, "the plan changes nothing", "新方案与当前申请相同")
    if (
        spec.kind == NegotiationKind.MODIFY_APPLICATION
        and record.state == State.MERCHANT_PROCESSING
    ):
        return return_address_refusal(new_type, command.return_address or record.return_address)
    return None


def return_address_refusal(new_type: AfterSaleType, address: str) -> Refusal | None:
    """A RETURN needs the shop's return address before the buyer can be asked to ship (SPEC
    §3): the one guard of every way to become a RETURN and every way into USER_WAIT_RETURN."""
    if new_type == AfterSaleType.RETURN and not address:
        return refusal("RETURN_ADDRESS_REQUIRED")
    return None


def _ships_back(record: AfterSale, command: c.Command) -> Refusal | None:
    """The address guard for the actions that may ask the buyer to ship the goods back."""
    match command:
        case c.Approve():
            return return_address_refusal(
                record.type, command.return_address or record.return_address
            )
        case c.FireTimer() if command.timer_action == Action.MERCHANT_TIMEOUT:
            return return_address_refusal(record.type, record.return_address)
        case c.ModifyApplication():
            return return_address_refusal(command.type, record.return_address)
        case c.AcceptNegotiation() if record.negotiation is not None:
            open_one = record.negotiation
            returns = open_one.kind == NegotiationKind.MODIFY_APPLICATION and (
                open_one.handling_state == State.MERCHANT_PROCESSING
            )
            new_type = open_one.proposed_type or record.type
            address = open_one.return_address or record.return_address
            return return_address_refusal(new_type, address) if returns else None
    return None


def _amount_refusal(amount: int | None, why: str, why_zh: str) -> Refusal:
    return refusal("AMOUNT_NOT_ALLOWED", amount=amount, why_en=why, why_zh=why_zh)


# -- the other record guards -----------------------------------------------------------------


def _accept_allowed(record: AfterSale) -> Refusal | None:
    open_one = record.negotiation
    if open_one is not None and open_one.kind == NegotiationKind.INVITE_VERIFY:
        return refusal("PLAIN_ACCEPT_NOT_ALLOWED")
    return None


def _supplement_allowed(record: AfterSale) -> Refusal | None:
    open_one = record.negotiation
    if open_one is None or open_one.kind != NegotiationKind.INVITE_VERIFY:
        return refusal("EVIDENCE_NOT_REQUESTED")
    return None


def _escalate_allowed(record: AfterSale, now_ms: int) -> Refusal | None:
    deadline = record.escalation_deadline_ms
    if deadline is None or now_ms > deadline:
        return refusal("ESCALATION_WINDOW_CLOSED")
    return None


def _withdraw_escalation_allowed(record: AfterSale) -> Refusal | None:
    if record.dispute is None or record.dispute.escalated_by != Role.BUYER:
        return refusal("NOT_ESCALATED_BY_BUYER")
    return None


def _submit_proof_allowed(record: AfterSale, role: Role, now_ms: int) -> Refusal | None:
    # An asked party may add proof until its deadline, in several submissions.
    requests = record.dispute.proof_requests if record.dispute else []
    asked = [p for p in requests if role in p.asked_parties and role not in p.missed]
    if not asked:
        return refusal("PROOF_NOT_REQUESTED", party=role)
    if all(p.deadline_ms < now_ms for p in asked):
        return refusal("PROOF_DEADLINE_PASSED")
    return None


_Guard = Callable[[AfterSale, Actor, int, Policy], Refusal | None]

_PRECONDITIONS: dict[Action, _Guard] = {
    Action.NEGOTIATE: lambda record, _, __, policy: negotiate_allowed(record, policy),
    Action.REJECT: lambda record, _, __, policy: reject_allowed(record, policy),
    Action.ACCEPT_NEGOTIATION: lambda record, *_: _accept_allowed(record),
    Action.SUPPLEMENT_EVIDENCE: lambda record, *_: _supplement_allowed(record),
    Action.MODIFY_APPLICATION: lambda record, _, __, policy: _attempts_left(record, policy),
    Action.ESCALATE: lambda record, _, now_ms, __: _escalate_allowed(record, now_ms),
    Action.WITHDRAW_ESCALATION: lambda record, *_: _withdraw_escalation_allowed(record),
    Action.SUBMIT_PROOF: lambda record, actor, now_ms, _: _submit_proof_allowed(
        record, actor.role, now_ms
    ),
}


def _attempts_left(record: AfterSale, policy: Policy) -> Refusal | None:
    # The order line's cap counts every request of the line (storage checks that); one
    # request alone can never go past it either.
    if record.application_round >= policy.max_attempts_per_line:
        return refusal(
            "ATTEMPT_LIMIT", limit=policy.max_attempts_per_line, used=record.application_round
        )
    return None


def precondition(
    action: Action, record: AfterSale, actor: Actor, now_ms: int, policy: Policy
) -> Refusal | None:
    """The guard of ``action`` that depends on the record only (not on the command)."""
    guard = _PRECONDITIONS.get(action)
    return guard(record, actor, now_ms, policy) if guard else None


def refusal_for(
    record: AfterSale | None, command: c.Command, actor: Actor, now_ms: int, policy: Policy
) -> Refusal | None:
    """Every guard of ``command`` on ``record`` (None only for ``Apply``)."""
    if isinstance(command, c.Apply):
        if now_ms > command.after_sale_deadline_ms:
            return refusal("APPLICATION_DEADLINE_PASSED")
        return return_address_refusal(command.type, command.return_address)
    assert record is not None
    if isinstance(command, c.Reject):  # the reason names the precise next step
        return reject_command(record, command, policy)
    found = precondition(c.action_of(command), record, actor, now_ms, policy)
    if found:
        return found
    found = limit_refusal(record, command, policy) or _ships_back(record, command)
    if found:
        return found
    match command:
        case c.Negotiate():
            return _negotiate(record, command, policy)
        case c.RefundSucceeded() | c.RefundFailed():
            current = record.refund.refund_id if record.refund else ""
            if command.refund_id != current:
                return refusal(
                    "REFUND_ID_MISMATCH",
                    refund_id=command.refund_id,
                    current_refund_id=current or "-",
                )
    return None


def _zh(record: AfterSale) -> str:
    return STATE_ZH[record.state]
