"""Who a call speaks for: the acting party's role and id, sent as metadata with every call.

The server's metadata keys (README "Auth"): ``x-actor-role`` names the role, ``x-actor-id``
the buyer, the operator or the service instance, ``x-shop-id`` the merchant's shop.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("BUYER", "MERCHANT", "PAYMENT", "PLATFORM")
ACTOR_ROLE = "x-actor-role"
ACTOR_ID = "x-actor-id"
SHOP_ID = "x-shop-id"


@dataclass(frozen=True, slots=True)
class Actor:
    """A role (``BUYER``, ``MERCHANT``, ``PAYMENT``, ``PLATFORM``; ``ROLE_BUYER`` works too)
    and the party's id (the shop id for a merchant)."""

    role: str
    id: str = ""

    def __post_init__(self) -> None:
        role = self.role.upper().removeprefix("ROLE_")
        if role not in ROLES:
            raise ValueError(f"role: {self.role!r} is not one of {', '.join(ROLES)}")
        object.__setattr__(self, "role", role)

    @classmethod
    def buyer(cls, buyer_id: str) -> Actor:
        """A buyer, by id."""
        return cls("BUYER", buyer_id)

    @classmethod
    def merchant(cls, shop_id: str) -> Actor:
        """A merchant, by shop id."""
        return cls("MERCHANT", shop_id)

    @classmethod
    def payment(cls, instance: str = "") -> Actor:
        """The payment service (the id is optional: the service instance)."""
        return cls("PAYMENT", instance)

    @classmethod
    def platform(cls, operator_id: str = "") -> Actor:
        """Platform ops (the id is optional: the operator)."""
        return cls("PLATFORM", operator_id)

    def metadata(self) -> list[tuple[str, str]]:
        """The metadata pairs that say who acts."""
        pairs = [(ACTOR_ROLE, self.role)]
        if self.id:
            pairs.append((SHOP_ID if self.role == "MERCHANT" else ACTOR_ID, self.id))
        return pairs
