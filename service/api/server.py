"""The gRPC server: the after-sale service behind its interceptors, plus grpc.health.v1 and
server reflection (so ``grpcurl -plaintext HOST:PORT list`` works), plaintext or TLS.

``create_server`` binds (port 0: any free port, returned) but does not start; start it with
``await server.start()`` and end it with :func:`stop_server`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service.api.auth import AuthInterceptor
from service.api.error_interceptor import ErrorInterceptor
from service.api.sealing import Sealer
from service.api.servicer import AfterSaleServicer
from service.api.subscriptions import SubscriptionServicer, SubscriptionStreams
from service.api.tokens import TokenTable
from service.api.watch import TransitionWatch
from service.gen.aftersale.v1 import (
    aftersale_pb2,
    aftersale_pb2_grpc,
    subscriptions_pb2,
    subscriptions_pb2_grpc,
)
from service.handlers import AfterSaleHandlers
from service.status import StatusReader

SERVICE_NAME: str = aftersale_pb2.DESCRIPTOR.services_by_name["AfterSaleService"].full_name
SUBSCRIPTION_SERVICE_NAME: str = subscriptions_pb2.DESCRIPTOR.services_by_name[
    "SubscriptionService"
].full_name
SERVING = health_pb2.HealthCheckResponse.SERVING
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


# The generated module is untyped; this is the one place that calls into it.
add_servicer: Callable[[Any, Any], None] = aftersale_pb2_grpc.add_AfterSaleServiceServicer_to_server
add_subscriptions: Callable[[Any, Any], None] = (
    subscriptions_pb2_grpc.add_SubscriptionServiceServicer_to_server
)


class BindError(RuntimeError):
    """The listen address could not be bound (in use, or not a local address)."""


class TlsError(ValueError):
    """A TLS file that cannot serve: unreadable, not PEM, or a key that is not the cert's."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Server certificate and key (PEM); with ``client_ca``, clients must present a
    certificate it signed (mutual TLS)."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    def check(self) -> None:
        """Load the key pair (and the client CA) as the server will, and name the file and
        the problem if one cannot serve (grpc would only say it cannot bind)."""
        for path in (self.cert, self.key, self.client_ca):
            if path is not None and not path.is_file():
                raise TlsError(f"{path}: no such file")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_verify_locations(cafile=self.cert)
        except ssl.SSLError as exc:
            raise TlsError(f"{self.cert}: not a PEM certificate ({exc.reason})") from None
        try:
            context.load_cert_chain(self.cert, self.key)
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise TlsError(f"{self.key}: not the key of the certificate {self.cert}") from None
            raise TlsError(f"{self.key}: not a PEM private key ({exc.reason})") from None
        if self.client_ca is not None:
            try:
                context.load_verify_locations(cafile=self.client_ca)
            except ssl.SSLError as exc:
                raise TlsError(f"{self.client_ca}: not a PEM CA bundle ({exc.reason})") from None

    def credentials(self) -> Any:
        self.check()
        ca = self.client_ca.read_bytes() if self.client_ca else None
        return grpc.ssl_server_credentials(
            [(self.key.read_bytes(), self.cert.read_bytes())],
            root_certificates=ca,
            require_client_auth=ca is not None,
        )


async def create_server(
    address: str,
    handlers: AfterSaleHandlers,
    *,
    tokens: TokenTable,
    watch: TransitionWatch,
    sealer: Sealer,
    health_servicer: Any,
    tls: TlsFiles | None = None,
    reuse_port: bool = False,
    call_timeout_s: float = 5.0,
    observers: Sequence[Any] = (),
    status: StatusReader | None = None,
    subscriptions: SubscriptionStreams | None = None,
) -> tuple[Any, int]:
    """A bound, not yet started ``grpc.aio.Server`` and its port.

    ``health_servicer`` is a ``grpc_health.v1.health.aio.HealthServicer``: :func:`stop_server`
    turns it NOT_SERVING. Interceptors: ``observers`` outermost (tracing, then metrics and
    the access log: they see every call's final status), then the error table, then
    authentication."""
    server = grpc.aio.server(
        interceptors=[*observers, ErrorInterceptor(call_timeout_s), AuthInterceptor(tokens)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            # Off by default: a second server on the same port fails, loudly. On, several
            # processes share the port and the kernel spreads connections (scale-out).
            ("grpc.so_reuseport", 1 if reuse_port else 0),
        ],
    )
    servicer = AfterSaleServicer(handlers, watch, sealer, status)
    add_servicer(servicer, server)
    served = [SERVICE_NAME]
    if subscriptions is not None:
        add_subscriptions(SubscriptionServicer(subscriptions, tokens), server)
        served.append(SUBSCRIPTION_SERVICE_NAME)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (*served, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, tls.credentials())
    except RuntimeError as exc:
        raise BindError(f"cannot listen on {address}: {exc}") from exc
    if not port:
        raise BindError(f"cannot listen on {address}")
    await health_servicer.set(health.OVERALL_HEALTH, SERVING)
    for name in served:
        await health_servicer.set(name, SERVING)
    return server, port


def new_health_servicer() -> Any:
    """The asyncio health servicer (SERVING once ``create_server`` has bound)."""
    return health.aio.HealthServicer()


async def stop_server(
    server: Any,
    health_servicer: Any,
    watch: TransitionWatch,
    grace_s: float,
    drain_s: float = 0,
    subscriptions: SubscriptionStreams | None = None,
) -> None:
    """Graceful stop: NOT_SERVING (then ``drain_s`` for load balancers to notice), stop
    accepting calls, end the transition streams cleanly, let unary calls finish within
    ``grace_s`` (then cancel what is left)."""
    await health_servicer.enter_graceful_shutdown()
    if drain_s > 0:
        await asyncio.sleep(drain_s)
    stopping = asyncio.ensure_future(server.stop(grace_s))
    await asyncio.sleep(0)  # let stop() refuse new calls before the streams end
    watch.stop()
    if subscriptions is not None:
        subscriptions.stop()
    await stopping
