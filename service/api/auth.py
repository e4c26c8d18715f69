"""Authentication and role checks for every after-sale RPC (SPEC §9, DESIGN §6).

Metadata a caller sends:

==================  ==========================================================================
``authorization``   ``Bearer <token>``: the calling service (token file, see ``tokens.py``)
``x-actor-role``    BUYER, MERCHANT, PAYMENT or PLATFORM: which of the token's roles this call
                    speaks as; optional when the RPC and the token leave only one, or when only
                    one of ``x-actor-id`` / ``x-shop-id`` is sent
``x-actor-id``      BUYER: the buyer id (required). PAYMENT, PLATFORM: the operator or service
                    instance (optional; default the service name)
``x-shop-id``       MERCHANT: the shop id (required)
==================  ==========================================================================

No or unknown token: UNAUTHENTICATED. A role the RPC does not allow, or one the token may not
speak for: PERMISSION_DENIED. Health and reflection need no token. Ownership (this buyer's
request, this shop's) is checked by the handlers against the record.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any

import grpc

from aftersale.exceptions import Denial, InvalidInput, PermissionDenied
from aftersale.guide import title_zh
from aftersale.model import Actor
from aftersale.vocabulary import Role
from service.api import fields
from service.api.caller import Caller, bind_caller, unbind_caller
from service.api.errors import Unauthenticated
from service.api.method_handlers import StreamBehavior, UnaryBehavior, rpc_name, wrap_handler
from service.api.tokens import TokenTable
from service.api.writes import WRITES

AUTHORIZATION = "authorization"
ACTOR_ROLE = "x-actor-role"
ACTOR_ID = "x-actor-id"
SHOP_ID = "x-shop-id"

BUYER, MERCHANT, PAYMENT, PLATFORM = Role.BUYER, Role.MERCHANT, Role.PAYMENT, Role.PLATFORM
_PARTIES_AND_OPS = frozenset({BUYER, MERCHANT, PLATFORM})
_EVERYONE = frozenset({BUYER, MERCHANT, PAYMENT, PLATFORM})

# RPC → the roles that may call it. An RPC missing here is refused to everyone. The write RPCs'
# roles are their actions' (the domain's ACTION_ROLES, through ``writes.WRITES``).
METHOD_ROLES: Mapping[str, frozenset[Role]] = {
    **{name: rpc.roles for name, rpc in WRITES.items()},
    "FireTimer": frozenset({PLATFORM}),  # ops: fire a pending timer now (it acts as SYSTEM)
    # Reads. PAYMENT reads the requests it refunds (it sees every request, SPEC §9).
    "GetAfterSale": _EVERYONE,
    "GetHistory": _EVERYONE,
    "WatchTransitions": _EVERYONE,
    "ListAfterSales": _PARTIES_AND_OPS,
    "GetAllowedActions": _PARTIES_AND_OPS,
    "GetShopStats": frozenset({MERCHANT, PLATFORM}),
    "GetStatus": frozenset({PLATFORM}),  # ops: Redis, timer backlog, flagged requests, workers
    "ListNegotiationOptions": _EVERYONE,
    "ListRejectReasons": _EVERYONE,
    # aftersale.v1.SubscriptionService: consumers speak as their subscription's role (the
    # servicer checks the service and role own it); its definitions and dead letters are ops'.
    "Subscribe": frozenset({MERCHANT, PAYMENT, PLATFORM}),
    **dict.fromkeys(
        (
            "CreateSubscription",
            "GetSubscription",
            "ListSubscriptions",
            "DeleteSubscription",
            "ListDeadLetters",
            "ReplayDeadLetters",
            "PurgeDeadLetters",
        ),
        frozenset({PLATFORM}),
    ),
}


CallMetadata = tuple[tuple[str, str], ...]  # the call's (key, value) pairs, as grpc gives them
_IDENTITY = (AUTHORIZATION, ACTOR_ROLE, ACTOR_ID, SHOP_ID)


def _metadata(handler_call_details: Any) -> CallMetadata:
    pairs = handler_call_details.invocation_metadata or ()
    return tuple((key.lower(), value) for key, value in pairs if isinstance(value, str))


def identity_headers(pairs: CallMetadata) -> dict[str, str]:
    """The call's headers by name. One that says who calls may come only once: with two,
    "the last one wins" would let a proxy's header and a client's disagree unnoticed."""
    headers: dict[str, str] = {}
    for key, value in pairs:
        if key in headers and key in _IDENTITY:
            if key == AUTHORIZATION:
                raise Unauthenticated(
                    "TOKEN_REPEATED",
                    "'authorization' metadata sent more than once",
                    "'authorization' 元数据重复",
                )
            raise InvalidInput(key, "sent more than once", "重复发送")
        headers[key] = value
    return headers


def _parse_role(raw: str) -> Role:
    name = raw.strip().upper().removeprefix("ROLE_")
    if name not in {r.value for r in Role} or name == Role.SYSTEM:
        raise InvalidInput(
            ACTOR_ROLE,
            "must be BUYER, MERCHANT, PAYMENT or PLATFORM",
            "须为 BUYER、MERCHANT、PAYMENT 或 PLATFORM",
        )
    return Role(name)


def authenticate(tokens: TokenTable, method: str, pairs: CallMetadata) -> Caller:
    """The caller of ``method`` (an RPC name), or the error that refuses it."""
    metadata = identity_headers(pairs)
    scheme, _, token = metadata.get(AUTHORIZATION, "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "TOKEN_MISSING",
            "missing 'authorization: Bearer <token>' metadata",
            "缺少 'authorization: Bearer <令牌>' 元数据",
        )
    entry = tokens.lookup(token.strip())
    if entry is None:
        raise Unauthenticated("TOKEN_INVALID", "unknown bearer token", "无效的 Bearer 令牌")
    allowed = METHOD_ROLES.get(method, frozenset())
    who = f"service {entry.service}"
    if ACTOR_ROLE in metadata:
        role = _parse_role(metadata[ACTOR_ROLE])
    else:
        role = _implied_role(entry.roles, allowed, metadata)
    if role not in entry.roles:
        raise PermissionDenied("", who, Denial(
            "TOKEN_ROLE_NOT_HELD", f"the token may not speak for {role}",
            f"该令牌不能代表{title_zh(role)}调用",
        ))  # fmt: skip
    if role not in allowed:
        raise PermissionDenied("", f"{who} as {role}", Denial(
            "ROLE_NOT_ALLOWED", f"{method} is not open to {role}",
            f"{title_zh(role)}不能调用 {method}",
        ))  # fmt: skip
    return Caller(_actor(role, entry.service, metadata), entry.service, entry.roles)


def _implied_role(
    token_roles: frozenset[Role], allowed: frozenset[Role], metadata: Mapping[str, str]
) -> Role:
    """The role a call without ``x-actor-role`` speaks as: the one its id header names
    (``x-actor-id`` a buyer, ``x-shop-id`` a merchant), else the only one the token and the
    RPC share."""
    has_buyer, has_shop = ACTOR_ID in metadata, SHOP_ID in metadata
    if has_buyer != has_shop:
        named = BUYER if has_buyer else MERCHANT
        if named in token_roles:
            return named
    candidates = token_roles & allowed
    if len(candidates) > 1:
        raise InvalidInput(
            ACTOR_ROLE, "required: the token speaks for several roles here",
            "必填:该令牌在此可代表多个角色",
        )  # fmt: skip
    # None shared: any of the token's roles, for the PERMISSION_DENIED that follows.
    return next(iter(candidates), min(token_roles))


def _actor(role: Role, service: str, metadata: Mapping[str, str]) -> Actor:
    if role is BUYER:
        return Actor(role, fields.require_id(metadata.get(ACTOR_ID, ""), ACTOR_ID))
    if role is MERCHANT:
        return Actor(role, fields.require_id(metadata.get(SHOP_ID, ""), SHOP_ID))
    return Actor(role, fields.optional_id(metadata.get(ACTOR_ID, ""), ACTOR_ID) or service)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates every after-sale RPC and makes its caller current (install after the
    error interceptor, so refusals get the same status details as every other error)."""

    def __init__(self, tokens: TokenTable) -> None:
        self._tokens = tokens

    async def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = rpc_name(handler_call_details.method)
        if not method:  # health, reflection
            return handler
        metadata = _metadata(handler_call_details)
        return wrap_handler(handler, self._unary(method, metadata), self._stream(method, metadata))

    def _unary(
        self, method: str, metadata: CallMetadata
    ) -> Callable[[UnaryBehavior], UnaryBehavior]:
        def around(behavior: UnaryBehavior) -> UnaryBehavior:
            async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
                token = bind_caller(authenticate(self._tokens, method, metadata))
                try:
                    return await behavior(request, context)
                finally:
                    unbind_caller(token)

            return call

        return around

    def _stream(
        self, method: str, metadata: CallMetadata
    ) -> Callable[[StreamBehavior], StreamBehavior]:
        def around(behavior: StreamBehavior) -> StreamBehavior:
            async def call(
                request: Any, context: grpc.aio.ServicerContext
            ) -> AsyncGenerator[Any, None]:
                # Bound for the whole stream and never reset: each RPC runs in a context of
                # its own (grpc.aio), and the generator is driven from that context only.
                bind_caller(authenticate(self._tokens, method, metadata))
                async with aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response

            return call

        return around
