"""SPEC §4–§5: the negotiation catalogue and the reject reasons, as served to front ends."""

from __future__ import annotations

import re

import pytest

from aftersale import catalog
from aftersale.vocabulary import AfterSaleType, NegotiationKind, NegotiationOption, RejectReason
from tests.unit.builders import MP, SPEC_OPTIONS, SPEC_UNLOCKS

CJK = re.compile(r"[\u4e00-\u9fff]")

# The Chinese names the SPEC tables give (the platform's own wording).
SPEC_ZH: dict[str, str] = {
    "MODIFY_APPLICATION": "修改买家售后申请",
    "INVITE_VERIFY": "邀请买家核实与补充凭证",
    "INVITE_CANCEL": "已协商一致,邀请买家取消售后",
    "AMOUNT_ONLY": "仅修改退款金额",
    "PARTIAL_REFUND": "部分商品破损/变质,部分退款",
    "RETURN_PARTIAL_REFUND": "退回商品少件,按实收部分退款",
    "REFUND_WITHOUT_RETURN": "无需退货,改为仅退款",
    "NEW_PLAN_AGREED": "已协商一致的新方案",
    "EVIDENCE_MISMATCH": "凭证与实际商品不符",
    "EVIDENCE_UNCLEAR": "凭证不清晰不全面",
    "PERISHABLE_QUALITY_PROOF": "特殊品类请补充质量问题凭证",
    "RETURN_WRONG_ITEM": "退回非本订单商品",
    "RETURN_MISSING_PARTS": "退回商品少件",
    "RETURN_AFFECTS_RESALE": "退回商品影响二次销售",
    "UNABLE_TO_CONTACT": "无法联系或联系不上买家",
    "AGREED_TO_CANCEL": "已与买家协商取消售后",
    "NO_QUALITY_ISSUE_VERIFIED": "核实商品无品质问题",
    "RESEND_CORRECT_ITEM": "请取消后寄回正确商品再申请",
    "AMOUNT_DISAGREEMENT": "金额有误且买家未同意修改",
    "EVIDENCE_NOT_PROVIDED": "买家未补充有效凭证",
    "NO_QUALITY_ISSUE": "核实无品质问题",
    "BUYER_UNREACHABLE": "联系不上买家",
    "RETURN_ANOMALY": "退回商品异常",
    "REASON_MISMATCH": "售后原因与实际不符",
}


def options_of(kind: NegotiationKind) -> tuple[catalog.NegotiationSpec, ...]:
    """The options of one negotiation kind, in catalogue order."""
    return tuple(s for s in catalog.NEGOTIATION_OPTIONS.values() if s.kind == kind)


def merchant_message(option: NegotiationOption, appended: str = "") -> str:
    """The full merchant message (商家留言): the option's text, then what the merchant added."""
    text = catalog.negotiation_spec(option).message_zh
    return f"{text}\n{appended}" if appended else text


def test_every_option_of_the_spec_is_in_the_catalogue_and_nothing_else() -> None:
    served = set(catalog.NEGOTIATION_OPTIONS)

    assert served == set(NegotiationOption) == set(SPEC_OPTIONS)


@pytest.mark.parametrize("option", list(SPEC_OPTIONS), ids=lambda o: o.value)
def test_each_option_has_the_spec_kind_states_and_images_flag(option: NegotiationOption) -> None:
    spec = catalog.NEGOTIATION_OPTIONS[option]
    expected = SPEC_OPTIONS[option]

    assert spec.option is option
    assert spec.kind is expected.kind
    assert spec.from_states == expected.from_states
    assert spec.images_required is expected.images_required


@pytest.mark.parametrize("option", list(SPEC_OPTIONS), ids=lambda o: o.value)
def test_each_option_fits_the_types_the_spec_allows(option: NegotiationOption) -> None:
    spec = catalog.NEGOTIATION_OPTIONS[option]
    only = SPEC_OPTIONS[option].only_type

    if only is not None:
        assert spec.types == {only}
    elif MP in spec.from_states:
        assert spec.types == {AfterSaleType.REFUND, AfterSaleType.RETURN}
    else:  # sent while the returned parcel is with the merchant: a RETURN by nature
        assert AfterSaleType.RETURN in spec.types


@pytest.mark.parametrize("option", list(SPEC_OPTIONS), ids=lambda o: o.value)
def test_each_option_has_zh_and_en_titles_messages_and_evidence_guidance(
    option: NegotiationOption,
) -> None:
    spec = catalog.NEGOTIATION_OPTIONS[option]

    assert spec.title_zh == SPEC_ZH[option.value]
    for zh in (spec.message_zh, spec.guidance_zh):
        assert CJK.search(zh), zh
    for en in (spec.title_en, spec.message_en, spec.guidance_en):
        assert en.strip()
        assert not CJK.search(en), en


@pytest.mark.parametrize("kind", list(NegotiationKind), ids=lambda k: k.value)
def test_each_kind_has_its_spec_title_and_its_options(kind: NegotiationKind) -> None:
    spec = catalog.KINDS[kind]

    assert spec.title_zh == SPEC_ZH[kind.value]
    assert spec.title_en.strip()
    assert {s.option for s in options_of(kind)} == {
        o for o, s in SPEC_OPTIONS.items() if s.kind is kind
    }


def test_every_reject_reason_of_the_spec_is_in_the_catalogue() -> None:
    served = set(catalog.REJECT_REASONS)

    assert served == set(RejectReason)


@pytest.mark.parametrize("reason", list(SPEC_UNLOCKS), ids=lambda r: r.value)
def test_each_reject_reason_names_the_options_that_unlock_it_and_where(
    reason: RejectReason,
) -> None:
    spec = catalog.REJECT_REASONS[reason]
    options, states = SPEC_UNLOCKS[reason]

    assert set(spec.unlocking_options) == options
    assert spec.from_states == states
    assert spec.always_forbidden is False


def test_reason_mismatch_is_always_forbidden_and_unlocked_by_nothing() -> None:
    spec = catalog.REJECT_REASONS[RejectReason.REASON_MISMATCH]

    assert spec.always_forbidden is True
    assert tuple(spec.unlocking_options) == ()


@pytest.mark.parametrize("reason", list(RejectReason), ids=lambda r: r.value)
def test_each_reject_reason_has_zh_and_en_titles_and_guidance(reason: RejectReason) -> None:
    spec = catalog.REJECT_REASONS[reason]

    assert spec.title_zh == SPEC_ZH[reason.value]
    assert CJK.search(spec.guidance_zh)
    for en in (spec.title_en, spec.guidance_en):
        assert en.strip()
        assert not CJK.search(en), en


def test_the_full_merchant_message_starts_with_the_option_text_and_keeps_the_merchants() -> None:
    spec = catalog.NEGOTIATION_OPTIONS[NegotiationOption.AMOUNT_ONLY]

    message = merchant_message(NegotiationOption.AMOUNT_ONLY, "60 元,见聊天截图")

    assert message.startswith(spec.message_zh)
    assert message.endswith("60 元,见聊天截图")
