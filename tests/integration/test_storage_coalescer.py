"""The coalescer on a real Redis: the commands of one event-loop turn share one round trip,
and each keeps its own reply or error. On a cluster it sends each command alone, so that a
node going down fails only the calls it holds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from service.config import Settings
from service.storage.coalescer import Coalescer
from service.storage.connection import connect
from service.storage.redis_server import EmbeddedRedis
from tests.integration.storage_support import Client, unique


def count_round_trips(client: Any) -> list[int]:
    """Counts (on the instance) the pipelines made and the lone commands sent: the round trips
    (a cluster pipeline is one per node, counted once here)."""
    sent = [0]
    make_pipeline, execute_command = client.pipeline, client.execute_command

    def pipeline(*args: Any, **options: Any) -> Any:
        sent[0] += 1
        return make_pipeline(*args, **options)

    def lone(*args: Any, **options: Any) -> Any:
        sent[0] += 1
        return execute_command(*args, **options)

    client.pipeline, client.execute_command = pipeline, lone
    return sent


async def test_commands_issued_in_one_turn_share_one_round_trip_and_keep_their_order(
    redis: Redis,
) -> None:
    client = redis
    coalescer = Coalescer(client)
    key = unique("{c}:counter")
    sent = count_round_trips(client)

    replies = await asyncio.gather(*(coalescer.execute("INCR", key) for _ in range(5)))

    assert sent[0] == 1
    assert sorted(replies) == [1, 2, 3, 4, 5]
    assert await client.get(key) == "5"


async def test_a_batch_over_many_slots_gets_every_reply_in_place(client: Client) -> None:
    # on a cluster these keys live on every master: the pipeline splits per node
    coalescer = Coalescer(client)
    keys = [unique(f"{{{tag}}}:n") for tag in "abcdefgh"]
    for number, key in enumerate(keys):
        await client.set(key, number * 10)

    replies = await asyncio.gather(*(coalescer.execute("INCR", key) for key in keys))

    assert replies == [number * 10 + 1 for number in range(len(keys))]


async def test_commands_issued_while_a_batch_is_out_leave_together_after_it(
    redis: Redis,
) -> None:
    client = redis
    coalescer = Coalescer(client)
    slow = client.register_script(  # busy for ~50 ms inside Redis
        "local t = redis.call('TIME') local stop = t[1] * 1000000 + t[2] + 50000 "
        "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= stop return 1"
    )
    await slow(keys=[unique("{c}:slow")])  # loaded: the call below is one EVALSHA
    key = unique("{c}:later")
    sent = count_round_trips(client)
    first = asyncio.ensure_future(coalescer.run_script(slow, [unique("{c}:slow")], []))
    await asyncio.sleep(0.01)  # the slow call is out
    later = []
    for _ in range(3):  # three turns: without the wait, three more round trips
        later.append(asyncio.ensure_future(coalescer.execute("INCR", key)))
        await asyncio.sleep(0)

    replies = await asyncio.gather(first, *later)

    assert sent[0] == 2
    assert replies[0] == 1 and sorted(replies[1:]) == [1, 2, 3]


async def test_a_lone_command_is_sent_as_it_is(client: Client) -> None:
    coalescer = Coalescer(client)
    key = unique("{c}:lone")
    sent = count_round_trips(client)

    await coalescer.execute("SET", key, "v")

    assert sent[0] == 1
    assert await client.get(key) == "v"


async def test_one_commands_error_fails_only_its_own_call(client: Client) -> None:
    coalescer = Coalescer(client)
    text, counter = unique("{c}:text"), unique("{c}:n")
    await client.set(text, "not a number")

    results = await asyncio.gather(
        coalescer.execute("INCR", counter),
        coalescer.execute("INCR", text),
        coalescer.execute("INCR", counter),
        return_exceptions=True,
    )

    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], ResponseError)
    assert await client.get(text) == "not a number"


async def test_execute_many_returns_each_reply_or_error_in_its_place(client: Client) -> None:
    coalescer = Coalescer(client)
    text, counter = unique("{c}:text"), unique("{c}:n")
    await client.set(text, "x")

    replies = await coalescer.execute_many([("INCR", counter), ("INCR", text), ("GET", text)])

    assert replies[0] == 1 and replies[2] == "x"
    assert isinstance(replies[1], ResponseError)


async def test_a_script_the_server_lost_is_loaded_again_and_run_once(client: Client) -> None:
    coalescer = Coalescer(client)
    script = client.register_script("return redis.call('INCR', KEYS[1])")
    key = unique("{c}:scripted")
    await script(keys=[key])
    await client.script_flush()  # e.g. the server restarted without its script cache

    replies = await asyncio.gather(
        coalescer.run_script(script, [key], []), coalescer.run_script(script, [key], [])
    )

    assert sorted(replies) == [2, 3]
    assert await client.get(key) == "3"


async def test_a_caller_cancelled_before_its_turn_ends_sends_nothing(redis: Redis) -> None:
    client = redis
    coalescer = Coalescer(client)
    dropped, kept = unique("{c}:dropped"), unique("{c}:kept")
    call = asyncio.ensure_future(coalescer.execute("SET", dropped, "v"))
    await asyncio.sleep(0)  # the call queued its command; the batch leaves next turn
    call.cancel()

    assert await coalescer.execute("SET", kept, "v")
    assert await client.exists(dropped) == 0
    with pytest.raises(asyncio.CancelledError):
        await call


async def test_on_a_cluster_every_command_is_its_own_round_trip(
    redis_cluster_client: RedisCluster,
) -> None:
    # Coalesced into redis-py's cluster pipeline, a connection error on one node closed the
    # whole client and failed calls in flight to the other nodes (measured with a node made
    # unreachable: 2 of the 6 calls to healthy nodes failed, none when sent one by one).
    client = redis_cluster_client
    coalescer = Coalescer(client)
    key = unique("{c}:n")
    sent = count_round_trips(client)

    replies = await asyncio.gather(*(coalescer.execute("INCR", key) for _ in range(3)))

    assert sent[0] == 3
    assert sorted(replies) == [1, 2, 3]


async def test_a_failed_round_trip_fails_every_call_in_it() -> None:
    # nothing listens on port 1; no retries, so the failure comes at once
    dead = connect(Settings(redis_url="redis://127.0.0.1:1", redis_retry_attempts=0))
    assert isinstance(dead, Redis)
    coalescer = Coalescer(dead)
    try:
        results = await asyncio.gather(
            coalescer.execute("GET", "a"), coalescer.execute("GET", "b"), return_exceptions=True
        )
    finally:
        await dead.aclose()

    assert all(isinstance(r, RedisConnectionError) for r in results)


def test_a_batch_an_earlier_event_loop_left_out_does_not_hold_the_next(
    redis_server: EmbeddedRedis,
) -> None:
    client = connect(Settings(redis_url=redis_server.url))
    coalescer = Coalescer(client)
    key = unique("{c}:loops")

    async def abandon_a_batch() -> None:
        call = asyncio.ensure_future(coalescer.execute("INCR", key))
        await asyncio.sleep(0)  # queued
        await asyncio.sleep(0)  # sent: out, its replies not read yet
        call.cancel()

    async def then_call_again() -> Any:
        try:
            return await asyncio.wait_for(coalescer.execute("GET", key), timeout=5)
        finally:
            await client.aclose()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(abandon_a_batch())
    loop.close()  # the batch's task never ends on it

    assert asyncio.run(then_call_again()) in (None, "1")


async def test_turned_off_every_call_is_its_own_round_trip(client: Client) -> None:
    coalescer = Coalescer(client, enabled=False)
    key = unique("{c}:off")
    sent = count_round_trips(client)

    replies = await asyncio.gather(*(coalescer.execute("INCR", key) for _ in range(3)))

    assert sent[0] == 3
    assert sorted(replies) == [1, 2, 3]
