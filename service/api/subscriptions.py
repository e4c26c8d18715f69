# ruff: noqa: N802 - method names are the RPC names of aftersale.v1.SubscriptionService
"""``aftersale.v1.SubscriptionService``: durable subscriptions over gRPC (the engine is
``service.storage.subscriptions`` and ``subscription_session``).

``Subscribe`` is bidirectional: the first message opens (subscription, consumer,
max_in_flight), the later ones acknowledge or nack deliveries by ``ack_id``. A subscription
belongs to one calling service and role: only that service, speaking as that role (a
merchant as the subscription's shop), may consume it; any other caller, and any name that
does not exist, get the same PERMISSION_DENIED, so nothing tells one subscription from no
subscription. What is delivered is what the subscription's filters pass *and* what its role
may see (``watch.visible_to``: PAYMENT the requests with a refund, a merchant its shop);
the rest is acknowledged without delivery.

Each open stream holds one connection of the streams' own Redis pool (its blocking reads),
so streams are capped with the WatchTransitions streams (``stream_slots``: they share that
pool; RESOURCE_EXHAUSTED naming the limit beyond). At shutdown every stream ends cleanly
(status OK, :meth:`SubscriptionStreams.stop`) and its leases are released for the replicas
that stay; a client reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, suppress
from typing import Any

from aftersale.events import TransitionEvent
from aftersale.exceptions import Denial, InvalidInput, PermissionDenied
from aftersale.model import Actor
from aftersale.vocabulary import Action, Role, Signal, State
from service.api import fields
from service.api.caller import Caller, current_caller
from service.api.convert_out import ACTION, STATUS, name, stamp, transition
from service.api.errors import ApiError, Code
from service.api.stream_slots import StreamSlots
from service.api.tokens import TokenTable
from service.api.watch import until_stopped, visible_to
from service.gen.aftersale.v1 import subscriptions_pb2 as sp
from service.gen.aftersale.v1 import subscriptions_pb2_grpc
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.cursor import parse_stream_id
from service.storage.decoding import UndecodableEntry, event_from_fields
from service.storage.subscription_session import SubscriptionSession
from service.storage.subscriptions import (
    LIVE,
    OLDEST,
    Subscription,
    SubscriptionExists,
    Subscriptions,
    SubscriptionStatus,
    check_name,
)

log = logging.getLogger("service.subscriptions")
Context = Any  # grpc.aio.ServicerContext
MAX_IN_FLIGHT = 1000
MAX_IDS = 1000
ROLES = {
    t.ROLE_PAYMENT: Role.PAYMENT,
    t.ROLE_MERCHANT: Role.MERCHANT,
    t.ROLE_PLATFORM: Role.PLATFORM,
}
# An unknown name and another service's subscription answer the same: nothing leaks.
NOT_YOURS = Denial(
    "NOT_YOUR_SUBSCRIPTION",
    "no such subscription for this calling service and role",
    "本调用方及角色下没有此订阅",
)


class AlreadyExists(ApiError):
    """A subscription of that name exists with another definition."""

    code = Code.ALREADY_EXISTS


class SubscriptionStreams:
    """The open Subscribe streams: their cap, and their end at shutdown."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        reader: Any,
        slots: StreamSlots,
        now_ms: Callable[[], int],
        *,
        keepalive_s: float = 5.0,
    ) -> None:
        self.subscriptions = subscriptions
        self.now_ms = now_ms  # the service's clock (create times, ages)
        self.reader = reader  # the streams' own pool: blocking reads
        self.slots = slots
        self.keepalive_s = keepalive_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End every open stream (cleanly, status OK) and refuse new ones."""
        self._stopping.set()

    async def stream(
        self, requests: AsyncIterator[Any], caller: Caller
    ) -> AsyncGenerator[sp.SubscribeResponse, None]:
        first = await anext(requests, None)
        if first is None:
            return  # the client closed before opening: nothing to do
        opened = _message(first)
        if not opened.HasField("open"):
            raise InvalidInput("open", "required in the first message", "必填:第一条消息须为 open")
        name_ = check_name(opened.open.subscription, "open.subscription")
        consumer = check_name(opened.open.consumer, "open.consumer")
        in_flight = opened.open.max_in_flight
        if not 0 <= in_flight <= MAX_IN_FLIGHT:
            raise InvalidInput(
                "open.max_in_flight",
                f"must be 0..{MAX_IN_FLIGHT}",
                f"须在 0 到 {MAX_IN_FLIGHT} 之间",
            )
        subscription = await self.subscriptions.find(name_)
        if subscription is None or not _consumes(subscription, caller.service, caller.actor):
            raise PermissionDenied("", f"service {caller.service}", NOT_YOURS)
        if self._stopping.is_set():
            return
        with self.slots.slot(caller):
            session = SubscriptionSession(
                self.subscriptions,
                subscription,
                consumer,
                reader=self.reader,
                max_in_flight=in_flight,
                deliverable=_deliverable(subscription),
            )
            acks = asyncio.ensure_future(_acknowledge(requests, session))
            try:
                async with aclosing(session.deliveries()) as deliveries:
                    async for item in until_stopped(deliveries, self._stopping, self.keepalive_s):
                        if acks.done() and not acks.cancelled() and acks.exception():
                            break  # a bad ack: the error below ends the call
                        if item is None:
                            yield sp.SubscribeResponse()  # keep-alive
                            continue
                        event = transition(item.event, item.event_id)
                        yield sp.SubscribeResponse(
                            event=event, ack_id=item.ack_id, delivery=item.delivery
                        )
            finally:
                session.stop()
                if not acks.done():
                    acks.cancel()
                with suppress(asyncio.CancelledError):
                    await asyncio.gather(acks, return_exceptions=True)
            if acks.done() and not acks.cancelled() and acks.exception() is not None:
                raise acks.exception()  # type: ignore[misc]


async def _acknowledge(requests: AsyncIterator[Any], session: SubscriptionSession) -> None:
    """Apply the client's acks and nacks until it half-closes. Deliveries go on after that
    (up to max_in_flight, then again after the ack deadline) until the client cancels: a
    tool that sends only the open message (grpcurl) can look at what is there."""
    async for raw in requests:
        request = _message(raw)
        if request.HasField("open"):
            raise InvalidInput("open", "only in the first message", "只能出现在第一条消息中")
        if len(request.ack_ids) > MAX_IDS or len(request.nack_ids) > MAX_IDS:
            raise InvalidInput(
                "ack_ids", f"at most {MAX_IDS} per message", f"每条消息最多 {MAX_IDS} 个"
            )
        await session.ack(list(request.ack_ids))
        await session.nack(list(request.nack_ids))


def _message(raw: Any) -> sp.SubscribeRequest:
    if not isinstance(raw, sp.SubscribeRequest):  # the tolerant parser's mark of bad bytes
        raise InvalidInput(
            "body",
            "not a valid protobuf encoding of aftersale.v1.SubscribeRequest",
            "请求体不是有效的 aftersale.v1.SubscribeRequest 编码",
        )
    return raw


def _consumes(subscription: Subscription, service: str, actor: Actor) -> bool:
    """Whether this caller may consume ``subscription``: its service, as its role (a
    merchant as its shop)."""
    if subscription.service != service or subscription.role is not actor.role:
        return False
    return actor.role is not Role.MERCHANT or actor.id == subscription.shop_id


def _deliverable(subscription: Subscription) -> Callable[[TransitionEvent], bool]:
    actor_id = subscription.shop_id if subscription.role is Role.MERCHANT else subscription.service
    visible = visible_to(Actor(subscription.role, actor_id))
    return lambda event: subscription.matches(event) and visible(event)


class SubscriptionServicer(subscriptions_pb2_grpc.SubscriptionServiceServicer):
    """``aftersale.v1.SubscriptionService``."""

    def __init__(
        self,
        streams: SubscriptionStreams,
        tokens: TokenTable | None,
    ) -> None:
        self._streams = streams
        self._subs = streams.subscriptions
        self._tokens = tokens
        self._now_ms = streams.now_ms

    async def Subscribe(
        self, request_iterator: Any, context: Context
    ) -> AsyncGenerator[sp.SubscribeResponse, None]:
        async with aclosing(self._streams.stream(request_iterator, current_caller())) as out:
            async for response in out:
                yield response

    async def CreateSubscription(self, request: Any, context: Context) -> Any:
        subscription = subscription_in(request.subscription)
        if self._tokens is not None and subscription.service not in self._tokens.services:
            raise InvalidInput(
                "subscription.service", "no calling service of that name", "没有该名称的调用服务"
            )
        try:
            created, fresh = await self._subs.create(subscription, self._now_ms())
        except SubscriptionExists as exc:
            raise AlreadyExists(
                "SUBSCRIPTION_EXISTS",
                f"subscription {subscription.name!r} exists with another definition",
                f"订阅 {subscription.name!r} 已存在且定义不同",
                metadata={"subscription": subscription.name},
            ) from exc
        return sp.CreateSubscriptionResponse(subscription=subscription_out(created), created=fresh)

    async def GetSubscription(self, request: Any, context: Context) -> Any:
        name_ = check_name(request.name, "name")
        subscription = await self._subs.get(name_)
        status = await self._subs.status(subscription, self._now_ms())
        return sp.GetSubscriptionResponse(state=self._state(status))

    async def ListSubscriptions(self, request: Any, context: Context) -> Any:
        now_ms = self._now_ms()
        states = [self._state(await self._subs.status(s, now_ms)) for s in await self._subs.all()]
        return sp.ListSubscriptionsResponse(states=states)

    async def DeleteSubscription(self, request: Any, context: Context) -> Any:
        await self._subs.delete(check_name(request.name, "name"))
        return sp.DeleteSubscriptionResponse()

    async def ListDeadLetters(self, request: Any, context: Context) -> Any:
        name_ = check_name(request.subscription, "subscription")
        size = fields.page_size(request.page_size, default=100, cap=500)
        after = _page_token(request.page_token, self._subs.keys.shards)
        letters, following = await self._subs.dead_letters(name_, after, size)
        out = []
        for letter in letters:
            dead = sp.DeadLetter(
                id=letter.id, deliveries=letter.deliveries, dead_time=stamp(letter.dead_ms),
                reason="max deliveries",
            )  # fmt: skip
            try:
                dead.event.CopyFrom(transition(event_from_fields(letter.fields), letter.event_id))
            except UndecodableEntry as error:
                dead.reason = f"undecodable: {error}"
            out.append(dead)
        token = f"{following[0]}:{following[1]}" if following else ""
        return sp.ListDeadLettersResponse(dead_letters=out, next_page_token=token)

    async def ReplayDeadLetters(self, request: Any, context: Context) -> Any:
        name_ = check_name(request.subscription, "subscription")
        replayed = await self._subs.replay(name_, _which(request))
        log.info("dead letters replayed subscription=%s count=%d", name_, replayed)
        return sp.ReplayDeadLettersResponse(replayed=replayed)

    async def PurgeDeadLetters(self, request: Any, context: Context) -> Any:
        name_ = check_name(request.subscription, "subscription")
        purged = await self._subs.purge(name_, _which(request))
        log.warning("dead letters purged subscription=%s count=%d", name_, purged)
        return sp.PurgeDeadLettersResponse(purged=purged)

    def _state(self, status: SubscriptionStatus) -> sp.SubscriptionState:
        oldest = status.oldest_unacked_ms
        age = max(0.0, (self._now_ms() - oldest) / 1000) if oldest else 0.0
        return sp.SubscriptionState(
            subscription=subscription_out(status.subscription),
            consumers=[
                sp.SubscriptionConsumer(consumer=c.consumer, session=c.session, shards=c.shards)
                for c in status.consumers
            ],
            pending=status.pending,
            dead_letters=status.dead_letters,
            oldest_unacked_age_seconds=age,
            lost_events=status.lost_events,
        )


def _which(request: Any) -> list[str] | None:
    if request.all and request.ids:
        raise InvalidInput("ids", "give ids or all, not both", "编号与 all 只能二选一")
    if not request.all and not request.ids:
        raise InvalidInput("ids", "required (or all)", "必填(或 all)")
    if len(request.ids) > MAX_IDS:
        raise InvalidInput("ids", f"at most {MAX_IDS}", f"最多 {MAX_IDS} 个")
    return None if request.all else list(request.ids)


def _page_token(token: str, shards: int) -> tuple[int, str] | None:
    if not token:
        return None
    shard, _, last = token.partition(":")
    if not shard.isdigit() or not 0 <= int(shard) < shards:
        raise InvalidInput("page_token", "not a page token of this call", "不是本次调用的分页令牌")
    if last:
        try:
            parse_stream_id(last)
        except ValueError:
            raise InvalidInput(
                "page_token", "not a page token of this call", "不是本次调用的分页令牌"
            ) from None
    return int(shard), last


def subscription_in(message: Any) -> Subscription:
    """A definition from its proto; errors name the field."""
    role = ROLES.get(message.role)
    if role is None:
        rule = "must be ROLE_PAYMENT, ROLE_MERCHANT or ROLE_PLATFORM"
        raise InvalidInput(
            "subscription.role", rule, "须为 ROLE_PAYMENT、ROLE_MERCHANT 或 ROLE_PLATFORM"
        )
    where = message.filter
    actions = fields.enum_list(t.Action, ACTION, Action, where.actions,
                               "subscription.filter.actions")  # fmt: skip
    states = fields.enum_list(t.AfterSaleStatus, STATUS, State, where.states,
                              "subscription.filter.states")  # fmt: skip
    signals = fields.enum_list(t.Signal, "SIGNAL_", Signal, where.signals,
                               "subscription.filter.signals")  # fmt: skip
    try:
        return Subscription(
            name=message.name,
            service=message.service,
            role=role,
            actions=tuple(sorted(a.value for a in actions)),
            states=tuple(sorted(s.value for s in states)),
            signals=tuple(sorted(s.value for s in signals)),
            shop_id=fields.optional_id(where.shop_id, "subscription.filter.shop_id"),
            start=OLDEST if message.start == sp.SUBSCRIPTION_START_OLDEST else LIVE,
            max_deliveries=message.max_deliveries,
        )
    except InvalidInput as exc:
        if exc.field.startswith("subscription."):
            raise
        raise InvalidInput(f"subscription.{exc.field}", exc.rule, exc.message_zh) from None


def subscription_out(subscription: Subscription) -> sp.Subscription:
    return sp.Subscription(
        name=subscription.name,
        service=subscription.service,
        role=name("ROLE_", subscription.role),
        filter=sp.SubscriptionFilter(
            actions=[name(ACTION, Action(a)) for a in subscription.actions],
            states=[name(STATUS, State(s)) for s in subscription.states],
            signals=[name("SIGNAL_", Signal(s)) for s in subscription.signals],
            shop_id=subscription.shop_id,
        ),
        start=sp.SUBSCRIPTION_START_OLDEST
        if subscription.start == OLDEST
        else sp.SUBSCRIPTION_START_UNSPECIFIED,
        max_deliveries=subscription.max_deliveries,
        create_time=stamp(subscription.created_ms),
    )
