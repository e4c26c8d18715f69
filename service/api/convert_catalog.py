"""The negotiation and reject-reason catalogues (SPEC §4, §5) → proto, with their filters."""

from __future__ import annotations

from aftersale.catalog import KINDS, NEGOTIATION_OPTIONS, REJECT_REASONS, NegotiationSpec
from aftersale.vocabulary import AfterSaleType, NegotiationKind, State
from service.api.convert_out import OPTION, STATUS, TYPE, name
from service.gen.aftersale.v1 import types_pb2 as t


def _option(spec: NegotiationSpec) -> t.NegotiationOptionInfo:
    return t.NegotiationOptionInfo(
        kind=name("NEGOTIATION_KIND_", spec.kind),
        option=name(OPTION, spec.option),
        title_zh=spec.title_zh,
        title_en=spec.title_en,
        allowed_states=[name(STATUS, s) for s in sorted(spec.from_states, key=list(State).index)],
        types=[name(TYPE, k) for k in sorted(spec.types, key=list(AfterSaleType).index)],
        images_required=spec.images_required,
        message_template_zh=spec.message_zh,
        message_template_en=spec.message_en,
        evidence_guidance_zh=spec.guidance_zh,
        evidence_guidance_en=spec.guidance_en,
        kind_title_zh=KINDS[spec.kind].title_zh,
        kind_title_en=KINDS[spec.kind].title_en,
    )


def negotiation_options(
    state: State | None, kind: AfterSaleType | None, negotiation_kind: NegotiationKind | None
) -> list[t.NegotiationOptionInfo]:
    """Catalogue entries, in catalogue order, matching every filter given (None: any)."""
    return [
        _option(spec)
        for spec in NEGOTIATION_OPTIONS.values()
        if (state is None or state in spec.from_states)
        and (kind is None or kind in spec.types)
        and (negotiation_kind is None or spec.kind == negotiation_kind)
    ]


def reject_reasons(state: State | None) -> list[t.RejectReasonInfo]:
    """Reject reasons usable from ``state`` (None: all); forbidden ones are always listed."""
    return [
        t.RejectReasonInfo(
            reason=name("REJECT_REASON_", spec.reason),
            unlocking_options=[name(OPTION, o) for o in spec.unlocking_options],
            allowed_states=[
                name(STATUS, s) for s in sorted(spec.from_states, key=list(State).index)
            ],
            title_zh=spec.title_zh,
            title_en=spec.title_en,
            always_forbidden=spec.always_forbidden,
            evidence_guidance_zh=spec.guidance_zh,
            evidence_guidance_en=spec.guidance_en,
        )
        for spec in REJECT_REASONS.values()
        if state is None or spec.always_forbidden or state in spec.from_states
    ]
