"""OpenTelemetry tracing: off by default, on through the standard ``OTEL_*`` variables.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``), or, with it
unset, when an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keep it off. The OTLP protocol is
``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``: ``grpc`` (default,
port 4317) or ``http/protobuf`` (4318); the exporters read their own endpoint, headers,
timeout and certificate variables, the SDK its sampler (``OTEL_TRACES_SAMPLER``), batching
(``OTEL_BSP_*``) and resource (``OTEL_SERVICE_NAME``, default ``aftersale``;
``OTEL_RESOURCE_ATTRIBUTES``).

What it traces: a server span per after-sale RPC (OpenTelemetry's gRPC aio interceptor,
which also continues a trace the caller propagated in its metadata), a client span per
Redis round trip of the service's client (OpenTelemetry's redis instrumentation, on that
one client instance; commands are recorded as ``EVALSHA ? ? …``, never their arguments), and
a span per batch of fired timers. The provider is the service's own, never the global one,
so a test (or a second app) can bring its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

log = logging.getLogger(__name__)
DEFAULT_SERVICE_NAME = "aftersale"
FLUSH_TIMEOUT_MS = 5_000


class TracingConfigError(ValueError):
    """An ``OTEL_*`` variable names something this service cannot export with."""


@dataclass
class Tracing:
    """The service's tracer provider and what it instruments. ``owned``: shut the provider
    down (flushing its spans) when the service stops."""

    provider: TracerProvider
    owned: bool = True

    def tracer(self) -> trace.Tracer:
        return self.provider.get_tracer("service")

    def server_interceptor(self) -> Any:
        """The gRPC aio server interceptor that opens a span per RPC (install it first)."""
        return aio_server_interceptor(tracer_provider=self.provider)  # type: ignore[no-untyped-call]

    def instrument_redis(self, client: Any) -> None:
        RedisInstrumentor.instrument_client(client, tracer_provider=self.provider)

    def uninstrument_redis(self, client: Any) -> None:
        RedisInstrumentor.uninstrument_client(client)

    def shutdown(self) -> None:
        """Flush what is buffered (bounded) and stop exporting; blocking, run in a thread."""
        if self.owned:
            self.provider.force_flush(FLUSH_TIMEOUT_MS)
            self.provider.shutdown()


def quiet() -> AbstractContextManager[None]:
    """No spans in here (the timer worker's polling, a metrics scrape): not worth a trace."""
    return suppress_instrumentation()


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def tracing_from_env(env: Mapping[str, str]) -> Tracing | None:
    """The tracing the ``OTEL_*`` variables ask for, or None (off)."""
    if _is_true(env.get("OTEL_SDK_DISABLED")):
        return None
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n]
    if not names:
        endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        names = ["otlp"] if any(env.get(name, "").strip() for name in endpoints) else []
    if not names or names == ["none"]:
        return None
    exporters = [_exporter(name, env) for name in names if name != "none"]
    provider = TracerProvider(resource=_resource())
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    log.info("tracing on exporters=%s", ",".join(n for n in names if n != "none"))
    return Tracing(provider)


def _resource() -> Resource:
    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def _exporter(name: str, env: Mapping[str, str]) -> SpanExporter:
    # Imported when asked for: each exporter pulls in its transport.
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise TracingConfigError(f"OTEL_TRACES_EXPORTER={name!r}: use otlp, console or none")
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    ) or "grpc"
    protocol = protocol.strip().lower()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter()
    raise TracingConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: use grpc or http/protobuf")
