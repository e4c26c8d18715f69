"""Input shape (SPEC §8): ids, texts, images, amounts, times and enums of a command.

A bad field raises ``InvalidInput`` naming it, before any rule or machine runs. Fields are
checked by name, so every command gets the same rule for the same kind of field.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import fields
from enum import Enum
from typing import Any

from aftersale import commands as c
from aftersale.catalog import Proposal, negotiation_spec
from aftersale.exceptions import InvalidInput
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.vocabulary import TIMER_ACTIONS, AfterSaleType, Role, Verdict

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Refund ids are "<request id>-R<attempt>", so they may run past the 64 of a request id.
_REFUND_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ID_FIELDS = frozenset({"request_id", "order_id", "sku_id", "shop_id", "buyer_id", "waybill_id"})
_TEXT_FIELDS = frozenset({"description", "message", "note", "return_address", "failure_reason"})
_IMAGE_FIELDS = frozenset({"images", "evidence", "screenshots"})
_AMOUNT_FIELDS = frozenset({"amount", "proposed_amount", "refund_amount"})
_MAX_CARRIER_CHARS = 64
_MAX_ACTOR_ID_CHARS = 128  # service names and ops accounts, not only request ids


def validate(
    command: c.Command,
    record: AfterSale | None,
    now_ms: int,
    policy: Policy,
    actor: Actor | None = None,
) -> None:
    """Raise ``InvalidInput`` for the first field of ``command`` (or of ``actor``) that breaks
    a rule. Amounts are checked against the paid amount of ``record`` (or of an ``Apply``)."""
    if actor is not None:
        _actor(actor)
    paid = record.paid_amount if record is not None else None
    if isinstance(command, c.Apply):
        paid = command.paid_amount
        if not _is_int(paid) or paid < 1:
            raise InvalidInput(
                "paid_amount", "a whole number of fen ≥ 1", "实付金额须为 ≥1 的整数(分)"
            )
    enums = _enum_fields(type(command))
    for f in fields(command):
        value = getattr(command, f.name)
        if f.name in enums:
            _enum(f.name, value, enums[f.name])
        elif f.name in _ID_FIELDS:
            _id(f.name, value, _ID)
        elif f.name == "refund_id":
            _id(f.name, value, _REFUND_ID)
        elif f.name in _TEXT_FIELDS:
            _text(f.name, value, policy.max_text_chars)
        elif f.name in _IMAGE_FIELDS:
            _images(f.name, value, policy)
        elif f.name in _AMOUNT_FIELDS and value is not None:
            _amount(f.name, value, paid)
    _shape(command, now_ms)


def _actor(actor: Actor) -> None:
    try:
        Role(actor.role)
    except ValueError:
        raise InvalidInput("actor.role", "not a valid Role", "角色无效") from None
    if not isinstance(actor.id, str) or not 1 <= len(actor.id) <= _MAX_ACTOR_ID_CHARS:
        raise InvalidInput("actor.id", f"1..{_MAX_ACTOR_ID_CHARS} characters", "操作人标识无效")


def _shape(command: c.Command, now_ms: int) -> None:
    match command:
        case c.Apply() if not _is_int(command.after_sale_deadline_ms):
            raise InvalidInput("after_sale_deadline_ms", "must be a time in ms", "须为毫秒时间")
        case c.Negotiate():
            _proposal(command)
        case c.ResolveDispute():
            verdict, amount = Verdict(command.verdict), command.refund_amount
            if verdict == Verdict.BOTH_LIABLE and amount is None:
                raise InvalidInput(
                    "refund_amount", "required for BOTH_LIABLE", "双方责任须填写退款金额"
                )
            if verdict == Verdict.BUYER_LIABLE and amount is not None:
                raise InvalidInput(
                    "refund_amount", "not allowed for BUYER_LIABLE", "买家责任不退款"
                )
        case c.SubmitProof() if not command.message and not command.images:
            raise InvalidInput("images", "a proof needs a message or images", "举证须有说明或图片")
        case c.SubmitReturnWaybill():
            carrier = command.carrier
            if not isinstance(carrier, str) or not carrier.strip():
                raise InvalidInput("carrier", "required", "请填写物流公司")
            if len(carrier) > _MAX_CARRIER_CHARS:
                raise InvalidInput("carrier", f"at most {_MAX_CARRIER_CHARS} characters", "过长")
        case c.RequestProof() if command.deadline_ms is not None and (
            not _is_int(command.deadline_ms) or command.deadline_ms <= now_ms
        ):
            raise InvalidInput("deadline_ms", "must be in the future", "举证期限须晚于当前时间")
        case c.RecordContactAttempt() if not _is_int(command.attempted_at_ms) or not (
            0 <= command.attempted_at_ms <= now_ms
        ):
            raise InvalidInput(
                "attempted_at_ms", "must not be in the future", "联系时间不能晚于当前时间"
            )
        case c.FireTimer():
            if command.timer_action not in TIMER_ACTIONS:
                raise InvalidInput("timer_action", "not a timer action", "不是定时任务动作")
            if not _is_int(command.version) or command.version < 1:
                raise InvalidInput("version", "must be ≥ 1", "版本号须 ≥1")


def _proposal(command: c.Negotiate) -> None:
    """Which proposal fields the option takes (their relation to the request is a rule)."""
    proposal = negotiation_spec(command.option).proposal
    new_type, new_amount = command.proposed_type, command.proposed_amount
    takes_amount = proposal in (Proposal.AMOUNT_CHANGE, Proposal.AMOUNT_LOWER, Proposal.NEW_PLAN)
    takes_type = proposal in (Proposal.TO_REFUND, Proposal.NEW_PLAN)
    if new_amount is not None and not takes_amount:
        raise InvalidInput(
            "proposed_amount", f"{command.option} proposes no amount", "该协商不修改金额"
        )
    if new_type is not None and not takes_type:
        raise InvalidInput(
            "proposed_type", f"{command.option} proposes no type", "该协商不修改售后类型"
        )
    if proposal == Proposal.TO_REFUND and new_type not in (None, AfterSaleType.REFUND):
        raise InvalidInput(
            "proposed_type", "REFUND_WITHOUT_RETURN proposes REFUND", "只能改为仅退款"
        )
    if proposal in (Proposal.AMOUNT_CHANGE, Proposal.AMOUNT_LOWER) and new_amount is None:
        raise InvalidInput("proposed_amount", f"required for {command.option}", "请填写协商金额")
    if proposal == Proposal.NEW_PLAN and new_type is None and new_amount is None:
        raise InvalidInput(
            "proposed_amount", "NEW_PLAN_AGREED needs a type or an amount", "请填写新方案"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id(name: str, value: object, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        size = "1..80" if pattern is _REFUND_ID else "1..64"
        raise InvalidInput(name, f"{size} of A-Z a-z 0-9 _ -", f"须为 {size} 位字母、数字、_ 或 -")


def _text(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(name, f"text of at most {limit} characters", f"文本最多 {limit} 字")


def _images(name: str, value: object, policy: Policy) -> None:
    if not isinstance(value, tuple | list) or len(value) > policy.max_images:
        raise InvalidInput(
            name, f"at most {policy.max_images} images", f"最多 {policy.max_images} 张图片"
        )
    for ref in value:
        if not isinstance(ref, str) or not ref.strip() or len(ref) > policy.max_media_ref_chars:
            raise InvalidInput(
                name, "each image is a media reference of 1..512 characters", "图片引用无效"
            )


def _amount(name: str, value: object, paid: int | None) -> None:
    if not _is_int(value) or paid is None or not 1 <= typing.cast(int, value) <= paid:
        raise InvalidInput(
            name, f"1 ≤ amount ≤ paid amount ({paid})", f"金额须在 1 到实付金额 {paid} 分之间"
        )


def _enum(name: str, value: object, enum_type: type[Enum]) -> None:
    if value is None:
        return
    try:
        enum_type(value)
    except ValueError:
        raise InvalidInput(name, f"not a valid {enum_type.__name__}", f"{name} 取值无效") from None


_ENUM_FIELDS: dict[type, dict[str, type[Enum]]] = {}


def _enum_fields(command_type: type) -> dict[str, type[Enum]]:
    """The command's enum-typed fields (optional ones included) and their enums."""
    known = _ENUM_FIELDS.get(command_type)
    if known is not None:
        return known
    found: dict[str, type[Enum]] = {}
    for name, hint in typing.get_type_hints(command_type).items():
        args: tuple[Any, ...] = (
            typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        )
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, Enum):
                found[name] = arg
    _ENUM_FIELDS[command_type] = found
    return found
