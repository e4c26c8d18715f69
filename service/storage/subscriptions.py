"""Durable subscriptions to the transition streams: definitions, the registry, dead letters.

A subscription ``<name>`` is one Redis consumer group ``<name>`` on every shard stream
``{as:NN}:events`` (and on its own retry streams), created at ``$`` (the live tail: events
committed before it are never delivered) unless told to start at the oldest retained event.
Its definition (JSON) is in the registry hash ``{as}:subscriptions``. Consumers read it
through :class:`service.storage.subscription_session.SubscriptionSession` (in-process, e.g.
an archiver) or the gRPC ``Subscribe`` stream that wraps one.

Dead letters: an entry delivered ``max_deliveries`` times without an ack is copied to
``{as:NN}:sub:<name>:dead`` and acknowledged in one script (``DEAD_LETTER``). That stream is
capped (``dead_letter_maxlen`` per shard): at the cap the oldest dead letter is dropped, and
that is reported (metric, log, ``lost_events``), never silent. Replaying moves dead letters
to ``{as:NN}:sub:<name>:retry``, read by this subscription's group only (the shard stream is
shared by every subscription, so it cannot take them back), before the shard's new events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from redis.asyncio import Redis, RedisCluster

from aftersale.events import TransitionEvent
from aftersale.exceptions import InvalidInput, NotFound
from aftersale.vocabulary import Action, Role, Signal, State
from service.observability import subscriptions as report
from service.storage.cursor import parse_stream_id
from service.storage.keys import Keys
from service.storage.retention import Loss, loss_mark, record_loss
from service.storage.scripts import Scripts
from service.storage.subscription_scripts import (
    DEAD_LETTER,
    META_PREFIX,
    RELEASE,
    RENEW,
    REPLAY,
)

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LIVE, OLDEST = "live", "oldest"
CONSUMER_ROLES = (Role.PAYMENT, Role.MERCHANT, Role.PLATFORM)
MAX_DELIVERIES_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SubscriptionSettings:
    """How subscriptions deliver (the server's settings; tests shorten the times)."""

    ack_deadline_s: float = 30.0  # an unacknowledged delivery is delivered again after this
    max_deliveries: int = 5  # default per subscription: then a dead letter
    dead_letter_maxlen: int = 10_000  # dead letters kept per subscription and shard
    lease_s: float = 10.0  # a consumer session's hold on a shard, renewed every lease_s / 3
    max_in_flight: int = 100  # default per consumer session
    block_ms: int = 1_000  # longest blocking read (also how soon a stop is noticed)
    takeover_batch: int = 1_000  # pending entries claimed at once when a shard is taken


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription's definition."""

    name: str
    service: str  # the calling service whose consumers may consume it
    role: Role  # the role its consumers speak as; what they may see
    actions: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    shop_id: str = ""
    start: str = LIVE
    max_deliveries: int = 0  # 0: the settings' default
    created_ms: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name, "name")
        if not self.service:
            raise InvalidInput(
                "service", "required: the calling service it belongs to", "必填:订阅所属的调用服务"
            )
        if self.role not in CONSUMER_ROLES:
            raise InvalidInput(
                "role",
                "must be PAYMENT, MERCHANT or PLATFORM",
                "须为 PAYMENT、MERCHANT 或 PLATFORM",
            )
        if self.role is Role.MERCHANT and not self.shop_id:
            raise InvalidInput(
                "filter.shop_id", "required for a MERCHANT subscription", "必填:商家订阅须指定店铺"
            )
        if self.start not in (LIVE, OLDEST):
            raise InvalidInput(
                "start", "must be live or oldest", "须为 live(实时尾部)或 oldest(最早保留处)"
            )
        if not 0 <= self.max_deliveries <= MAX_DELIVERIES_LIMIT:
            raise InvalidInput(
                "max_deliveries",
                f"must be 0..{MAX_DELIVERIES_LIMIT}",
                f"须在 0 到 {MAX_DELIVERIES_LIMIT} 之间",
            )
        for name, values, enum in (
            ("actions", self.actions, Action),
            ("states", self.states, State),
            ("signals", self.signals, Signal),
        ):
            known = {str(member.value) for member in enum}
            for value in values:
                if value not in known:
                    raise InvalidInput(
                        f"filter.{name}", f"{value!r} is not one of {enum.__name__}", "取值未知"
                    )

    def matches(self, event: TransitionEvent) -> bool:
        """Whether ``event`` passes the filters (visibility is the caller's to add)."""
        return (
            (not self.shop_id or event.shop_id == self.shop_id)
            and (not self.actions or event.action.value in self.actions)
            and (not self.states or event.to_state.value in self.states)
            and (not self.signals or any(s.value in self.signals for s in event.signals))
        )

    def deliveries_allowed(self, settings: SubscriptionSettings) -> int:
        return self.max_deliveries or settings.max_deliveries

    def to_json(self) -> str:
        document = asdict(self)
        document["role"] = self.role.value
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Subscription:
        document = json.loads(text)
        document["role"] = Role(document["role"])
        for name in ("actions", "states", "signals"):
            document[name] = tuple(document.get(name, ()))
        return cls(**document)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> Subscription:
        """From a config table (``[[subscriptions]]``): enum entries by their proto name
        (``ACTION_APPROVE``), their name (``APPROVE``) or their value (``approve``)."""
        known = {"name", "service", "role", "actions", "states", "signals", "shop_id", "start",
                 "max_deliveries"}  # fmt: skip
        unknown = sorted(set(table) - known)
        if unknown:
            raise InvalidInput(unknown[0], "unknown subscription key", "未知的订阅配置项")
        values = dict(table)
        values["role"] = _role(str(values.get("role", "")))
        for key, enum, prefix in (
            ("actions", Action, "ACTION_"),
            ("states", State, "AFTER_SALE_STATUS_"),
            ("signals", Signal, "SIGNAL_"),
        ):
            raw = values.get(key, [])
            if not isinstance(raw, list | tuple):
                raise InvalidInput(key, "must be a list", "须为列表")
            values[key] = tuple(sorted(_member(enum, prefix, str(v), key) for v in raw))
        return cls(**values)


