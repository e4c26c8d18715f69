"""The refusals the rules give: one stable reason code each, explained in en and zh with the
recommended next step, and the exception class a refused command raises."""

from __future__ import annotations

from enum import Enum

from aftersale.exceptions import (
    ActionRefused,
    InvalidState,
    LimitExceeded,
    NegotiationRequired,
    Refusal,
    RejectionForbidden,
    StaleTimer,
)
from aftersale.groups import TERMINAL_STATES
from aftersale.guide import title_zh
from aftersale.vocabulary import Action, State

# reason: (message_en, message_zh, next_step_en, next_step_zh). ``{name}`` placeholders are
# filled from the keyword arguments of ``refusal``, rendered per language: a vocabulary member
# (state, action, option, reject reason, type, role) by its enum name in en and its Chinese
# title in zh, a tuple of them as a list; a free text comes as a ``name_en`` / ``name_zh``
# pair. Every other fact is also ErrorInfo metadata under its own name (README "Errors").
_TEXTS: dict[str, tuple[str, str, str, str]] = {
    "INVALID_STATE": (
        "{action} is not possible while the request is {state}.",
        "售后单当前为“{state}”,不能执行“{action}”。",
        "{next}",
        "{next}",
    ),
    "STALE_TIMER": (
        "The timer {action} no longer matches the request (it moved on).",
        "定时任务“{action}”已过期(售后单已变化),不再执行。",
        "Drop the timer.",
        "丢弃该定时任务。",
    ),
    "APPLICATION_DEADLINE_PASSED": (
        "The after-sale period of this order line has ended.",
        "该商品已超过售后申请期限。",
        "Contact the shop's customer service.",
        "请联系商家客服。",
    ),
    "ATTEMPT_LIMIT": (
        "This order line has used all {limit} applications and modifications.",
        "该商品的售后申请与修改次数已达上限({limit} 次)。",
        "Contact the shop's customer service or the platform.",
        "请联系商家客服或平台客服。",
    ),
    "NEGOTIATION_OPEN": (
        "A negotiation is already waiting for the buyer.",
        "已有一个协商在等待买家处理。",
        "Wait for the buyer's answer, or withdraw the open negotiation.",
        "请等待买家处理,或撤回当前协商。",
    ),
    "ROUND_LIMIT": (
        "This request has used all {limit} negotiation rounds.",
        "本售后单的协商次数已达上限({limit} 次)。",
        "Approve the request, or reject it if a failed negotiation allows it.",
        "请同意售后,或在协商未果的前提下拒绝售后。",
    ),
    "OPTION_NOT_ALLOWED": (
        "The option {option} cannot be sent {why}.",
        "协商说明“{option}”{why}。",
        "Sendable now: {options}.",
        "当前可发起:{options}。",
    ),
    "CONTACT_ATTEMPT_REQUIRED": (
        "Record at least one failed attempt to contact the buyer first.",
        "请先记录至少一次联系买家未果的尝试。",
        "Record a failed contact attempt (call, voice, WeCom or SMS), then send UNABLE_TO_CONTACT.",
        "请先记录联系买家未果(电话、语音、企业微信或短信),再发起“无法联系或联系不上买家”协商。",
    ),
    "AMOUNT_NOT_ALLOWED": (
        "The proposed amount {amount} is not allowed: {why}.",
        "协商金额 {amount} 不符合要求:{why}。",
        "Propose an amount that fits the option.",
        "请按协商说明填写金额。",
    ),
    "RETURN_ADDRESS_REQUIRED": (
        "A return needs the shop's return address.",
        "退货退款需要提供商家退货地址。",
        "Give a return address (ApproveAfterSale and SendNegotiation take one).",
        "请填写退货地址(同意售后与发起协商时均可填写)。",
    ),
    "PLAIN_ACCEPT_NOT_ALLOWED": (
        "The merchant asked you to verify or add evidence; there is nothing to accept.",
        "商家邀请您核实或补充凭证,无需“同意”。",
        "Supplement evidence, modify your application, or cancel it.",
        "请补充凭证、修改售后申请或取消售后申请。",
    ),
    "EVIDENCE_NOT_REQUESTED": (
        "The open negotiation does not ask for evidence.",
        "当前协商未邀请补充凭证。",
        "Accept or reject the negotiation.",
        "请同意或拒绝该协商。",
    ),
    "REJECTION_FORBIDDEN": (
        "{reject_reason} is never a ground for rejection.",
        "不能以“{reject_reason}”为由拒绝售后。",
        "Approve the refund, or negotiate AGREED_TO_CANCEL with the buyer.",
        "请同意退款,或与买家协商一致后发起“已与买家协商取消售后”协商。",
    ),
    "REASON_NOT_FOR_STATE": (
        "{reject_reason} cannot be used while the request is {state}.",
        "售后单为“{state}”时不能以“{reject_reason}”为由拒绝。",
        "Use a reject reason that fits the current state.",
        "请选择适用于当前状态的拒绝理由。",
    ),
    "NEGOTIATION_REQUIRED": (
        "Rejecting for {reject_reason} needs a negotiation ({options}) the buyer rejected or "
        "let time out since the latest application.",
        "以“{reject_reason}”拒绝前,须在买家最近一次申请后发起协商({options}),且买家拒绝或超时"
        "未处理。",
        "{next}",
        "{next}",
    ),
    "ESCALATION_WINDOW_CLOSED": (
        "The window to ask the platform to step in has closed.",
        "申请平台介入的时限已过。",
        "",
        "",
    ),
    "NOT_ESCALATED_BY_BUYER": (
        "Only an escalation the buyer started can be withdrawn.",
        "仅可撤回买家自己申请的平台介入。",
        "Wait for the platform's decision.",
        "请等待平台处理结果。",
    ),
    "PROOF_NOT_REQUESTED": (
        "The platform has not asked the {party} for proof.",
        "平台未要求{party}举证。",
        "Wait until the platform asks for proof.",
        "请等待平台发起举证要求。",
    ),
    "PROOF_DEADLINE_PASSED": (
        "The deadline to submit proof has passed.",
        "举证期限已过。",
        "Wait for the platform's decision.",
        "请等待平台处理结果。",
    ),
    "PROOF_IMAGE_LIMIT": (
        "A dispute takes at most {limit} proof images; {used} are already used.",
        "每个纠纷最多上传 {limit} 张举证图片,已使用 {used} 张。",
        "Submit fewer images.",
        "请减少图片数量。",
    ),
    "REFUND_SETTLED_OFFLINE": (
        "The refund {refund_id} failed and the merchant then refunded offline, which the "
        "buyer confirmed: a payment now would pay the buyer twice.",
        "退款单 {refund_id} 曾失败,商家已线下退款且买家已确认:此时打款将重复退款。",
        "Reverse the payment and tell ops (PLATFORM) about request {request_id}.",
        "请撤回该笔打款并通知平台客服处理售后单 {request_id}。",
    ),
    "REFUND_ID_MISMATCH": (
        "The refund {refund_id} is not the request's current refund.",
        "退款单 {refund_id} 不是本售后单当前的退款。",
        "Report the result of the current refund ({current_refund_id}).",
        "请回传当前退款({current_refund_id})的结果。",
    ),
    "EVIDENCE_LIMIT": (
        "A request holds at most {limit} evidence images; {used} are already there.",
        "每个售后单最多保存 {limit} 张凭证图片,已有 {used} 张。",
        "Send fewer images, or modify the application with a new set of evidence.",
        "请减少图片数量,或修改售后申请并重新上传凭证。",
    ),
    "CONTACT_ATTEMPT_LIMIT": (
        "A request records at most {limit} contact attempts.",
        "每个售后单最多记录 {limit} 次联系尝试。",
        "The attempts recorded are enough to send UNABLE_TO_CONTACT.",
        "已记录的联系尝试足以发起“无法联系或联系不上买家”协商。",
    ),
    "CONTACT_QUOTA_LIMIT": (
        "A request may ask for a contact quota at most {limit} times.",
        "每个售后单最多申请 {limit} 次联系额度。",
        "Use the quotas already granted, or negotiate UNABLE_TO_CONTACT.",
        "请使用已获得的联系额度,或发起“无法联系或联系不上买家”协商。",
    ),
    "DISPUTE_LIMIT": (
        "A request may go to the platform at most {limit} times.",
        "每个售后单最多申请平台介入 {limit} 次。",
        "Contact platform customer service.",
        "请联系平台客服。",
    ),
    "PROOF_REQUEST_LIMIT": (
        "A dispute takes at most {limit} proof requests.",
        "每个纠纷最多发起 {limit} 次举证要求。",
        "Decide the dispute on the proof submitted.",
        "请根据已提交的举证处理纠纷。",
    ),
    "PROOF_LIMIT": (
        "A dispute takes at most {limit} proof submissions.",
        "每个纠纷最多提交 {limit} 次举证。",
        "Wait for the platform's decision.",
        "请等待平台处理结果。",
    ),
    "REFUND_ATTEMPT_LIMIT": (
        "The refund was attempted {used} times, the most allowed ({limit}).",
        "退款已尝试 {used} 次,已达上限({limit} 次)。",
        "Close the refund, or have the merchant refund offline.",
        "请关闭退款,或由商家线下退款。",
    ),
    "NO_PENDING_TIMER": (
        "No timer is pending while the request is {state}: there is nothing to fire.",
        "售后单当前为“{state}”,没有待触发的定时任务。",
        "Wait for an action that starts a timer.",
        "请等待会启动定时任务的操作。",
    ),
    # The order-line rules of SPEC §8: only storage sees every request of a line, so the
    # commit script refuses these and the repository raises them (its cap is ATTEMPT_LIMIT).
    "LINE_HAS_OPEN_REQUEST": (
        "This order line already has an open after-sale request ({open_request_id}).",
        "该订单商品已有进行中的售后单({open_request_id})。",
        "Continue with the open request, or cancel it before applying again.",
        "请继续处理进行中的售后单,或撤销后再重新申请。",
    ),
    "LINE_ALREADY_REFUNDED": (
        "This order line was already refunded by after-sale request {refunded_request_id}.",
        "该订单商品已通过售后单 {refunded_request_id} 完成退款,不能再次申请售后。",
        "No further after-sale request is possible for this order line.",
        "该订单商品不能再申请售后。",
    ),
}

