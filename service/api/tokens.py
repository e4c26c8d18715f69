"""Bearer tokens of the calling services and the roles each may speak for.

The token file is JSON: ``{"<token>": {"service": "<name>", "roles": ["BUYER", ...]}}``.
Roles are BUYER, MERCHANT, PAYMENT and PLATFORM (SYSTEM belongs to the timers alone).

With no file at the default path (``<data_dir>/tokens.json``) the service writes a development
file with random tokens for ``order-system`` (BUYER, MERCHANT), ``payment`` (PAYMENT) and
``ops`` (PLATFORM), readable only by its owner. Production deployments name their own file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aftersale.vocabulary import Role

CALLER_ROLES = frozenset({Role.BUYER, Role.MERCHANT, Role.PAYMENT, Role.PLATFORM})
DEV_SERVICES: dict[str, tuple[Role, ...]] = {
    "order-system": (Role.BUYER, Role.MERCHANT),
    "payment": (Role.PAYMENT,),
    "ops": (Role.PLATFORM,),
}


class TokenFileError(ValueError):
    """The token file is missing, unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class ServiceToken:
    """What one token stands for: the calling service and the roles it may speak for."""

    service: str
    roles: frozenset[Role]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenTable:
    """Token lookup. Tokens are kept only as SHA-256 digests."""

    def __init__(self, tokens: Mapping[str, ServiceToken]) -> None:
        self._by_digest = {_digest(token): entry for token, entry in tokens.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    @property
    def services(self) -> frozenset[str]:
        """The calling services the table names."""
        return frozenset(entry.service for entry in self._by_digest.values())

    def replace(self, tokens: Mapping[str, ServiceToken]) -> None:
        """Use ``tokens`` from now on (a reloaded file); calls already admitted keep going."""
        self._by_digest = {_digest(token): entry for token, entry in tokens.items()}

    def lookup(self, token: str) -> ServiceToken | None:
        """The entry for ``token``, or None if the service does not know it."""
        return self._by_digest.get(_digest(token))

    @classmethod
    def load(cls, path: Path) -> TokenTable:
        """Read the token file; ``TokenFileError`` names what is wrong with it."""
        return cls(read_token_file(path))


def read_token_file(path: Path) -> dict[str, ServiceToken]:
    """The token file's entries, by token."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TokenFileError(f"token file {path}: {exc}") from exc
    if not isinstance(document, dict) or not document:
        raise TokenFileError(f"token file {path}: expected a non-empty JSON object")
    tokens: dict[str, ServiceToken] = {}
    for token, entry in document.items():
        service = entry.get("service") if isinstance(entry, dict) else None
        where = f"token file {path}, entry of service {service!r}"  # never print a token
        if len(token) < 16:
            raise TokenFileError(f"{where}: tokens must be at least 16 characters")
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str):
            raise TokenFileError(f"{where}: expected {{'service': name, 'roles': [...]}}")
        roles = entry.get("roles")
        if not isinstance(roles, list) or not roles:
            raise TokenFileError(f"{where}: 'roles' must be a non-empty list")
        unknown = [r for r in roles if r not in {role.value for role in CALLER_ROLES}]
        if unknown:
            allowed = ", ".join(sorted(r.value for r in CALLER_ROLES))
            raise TokenFileError(f"{where}: unknown roles {unknown} (allowed: {allowed})")
        tokens[token] = ServiceToken(entry["service"], frozenset(Role(r) for r in roles))
    return tokens


def write_dev_tokens(path: Path) -> dict[str, ServiceToken]:
    """Write a development token file with fresh random tokens (owner-only); return it."""
    tokens = {
        secrets.token_urlsafe(24): ServiceToken(service, frozenset(roles))
        for service, roles in DEV_SERVICES.items()
    }
    document = {
        token: {"service": entry.service, "roles": sorted(r.value for r in entry.roles)}
        for token, entry in tokens.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
    return tokens


def token_of(path: Path, *, service: str = "", role: Role | None = None) -> str:
    """The first token in ``path`` of ``service`` (if given) that may speak for ``role``."""
    for token, entry in read_token_file(path).items():
        if (not service or entry.service == service) and (role is None or role in entry.roles):
            return token
    wanted = " ".join(filter(None, [service, role.value if role else ""]))
    raise TokenFileError(f"token file {path}: no token for {wanted or 'any service'}")