def _member(enum: Any, prefix: str, raw: str, key: str) -> str:
    text = raw.strip()
    for member in enum:
        if text in (member.value, member.name, prefix + member.name):
            return str(member.value)
    raise InvalidInput(key, f"{raw!r} is not one of {enum.__name__}", "取值未知")


def _role(raw: str) -> Role:
    name = raw.strip().upper().removeprefix("ROLE_")
    if name not in {r.value for r in CONSUMER_ROLES}:
        raise InvalidInput(
            "role", "must be PAYMENT, MERCHANT or PLATFORM", "须为 PAYMENT、MERCHANT 或 PLATFORM"
        )
    return Role(name)


def check_name(value: str, name: str) -> str:
    if not NAME.match(value):
        raise InvalidInput(
            name, "must be 1..64 of [A-Za-z0-9_-]", "须为 1 到 64 个字母、数字、下划线或连字符"
        )
    return value


def event_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """An entry's event fields, without what a subscription added (``_sub_*``)."""
    return {k: v for k, v in fields.items() if not k.startswith(META_PREFIX)}


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    consumer: str
    session: str
    shards: int


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    subscription: Subscription
    consumers: tuple[ConsumerInfo, ...]
    pending: int
    dead_letters: int
    oldest_unacked_ms: int  # commit time of the oldest unacknowledged event; 0: none
    lost_events: int  # to the stream's hard cap, plus dead letters dropped at their cap


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    id: str  # "<shard>-<dead-letter stream id>"
    fields: dict[str, str]  # the event's own fields
    event_id: str
    deliveries: int
    dead_ms: int


class UnknownSubscription(NotFound):
    """No subscription of that name (ops only are told so: see the servicer)."""

    resource_type = "aftersale.v1.Subscription"
    info_reason = "SUBSCRIPTION_NOT_FOUND"
    key = "subscription"
    what_zh = "订阅"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = f"no subscription named {name!r}"


