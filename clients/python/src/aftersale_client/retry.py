"""The published retry policy (``proto/aftersale/v1/service_config.json``, shipped here as
``service_config.json``): a gRPC service config that retries UNAVAILABLE and
RESOURCE_EXHAUSTED with exponential backoff. The channel resends the same request bytes on
every attempt, so a write's idempotency key is the same on each: a retry never makes it twice.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def service_config() -> str:
    """The service config, as JSON text (what ``grpc.service_config`` takes)."""
    return resources.files(__package__).joinpath("service_config.json").read_text("utf-8")


def retry_policy() -> dict[str, Any]:
    """The retry policy of ``aftersale.v1.AfterSaleService``, parsed."""
    (method,) = json.loads(service_config())["methodConfig"]
    policy: dict[str, Any] = method["retryPolicy"]
    return policy


def channel_options(*, retries: bool = True) -> list[tuple[str, Any]]:
    """Channel options: the service config with retries on, or retries off."""
    if not retries:
        return [("grpc.enable_retries", 0)]
    return [("grpc.service_config", service_config()), ("grpc.enable_retries", 1)]