_ERRORS: dict[str, type[ActionRefused]] = {
    "INVALID_STATE": InvalidState,
    "STALE_TIMER": StaleTimer,
    "NEGOTIATION_REQUIRED": NegotiationRequired,
    "REJECTION_FORBIDDEN": RejectionForbidden,
    "ROUND_LIMIT": LimitExceeded,
    "ATTEMPT_LIMIT": LimitExceeded,
    "PROOF_IMAGE_LIMIT": LimitExceeded,
    **dict.fromkeys(
        (
            "EVIDENCE_LIMIT",
            "CONTACT_ATTEMPT_LIMIT",
            "CONTACT_QUOTA_LIMIT",
            "DISPUTE_LIMIT",
            "PROOF_REQUEST_LIMIT",
            "PROOF_LIMIT",
            "REFUND_ATTEMPT_LIMIT",
        ),
        LimitExceeded,
    ),
    "LINE_HAS_OPEN_REQUEST": LimitExceeded,
    "LINE_ALREADY_REFUNDED": LimitExceeded,
}

REASONS: frozenset[str] = frozenset(_TEXTS)


Fact = str | int | Enum | tuple[Enum, ...] | None


def _en(value: Fact) -> str:
    if isinstance(value, tuple):
        return ", ".join(_en(v) for v in value) or "none"
    return value.name if isinstance(value, Enum) else "" if value is None else str(value)


