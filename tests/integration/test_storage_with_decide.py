"""Real domain decisions (``aftersale.decide``) committed to a real Redis: what the handlers,
the timer worker and the subscribers rely on, end to end below the API."""

from __future__ import annotations

import pytest

from aftersale.clock import FakeClock
from aftersale.commands import (
    AcceptNegotiation,
    Apply,
    Approve,
    Cancel,
    Command,
    FireTimer,
    ModifyApplication,
    Negotiate,
    RefundSucceeded,
)
from aftersale.decide import decide
from aftersale.exceptions import LimitExceeded, StaleTimer
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, Policy
from aftersale.vocabulary import (
    Action,
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    Role,
    State,
)
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from service.storage.stream import TransitionReader
from service.storage.timer_store import RedisTimerStore
from tests.integration.storage_support import NOW_MS, Client, unique

IMAGES = ("media/chat-1.png",)
SYSTEM = Actor(Role.SYSTEM, "timer")
PAYMENT = Actor(Role.PAYMENT, "pay")


class Desk:
    """Decide with the real domain, commit to Redis; one minute passes per action."""

    def __init__(self, client: Client) -> None:
        self.keys = Keys(shards=16)
        self.clock = FakeClock(NOW_MS)
        self.policy = Policy()
        self.repo = RedisRepository(client, self.keys)
        self.timers = RedisTimerStore(client, self.keys)

    async def act(
        self, record: AfterSale | None, command: Command, actor: Actor, leased: str | None = None
    ) -> AfterSale:
        self.clock.advance(60_000)
        decision = decide(record, command, actor, self.clock.now_ms(), self.policy)
        read_version = record.version if record else 0
        await self.repo.commit(decision, read_version=read_version, leased_timer_member=leased)
        return decision.record

    async def apply(self, order_id: str, amount: int = 10_000) -> AfterSale:
        command = Apply(
            request_id=self.keys.new_request_id(order_id, self.clock.now_ms()),
            order_id=order_id,
            sku_id="sku-1",
            shop_id="shop-1",
            buyer_id="buyer-1",
            type=AfterSaleType.REFUND,
            amount=amount,
            paid_amount=10_000,
            reason=BuyerReason.QUALITY_ISSUE,
            after_sale_deadline_ms=NOW_MS + 15 * DAY_MS,
            evidence_images=IMAGES,
        )
        return await self.act(None, command, Actor(Role.BUYER, "buyer-1"))


@pytest.fixture
def desk(client: Client) -> Desk:
    return Desk(client)


async def test_scenario_one_is_stored_as_one_event_per_version_and_counted_for_the_shop(
    client: Client, desk: Desk
) -> None:
    order_id = unique("order")
    buyer, merchant = Actor(Role.BUYER, "buyer-1"), Actor(Role.MERCHANT, "shop-1")
    record = await desk.apply(order_id)
    amount_only = Negotiate(NegotiationKind.MODIFY_APPLICATION, NegotiationOption.AMOUNT_ONLY,
                            IMAGES, proposed_amount=6_000)  # fmt: skip
    record = await desk.act(record, amount_only, merchant)
    record = await desk.act(record, AcceptNegotiation(), buyer)
    assert record.state is State.PLATFORM_REFUNDING and record.refund is not None
    record = await desk.act(record, RefundSucceeded(record.refund.refund_id), PAYMENT)

    history = await desk.repo.history(record.request_id)
    reader = TransitionReader(client, desk.keys)
    streamed = [t async for t in reader.read(follow=False)]

    assert [h.event.version for h in history] == [1, 2, 3, 4]
    assert [(t.event_id, t.event) for t in streamed] == [(h.event_id, h.event) for h in history]
    assert await desk.repo.load(record.request_id) == record
    assert await desk.repo.shop_stats("shop-1") == {
        "applications": 1,
        "negotiations:AMOUNT_ONLY": 1,
        "negotiation_outcomes:AMOUNT_ONLY:ACCEPTED": 1,
        "refunds": 1,
        "refunds:QUALITY": 1,
        "refund_fen": 6_000,
        "refund_fen:QUALITY": 6_000,
    }
    with pytest.raises(LimitExceeded) as refused:
        await desk.apply(order_id)
    assert refused.value.refusal.reason == "LINE_ALREADY_REFUNDED"


async def test_a_claimed_timer_fires_through_decide_and_its_commit_clears_the_lease(
    client: Client, desk: Desk
) -> None:
    record = await desk.apply(unique("order"))
    assert record.timer is not None
    desk.clock.set(record.timer.due_ms)

    [timer] = await desk.timers.claim_due(desk.clock.now_ms(), 30_000, 10)
    request_id, version, action, member = timer
    loaded = await desk.repo.load(request_id)
    fired = await desk.act(loaded, FireTimer(action, version), SYSTEM, leased=member)

    assert fired.state is State.PLATFORM_REFUNDING  # the platform agreed on the merchant's behalf
    # The lease is gone: what is due next is the refund's reminder, hours away.
    assert fired.timer is not None and fired.timer.action is Action.REFUND_REMINDER
    assert await desk.timers.next_due_ms() == fired.timer.due_ms


async def test_a_timer_claimed_while_the_merchant_acts_is_stale_and_already_gone(
    desk: Desk,
) -> None:
    record = await desk.apply(unique("order"))
    assert record.timer is not None
    desk.clock.set(record.timer.due_ms)
    [timer] = await desk.timers.claim_due(desk.clock.now_ms(), 30_000, 10)

    approved = await desk.act(record, Approve(), Actor(Role.MERCHANT, "shop-1"))
    _, version, action, _ = timer
    with pytest.raises(StaleTimer):
        decide(approved, FireTimer(action, version), SYSTEM, desk.clock.now_ms(), desk.policy)

    # The approve commit removed the lease: what is due next is the refund's reminder.
    assert approved.timer is not None and approved.timer.action is Action.REFUND_REMINDER
    assert await desk.timers.next_due_ms() == approved.timer.due_ms


async def test_attempts_count_across_the_requests_of_a_line_and_the_sixth_is_refused(
    desk: Desk,
) -> None:
    buyer = Actor(Role.BUYER, "buyer-1")
    order_id = unique("order")
    record = await desk.apply(order_id, amount=9_000)  # attempt 1
    for amount in (8_000, 7_000, 6_000):  # 2, 3, 4
        record = await desk.act(record, modify(amount), buyer)
    await desk.act(record, Cancel(), buyer)  # cancelling gives no attempt back
    second = await desk.apply(order_id)  # 5

    with pytest.raises(LimitExceeded) as refused:
        await desk.act(second, modify(4_000), buyer)  # 6: only storage sees the whole line

    assert refused.value.refusal.reason == "ATTEMPT_LIMIT"
    assert refused.value.action is Action.MODIFY_APPLICATION
    stored = await desk.repo.load(second.request_id)
    assert stored == second


def modify(amount: int) -> ModifyApplication:
    return ModifyApplication(AfterSaleType.REFUND, amount, BuyerReason.NO_LONGER_WANT)
