"""Helpers for the storage integration tests: clients, keys, and hand-made decisions.

The storage tests check what the commit script does with *any* decision, so most build
``Decision`` values by hand (a record copied one step on, and its ``transition_event``);
``test_storage_with_decide`` drives the real domain instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster

from aftersale.decide import Decision
from aftersale.events import transition_event
from aftersale.model import Actor, AfterSale, PendingTimer, Refund
from aftersale.policy import DAY_MS, HOUR_MS
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    RefundReason,
    Role,
    Signal,
    State,
    TimerKind,
)
from service.storage.codec import record_from_hash
from service.storage.keys import Keys, timer_member
from service.storage.ports import IdempotencyKey, IdempotentResult
from service.storage.repository import RedisRepository

Client = Redis | RedisCluster
NOW_MS = 1_790_000_000_000
CLIENTS = ["standalone", pytest.param("cluster", marks=pytest.mark.cluster)]

BUYER = Actor(Role.BUYER, "buyer-1")
MERCHANT = Actor(Role.MERCHANT, "shop-1")
PAYMENT = Actor(Role.PAYMENT, "pay")
SYSTEM = Actor(Role.SYSTEM, "timer")
KEEP: Any = object()  # step(): keep the record's timer


def idem(key: str, caller: str = "orders", actor: Actor = MERCHANT) -> IdempotencyKey:
    """``caller``'s idempotency ``key``, used by ``actor`` (the shop by default)."""
    return IdempotencyKey(caller, actor, key)


def replay_of(result: IdempotentResult | None) -> tuple[str, AfterSale | None] | None:
    """What a stored idempotency result replays: (body hash, the first call's record; None
    once the request moved on), or None for an unused key."""
    return None if result is None else (result.body_hash, result.record)


def pick_client(request: pytest.FixtureRequest) -> Client:
    """The ``redis`` or ``redis_cluster_client`` fixture, by the test's parameter."""
    name = "redis" if request.param == "standalone" else "redis_cluster_client"
    client: Client = request.getfixturevalue(name)
    return client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def orders_in_distinct_shards(keys: Keys, count: int) -> Iterator[str]:
    """``count`` order ids that land in ``count`` different shards."""
    seen: set[int] = set()
    while len(seen) < count:
        order_id = unique("order")
        shard = keys.shard_of_order(order_id)
        if shard not in seen:
            seen.add(shard)
            yield order_id


def order_in_shard(keys: Keys, shard: int) -> str:
    """A fresh order id that lands in ``shard``."""
    while True:
        order_id = unique("order")
        if keys.shard_of_order(order_id) == shard:
            return order_id


def applied(
    keys: Keys,
    order_id: str | None = None,
    *,
    sku_id: str = "sku-1",
    shop_id: str = "shop-1",
    buyer_id: str = "buyer-1",
    now_ms: int = NOW_MS,
    reason: BuyerReason = BuyerReason.QUALITY_ISSUE,
    amount: int = 6_000,
    timer_due_ms: int | None = None,
) -> Decision:
    """An ``apply`` decision for a new refund-only request (timer: merchant handling)."""
    order_id = order_id or unique("order")
    record = AfterSale(
        request_id=keys.new_request_id(order_id, now_ms),
        order_id=order_id,
        sku_id=sku_id,
        shop_id=shop_id,
        buyer_id=buyer_id,
        type=AfterSaleType.REFUND,
        state=State.MERCHANT_PROCESSING,
        amount=amount,
        paid_amount=10_000,
        reason=reason,
        first_reason=reason,
        after_sale_deadline_ms=now_ms + 7 * DAY_MS,
        created_at_ms=now_ms,
        updated_at_ms=now_ms,
        version=1,
        description="屏幕有划痕",
        timer=PendingTimer(
            TimerKind.MERCHANT_HANDLING,
            Action.MERCHANT_TIMEOUT,
            now_ms + 48 * HOUR_MS if timer_due_ms is None else timer_due_ms,
        ),
    )
    event = transition_event(None, record, Action.APPLY, Actor(Role.BUYER, buyer_id), now_ms)
    return Decision(record, event, None)


def step(
    before: AfterSale,
    action: Action,
    to_state: State,
    actor: Actor = MERCHANT,
    *,
    now_ms: int | None = None,
    timer: PendingTimer | None = KEEP,
    signals: tuple[Signal, ...] = (),
    **changes: Any,
) -> Decision:
    """``before`` moved one version on by ``action`` to ``to_state`` (no rules checked)."""
    at = (before.updated_at_ms + 60_000) if now_ms is None else now_ms
    after = before.copy()
    after.state = to_state
    after.version = before.version + 1
    after.updated_at_ms = at
    if timer is not KEEP:
        after.timer = timer
    for name, value in changes.items():
        setattr(after, name, value)
    event = transition_event(before, after, action, actor, at, signals)
    return Decision(after, event, before.timer)


