"""Who may see what (SPEC §9): reads are filtered the same way actions are."""

from __future__ import annotations

from aftersale.exceptions import PermissionDenied
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Role


def can_see(record: AfterSale, actor: Actor) -> bool:
    """Buyers see their own requests, merchants their shop's; payment and ops see all."""
    if actor.role is Role.BUYER:
        return record.buyer_id == actor.id
    if actor.role is Role.MERCHANT:
        return record.shop_id == actor.id
    return actor.role in (Role.PLATFORM, Role.PAYMENT, Role.SYSTEM)


def require_visible(record: AfterSale, actor: Actor) -> None:
    if not can_see(record, actor):
        raise PermissionDenied(record.request_id, f"{actor.role}:{actor.id}", "not your request")


def scope_filters(actor: Actor, shop_id: str, buyer_id: str) -> tuple[str, str]:
    """Narrow list filters to what the actor may see; refuse a filter outside its scope."""
    if actor.role is Role.BUYER:
        if buyer_id and buyer_id != actor.id:
            raise PermissionDenied("*", f"BUYER:{actor.id}", "buyers list only their own requests")
        return shop_id, actor.id
    if actor.role is Role.MERCHANT:
        if shop_id and shop_id != actor.id:
            raise PermissionDenied("*", f"MERCHANT:{actor.id}", "merchants list only their shop")
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
