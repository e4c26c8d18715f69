"""Every Redis key name the service uses, built in one place (DESIGN §3, STYLE habit 9).

Data is split into a fixed number of logical shards; an order and everything about it live in
shard ``crc32(order_id) % shards``. Each key starts with the shard's hash tag ``{as:NN}``, so
all keys of one order share one Redis Cluster slot and a commit is a single-slot script. A
request id embeds its shard (``AS07-…``), so every key can be derived from the id alone.

Per shard ``{as:NN}``:

=======================================  ===================================================
``{as:NN}:req:<request_id>``             request record (hash: ``d`` the record as one JSON
                                         array, ``codec``; ``version``; ``a`` the version
                                         the archive holds, set by the archiver, cleared by
                                         the next commit)
``{as:NN}:hist:<request_id>``            history (list of event JSON incl. ``event_id``)
``{as:NN}:events``                       transition stream (the outbox)
``{as:NN}:events:trimmed``               the id of the last entry trimmed from it (string;
                                         set by the retention script, ``retention``)
``{as:NN}:timers``                       pending timers (zset, score = due ms)
``{as:NN}:timers:leased``                claimed timers (zset, score = lease deadline ms)
``{as:NN}:line:<order_id>:<sku_id>``     order-line index (hash: active, attempts, succeeded,
                                         buyer: the buyer of its first application)
``{as:NN}:idempotency:<caller>:``        idempotency result of a calling service's key on
``<order_id>:<role>:<actor_id>:<key>``   an order, as one actor (hash: ``h`` body hash,
                                         ``v`` the version the call made, ``e`` event id,
                                         ``i`` the request id of an application; TTL: a
                                         reference, the reply is rebuilt from the record);
                                         caller and actor id escaped (``%3A``)
``{as:NN}:shop:<shop_id>``               shop listing (zset, score = created ms)
``{as:NN}:buyer:<buyer_id>``             buyer listing (zset, score = created ms)
``{as:NN}:order:<order_id>``             order listing (zset, score = created ms)
``{as:NN}:requests``                     every request of the shard (zset, score = created ms)
``{as:NN}:stats:<shop_id>``              shop counters (hash, SPEC §10)
``{as:NN}:flagged``                      requests flagged for ops (zset, score = flagged
                                         ms): a refund never answered; kept by the commit
``{as:NN}:terminal``                     terminal requests still in Redis (zset, score = ms
                                         it became terminal): the retention sweep's queue
``{as:NN}:terminal:walk``                how far the sweep's walk of ``requests`` indexing
                                         the previous release's terminal requests got (hash:
                                         ``score``, ``member``; ``done`` once finished)
``{as:NN}:sub:<name>:lease``             which consumer session holds this shard of a
                                         subscription (string, PX TTL, renewed)
``{as:NN}:sub:<name>:retry``             dead letters replayed for that subscription alone
                                         (stream, read by its group before the shard's own)
``{as:NN}:sub:<name>:dead``              the subscription's dead letters (stream, capped)
=======================================  ===================================================

Not per shard (one key each, read by the ops status):

=======================================  ===================================================
``{as}:heartbeats:<kind>``               processes alive (zset: member a process id, score
                                         its last beat ms); kinds ``timer_worker``, ``server``
``{as}:subscriptions:losses``            subscriptions that lost events (to the stream's hard
                                         cap, or dead letters dropped at their cap)
                                         (hash: field the consumer group's name, value JSON
                                         ``{count, last_lost_at_ms, shard, first_id,
                                         last_id}``)
``{as}:subscriptions``                   durable subscriptions (hash: name → definition
                                         JSON); each is a consumer group ``<name>`` on
                                         every ``{as:NN}:events``
``{as}:sub:<name>:consumers``            its live consumer sessions (zset, score = expiry ms)
``{as}:archive:backfill``                the archiver's backfill (hash: field a shard, value
                                         ``<created ms>|<request id>`` of the last request it
                                         archived there, or ``done``; ``service.archive``)
=======================================  ===================================================

A record hash without ``d`` (every field its own hash field) or an idempotency result with
``r`` (flat JSON) was written by the previous release and is still read (``legacy``), and so
is its idempotency key per caller and shard, ``{as:NN}:idem:<caller>:<key>``, until it expires.
An idempotency result with ``d`` (the record blob itself) was written by the release before
results became references, and still replays its blob until it expires. A record whose ``d``
is a JSON object and which has ``_timer_member`` (its timer's member) was written by the
previous release: it is read as it is, and its next commit rewrites it (``codec``).

The shard count is fixed for the life of a data set: changing it moves every order.

Timer members (``{as:NN}:timers``) are ``<request_id>|<version>|<action>``: see
``timer_member`` / ``parse_timer_member``.

There is no process-wide default: every adapter takes a ``Keys`` and the composition root
(``service.bootstrap``) builds the one the service uses from its settings.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass, field

from aftersale.exceptions import NotFound
from aftersale.model import Actor
from aftersale.vocabulary import Action
from service.storage.ports import TimerMember

# Crockford base32: sorts like the numbers it encodes, no I/L/O/U.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TIME_CHARS = 10  # 50 bits of milliseconds: far beyond any lifetime of this data
_RANDOM_CHARS = 10  # 50 random bits per millisecond
REQUEST_ID_MAX = 64


class MalformedRequestId(NotFound, ValueError):
    """A request id that this service cannot have issued (bad shape or shard out of range).

    It is a ``NotFound``: no request has that id. The API may also treat it as bad input.
    """

    def __init__(self, request_id: str, why: str) -> None:
        super().__init__(request_id)
        self.message = f"malformed after-sale request id {request_id!r}: {why}"
        self.args = (self.message,)
        self.why = why


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names for ``shards`` logical shards under ``prefix`` (``as``)."""

    shards: int = 64
    prefix: str = "as"
    width: int = field(init=False)
    _id_pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    # Every commit names a dozen keys: their hash tags are formatted once, here.
    _tags: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.shards < 1:
            raise ValueError(f"shards must be >= 1, got {self.shards}")
        if not self.prefix or any(c in self.prefix for c in "{}:| "):
            raise ValueError(f"key prefix {self.prefix!r} must be non-empty, without {{}}:| ")
        width = max(2, len(str(self.shards - 1)))
        object.__setattr__(self, "width", width)
        pattern = re.compile(rf"AS(\d{{{width}}})-[A-Za-z0-9_-]+")
        object.__setattr__(self, "_id_pattern", pattern)
        tags = tuple(self._format_tag(shard) for shard in range(self.shards))
        object.__setattr__(self, "_tags", tags)

    # -- shards and ids ------------------------------------------------------------------

    def shard_of_order(self, order_id: str) -> int:
        """The shard every key of ``order_id`` lives in."""
        return zlib.crc32(order_id.encode()) % self.shards

    def new_request_id(self, order_id: str, now_ms: int) -> str:
        """A fresh id for a request on ``order_id`` made at ``now_ms`` (the caller's clock):
        ``AS<shard>-`` + a token that sorts by creation time."""
        token = _base32(now_ms, _TIME_CHARS) + _base32(secrets.randbits(50), _RANDOM_CHARS)
        return f"AS{self.shard_of_order(order_id):0{self.width}d}-{token}"

    def shard_of_request(self, request_id: str) -> int:
        """The shard embedded in ``request_id``; ``MalformedRequestId`` if it has none."""
        if len(request_id) > REQUEST_ID_MAX:
            raise MalformedRequestId(request_id[:80], f"longer than {REQUEST_ID_MAX} chars")
        match = self._id_pattern.fullmatch(request_id)
        if match is None:
            shape = f"expected AS<{self.width} digits>-<token>"
            raise MalformedRequestId(request_id, shape)
        shard = int(match.group(1))
        if shard >= self.shards:
            raise MalformedRequestId(request_id, f"shard {shard} >= {self.shards}")
        return shard

    def all_shards(self) -> range:
        return range(self.shards)

    # -- key names -------------------------------------------------------------------------

    def tag(self, shard: int) -> str:
        """The hash tag of ``shard``: ``{as:07}``."""
        tags = self._tags
        return tags[shard] if 0 <= shard < len(tags) else self._format_tag(shard)

    def _format_tag(self, shard: int) -> str:
        return f"{{{self.prefix}:{shard:0{self.width}d}}}"

    def record(self, request_id: str) -> str:
        return f"{self.tag(self.shard_of_request(request_id))}:req:{request_id}"

    def history(self, request_id: str) -> str:
        return f"{self.tag(self.shard_of_request(request_id))}:hist:{request_id}"

    def events(self, shard: int) -> str:
        return f"{self.tag(shard)}:events"

    def trimmed(self, shard: int) -> str:
        """The id of the last entry trimmed from ``events(shard)``: the retention's watermark
        (Redis 6.2 does not report deleted ids), by which a cursor knows it has a gap."""
        return f"{self.tag(shard)}:events:trimmed"

    def timers(self, shard: int) -> str:
        return f"{self.tag(shard)}:timers"

    def leased(self, shard: int) -> str:
        return f"{self.tag(shard)}:timers:leased"

    def line(self, order_id: str, sku_id: str) -> str:
        return f"{self.tag(self.shard_of_order(order_id))}:line:{order_id}:{sku_id}"

    def idempotency(self, order_id: str, caller: str, actor: Actor, key: str) -> str:
        """The idempotency key ``key`` of ``caller`` (a calling service) acting as ``actor``
        on ``order_id``: what a key identifies (SPEC §8)."""
        before, after = self.idempotency_around_order(
            self.shard_of_order(order_id), caller, actor, key
        )
        return before + order_id + after

    def idempotency_around_order(
        self, shard: int, caller: str, actor: Actor, key: str
    ) -> tuple[str, str]:
        """``idempotency``'s name without its order id, as (before, after): a script that
        reads a request's order from its record names the key with it. The order id and the
        key are ids (no ``:``); the caller's and the actor's names are escaped, so no two
        scopes share a name."""
        who = f"{actor.role.value}:{_escaped(actor.id)}"
        return f"{self.tag(shard)}:idempotency:{_escaped(caller)}:", f":{who}:{key}"

    def no_idempotency(self, shard: int) -> str:
        """A name in ``shard`` that a commit without an idempotency key names and never
        touches (the commit script's KEYS are fixed)."""
        return f"{self.tag(shard)}:idempotency:-"

    def legacy_idempotency(self, shard: int, caller: str, key: str) -> str:
        """The previous release's idempotency key (per caller and shard): read, never
        written, until its TTL ends. Its family (``idem``) is not the current one's
        (``idempotency``), so no name of one can be a name of the other."""
        return f"{self.tag(shard)}:idem:{caller}:{key}"

    def shop(self, shard: int, shop_id: str) -> str:
        return f"{self.tag(shard)}:shop:{shop_id}"

    def buyer(self, shard: int, buyer_id: str) -> str:
        return f"{self.tag(shard)}:buyer:{buyer_id}"

    def order(self, order_id: str) -> str:
        return f"{self.tag(self.shard_of_order(order_id))}:order:{order_id}"

    def stats(self, shard: int, shop_id: str) -> str:
        return f"{self.tag(shard)}:stats:{shop_id}"

    def all_requests(self, shard: int) -> str:
        return f"{self.tag(shard)}:requests"

    def flagged(self, shard: int) -> str:
        """Requests of ``shard`` flagged for ops, by when (kept by the commit script)."""
        return f"{self.tag(shard)}:flagged"

    def terminal(self, shard: int) -> str:
        """Terminal requests of ``shard`` still in Redis, by when each became terminal."""
        return f"{self.tag(shard)}:terminal"

    def terminal_walk(self, shard: int) -> str:
        """The retention sweep's position in its one walk of ``all_requests(shard)``."""
        return f"{self.tag(shard)}:terminal:walk"

    def per_request_prefixes(self, shard: int) -> list[str]:
        """The names a script builds from a record's ids, each without its id(s), in the
        order ``record``, ``history``, ``shop``, ``buyer``, ``order``, ``line`` (the line's
        name goes on with ``<order_id>:<sku_id>``): the retention sweep reads the ids from
        the records it finds, so they cannot be in its KEYS (the names share its slot)."""
        tag = self.tag(shard)
        return [f"{tag}:{kind}:" for kind in ("req", "hist", "shop", "buyer", "order", "line")]

    def subscriptions(self) -> str:
        """The subscription registry (name → definition JSON)."""
        return f"{{{self.prefix}}}:subscriptions"

    def sub_consumers(self, name: str) -> str:
        """A subscription's live consumer sessions (score: when each expires, ms)."""
        return f"{{{self.prefix}}}:sub:{name}:consumers"

    def sub_lease(self, shard: int, name: str) -> str:
        """Which session of subscription ``name`` holds ``shard``."""
        return f"{self.tag(shard)}:sub:{name}:lease"

    def sub_retry(self, shard: int, name: str) -> str:
        """Replayed dead letters of ``name`` in ``shard`` (its own stream, its group)."""
        return f"{self.tag(shard)}:sub:{name}:retry"

    def sub_dead(self, shard: int, name: str) -> str:
        """Dead letters of ``name`` in ``shard``."""
        return f"{self.tag(shard)}:sub:{name}:dead"

    def heartbeats(self, kind: str) -> str:
        """Last beats of the processes of ``kind`` (``timer_worker``, ``server``)."""
        return f"{{{self.prefix}}}:heartbeats:{kind}"

    def archive_backfill(self) -> str:
        """How far the archiver's backfill got in each shard (``service.archive.backfill``)."""
        return f"{{{self.prefix}}}:archive:backfill"

    def subscription_losses(self) -> str:
        """Subscriptions (consumer groups) whose unacknowledged events the hard cap trimmed."""
        return f"{{{self.prefix}}}:subscriptions:losses"


def _escaped(name: str) -> str:
    """``name`` without ``:`` (``%3A``) inside one part of a key name."""
    return name.replace("%", "%25").replace(":", "%3A")


def timer_member(request_id: str, version: int, action: Action) -> str:
    """The zset member ``<request_id>|<version>|<action>``."""
    return f"{request_id}|{version}|{action.value}"


def parse_timer_member(raw: str) -> TimerMember:
    """Inverse of ``timer_member``; ValueError if ``raw`` is not one."""
    parts = raw.split("|")
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        raise ValueError(f"malformed timer member {raw!r}")
    return TimerMember(parts[0], int(parts[1]), Action(parts[2]), raw)