class Subscriptions:
    """The registry and the ops side of subscriptions, over one Redis client."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        keys: Keys,
        settings: SubscriptionSettings | None = None,
    ) -> None:
        self.client: Any = client  # redis-py's types: replies are str (decode_responses)
        self.keys = keys
        self.settings = settings or SubscriptionSettings()
        self.scripts = Scripts(client)  # run_many: EVALSHA in a pipeline, reloading once
        self.dead_letter_script = client.register_script(DEAD_LETTER)
        self.replay_script = client.register_script(REPLAY)
        self.renew_script = client.register_script(RENEW)
        self.release_script = client.register_script(RELEASE)

    # -- definitions ---------------------------------------------------------------------

    async def create(self, subscription: Subscription, now_ms: int) -> tuple[Subscription, bool]:
        """Create ``subscription`` (its groups first, then its registry entry, so a consumer
        never finds it without groups). The same definition again: the existing one, False.
        A different one: ``SubscriptionExists``."""
        existing = await self.find(subscription.name)
        if existing is not None:
            if existing == subscription:
                return existing, False
            raise SubscriptionExists(existing)
        created = replace(subscription, created_ms=now_ms)
        await self.ensure_groups(created.name, OLDEST if created.start == OLDEST else LIVE)
        added = await self.client.hsetnx(self.keys.subscriptions(), created.name, created.to_json())
        if not added:  # another replica created it meanwhile
            return await self.get(created.name), False
        return created, True

    async def put(self, subscription: Subscription, now_ms: int) -> str:
        """Create or update from config (idempotent at startup): "created", "updated",
        "unchanged". An update changes filters and limits, never where it started."""
        existing = await self.find(subscription.name)
        if existing is None:
            await self.create(subscription, now_ms)
            return "created"
        if existing == subscription:
            return "unchanged"
        updated = replace(subscription, start=existing.start, created_ms=existing.created_ms)
        await self.client.hset(self.keys.subscriptions(), updated.name, updated.to_json())
        return "updated"

    async def ensure_groups(self, name: str, start: str = LIVE) -> None:
        """The group on every shard stream (at ``$`` or ``0``) and on every retry stream."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            begin = "0" if start == OLDEST else "$"
            pipe.xgroup_create(self.keys.events(shard), name, id=begin, mkstream=True)
            pipe.xgroup_create(self.keys.sub_retry(shard, name), name, id="0", mkstream=True)
        for reply in await pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply

    async def find(self, name: str) -> Subscription | None:
        raw = await self.client.hget(self.keys.subscriptions(), name)
        return Subscription.from_json(raw) if raw else None

    async def get(self, name: str) -> Subscription:
        found = await self.find(name)
        if found is None:
            raise UnknownSubscription(name)
        return found

    async def all(self) -> list[Subscription]:
        raw: dict[str, str] = await self.client.hgetall(self.keys.subscriptions())
        return [Subscription.from_json(raw[name]) for name in sorted(raw)]

    async def delete(self, name: str) -> None:
        """Remove the registry entry first (consumers stop), then the groups and streams."""
        removed = await self.client.hdel(self.keys.subscriptions(), name)
        if not removed:
            raise UnknownSubscription(name)
        pipe = self.client.pipeline(transaction=False)
        for shard in self.keys.all_shards():
            pipe.xgroup_destroy(self.keys.events(shard), name)
            pipe.delete(self.keys.sub_retry(shard, name))
            pipe.delete(self.keys.sub_dead(shard, name))
            pipe.delete(self.keys.sub_lease(shard, name))
        pipe.delete(self.keys.sub_consumers(name))
        pipe.hdel(self.keys.subscription_losses(), name)
        await pipe.execute(raise_on_error=False)

    # -- status ----------------------------------------------------------------------------

    async def status(self, subscription: Subscription, now_ms: int) -> SubscriptionStatus:
        name = subscription.name
        pipe = self.client.pipeline(transaction=False)
        pipe.zrangebyscore(self.keys.sub_consumers(name), now_ms, "+inf")
        pipe.hget(self.keys.subscription_losses(), name)
        for shard in self.keys.all_shards():
            pipe.xpending(self.keys.events(shard), name)
            pipe.xpending(self.keys.sub_retry(shard, name), name)
            pipe.xlen(self.keys.sub_dead(shard, name))
            pipe.get(self.keys.sub_lease(shard, name))
        replies = await pipe.execute(raise_on_error=False)
        sessions, mark = replies[0], replies[1]
        lost = loss_mark(mark).count if isinstance(mark, str) else 0
        pending, dead, oldest = 0, 0, 0
        held: dict[str, int] = {}
        for i in range(self.keys.shards):
            events, retry, dead_count, lease = replies[2 + 4 * i : 6 + 4 * i]
            for summary in (events, retry):
                if isinstance(summary, dict) and summary.get("pending"):
                    pending += int(summary["pending"])
                    first = summary.get("min")
                    if first:
                        ms = parse_stream_id(str(first))[0]
                        oldest = ms if not oldest else min(oldest, ms)
            dead += dead_count if isinstance(dead_count, int) else 0
            if isinstance(lease, str):
                held[lease] = held.get(lease, 0) + 1
        consumers = tuple(
            ConsumerInfo(session.rpartition(".")[0], session, held.get(session, 0))
            for session in (sessions if isinstance(sessions, list) else [])
        )
        return SubscriptionStatus(subscription, consumers, pending, dead, oldest, lost)

    async def dead_letter_counts(self) -> dict[str, int]:
        """Dead letters kept now, per subscription (the scrape-time gauge)."""
        names = sorted(await self.client.hkeys(self.keys.subscriptions()))
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            for shard in self.keys.all_shards():
                pipe.xlen(self.keys.sub_dead(shard, name))
        replies = await pipe.execute()
        shards = self.keys.shards
        return {name: sum(replies[i * shards : (i + 1) * shards]) for i, name in enumerate(names)}

    async def note_lost(self, name: str, why: str, loss: Loss, at_ms: int, where: str) -> None:
        """Report events ``name`` will never deliver (metric, log, and its loss mark: the
        same mark the trim keeps for the hard cap)."""
        if loss.count <= 0:
            return
        report.lost(name, why, loss.count, where)
        await record_loss(self.client, self.keys, loss, at_ms)

    # -- dead letters ------------------------------------------------------------------------

    async def dead_letters(
        self, name: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[DeadLetterEntry], tuple[int, str] | None]:
        """Up to ``limit`` dead letters after ``after`` (shard, id), shard by shard, oldest
        first; and where the next page starts (None: no more)."""
        await self.get(name)
        shard, last = after if after is not None else (0, "")
        found: list[DeadLetterEntry] = []
        while shard < self.keys.shards and len(found) < limit:
            start = f"({last}" if last else "-"
            want = limit - len(found)
            rows = await self.client.xrange(self.keys.sub_dead(shard, name), start, "+", want)
            for entry_id, fields in rows:
                found.append(_dead_letter(shard, entry_id, fields))
            if len(rows) == want:
                last = rows[-1][0]
            else:
                shard, last = shard + 1, ""
        if shard >= self.keys.shards:
            return found, None
        return found, (shard, last) if last else (shard, "")

    async def replay(self, name: str, ids: Sequence[str] | None) -> int:
        """Move dead letters (these ids, or all with None) to the retry streams."""
        await self.get(name)
        moved = 0
        for shard, entry_ids in await self._dead_ids(name, ids):
            keys = [self.keys.sub_dead(shard, name), self.keys.sub_retry(shard, name)]
            for chunk in _chunks(entry_ids, 200):
                moved += int(await self.replay_script(keys=keys, args=chunk))
        return moved

    async def purge(self, name: str, ids: Sequence[str] | None) -> int:
        """Remove dead letters (these ids, or all with None) for good."""
        await self.get(name)
        purged = 0
        for shard, entry_ids in await self._dead_ids(name, ids):
            for chunk in _chunks(entry_ids, 500):
                purged += int(await self.client.xdel(self.keys.sub_dead(shard, name), *chunk))
        return purged

    async def _dead_ids(self, name: str, ids: Sequence[str] | None) -> list[tuple[int, list[str]]]:
        if ids is not None:
            by_shard: dict[int, list[str]] = {}
            for raw in ids:
                shard, entry_id = parse_dead_letter_id(raw, self.keys.shards)
                by_shard.setdefault(shard, []).append(entry_id)
            return sorted(by_shard.items())
        out = []
        for shard in self.keys.all_shards():
            rows = await self.client.xrange(self.keys.sub_dead(shard, name), "-", "+")
            if rows:
                out.append((shard, [entry_id for entry_id, _ in rows]))
        return out


