"""``WatchTransitions``: the transition streams, narrowed to what the caller may see.

Buyers see their own requests' events, merchants their shop's, PAYMENT those of requests with
a refund; PLATFORM sees all.
Every message carries the cursor to resume after it; every ``keepalive_s`` without an event
sent, a keep-alive (no event) carries the cursor past whatever passed unseen — on a clock of
its own, so neither its timing nor its (sealed) content tells whether anything did.
Cursors are sealed for the caller (``sealing``): a position in every shard is other tenants'
commit times, so a client gets it opaque, and only the caller it was issued to can resume
from it.

A cursor older than what the streams retain (events after it were trimmed) is refused with
OUT_OF_RANGE (``CursorTrimmed``), when the stream opens or when an open stream falls that far
behind: never a silent gap. Its ErrorInfo metadata ``oldest_cursor`` is the oldest valid
cursor (sealed for the caller like any), so a client can resume knowingly past the gap.

Each stream holds one Redis connection of the streams' own pool (a blocking XREAD), so streams
are capped, per caller, per calling service and in total (``stream_slots``; RESOURCE_EXHAUSTED
naming the limit beyond). A stream ends cleanly (status OK) when the server shuts down
(:meth:`TransitionWatch.stop`) and frees its connection when the client cancels.
"""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, suppress
from typing import Any, TypeVar

from aftersale.events import TransitionEvent
from aftersale.exceptions import Denial, PermissionDenied
from aftersale.model import Actor
from aftersale.vocabulary import Action, Role, State
from service.api import fields
from service.api.caller import Caller
from service.api.convert_out import transition
from service.api.errors import ApiError
from service.api.sealing import Sealer, identity
from service.api.stream_slots import StreamSlots
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from service.storage.stream import (
    NOW,
    START,
    CursorTrimmed,
    StreamCursor,
    TransitionFilter,
    TransitionReader,
)

T = TypeVar("T")
MAX_CURSOR_CHARS = 8192
WATCH_OWN_SHOP = Denial(
    "OUT_OF_SCOPE", "merchants watch only their shop", "商家只能订阅本店铺的售后"
)


class CursorOutOfRange(ApiError):
    """Events after the cursor were trimmed (ErrorInfo ``CURSOR_TRIMMED``, metadata
    ``oldest_cursor``: where to resume past the gap)."""

    def __init__(self, oldest_cursor: str) -> None:
        super().__init__(
            "CURSOR_TRIMMED",
            "events after this cursor are no longer retained (older than the stream "
            "retention); resume from the oldest_cursor of the error details to go on past "
            "the gap, or use the request histories to fill it",
            "游标之后的事件已超出保留期被清理; 可从错误详情中的 oldest_cursor 继续"
            "(跳过缺口), 或通过售后单历史补齐",
            {"oldest_cursor": oldest_cursor},
        )


def transition_filter(request: pb.WatchTransitionsRequest, actor: Actor) -> TransitionFilter:
    """The request's filters, narrowed to the actor's shop for a merchant."""
    shop_id = fields.optional_id(request.shop_id, "shop_id")
    if actor.role is Role.MERCHANT:
        if shop_id and shop_id != actor.id:
            raise PermissionDenied("", f"MERCHANT:{actor.id}", WATCH_OWN_SHOP)
        shop_id = actor.id
    states = fields.enum_list(t.AfterSaleStatus, "AFTER_SALE_STATUS_", State, request.states,
                              "states")  # fmt: skip
    actions = fields.enum_list(t.Action, "ACTION_", Action, request.actions, "actions")
    return TransitionFilter(
        shop_id=shop_id,
        order_id=fields.optional_id(request.order_id, "order_id"),
        states=frozenset(s.value for s in states),
        actions=frozenset(a.value for a in actions),
    )


def visible_to(actor: Actor) -> Callable[[TransitionEvent], bool]:
    """Whether ``actor`` may see an event (the shop is already narrowed by the filter)."""
    if actor.role is Role.BUYER:
        return lambda event: event.buyer_id == actor.id
    if actor.role is Role.PAYMENT:  # the money it moves: events of requests with a refund
        return lambda event: bool(event.refund_id)
    return lambda event: True


