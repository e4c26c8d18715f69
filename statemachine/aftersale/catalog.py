"""The negotiation catalogue (SPEC §4) and the reject reasons (SPEC §5), as typed data.

The API serves these entries so front ends render the same options, auto-filled merchant
messages (商家留言) and evidence guidance (凭证引导语) the rules enforce. The texts live in
``aftersale.guide``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aftersale.guide import KIND_TEXTS, OPTION_TEXTS, REJECT_REASON_TEXTS
from aftersale.vocabulary import (
    AfterSaleType,
    NegotiationKind,
    NegotiationOption,
    RejectReason,
    State,
)


class Proposal(StrEnum):
    """What an option proposes to change, and how (only MODIFY_APPLICATION options change)."""

    NONE = "NONE"
    AMOUNT_CHANGE = "AMOUNT_CHANGE"  # a new amount, different from the current one
    AMOUNT_LOWER = "AMOUNT_LOWER"  # a new amount below the current one
    TO_REFUND = "TO_REFUND"  # the type becomes REFUND; the amount stays
    NEW_PLAN = "NEW_PLAN"  # a new type and/or amount, not both unchanged


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: NegotiationKind
    title_zh: str
    title_en: str


@dataclass(frozen=True, slots=True)
class NegotiationSpec:
    """One negotiation option (协商说明) of SPEC §4."""

    kind: NegotiationKind
    option: NegotiationOption
    from_states: frozenset[State]
    types: frozenset[AfterSaleType]
    images_required: bool
    proposal: Proposal
    title_zh: str
    title_en: str
    message_zh: str  # auto-filled merchant message; the merchant may append text
    message_en: str
    guidance_zh: str  # evidence guidance shown next to the image upload
    guidance_en: str


@dataclass(frozen=True, slots=True)
class RejectReasonSpec:
    """One reject reason of SPEC §5 and the failed negotiations that unlock it."""

    reason: RejectReason
    unlocking_options: tuple[NegotiationOption, ...]
    from_states: frozenset[State]
    title_zh: str
    title_en: str
    guidance_zh: str  # the evidence the seed asks for
    guidance_en: str
    always_forbidden: bool = False


_MP, _MWR = State.MERCHANT_PROCESSING, State.MERCHANT_WAIT_RECEIPT
_K, _O, _P, _R = NegotiationKind, NegotiationOption, Proposal, RejectReason
_BOTH = frozenset(AfterSaleType)
_RETURN = frozenset({AfterSaleType.RETURN})

# kind, option, sent from, request types, images required, proposal. Options sent while
# waiting for the returned goods exist only for RETURN requests.
_OPTIONS: tuple[
    tuple[NegotiationKind, NegotiationOption, tuple[State, ...], bool, Proposal], ...
] = (
    (_K.MODIFY_APPLICATION, _O.AMOUNT_ONLY, (_MP,), True, _P.AMOUNT_CHANGE),
    (_K.MODIFY_APPLICATION, _O.PARTIAL_REFUND, (_MP,), True, _P.AMOUNT_LOWER),
    (_K.MODIFY_APPLICATION, _O.RETURN_PARTIAL_REFUND, (_MWR,), True, _P.AMOUNT_LOWER),
    (_K.MODIFY_APPLICATION, _O.REFUND_WITHOUT_RETURN, (_MP,), False, _P.TO_REFUND),
    (_K.MODIFY_APPLICATION, _O.NEW_PLAN_AGREED, (_MP,), True, _P.NEW_PLAN),
    (_K.INVITE_VERIFY, _O.EVIDENCE_MISMATCH, (_MP,), False, _P.NONE),
    (_K.INVITE_VERIFY, _O.EVIDENCE_UNCLEAR, (_MP,), False, _P.NONE),
    (_K.INVITE_VERIFY, _O.PERISHABLE_QUALITY_PROOF, (_MP,), False, _P.NONE),
    (_K.INVITE_VERIFY, _O.RETURN_WRONG_ITEM, (_MWR,), True, _P.NONE),
    (_K.INVITE_VERIFY, _O.RETURN_MISSING_PARTS, (_MWR,), True, _P.NONE),
    (_K.INVITE_VERIFY, _O.RETURN_AFFECTS_RESALE, (_MWR,), True, _P.NONE),
    (_K.INVITE_VERIFY, _O.UNABLE_TO_CONTACT, (_MP, _MWR), True, _P.NONE),
    (_K.INVITE_CANCEL, _O.AGREED_TO_CANCEL, (_MP, _MWR), True, _P.NONE),
    (_K.INVITE_CANCEL, _O.NO_QUALITY_ISSUE_VERIFIED, (_MP, _MWR), True, _P.NONE),
    (_K.INVITE_CANCEL, _O.RESEND_CORRECT_ITEM, (_MWR,), True, _P.NONE),
)

# reason, the options whose failure unlocks it, where it may be used from
_REASONS: tuple[tuple[RejectReason, tuple[NegotiationOption, ...], tuple[State, ...]], ...] = (
    (_R.AMOUNT_DISAGREEMENT, (_O.AMOUNT_ONLY, _O.PARTIAL_REFUND), (_MP,)),
    (
        _R.EVIDENCE_NOT_PROVIDED,
        (_O.EVIDENCE_MISMATCH, _O.EVIDENCE_UNCLEAR, _O.PERISHABLE_QUALITY_PROOF),
        (_MP,),
    ),
    (_R.NO_QUALITY_ISSUE, (_O.NO_QUALITY_ISSUE_VERIFIED,), (_MP, _MWR)),
    (_R.BUYER_UNREACHABLE, (_O.UNABLE_TO_CONTACT,), (_MP, _MWR)),
    (
        _R.RETURN_ANOMALY,
        (
            _O.RETURN_WRONG_ITEM,
            _O.RETURN_MISSING_PARTS,
            _O.RETURN_AFFECTS_RESALE,
            _O.RESEND_CORRECT_ITEM,
        ),
        (_MWR,),
    ),
    (_R.REASON_MISMATCH, (), ()),  # seed scenario 4: never a ground for rejection
)

KINDS: dict[NegotiationKind, KindSpec] = {
    kind: KindSpec(kind, texts.title_zh, texts.title_en) for kind, texts in KIND_TEXTS.items()
}

NEGOTIATION_OPTIONS: dict[NegotiationOption, NegotiationSpec] = {
    option: NegotiationSpec(
        kind=kind,
        option=option,
        from_states=frozenset(from_states),
        types=_BOTH if option != _O.REFUND_WITHOUT_RETURN and _MP in from_states else _RETURN,
        images_required=images,
        proposal=proposal,
        title_zh=OPTION_TEXTS[option].title_zh,
        title_en=OPTION_TEXTS[option].title_en,
        message_zh=OPTION_TEXTS[option].message_zh,
        message_en=OPTION_TEXTS[option].message_en,
        guidance_zh=OPTION_TEXTS[option].guidance_zh,
        guidance_en=OPTION_TEXTS[option].guidance_en,
    )
    for kind, option, from_states, images, proposal in _OPTIONS
}

REJECT_REASONS: dict[RejectReason, RejectReasonSpec] = {
    reason: RejectReasonSpec(
        reason=reason,
        unlocking_options=unlocking,
        from_states=frozenset(from_states),
        title_zh=REJECT_REASON_TEXTS[reason].title_zh,
        title_en=REJECT_REASON_TEXTS[reason].title_en,
        guidance_zh=REJECT_REASON_TEXTS[reason].guidance_zh,
        guidance_en=REJECT_REASON_TEXTS[reason].guidance_en,
        always_forbidden=not unlocking,
    )
    for reason, unlocking, from_states in _REASONS
}


def negotiation_spec(option: NegotiationOption) -> NegotiationSpec:
    """The catalogue entry of ``option``."""
    return NEGOTIATION_OPTIONS[NegotiationOption(option)]


def reject_reason_spec(reason: RejectReason) -> RejectReasonSpec:
    """The catalogue entry of ``reason``."""
    return REJECT_REASONS[RejectReason(reason)]