class SubscriptionExists(Exception):
    """A subscription of that name exists with another definition."""

    def __init__(self, existing: Subscription) -> None:
        super().__init__(f"subscription {existing.name!r} exists with another definition")
        self.existing = existing


def parse_dead_letter_id(raw: str, shards: int) -> tuple[int, str]:
    """``"<shard>-<ms>-<seq>"`` → (shard, stream id); InvalidInput naming ``ids`` if not."""
    shard, _, entry_id = raw.partition("-")
    try:
        parse_stream_id(entry_id)
        number = int(shard)
    except (ValueError, InvalidInput):
        raise InvalidInput("ids", f"{raw[:80]!r} is not a dead letter id", "不是死信编号") from None
    if not 0 <= number < shards:
        raise InvalidInput("ids", f"{raw[:80]!r} is not a dead letter id", "不是死信编号")
    return number, entry_id


def _dead_letter(shard: int, entry_id: str, fields: dict[str, str]) -> DeadLetterEntry:
    def number(name: str) -> int:
        try:
            return int(fields.get(name, "0"))
        except ValueError:
            return 0

    return DeadLetterEntry(
        f"{shard}-{entry_id}",
        event_fields(fields),
        fields.get("_sub_id", entry_id),
        number("_sub_deliveries"),
        number("_sub_dead_ms"),
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
