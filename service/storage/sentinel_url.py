"""Redis Sentinel URLs: which sentinels to ask for which master.

    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service_name[/db]
        [?sentinel_username=...&sentinel_password=...]

`rediss+sentinel://` speaks TLS to the sentinels and to the master. The credentials before
`@` are the master's (the data); sentinels protected by their own password take it from the
query. A sentinel without a port is on 26379.

The client (`service.storage.sentinel`) follows the master through a failover.

Redis-py has no URL form for Sentinel; `parse_sentinel_url` is the one parser, used by
`service.config` to refuse a bad URL at start and by `service.storage.connection` to build the
client. This module imports no Redis client, so reading settings stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379
QUERY_KEYS = ("sentinel_username", "sentinel_password")


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def is_sentinel_url(url: str) -> bool:
    """Whether `url` names a master through sentinels."""
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The parts of `url`; `ValueError` says what is wrong with it."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in SENTINEL_SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SENTINEL_SCHEMES)}")
    parts = urlsplit(f"sentinel://{rest}")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_host_port(item) for item in hosts.split(","))
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError("needs /service_name or /service_name/db after the sentinel addresses")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError(f"the database {path[1]!r} must be a number")
    query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
    unknown = sorted(set(query) - set(QUERY_KEYS))
    if unknown:
        raise ValueError(f"unknown query parameter(s) {', '.join(unknown)}; known: {QUERY_KEYS}")
    return SentinelUrl(
        sentinels=sentinels,
        service_name=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_username=query.get("sentinel_username") or None,
        sentinel_password=query.get("sentinel_password") or None,
        tls=scheme.lower().startswith("rediss"),
    )


def _host_port(item: str) -> tuple[str, int]:
    host, colon, port = item.strip().rpartition(":")
    if not colon:
        host, port = item.strip(), str(DEFAULT_SENTINEL_PORT)
    host = host.removeprefix("[").removesuffix("]")  # [::1]:26379
    if not host:
        raise ValueError(f"a sentinel address {item!r} has no host")
    if not port.isdigit() or not 0 < int(port) <= 65535:
        raise ValueError(f"a sentinel address {item!r} has no valid port")
    return host, int(port)


def without_password(url: str) -> str:
    """`url` with its password (and a `sentinel_password`) replaced by `***`, for messages."""
    scheme, _, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if password:
        netloc = f"{user}:***{at}{hosts}"
    query_at = tail.find("sentinel_password=")
    if query_at >= 0:
        end = tail.find("&", query_at)
        secret = tail[query_at : len(tail) if end < 0 else end]
        tail = tail.replace(secret, "sentinel_password=***")
    return f"{scheme}://{netloc}{slash}{tail}"
