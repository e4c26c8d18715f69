"""Input shape (SPEC §8): ids, texts, images, amounts, times and enums of a command.

The one shape check of the service: the API converts a request to a command and leaves every
rule here. A bad field raises ``InvalidInput`` naming it as the API does: a command's fields
carry the API's names, times in ms with a ``_ms`` suffix the API's Timestamps do not have
(``attempted_at_ms`` is ``attempted_at``), images by index (``images[3]``). Fields are
checked by name, so every command gets the same rule for the same kind of field.

What is a shape (README "Errors"): whatever is wrong with the command whatever the stored
request says is refused here, before anything is read, as INVALID_ARGUMENT naming the field.
That includes the evidence images an option, a rejection, a supplement or an offline-refund
proof always requires (``EvidenceRequired``, reason ``EVIDENCE_REQUIRED``); what depends on the
stored request (its state, its negotiations, its limits) is a rule (``aftersale.rules``).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import fields
from enum import Enum
from typing import Any

from aftersale import commands as c
from aftersale.catalog import Proposal, negotiation_spec, reject_reason_spec
from aftersale.exceptions import EvidenceRequired, InvalidInput
from aftersale.model import Actor, AfterSale
from aftersale.policy import Policy
from aftersale.vocabulary import TIMER_ACTIONS, AfterSaleType, Role, Verdict

ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Refund ids are "<request id>-R<attempt>", so they may run past the 64 of a request id.
REFUND_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ID_FIELDS = frozenset({"request_id", "order_id", "sku_id", "shop_id", "buyer_id", "waybill_id"})
_TEXT_FIELDS = frozenset({"description", "message", "note", "return_address", "failure_reason"})
_IMAGE_FIELDS = frozenset({"images", "evidence_images", "screenshots"})
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
    a rule. Amounts are checked against the paid amount of ``record`` (or of an ``Apply``);
    without either, against ``policy.max_amount``."""
    if actor is not None:
        _actor(actor)
    paid = record.paid_amount if record is not None else None
    if isinstance(command, c.Apply):
        paid = command.paid_amount
        _amount("paid_amount", paid, policy.max_amount, "")
    enums = _enum_fields(type(command))
    for f in fields(command):
        value = getattr(command, f.name)
        if f.name in enums:
            _enum(f.name, value, enums[f.name])
        elif f.name in _ID_FIELDS:
            check_id(value, f.name)
        elif f.name == "refund_id":
            check_id(value, f.name, REFUND_ID)
        elif f.name in _TEXT_FIELDS:
            _text(f.name, value, policy.max_text_chars)
        elif f.name in _IMAGE_FIELDS:
            _images(f.name, value, policy)
        elif f.name in _AMOUNT_FIELDS and value is not None:
            upper = policy.max_amount if paid is None else paid
            _amount(f.name, value, upper, "paid amount" if paid is not None else "")
    _shape(command, now_ms, policy)


def check_id(value: object, field: str, pattern: re.Pattern[str] = ID) -> str:
    """A required id: 1..64 (``REFUND_ID``: 1..80) of ``[A-Za-z0-9_-]``."""
    if value == "":
        raise InvalidInput(field, "required", "必填")
    if not isinstance(value, str) or not pattern.fullmatch(value):
        size = "1..80" if pattern is REFUND_ID else "1..64"
        rule = f"must be {size} characters of A-Z a-z 0-9 _ -"
        raise InvalidInput(field, rule, f"须为 {size} 个字符,仅限字母、数字、_ 和 -")
    return value


def _actor(actor: Actor) -> None:
    try:
        Role(actor.role)
    except ValueError:
        raise InvalidInput("actor.role", "not a valid Role", "角色无效") from None
    if not isinstance(actor.id, str) or not 1 <= len(actor.id) <= _MAX_ACTOR_ID_CHARS:
        raise InvalidInput("actor.id", f"1..{_MAX_ACTOR_ID_CHARS} characters", "操作人标识无效")


