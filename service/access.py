"""Who may see what (SPEC §9): reads are filtered the same way actions are.

A caller that may not see a request gets the same answer whether or not it exists (AIP-211):
``hidden`` is the one refusal for both, so a buyer probing ids learns nothing.
"""

from __future__ import annotations

from aftersale.exceptions import Denial, NotFound, PermissionDenied
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Role
from service.storage.ports import UndecodableRecord

NOT_YOURS = Denial("NOT_YOUR_REQUEST", "not your request", "无权查看或操作该售后单")
LIST_OWN = Denial("OUT_OF_SCOPE", "buyers list only their own requests", "买家只能查询自己的售后单")
LIST_SHOP = Denial("OUT_OF_SCOPE", "merchants list only their shop", "商家只能查询本店铺的售后单")


def can_see(record: AfterSale, actor: Actor) -> bool:
    """Buyers see their own requests, merchants their shop's, the payment service those that
    have a refund (the money it moves); ops and timers see all."""
    if actor.role is Role.BUYER:
        return record.buyer_id == actor.id
    if actor.role is Role.MERCHANT:
        return record.shop_id == actor.id
    if actor.role is Role.PAYMENT:
        return record.refund is not None
    return actor.role in (Role.PLATFORM, Role.SYSTEM)


def sees_everything(actor: Actor) -> bool:
    """Ops and timers: the only callers told that a request does not exist."""
    return actor.role in (Role.PLATFORM, Role.SYSTEM)


def hidden(request_id: str, actor: Actor) -> PermissionDenied:
    """The refusal for a request ``actor`` may not see, whether or not it exists."""
    return PermissionDenied(request_id, f"{actor.role}:{actor.id}", NOT_YOURS)


def require_visible(record: AfterSale, actor: Actor) -> None:
    if not can_see(record, actor):
        raise hidden(record.request_id, actor)


def missing(request_id: str, actor: Actor) -> NotFound | PermissionDenied:
    """No request ``request_id``: NOT_FOUND for ops, the refusal of a hidden one otherwise."""
    return NotFound(request_id) if sees_everything(actor) else hidden(request_id, actor)


def unreadable(error: UndecodableRecord, actor: Actor) -> Exception:
    """What ``actor`` is told of a record that does not decode: the error itself if the
    request is visibly its own (or it sees everything), else the refusal of a hidden one, so
    nobody learns through a broken record that a request exists."""
    owner = error.owner
    if sees_everything(actor):
        return error
    if owner is not None and (
        (actor.role is Role.BUYER and owner.buyer_id == actor.id)
        or (actor.role is Role.MERCHANT and owner.shop_id == actor.id)
        or (actor.role is Role.PAYMENT and owner.has_refund)
    ):
        return error
    return hidden(error.request_id, actor)


def scope_filters(actor: Actor, shop_id: str, buyer_id: str) -> tuple[str, str]:
    """Narrow list filters to what the actor may see; refuse a filter outside its scope."""
    if actor.role is Role.BUYER:
        if buyer_id and buyer_id != actor.id:
            raise PermissionDenied("", f"BUYER:{actor.id}", LIST_OWN)
        return shop_id, actor.id
    if actor.role is Role.MERCHANT:
        if shop_id and shop_id != actor.id:
            raise PermissionDenied("", f"MERCHANT:{actor.id}", LIST_SHOP)
        return actor.id, buyer_id
    return shop_id, buyer_id


def acting_as(role: Role, record: AfterSale, actor: Actor) -> Actor:
    """The party ``role`` stands for on ``record``: ``actor`` itself, or, for ops asking on
    another's behalf, the request's buyer or shop (or the role's service)."""
    if role is actor.role:
        return actor
    if role is Role.BUYER:
        return Actor(role, record.buyer_id)
    if role is Role.MERCHANT:
        return Actor(role, record.shop_id)
    return Actor(role, role.value.lower())
