"""The real service in this process, on an event loop thread of its own, for hypothesis'
synchronous state machines and generators (they call it through a blocking channel)."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass

from aftersale.clock import FakeClock
from service.bootstrap import App, build
from service.config import Settings
from tests.reliability.client import Tokens


def scale(default: int, env: str) -> int:
    """A size the environment may override (``RELIABILITY_FLOWS=500 make chaos``)."""
    return int(os.environ.get(env, default))


@dataclass
class ThreadedService:
    """A service running on its own event loop thread."""

    app: App
    clock: FakeClock
    tokens: Tokens
    settings: Settings
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.app.port}"


def start_service(settings: Settings, clock: FakeClock, tokens: Tokens) -> ThreadedService:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, App | BaseException] = {}

    async def boot() -> None:
        try:
            app = await build(settings, clock)
            await app.start()
            holder["app"] = app
        except BaseException as error:
            holder["error"] = error
        finally:
            started.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        booting = loop.create_task(boot())
        loop.run_forever()
        del booting

    thread = threading.Thread(target=serve, name="aftersale-service", daemon=True)
    thread.start()
    started.wait(60)
    app = holder.get("app")
    if not isinstance(app, App):
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        raise RuntimeError(f"service did not start: {holder.get('error')!r}")
    return ThreadedService(app, clock, tokens, settings, loop, thread)


def stop_service(service: ThreadedService) -> None:
    future = asyncio.run_coroutine_threadsafe(service.app.stop(0), service.loop)
    future.result(30)

    async def drain() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(drain(), service.loop).result(30)
    service.loop.call_soon_threadsafe(service.loop.stop)
    service.thread.join(30)
    service.loop.close()