def _shape(command: c.Command, now_ms: int, policy: Policy) -> None:
    match command:
        case c.Apply() if not _is_int(command.after_sale_deadline_ms):
            raise InvalidInput("after_sale_deadline", "required: a time", "必填")
        case c.Negotiate():
            _proposal(command)
            spec = negotiation_spec(command.option)
            if spec.images_required and not command.images:
                _evidence(
                    f"the option {spec.option.name} needs evidence images: {spec.guidance_en}",
                    f"协商说明“{spec.title_zh}”需要上传图片凭证:{spec.guidance_zh}",
                )
        case c.Reject() if not command.images:
            reason = reject_reason_spec(command.reason)
            if not reason.always_forbidden:  # refused for its reason, images or not
                _evidence(
                    f"a rejection needs evidence images: {reason.guidance_en}",
                    f"拒绝售后需要上传图片凭证:{reason.guidance_zh}",
                )
        case c.SupplementEvidence() | c.UploadRefundProof() if not command.images:
            what = (
                "supplementing evidence"
                if isinstance(command, c.SupplementEvidence)
                else ("an offline refund proof")
            )
            what_zh = "补充凭证" if isinstance(command, c.SupplementEvidence) else "线下退款凭证"
            _evidence(f"{what} needs at least one image", f"{what_zh}需要至少上传一张图片")
        case c.ResolveDispute():
            _refund_amount(Verdict(command.verdict), command.refund_amount)
        case c.SubmitProof() if not command.message and not command.images:
            raise InvalidInput("images", "a proof needs a message or images", "举证须有说明或图片")
        case c.SubmitReturnWaybill():
            carrier = command.carrier
            if not isinstance(carrier, str) or not carrier.strip():
                raise InvalidInput("carrier", "required", "必填")
            if len(carrier) > _MAX_CARRIER_CHARS:
                limit = _MAX_CARRIER_CHARS
                raise InvalidInput("carrier", f"at most {limit} characters", f"最多 {limit} 个字符")
        case c.RequestProof():
            _proof_deadline(command, now_ms, policy.max_proof_deadline_ms)
        case c.RecordContactAttempt() if not _is_int(command.attempted_at_ms) or not (
            0 <= command.attempted_at_ms <= now_ms
        ):
            raise InvalidInput(
                "attempted_at", "must not be in the future", "联系时间不能晚于当前时间"
            )
        case c.FireTimer():
            if command.timer_action not in TIMER_ACTIONS:
                raise InvalidInput("timer_action", "not a timer action", "不是定时任务动作")
            if not _is_int(command.version) or command.version < 1:
                raise InvalidInput("version", "must be ≥ 1", "版本号须 ≥1")


def _evidence(rule: str, rule_zh: str) -> None:
    raise EvidenceRequired("images", rule, rule_zh)


def _refund_amount(verdict: Verdict, amount: int | None) -> None:
    if verdict == Verdict.BOTH_LIABLE and amount is None:
        raise InvalidInput("refund_amount", "required when both are liable", "双方有责时必填")
    if verdict == Verdict.BUYER_LIABLE and amount is not None:
        raise InvalidInput(
            "refund_amount", "not allowed when the buyer is liable", "买家有责时不退款"
        )


def _proof_deadline(command: c.RequestProof, now_ms: int, longest_ms: int) -> None:
    """A deadline in the future and at most ``longest_ms`` away: a timer is never armed years
    ahead (nor past what a record can store)."""
    at, within = command.deadline_at_ms, command.deadline_in_ms
    days = longest_ms // 86_400_000
    if at is not None and within is not None:
        raise InvalidInput("deadline_in", "give deadline_at or deadline_in, not both", "二选一")
    if at is not None and (not _is_int(at) or at <= now_ms):
        raise InvalidInput("deadline_at", "must be in the future", "须为将来的时间")
    if at is not None and at - now_ms > longest_ms:
        raise InvalidInput("deadline_at", f"at most {days} days ahead", f"最多 {days} 天之后")
    if within is not None and (not _is_int(within) or within <= 0):
        raise InvalidInput("deadline_in", "must be positive", "须为正数")
    if within is not None and within > longest_ms:
        raise InvalidInput("deadline_in", f"at most {days} days", f"最多 {days} 天")


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


def _text(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(name, f"at most {limit} characters", f"最多 {limit} 个字符")


def _images(name: str, value: object, policy: Policy) -> None:
    if not isinstance(value, tuple | list) or len(value) > policy.max_images:
        limit = policy.max_images
        raise InvalidInput(name, f"at most {limit} images", f"最多 {limit} 张图片")
    limit = policy.max_media_ref_chars
    for index, ref in enumerate(value):
        if not isinstance(ref, str) or not ref.strip() or len(ref) > limit:
            rule = f"a media reference of 1..{limit} characters"
            raise InvalidInput(f"{name}[{index}]", rule, f"须为 1..{limit} 个字符的媒体引用")


def _amount(name: str, value: object, upper: int, what: str) -> None:
    """Money in fen: 1 ≤ ``value`` ≤ ``upper`` (the paid amount, when ``what`` says so)."""
    if not _is_int(value) or typing.cast(int, value) < 1:
        raise InvalidInput(name, "must be at least 1 fen", "金额至少为 1 分")
    if typing.cast(int, value) > upper:
        if what:
            rule, zh = f"must not exceed the {what} ({upper} fen)", f"不得超过实付金额 ({upper} 分)"
        else:
            rule, zh = f"must not exceed {upper} fen", f"不得超过 {upper} 分"
        raise InvalidInput(name, rule, zh)


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
