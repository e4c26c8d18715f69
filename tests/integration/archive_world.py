"""A small world for the archive read tests: the handlers over a real Redis with a real
PostgreSQL archive, requests driven through the real write path, and the replies the
servicer would send, serialized (the bytes a client gets)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
from redis.asyncio import Redis, RedisCluster

from aftersale import commands as c
from aftersale.clock import FakeClock
from aftersale.model import Actor, AfterSale
from aftersale.policy import DAY_MS, Policy
from aftersale.vocabulary import (
    AfterSaleType,
    BuyerReason,
    NegotiationKind,
    NegotiationOption,
    RejectReason,
    Role,
    State,
)
from service.api import convert_out
from service.archive.reads import ArchiveReads
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.handlers import AfterSaleHandlers, Call, Page
from service.storage.keys import Keys
from service.storage.ports import HistoryPage
from service.storage.repository import RedisRepository
from tests.archive_rows import archive_from_redis, sweep

NOW_MS = 1_790_000_000_000
OPS = Actor(Role.PLATFORM, "ops-1")
PAYMENT = Actor(Role.PAYMENT, "payment")
IMAGES = ("media/chat.png",)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class World:
    """Handlers with an archive, and the steps the tests take."""

    def __init__(
        self, redis: Redis | RedisCluster, pool: asyncpg.Pool | None, conn: asyncpg.Connection
    ) -> None:
        self.redis = redis
        self.conn = conn
        self.keys = Keys(shards=16)
        self.clock = FakeClock(NOW_MS)
        self.repo = RedisRepository(redis, self.keys)
        archive = ArchiveReads(pool) if pool is not None else None
        self.handlers = AfterSaleHandlers(self.repo, self.clock, Policy(), archive)

    async def apply(
        self, shop_id: str, buyer_id: str, reason: BuyerReason = BuyerReason.QUALITY_ISSUE
    ) -> AfterSale:
        command = c.Apply(
            request_id="",
            order_id=unique("order"),
            sku_id="sku-1",
            shop_id=shop_id,
            buyer_id=buyer_id,
            type=AfterSaleType.REFUND,
            amount=10_000,
            paid_amount=10_000,
            reason=reason,
            after_sale_deadline_ms=self.clock.now_ms() + 15 * DAY_MS,
        )
        return await self.handlers.handle("", command, _call(Actor(Role.BUYER, buyer_id)))

    async def act(self, record: AfterSale, command: c.Command, actor: Actor) -> AfterSale:
        return await self.handlers.handle(record.request_id, command, _call(actor))

    async def refunded(self, record: AfterSale) -> AfterSale:
        """Approved by the shop, paid: MERCHANT_REFUND_SUCCESS."""
        record = await self.act(record, c.Approve(), Actor(Role.MERCHANT, record.shop_id))
        assert record.refund is not None
        return await self.act(record, c.RefundSucceeded(record.refund.refund_id), PAYMENT)

    async def cancelled(self, record: AfterSale) -> AfterSale:
        return await self.act(record, c.Cancel("changed my mind"), _buyer(record))

    async def disputed(self, record: AfterSale) -> AfterSale:
        """Negotiated, the buyer refuses, the shop rejects, the buyer escalates."""
        merchant = Actor(Role.MERCHANT, record.shop_id)
        negotiate = c.Negotiate(
            NegotiationKind.MODIFY_APPLICATION,
            NegotiationOption.AMOUNT_ONLY,
            images=IMAGES,
            proposed_amount=6_000,
        )
        record = await self.act(record, negotiate, merchant)
        record = await self.act(record, c.RejectNegotiation("no"), _buyer(record))
        reject = c.Reject(RejectReason.AMOUNT_DISAGREEMENT, "agreed 60 in chat", IMAGES)
        record = await self.act(record, reject, merchant)
        assert record.state is State.MERCHANT_REJECT_REFUND
        return await self.act(record, c.Escalate("please decide"), _buyer(record))

    async def archive(self, *records: AfterSale) -> None:
        """Archive the requests as Redis holds them now."""
        for record in records:
            await archive_from_redis(self.conn, self.redis, self.keys, record.request_id)

    async def sweep(self, *records: AfterSale) -> None:
        """Archive the requests, then take them out of Redis as the retention sweep does."""
        for record in records:
            stored = await archive_from_redis(self.conn, self.redis, self.keys, record.request_id)
            await sweep(self.redis, self.keys, stored)
            assert await self.repo.load(record.request_id) is None

    async def walk(self, actor: Actor, page_size: int, **filters: object) -> list[bytes]:
        """Every page of a listing, as the bytes of its reply (with the storage token)."""
        pages: list[bytes] = []
        token = ""
        while True:
            page = await self.handlers.list_requests(
                actor,
                page_size=page_size,
                page_token=token,
                **filters,  # type: ignore[arg-type]
            )
            pages.append(list_reply(page))
            token = page.next_page_token
            if not token or len(pages) > 100:
                return pages


def _call(actor: Actor) -> Call:
    return Call(actor, "order-system", unique("idem"))


def _buyer(record: AfterSale) -> Actor:
    return Actor(Role.BUYER, record.buyer_id)


def get_reply(record: AfterSale) -> bytes:
    reply = pb.GetAfterSaleResponse(after_sale=convert_out.after_sale(record))
    return reply.SerializeToString(deterministic=True)


def history_reply(page: HistoryPage) -> bytes:
    reply = pb.GetHistoryResponse(
        events=[convert_out.transition(s.event, s.event_id) for s in page.events],
        next_page_token=str(page.next_offset) if page.next_offset is not None else "",
    )
    return reply.SerializeToString(deterministic=True)


def list_reply(page: Page) -> bytes:
    reply = pb.ListAfterSalesResponse(
        after_sales=[convert_out.after_sale(r) for r in page.records],
        next_page_token=page.next_page_token,
    )
    return reply.SerializeToString(deterministic=True)


def ids(records: Sequence[AfterSale]) -> list[str]:
    return [r.request_id for r in records]
