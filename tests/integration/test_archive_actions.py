"""An action on a request that left Redis answers as it did before (SPEC §12): refused by the
rules of its final state, or the no-op it was (a payment result reported again), and nothing
is written anywhere; a caller who may not see it learns nothing."""

from __future__ import annotations

import asyncpg
import pytest
from redis.asyncio import Redis

from aftersale import commands as c
from aftersale.exceptions import AfterSaleError, NotFound, PermissionDenied
from aftersale.model import Actor, AfterSale
from aftersale.vocabulary import Role
from service.handlers import Call
from tests.integration.archive_world import OPS, PAYMENT, World, unique


@pytest.fixture
def world(redis: Redis, archive_pool: asyncpg.Pool, archive_db: asyncpg.Connection) -> World:
    return World(redis, archive_pool, archive_db)


async def outcome(world: World, record: AfterSale, command: c.Command | None, actor: Actor) -> str:
    """What the caller is told: the record's version, or the error's type and reason."""
    call = Call(actor, "order-system", unique("idem"))
    try:
        if command is None:
            done = await world.handlers.fire_pending(record.request_id, call)
        else:
            done = await world.handlers.handle(record.request_id, command, call)
    except AfterSaleError as error:
        allowed = getattr(error, "allowed", ())
        return f"{type(error).__name__}:{error.reason}:{allowed}"
    return f"version {done.version} {done.state}"


async def test_actions_on_a_swept_request_answer_as_before_and_write_nothing(
    world: World,
) -> None:
    record = await world.refunded(await world.apply(unique("shop"), unique("buyer")))
    assert record.refund is not None
    buyer, merchant = Actor(Role.BUYER, record.buyer_id), Actor(Role.MERCHANT, record.shop_id)
    steps: list[tuple[c.Command | None, Actor]] = [
        (c.Cancel("too late"), buyer),
        (c.Approve(), merchant),
        (c.RefundSucceeded(record.refund.refund_id), PAYMENT),  # reported again: a no-op
        (None, OPS),  # fire the pending timer: there is none
        (c.Cancel("not mine"), Actor(Role.BUYER, "someone-else")),
    ]
    before = [await outcome(world, record, command, actor) for command, actor in steps]

    await world.sweep(record)

    after = [await outcome(world, record, command, actor) for command, actor in steps]
    assert after == before
    assert before[2] == f"version {record.version} {record.state}"
    assert await world.repo.load(record.request_id) is None  # nothing came back to Redis
    archived = await world.conn.fetchval(
        "SELECT version FROM requests WHERE request_id = $1", record.request_id
    )
    assert archived == record.version


async def test_an_action_on_a_request_nowhere_is_not_found_as_before(world: World) -> None:
    nowhere = world.keys.new_request_id(unique("order"), world.clock.now_ms())
    call = Call(OPS, "order-system", unique("idem"))

    with pytest.raises(NotFound):
        await world.handlers.fire_pending(nowhere, call)
    with pytest.raises(PermissionDenied):
        await world.handlers.handle(
            nowhere, c.Cancel(), Call(Actor(Role.BUYER, "b"), "order-system", unique("idem"))
        )
