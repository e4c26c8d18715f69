"""The texts of the negotiation catalogue and the reject reasons, in zh and en.

They follow the seed merchant guide (after-sale-negotiation-guide.zh.txt): the title of each
option, the merchant message it fills in (商家留言, the merchant may append text) and the
evidence guidance shown next to the image upload (凭证引导语).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aftersale.vocabulary import (
    STATE_ZH,
    Action,
    AfterSaleType,
    NegotiationKind,
    NegotiationOption,
    ProofParty,
    RejectReason,
    Role,
    State,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class Texts:
    title_zh: str
    title_en: str
    message_zh: str = ""  # the auto-filled merchant message (options only)
    message_en: str = ""
    guidance_zh: str = ""  # evidence guidance
    guidance_en: str = ""


_O = NegotiationOption
_R = RejectReason

KIND_TEXTS: dict[NegotiationKind, Texts] = {
    NegotiationKind.MODIFY_APPLICATION: Texts("修改买家售后申请", "Modify the buyer's request"),
    NegotiationKind.INVITE_VERIFY: Texts(
        "邀请买家核实与补充凭证", "Invite the buyer to verify and add evidence"
    ),
    NegotiationKind.INVITE_CANCEL: Texts(
        "已协商一致,邀请买家取消售后", "Agreed with the buyer: invite them to cancel"
    ),
}

OPTION_TEXTS: dict[NegotiationOption, Texts] = {
    _O.AMOUNT_ONLY: Texts(
        title_zh="仅修改退款金额",
        title_en="Change the refund amount only",
        message_zh=(
            "您好,根据与您沟通一致的结果,本次售后的退款金额已修改为协商后的金额。您同意后,平台将自"
            "动为您发起退款或进入退货退款流程。"
        ),
        message_en=(
            "Hello, as agreed with you, the refund amount of this request is changed to the amount "
            "we settled on. Once you accept, the platform starts the refund (or the return) by "
            "itself."
        ),
        guidance_zh="请上传与买家协商一致退款金额的聊天记录截图。",
        guidance_en=(
            "Upload a screenshot of the chat in which you and the buyer agreed on the amount."
        ),
    ),
    _O.PARTIAL_REFUND: Texts(
        title_zh="部分商品破损/变质,部分退款",
        title_en="Part of the goods damaged or spoiled: partial refund",
        message_zh=(
            "您好,经核实您补充的凭证,仅部分商品存在破损/变质,经与您协商一致,按受损部分为您退款。"
        ),
        message_en=(
            "Hello, having checked your evidence, only part of the goods is damaged or spoiled. As "
            "agreed with you, we refund the affected part."
        ),
        guidance_zh="请上传商品破损/变质部分的照片,以及与买家协商部分退款的聊天记录截图。",
        guidance_en=(
            "Upload photos of the damaged or spoiled part and a screenshot of the chat agreeing on "
            "the partial refund."
        ),
    ),
    _O.RETURN_PARTIAL_REFUND: Texts(
        title_zh="退回商品少件,按实收部分退款",
        title_en="Return short of items: refund what was received",
        message_zh=(
            "您好,我们已收到您退回的商品,经查验实收数量少于申请数量,现按实际收到的商品为您退款。"
        ),
        message_en=(
            "Hello, your return arrived with fewer items than requested. We refund the items "
            "actually received."
        ),
        guidance_zh="请上传退货包裹开箱及实收商品的照片(含快递面单)。",
        guidance_en=(
            "Upload photos of the opened return parcel and the items received, waybill visible."
        ),
    ),
    _O.REFUND_WITHOUT_RETURN: Texts(
        title_zh="无需退货,改为仅退款",
        title_en="No need to return: refund only",
        message_zh="您好,该商品(如生鲜、绿植等)不便退回,您无需寄回商品,我们将直接为您仅退款。",
        message_en=(
            "Hello, this item (fresh food, plants and the like) need not be sent back; we refund "
            "you without a return."
        ),
        guidance_zh="无需上传凭证;如有与买家的沟通记录,可一并上传。",
        guidance_en="No evidence needed; you may attach your chat with the buyer.",
    ),
    _O.NEW_PLAN_AGREED: Texts(
        title_zh="已协商一致的新方案",
        title_en="A new plan agreed with the buyer",
        message_zh="您好,根据与您协商一致的新售后方案,已为您修改售后类型/退款金额,请您确认后同意。",
        message_en=(
            "Hello, following the new plan we agreed on with you, we changed the after-sale type "
            "and/or the refund amount. Please review and accept."
        ),
        guidance_zh="请上传与买家协商一致新方案的聊天记录截图。",
        guidance_en="Upload a screenshot of the chat in which the buyer agreed to the new plan.",
    ),
    _O.EVIDENCE_MISMATCH: Texts(
        title_zh="凭证与实际商品不符",
        title_en="Evidence does not match the item",
        message_zh=(
            "您好,您上传的凭证与实际购买的商品不符。为尽快为您处理,请重新上传所购商品问题部位的照片"
            ",或根据实际情况修改售后申请。"
        ),
        message_en=(
            "Hello, the evidence you uploaded does not match the item you bought. To settle this "
            "quickly, please upload photos of the problem on the item you bought, or modify your "
            "request."
        ),
        guidance_zh="可上传商品详情页截图或发货实拍图,说明凭证与实际商品的差异。",
        guidance_en=(
            "You may upload the product page or photos of the shipped item to show the difference."
        ),
    ),
    _O.EVIDENCE_UNCLEAR: Texts(
        title_zh="凭证不清晰不全面",
        title_en="Evidence unclear or incomplete",
        message_zh=(
            "您好,您上传的凭证不够清晰或不够全面,暂时无法确认商品问题。请补充清晰、完整的照片(商品"
            "整体、问题细节、包装及快递面单)。"
        ),
        message_en=(
            "Hello, your evidence is not clear or complete enough to confirm the problem. Please "
            "add clear, complete photos (whole item, close-ups, packaging, waybill)."
        ),
        guidance_zh="可选:标注买家凭证中不清晰或缺失的部分。",
        guidance_en="Optional: mark what is unclear or missing in the buyer's evidence.",
    ),
    _O.PERISHABLE_QUALITY_PROOF: Texts(
        title_zh="特殊品类请补充质量问题凭证",
        title_en="Perishable goods: add proof of the quality problem",
        message_zh=(
            "您好,生鲜、绿植等特殊品类商品不支持7天无理由退换货。为尽快为您处理,请补充商品出现质量"
            "问题的照片。"
        ),
        message_en=(
            "Hello, fresh food, plants and similar goods are not covered by the 7-day no-reason "
            "return. To settle this quickly, please add photos of the quality problem."
        ),
        guidance_zh="可选:上传商品发货前的实拍图,便于买家对照。",
        guidance_en="Optional: upload photos of the item before shipping for comparison.",
    ),
    _O.RETURN_WRONG_ITEM: Texts(
        title_zh="退回非本订单商品",
        title_en="Returned item is not from this order",
        message_zh=(
            "您好,我们收到的退货并非本订单商品,请您核实。如寄错,请联系我们并寄回正确的商品。"
        ),
        message_en=(
            "Hello, the item we received is not from this order. Please check; if it was a "
            "mistake, contact us and send the right item."
        ),
        guidance_zh="请上传退货包裹开箱照片、收到的商品照片及快递面单照片。",
        guidance_en="Upload photos of the opened return parcel, the item received and the waybill.",
    ),
    _O.RETURN_MISSING_PARTS: Texts(
        title_zh="退回商品少件",
        title_en="Returned goods are missing parts",
        message_zh="您好,我们收到的退货缺少商品或配件,请您核实是否漏寄,并与我们沟通后续处理方式。",
        message_en=(
            "Hello, the return we received is missing items or parts. Please check whether "
            "something was left out and talk to us about what to do next."
        ),
        guidance_zh="请上传退货包裹开箱照片及实收商品(含配件)的完整照片。",
        guidance_en=(
            "Upload photos of the opened return parcel and of everything received, accessories "
            "included."
        ),
    ),
    _O.RETURN_AFFECTS_RESALE: Texts(
        title_zh="退回商品影响二次销售",
        title_en="Returned goods can no longer be resold",
        message_zh=(
            "您好,我们收到的退货存在影响二次销售的情况(如已使用、污损、吊牌或包装缺失),请您核实,我"
            "们将与您协商处理方案。"
        ),
        message_en=(
            "Hello, the return we received can no longer be resold (used, soiled, tags or "
            "packaging missing). Please check; we will work out a solution with you."
        ),
        guidance_zh="请上传能体现影响二次销售情况的商品照片(使用痕迹、污损、吊牌/包装缺失等)。",
        guidance_en=(
            "Upload photos showing what prevents resale (signs of use, soiling, missing tags or "
            "packaging)."
        ),
    ),
    _O.UNABLE_TO_CONTACT: Texts(
        title_zh="无法联系或联系不上买家",
        title_en="The buyer cannot be reached",
        message_zh=(
            "您好,我们多次尝试通过电话/消息联系您均未成功。为尽快处理您的售后申请,请您主动联系商家"
            "客服。"
        ),
        message_en=(
            "Hello, we tried several times to reach you by phone or message, without success. To "
            "settle your request quickly, please contact our customer service."
        ),
        guidance_zh=(
            "请上传联系买家未果的截图(电话、语音无人接听或被拒,企业微信、短信长时间未回复等)。"
        ),
        guidance_en=(
            "Upload screenshots of the failed attempts to reach the buyer (calls unanswered or "
            "refused, WeCom or SMS messages without reply)."
        ),
    ),
    _O.AGREED_TO_CANCEL: Texts(
        title_zh="已与买家协商取消售后",
        title_en="Buyer agreed to cancel",
        message_zh="您好,根据与您沟通一致的结果,邀请您取消本次售后申请,感谢您的理解与支持。",
        message_en=(
            "Hello, as agreed with you, we invite you to cancel this after-sale request. Thank you "
            "for your understanding."
        ),
        guidance_zh="请上传与买家协商一致取消售后的聊天记录截图。",
        guidance_en="Upload a screenshot of the chat in which the buyer agreed to cancel.",
    ),
    _O.NO_QUALITY_ISSUE_VERIFIED: Texts(
        title_zh="核实商品无品质问题",
        title_en="Verified: no quality problem",
        message_zh=(
            "您好,经核实您补充的凭证,商品不存在品质问题,也不符合退换货标准。我们已与您沟通说明,邀请"
            "您取消本次售后申请。"
        ),
        message_en=(
            "Hello, having checked the evidence you added, the item has no quality problem and "
            "does not meet the return criteria. As we explained, we invite you to cancel this "
            "request."
        ),
        guidance_zh="请上传核实商品无品质问题的凭证(质检照片、与买家的沟通记录截图等)。",
        guidance_en=(
            "Upload evidence that the item has no quality problem (inspection photos, chat "
            "screenshots)."
        ),
    ),
    _O.RESEND_CORRECT_ITEM: Texts(
        title_zh="请取消后寄回正确商品再申请",
        title_en="Cancel, send back the right item, then apply again",
        message_zh=(
            "您好,您退回的商品与本订单不符。请先取消本次售后申请,寄回正确的商品后再重新发起售后,我"
            "们会尽快为您处理。"
        ),
        message_en=(
            "Hello, the item you returned does not match this order. Please cancel this request, "
            "send back the right item and apply again; we will handle it promptly."
        ),
        guidance_zh="请上传实收商品照片及与买家沟通一致的聊天记录截图。",
        guidance_en=(
            "Upload photos of the item received and a screenshot of the chat agreeing on this."
        ),
    ),
}

REJECT_REASON_TEXTS: dict[RejectReason, Texts] = {
    _R.AMOUNT_DISAGREEMENT: Texts(
        title_zh="金额有误且买家未同意修改",
        title_en="Wrong amount, and the buyer did not agree to change it",
        guidance_zh="请上传与买家协商一致退款金额的聊天记录截图。",
        guidance_en="Upload a screenshot of the chat in which the buyer agreed on the amount.",
    ),
    _R.EVIDENCE_NOT_PROVIDED: Texts(
        title_zh="买家未补充有效凭证",
        title_en="The buyer did not add valid evidence",
        guidance_zh="请上传已核实的买家凭证,并说明其无效的依据。",
        guidance_en="Upload the buyer's evidence you checked and show why it is not valid.",
    ),
    _R.NO_QUALITY_ISSUE: Texts(
        title_zh="核实无品质问题",
        title_en="Verified: no quality problem",
        guidance_zh="请上传商品查验照片。",
        guidance_en="Upload photos of your inspection of the goods.",
    ),
    _R.BUYER_UNREACHABLE: Texts(
        title_zh="联系不上买家",
        title_en="The buyer cannot be reached",
        guidance_zh="请上传与买家联系未果的截图(电话、语音、企业微信、短信等无法接通或无回复)。",
        guidance_en=(
            "Upload screenshots of the failed calls and messages (phone, voice, WeCom, SMS)."
        ),
    ),
    _R.RETURN_ANOMALY: Texts(
        title_zh="退回商品异常",
        title_en="The returned goods are not as expected",
        guidance_zh="请上传收到的退货包裹及商品照片。",
        guidance_en="Upload photos of the return parcel and the goods received.",
    ),
    _R.REASON_MISMATCH: Texts(
        title_zh="售后原因与实际不符",
        title_en="The buyer's reason does not match the facts",
        guidance_zh=(
            "不可以此为由拒绝:请为买家退款,或与买家沟通一致后发起“已与买家协商取消售后”协商。"
        ),
        guidance_en=(
            "Never a ground for rejection: refund the buyer, or agree with them and send the "
            "AGREED_TO_CANCEL negotiation."
        ),
    ),
}

# The actions by the names the seed's screens give them: a zh-CN message never shows
# ``confirm_receipt`` to a merchant (the en messages use the proto's enum names).
ACTION_ZH: dict[Action, str] = {
    Action.APPLY: "申请售后",
    Action.APPROVE: "同意售后",
    Action.NEGOTIATE: "发起协商",
    Action.WITHDRAW_NEGOTIATION: "撤回协商",
    Action.ACCEPT_NEGOTIATION: "同意协商",
    Action.REJECT_NEGOTIATION: "拒绝协商",
    Action.SUPPLEMENT_EVIDENCE: "补充凭证",
    Action.NEGOTIATION_TIMEOUT: "买家超时未处理协商",
    Action.REJECT: "拒绝售后",
    Action.MERCHANT_TIMEOUT: "商家超时未处理",
    Action.MODIFY_APPLICATION: "修改售后申请",
    Action.CANCEL: "取消售后申请",
    Action.SUBMIT_RETURN_WAYBILL: "填写退货物流单号",
    Action.RETURN_SHIP_TIMEOUT: "买家超时未退货",
    Action.CONFIRM_RECEIPT: "确认收货",
    Action.RECEIPT_TIMEOUT: "商家超时未确认收货",
    Action.ESCALATE: "申请平台介入",
    Action.INTERVENE: "平台介入",
    Action.ESCALATION_EXPIRED: "申请平台介入超时",
    Action.REQUEST_PROOF: "要求举证",
    Action.SUBMIT_PROOF: "提交举证",
    Action.PROOF_TIMEOUT: "举证超时",
    Action.WITHDRAW_ESCALATION: "撤回平台介入申请",
    Action.RESOLVE_DISPUTE: "平台裁决",
    Action.REFUND_SUCCEEDED: "退款成功",
    Action.REFUND_FAILED: "退款失败",
    Action.UPLOAD_REFUND_PROOF: "上传线下退款凭证",
    Action.CONFIRM_OFFLINE_REFUND: "确认已收到线下退款",
    Action.OFFLINE_REFUND_CONFIRM_TIMEOUT: "买家超时未确认线下退款",
    Action.OFFLINE_REFUND_TIMEOUT: "商家超时未线下退款",
    Action.RETRY_REFUND: "重新发起退款",
    Action.CLOSE_REFUND: "关闭退款",
    Action.RECORD_CONTACT_ATTEMPT: "记录联系买家",
    Action.REQUEST_CONTACT_QUOTA: "申请联系额度",
    Action.REFUND_REMINDER: "退款提醒",
}
TYPE_ZH: dict[AfterSaleType, str] = {
    AfterSaleType.REFUND: "仅退款",
    AfterSaleType.RETURN: "退货退款",
}
ROLE_ZH: dict[Role, str] = {
    Role.BUYER: "买家",
    Role.MERCHANT: "商家",
    Role.PAYMENT: "支付系统",
    Role.PLATFORM: "平台",
    Role.SYSTEM: "系统定时任务",
}
PARTY_ZH: dict[ProofParty, str] = {
    ProofParty.BUYER: "买家",
    ProofParty.MERCHANT: "商家",
    ProofParty.BOTH: "买卖双方",
}
VERDICT_ZH: dict[Verdict, str] = {
    Verdict.MERCHANT_LIABLE: "商家责任",
    Verdict.BUYER_LIABLE: "买家责任",
    Verdict.BOTH_LIABLE: "双方均有责任",
}


def title_zh(member: Enum) -> str:
    """The Chinese title of a vocabulary member (what a zh-CN message shows instead of its
    code); a member without one shows its code (a test keeps every shown one titled)."""
    match member:
        case State():
            return STATE_ZH[member]
        case Action():
            return ACTION_ZH[member]
        case NegotiationOption():
            return OPTION_TEXTS[member].title_zh
        case NegotiationKind():
            return KIND_TEXTS[member].title_zh
        case RejectReason():
            return REJECT_REASON_TEXTS[member].title_zh
        case AfterSaleType():
            return TYPE_ZH[member]
        case Role():
            return ROLE_ZH[member]
        case ProofParty():
            return PARTY_ZH[member]
        case Verdict():
            return VERDICT_ZH[member]
    return str(member.name)