def approved(before: AfterSale) -> Decision:
    """``approve``: refund requested from the payment service."""
    refund = Refund(
        refund_id=f"{before.request_id}-r1",
        refund_reason=RefundReason.MERCHANT_APPROVED,
        amount=before.amount,
        requested_at_ms=before.updated_at_ms + 60_000,
    )
    return step(
        before,
        Action.APPROVE,
        State.PLATFORM_REFUNDING,
        timer=None,
        refund=refund,
        signals=(Signal.REFUND_REQUESTED,),
    )


def refunded(before: AfterSale) -> Decision:
    return step(before, Action.REFUND_SUCCEEDED, State.MERCHANT_REFUND_SUCCESS, PAYMENT)


def cancelled(before: AfterSale) -> Decision:
    return step(before, Action.CANCEL, State.USER_CANCELD, BUYER, timer=None)


def modified(before: AfterSale, amount: int) -> Decision:
    return step(
        before,
        Action.MODIFY_APPLICATION,
        State.MERCHANT_PROCESSING,
        BUYER,
        amount=amount,
        reason=BuyerReason.NO_LONGER_WANT,
        application_round=before.application_round + 1,
    )


def contact_recorded(before: AfterSale) -> Decision:
    """A same-state action: the version moves, the timer stays."""
    return step(before, Action.RECORD_CONTACT_ATTEMPT, before.state)


async def commit(repo: RedisRepository, decision: Decision, **kwargs: Any) -> AfterSale:
    """Commit ``decision`` at the version it was decided on; the new record."""
    await repo.commit(decision, read_version=decision.record.version - 1, **kwargs)
    return decision.record


async def snapshot(client: Client, keys: Keys, record: AfterSale) -> dict[str, Any]:
    """Everything a commit may write for ``record``'s request, order line, shop and shard."""
    shard = keys.shard_of_request(record.request_id)
    return {
        "record": await client.hgetall(keys.record(record.request_id)),
        "history": await client.lrange(keys.history(record.request_id), 0, -1),
        "events": await client.xrange(keys.events(shard)),
        "timers": await client.zrange(keys.timers(shard), 0, -1, withscores=True),
        "leased": await client.zrange(keys.leased(shard), 0, -1, withscores=True),
        "line": await client.hgetall(keys.line(record.order_id, record.sku_id)),
        "stats": await client.hgetall(keys.stats(shard, record.shop_id)),
        "shop": await client.zrange(keys.shop(shard, record.shop_id), 0, -1),
        "order": await client.zrange(keys.order(record.order_id), 0, -1),
    }


async def history_length(client: Client, keys: Keys, record: AfterSale) -> int:
    """How many events the request's history list holds."""
    return int(await client.llen(keys.history(record.request_id)))


async def timer_of(client: Client, keys: Keys, record: AfterSale) -> tuple[int | None, int | None]:
    """Where the request's registered timer member is: (due ms, lease deadline ms)."""
    shard = keys.shard_of_request(record.request_id)
    member = await registered_member(client, keys, record.request_id)
    assert member is not None, f"{record.request_id} has no timer registered"
    due = await client.zscore(keys.timers(shard), member)
    lease = await client.zscore(keys.leased(shard), member)
    return (None if due is None else int(due)), (None if lease is None else int(lease))


async def registered_member(client: Client, keys: Keys, request_id: str) -> str | None:
    """The timer member the stored record names: the previous release's ``_timer_member``,
    else its id, version and timer action (None: no timer pending)."""
    fields = {str(k): str(v) for k, v in (await client.hgetall(keys.record(request_id))).items()}
    if "_timer_member" in fields:
        return fields["_timer_member"]
    record = record_from_hash(fields)
    if record.timer is None:
        return None
    return timer_member(request_id, record.version, record.timer.action)


async def pending_timers(client: Client, keys: Keys) -> list[tuple[str, int]]:
    """Every due member over all shards with its due ms, earliest first."""
    pipe = client.pipeline(transaction=False)
    for shard in keys.all_shards():
        pipe.zrange(keys.timers(shard), 0, -1, withscores=True)
    rows: list[list[tuple[str, float]]] = await pipe.execute()
    due = sorted((int(score), member) for part in rows for member, score in part)
    return [(member, score) for score, member in due]