async def until_stopped(
    items: AsyncIterator[T], stopping: asyncio.Event, period_s: float
) -> AsyncGenerator[T | None, None]:
    """``items`` until ``stopping`` is set, and ``None`` every ``period_s`` between them, on a
    clock of its own (items do not move it, so the ticks tell nothing of how many passed).

    The next item is awaited in a task of its own, which is cancelled (and awaited) on the way
    out, so the source's cleanup (freeing its connection) has run when this generator ends."""
    loop = asyncio.get_running_loop()
    tick = loop.time() + period_s
    stop: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            waiters: set[asyncio.Future[Any]] = {pending, stop}
            timeout = max(0.0, tick - loop.time())
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=FIRST_COMPLETED)
            if stop in done:
                return
            if pending not in done:
                tick = loop.time() + period_s
                yield None
                continue
            finished, pending = pending, None
            try:
                item: T = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        waiting = [f for f in (pending, stop) if f is not None and not f.done()]
        for future in waiting:
            future.cancel()
        with suppress(asyncio.CancelledError):
            await asyncio.gather(*waiting, return_exceptions=True)


class TransitionWatch:
    """Open watch streams: their cap, their cursors (sealed for the caller), and their end at
    shutdown."""

    def __init__(
        self,
        reader: Callable[[], TransitionReader],
        sealer: Sealer,
        slots: StreamSlots,
        *,
        keepalive_s: float = 5.0,
    ) -> None:
        self._reader = reader
        self._sealer = sealer
        self.slots = slots
        self.keepalive_s = keepalive_s
        self._stopping = asyncio.Event()

    @property
    def open_streams(self) -> int:
        """Streams open now."""
        return self.slots.open

    def stop(self) -> None:
        """End every open stream (cleanly, status OK) and refuse new ones."""
        self._stopping.set()

    async def stream(
        self, request: pb.WatchTransitionsRequest, caller: Caller
    ) -> AsyncGenerator[pb.WatchTransitionsResponse, None]:
        """The responses of one WatchTransitions call."""
        where = transition_filter(request, caller.actor)
        token = fields.text(request.cursor, "cursor", limit=MAX_CURSOR_CHARS)
        visible = visible_to(caller.actor)
        bound_to = identity(caller)
        reader = self._reader()
        start: str | StreamCursor = START if request.from_oldest else NOW
        if token:
            opened = self._sealer.open("cursor", bound_to, token)
            start = StreamCursor.from_bytes(opened, reader.keys.shards)
        if self._stopping.is_set():
            return
        with self.slots.slot(caller):
            messages = self._messages(reader, start, where, visible, bound_to)
            try:
                async with aclosing(messages):
                    async for message in messages:
                        yield message
            except CursorTrimmed as trimmed:
                raise CursorOutOfRange(self._seal(bound_to, trimmed.oldest)) from None

    async def _messages(
        self,
        reader: TransitionReader,
        start: str | StreamCursor,
        where: TransitionFilter,
        visible: Callable[[TransitionEvent], bool],
        bound_to: tuple[str, ...],
    ) -> AsyncGenerator[pb.WatchTransitionsResponse, None]:
        """The events the caller may see, and a keep-alive every ``keepalive_s``."""
        sent_event = False
        async with aclosing(reader.read(start, where)) as transitions:
            async for item in until_stopped(transitions, self._stopping, self.keepalive_s):
                if item is not None and visible(item.event):
                    sent_event = True
                    event = transition(item.event, item.event_id)
                    cursor = self._seal(bound_to, item.position)
                    yield pb.WatchTransitionsResponse(event=event, cursor=cursor)
                elif item is None:
                    # A tick: unless an event just went out, tell the client how far we
                    # read (past events it cannot see, or where the live tail began), so
                    # a resume skips them. Sent whether or not the position moved: a
                    # keep-alive only when something passed would tell that it did.
                    if not sent_event:
                        cursor = self._seal(bound_to, reader.cursor)
                        yield pb.WatchTransitionsResponse(cursor=cursor)
                    sent_event = False

    def _seal(self, bound_to: tuple[str, ...], position: StreamCursor) -> str:
        """The cursor the client gets: the position sealed for it alone (it tells of other
        tenants' commit times, so the client must not read it)."""
        return self._sealer.seal("cursor", bound_to, position.to_bytes())
