"""The parts the composition root (``service.bootstrap``) assembles from the settings: the
domain policy, the token table and the token sealer, the stream limits, TLS files, and the
Redis client (with the embedded server when no ``REDIS_URL`` is set)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from urllib.parse import urlsplit

from redis.asyncio import Redis, RedisCluster

from aftersale.clock import Clock
from aftersale.policy import Policy, TimerDurations
from service.api.sealing import Sealer, read_key_file, write_key_file
from service.api.server import TlsFiles
from service.api.stream_slots import StreamLimits, StreamSlots
from service.api.subscriptions import SubscriptionStreams
from service.api.tokens import TokenTable, read_token_file, write_dev_tokens
from service.config import Settings
from service.storage.connection import connect, wait_ready
from service.storage.keys import Keys
from service.storage.redis_server import EmbeddedRedis
from service.storage.redis_settings import check_redis_settings
from service.storage.sentinel_url import is_sentinel_url, without_password
from service.storage.subscriptions import Subscriptions, SubscriptionSettings

log = logging.getLogger("service.bootstrap")


def policy_of(settings: Settings) -> Policy:
    """The domain rules the settings configure (timer seconds → milliseconds)."""
    durations = TimerDurations(**{f"{k}_ms": v * 1000 for k, v in asdict(settings.timers).items()})
    return Policy(
        durations=durations,
        max_negotiation_rounds=settings.max_negotiation_rounds,
        max_attempts_per_line=settings.max_attempts_per_line,
        max_evidence_images=settings.max_evidence_images,
        max_contact_attempts=settings.max_contact_attempts,
        max_contact_quota_requests=settings.max_contact_quota_requests,
        max_disputes=settings.max_disputes,
        max_proof_requests=settings.max_proof_requests,
        max_proofs=settings.max_proofs,
        max_refund_attempts=settings.max_refund_attempts,
        max_refund_reminders=settings.max_refund_reminders,
        max_proof_deadline_ms=settings.max_proof_deadline_s * 1000,
    )


def load_tokens(settings: Settings) -> TokenTable:
    """The token table; at the default path, a development file is written when missing."""
    path = settings.tokens_path
    if settings.tokens_file is None and not path.exists():
        created = write_dev_tokens(path)
        services = ", ".join(sorted(entry.service for entry in created.values()))
        log.warning("wrote development tokens path=%s services=%s", path, services)
        return TokenTable(created)
    return TokenTable(read_token_file(path))


def load_sealer(settings: Settings) -> Sealer:
    """The page-token and cursor sealer; at the default path, a key file is written when
    missing (every replica must share one: name it with ``AFTERSALE_TOKEN_KEY_FILE``)."""
    path = settings.token_key_path
    if settings.token_key_file is None and not path.exists():
        keys = write_key_file(path)
        log.warning("wrote a token key path=%s (share it between replicas)", path)
        return Sealer(keys)
    return Sealer(read_key_file(path))


def stream_slots(settings: Settings, tokens: TokenTable) -> StreamSlots:
    """The WatchTransitions limits, with a reserve for each calling service in ``tokens``."""
    limits = StreamLimits(
        total=settings.watch_max_streams,
        per_caller=settings.watch_max_streams_per_caller,
        reserved_per_service=settings.watch_reserved_streams_per_service,
    )
    slots = StreamSlots(limits, tokens.services)
    if slots.reserved < limits.reserved_per_service:
        log.warning(
            "watch streams reserved per service cut to %d: %d services share %d streams",
            slots.reserved, len(slots.services), limits.total,
        )  # fmt: skip
    return slots


def subscription_settings(settings: Settings) -> SubscriptionSettings:
    """How durable subscriptions deliver (``service.storage.subscriptions``)."""
    return SubscriptionSettings(
        ack_deadline_s=settings.subscription_ack_deadline_s,
        max_deliveries=settings.subscription_max_deliveries,
        dead_letter_maxlen=settings.subscription_dead_letter_maxlen,
        lease_s=settings.subscription_lease_s,
        max_in_flight=settings.subscription_max_in_flight,
    )


async def subscription_streams(
    settings: Settings,
    redis: Redis | RedisCluster,
    streams: Redis | RedisCluster,
    keys: Keys,
    slots: StreamSlots,
    tokens: TokenTable,
    clock: Clock,
) -> SubscriptionStreams:
    """The Subscribe streams (capped by ``slots``, reading through ``streams``, the streams'
    own pool), once the subscriptions the settings declare exist."""
    subscriptions = Subscriptions(redis, keys, subscription_settings(settings))
    await declare_subscriptions(subscriptions, settings, tokens, clock)
    return SubscriptionStreams(
        subscriptions, streams, slots, clock.now_ms, keepalive_s=settings.watch_keepalive_s
    )


async def declare_subscriptions(
    subscriptions: Subscriptions, settings: Settings, tokens: TokenTable, clock: Clock
) -> None:
    """Create (or update) the subscriptions the settings declare; idempotent, so every
    replica does it at startup. A declared service without a token is only warned about: the
    tokens file may gain it later (SIGHUP)."""
    for subscription in settings.subscriptions:
        if subscription.service not in tokens.services:
            log.warning("subscription %s: no token of service %s (yet)",
                        subscription.name, subscription.service)  # fmt: skip
        outcome = await subscriptions.put(subscription, clock.now_ms())
        log.info("subscription name=%s service=%s %s", subscription.name, subscription.service,
                 outcome)  # fmt: skip


def tls_of(settings: Settings) -> TlsFiles | None:
    """The server's TLS files, if the settings name a certificate and its key."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return TlsFiles(settings.tls_cert, settings.tls_key, settings.tls_client_ca)


async def connect_redis(settings: Settings) -> tuple[Redis | RedisCluster, EmbeddedRedis | None]:
    """A ready client to ``REDIS_URL``, or to the embedded server it starts (then returned)."""
    embedded = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis.in_data_dir(settings.data_dir)
        await asyncio.to_thread(embedded.start)
        log.info("embedded redis address=%s dir=%s", embedded.address, embedded.directory)
    client = connect(settings, embedded.url if embedded else None)
    log.info(
        "connecting to redis url=%s", redacted(embedded.url if embedded else settings.redis_url)
    )
    try:
        await wait_ready(client)
        if embedded is None:  # ours is started with what the service needs
            await check_redis_settings(client)
    except BaseException:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    return client, embedded


async def start_embedded_redis(settings: Settings) -> EmbeddedRedis:
    """The embedded redis-server in ``<data_dir>/redis``, started: for a supervisor that
    runs it once for all its workers (``service.supervisor``). Stop it with ``.stop()``."""
    embedded = EmbeddedRedis.in_data_dir(settings.data_dir)
    await asyncio.to_thread(embedded.start)
    log.info("embedded redis address=%s dir=%s", embedded.address, embedded.directory)
    return embedded


def redacted(url: str | None) -> str:
    """``url`` without its password, for logs."""
    if url is not None and is_sentinel_url(url):
        return without_password(url)  # also hides a sentinel_password in the query
    parts = urlsplit(url or "")
    if parts.password is None:
        return url or ""
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
