"""Redis round-trip metrics: latency and errors per command, for one client instance.

redis-py has no command hook that prometheus-client can use (its own observability module
speaks the OpenTelemetry metrics API), so the client's two I/O entry points are wrapped on
the instance: ``execute_command`` (every single command, scripts' EVALSHA included) and the
``execute`` of each pipeline it makes (one round trip, labelled ``PIPELINE``). Other clients
in the process are untouched; :func:`observe_commands` returns the undo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from service.observability.metrics import (
    OTHER,
    command_label,
    error_label,
    redis_errors,
    redis_seconds,
)

PIPELINE = "PIPELINE"
_ATTRIBUTE = "_aftersale_observed"


# ``labels()`` validates and locks on every call; a command's child never changes (nothing
# removes these children), so each is looked up once.
_SECONDS: dict[str, Any] = {}


def _seconds_of(command: str) -> Any:
    child = _SECONDS.get(command)
    if child is None:
        child = _SECONDS[command] = redis_seconds.labels(command)
    return child


def _timed(command: str, run: Callable[..., Any], *args: Any, **options: Any) -> Any:
    async def timed() -> Any:
        started = time.perf_counter()
        try:
            return await run(*args, **options)
        except Exception as exc:
            redis_errors.labels(command, error_label(exc)).inc()
            raise
        finally:
            _seconds_of(command).observe(time.perf_counter() - started)

    return timed()


def observe_commands(client: Any) -> Callable[[], None]:
    """Time every round trip of ``client`` (a ``Redis`` or ``RedisCluster``); returns the
    function that takes the wrapping off again. Wrapping twice is a no-op."""
    if getattr(client, _ATTRIBUTE, False):
        return lambda: None
    execute_command = client.execute_command
    make_pipeline = client.pipeline

    def observed_execute_command(*args: Any, **options: Any) -> Any:
        command = command_label(args[0]) if args else OTHER
        return _timed(command, execute_command, *args, **options)

    def observed_pipeline(*args: Any, **options: Any) -> Any:
        pipe = make_pipeline(*args, **options)
        execute = pipe.execute

        def observed_execute(*run_args: Any, **run_options: Any) -> Any:
            return _timed(PIPELINE, execute, *run_args, **run_options)

        pipe.execute = observed_execute
        return pipe

    client.execute_command = observed_execute_command
    client.pipeline = observed_pipeline
    setattr(client, _ATTRIBUTE, True)

    def undo() -> None:
        for name in ("execute_command", "pipeline", _ATTRIBUTE):
            client.__dict__.pop(name, None)

    return undo
