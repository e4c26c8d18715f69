"""A payment consumer as a process of its own (so a test can SIGKILL it): the Python client's
``Subscriber`` (clients/python, installed in .venv by ``make install``) on the ``payment``
subscription, writing one line per handled refund
(``refund_id request_id version delivery``) to a file before the handler returns, hence
before its ack.

    python -m tests.reliability.payment_consumer ADDRESS TOKEN CONSUMER OUT
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from aftersale_client import Subscriber
from aftersale_client.v1 import types_pb2 as t


async def main(address: str, token: str, consumer: str, out: str) -> None:
    with open(out, "a", buffering=1) as lines:  # a line per write(2): a kill loses none

        async def pay(event: t.TransitionEvent) -> None:
            lines.write(f"{event.refund_id} {event.request_id} {event.version}\n")

        async with grpc.aio.insecure_channel(address) as channel:
            subscriber = Subscriber(
                channel, "payment", consumer, token=token, reconnect_backoff_s=0.05
            )
            await subscriber.run(pay)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
