"""Read requests → handler arguments, every filter checked (``fields``)."""

from __future__ import annotations

from dataclasses import dataclass

from aftersale.exceptions import Denial, InvalidInput, PermissionDenied
from aftersale.model import Actor
from aftersale.vocabulary import AfterSaleType, NegotiationKind, Role, State
from service.api import fields
from service.api.caller import Caller
from service.api.sealing import Sealer, identity
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t

MAX_PAGE_TOKEN = 512


@dataclass(frozen=True, slots=True)
class ListQuery:
    shop_id: str
    buyer_id: str
    order_id: str
    states: frozenset[State]
    page_size: int
    page_token: str
    created_from_ms: int | None = None
    created_before_ms: int | None = None


OWN_ROLE_ONLY = Denial("OUT_OF_SCOPE", "own role only", "只能查询自己角色可执行的操作")


def list_query(request: pb.ListAfterSalesRequest) -> ListQuery:
    created_from = fields.timestamp_ms(request, "created_from", required=False)
    created_before = fields.timestamp_ms(request, "created_before", required=False)
    if created_from is not None and created_before is not None and created_before <= created_from:
        raise InvalidInput("created_before", "must be after created_from", "须晚于 created_from")
    return ListQuery(
        shop_id=fields.optional_id(request.shop_id, "shop_id"),
        buyer_id=fields.optional_id(request.buyer_id, "buyer_id"),
        order_id=fields.optional_id(request.order_id, "order_id"),
        states=fields.enum_list(
            t.AfterSaleStatus, "AFTER_SALE_STATUS_", State, request.states, "states"
        ),
        page_size=fields.page_size(request.page_size),
        page_token=fields.text(request.page_token, "page_token", limit=MAX_PAGE_TOKEN),
        created_from_ms=created_from,
        created_before_ms=created_before,
    )


def page_binding(query: ListQuery, caller: Caller) -> tuple[str, ...]:
    """What a list page token is bound to: the caller, and the query it pages through (a
    token is for the next page of the same listing, AIP-158)."""
    states = ",".join(sorted(state.value for state in query.states))
    parts = (*identity(caller), query.shop_id, query.buyer_id, query.order_id, states)
    if query.created_from_ms is None and query.created_before_ms is None:
        return parts  # as before the time range existed: the tokens issued then stay valid
    bounds = (query.created_from_ms, query.created_before_ms)
    return (*parts, ",".join("" if ms is None else str(ms) for ms in bounds))


def open_page_token(sealer: Sealer, query: ListQuery, caller: Caller) -> str:
    """Storage's page token inside the caller's sealed one ("" for the first page)."""
    if not query.page_token:
        return ""
    opened = sealer.open("page_token", page_binding(query, caller), query.page_token)
    return opened.decode("ascii")


def seal_page_token(sealer: Sealer, query: ListQuery, caller: Caller, token: str) -> str:
    """Storage's next page token sealed for the caller ("" stays "": no more pages)."""
    if not token:
        return ""
    return sealer.seal("page_token", page_binding(query, caller), token.encode("ascii"))


def history_page(request: pb.GetHistoryRequest) -> tuple[int, int]:
    """(offset, limit): the page token is the offset of the next event."""
    limit = fields.page_size(request.page_size, default=100, cap=500)
    token = request.page_token
    if token and (not (token.isascii() and token.isdigit()) or len(token) > 9):
        raise InvalidInput(
            "page_token", "not a page token returned by this service", "不是本服务返回的分页令牌",
            "TOKEN_NOT_ISSUED",
        )  # fmt: skip
    return (int(token) if token else 0), limit


def role_asked(request: pb.GetAllowedActionsRequest, actor: Actor) -> Role:
    """Whose actions to evaluate: the caller's own role unless PLATFORM asks for another."""
    role = fields.enum_value(t.Role, "ROLE_", Role, request.role, "role")
    if role is Role.SYSTEM:
        raise InvalidInput(
            "role",
            "SYSTEM actions are the timers' (see pending_timer)",
            "系统动作由定时任务执行,见 pending_timer",
        )
    if role is None or role is actor.role:
        return actor.role
    if actor.role is not Role.PLATFORM:
        raise PermissionDenied(request.request_id, f"{actor.role}:{actor.id}", OWN_ROLE_ONLY)
    return role


def option_filters(
    request: pb.ListNegotiationOptionsRequest,
) -> tuple[State | None, AfterSaleType | None, NegotiationKind | None]:
    return (
        fields.enum_value(t.AfterSaleStatus, "AFTER_SALE_STATUS_", State, request.state, "state"),
        fields.enum_value(t.AfterSaleType, "AFTER_SALE_TYPE_", AfterSaleType, request.type, "type"),
        fields.enum_value(
            t.NegotiationKind, "NEGOTIATION_KIND_", NegotiationKind, request.kind, "kind"
        ),
    )


def reason_filter(request: pb.ListRejectReasonsRequest) -> State | None:
    return fields.enum_value(t.AfterSaleStatus, "AFTER_SALE_STATUS_", State, request.state, "state")