def _zh(value: Fact) -> str:
    if isinstance(value, tuple):
        return "、".join(f"“{_zh(v)}”" for v in value) or "无"
    return title_zh(value) if isinstance(value, Enum) else "" if value is None else str(value)


def _metadata(value: Fact) -> str:
    """One format for every value: enum members by name, lists joined by "," (no spaces)."""
    if isinstance(value, tuple):
        return ",".join(_metadata(v) for v in value)
    return value.name if isinstance(value, Enum) else "" if value is None else str(value)


def refusal(reason: str, /, **facts: Fact) -> Refusal:
    """The refusal for ``reason``, its texts filled with ``facts`` (each rendered in the
    message's language); the facts that are not ``*_en`` / ``*_zh`` texts become metadata."""
    message_en, message_zh, next_en, next_zh = _TEXTS[reason]
    plain = {k: v for k, v in facts.items() if not k.endswith(("_en", "_zh"))}
    en = {k: _en(v) for k, v in plain.items()}
    zh = {k: _zh(v) for k, v in plain.items()}
    for key, text in facts.items():
        if key.endswith("_en"):
            en[key[:-3]] = str(text)
        elif key.endswith("_zh"):
            zh[key[:-3]] = str(text)
    return Refusal(
        reason=reason,
        message_en=message_en.format_map(en),
        message_zh=message_zh.format_map(zh),
        next_step_en=next_en.format_map(en),
        next_step_zh=next_zh.format_map(zh),
        metadata={k: _metadata(v) for k, v in plain.items() if v is not None},
    )


def error_for(
    refused: Refusal,
    request_id: str,
    state: State | None,
    action: Action | None,
    allowed: tuple[Action, ...] = (),
) -> ActionRefused:
    """The exception a command refused for ``refused`` raises (``action`` None: no action was
    named, as when ops fire a timer and none is pending)."""
    error_class = _ERRORS.get(refused.reason, ActionRefused)
    return error_class(request_id, state, action, refused, allowed)


def invalid_state(action: Action, state: State | None, sources: tuple[State, ...]) -> Refusal:
    """``action`` has no transition from ``state`` (None: no request yet); the next step names
    the states ``sources`` it is possible from (what is possible now is in the error's
    allowed actions, computed where the caller is known)."""
    if state in TERMINAL_STATES:
        next_en, next_zh = "The request is closed; nothing more can happen.", "售后单已结束。"
    else:
        next_en = f"{_en(action)} is possible from: {_en(sources)}."
        next_zh = f"“{_zh(action)}”仅可在以下状态执行:{_zh(sources)}。"
    return refusal("INVALID_STATE", action=action, state=state, next_en=next_en, next_zh=next_zh)
