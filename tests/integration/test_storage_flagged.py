"""The ops index of flagged requests (``{as:NN}:flagged``) is kept by the commit script: a
refund whose reminders ran out enters it with the time it was flagged, and leaves it when the
request moves on (here: the payment service's late answer), on Redis and Redis Cluster."""

from __future__ import annotations

import msgspec

from aftersale.decide import Decision
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Action, Role, State
from service.storage.keys import Keys
from service.storage.repository import RedisRepository
from tests.integration.storage_support import (
    Client,
    applied,
    approved,
    commit,
    refunded,
    step,
)

SYSTEM = Actor(Role.SYSTEM, "timer")


def reminded(before: AfterSale, *, flagged: bool) -> Decision:
    """A ``refund_reminder``; ``flagged``: the last one, after which ops must look."""
    assert before.refund is not None
    at = before.updated_at_ms + 60_000
    refund = msgspec.structs.replace(
        before.refund,
        reminders=before.refund.reminders + 1,
        flagged_at_ms=at if flagged else None,
    )
    return step(
        before, Action.REFUND_REMINDER, State.PLATFORM_REFUNDING, SYSTEM, now_ms=at, refund=refund
    )


async def test_a_flagged_refund_is_indexed_until_its_request_moves_on(client: Client) -> None:
    keys = Keys(shards=16)
    repo = RedisRepository(client, keys)
    record = await commit(repo, approved(await commit(repo, applied(keys))))
    flagged_key = keys.flagged(keys.shard_of_request(record.request_id))

    record = await commit(repo, reminded(record, flagged=False))
    not_yet = await client.zrange(flagged_key, 0, -1, withscores=True)
    record = await commit(repo, reminded(record, flagged=True))
    flagged = await client.zrange(flagged_key, 0, -1, withscores=True)
    await commit(repo, refunded(record))
    after_the_answer = await client.zrange(flagged_key, 0, -1, withscores=True)

    assert not_yet == []
    assert flagged == [(record.request_id, float(record.updated_at_ms))]
    assert after_the_answer == []
