"""Sealed page tokens and cursors: opaque to callers, bound to the caller they were issued to.

What storage's own forms carry tells of other callers' data: a watch cursor holds the last
stream id of every shard (other tenants' commit times), a list page token the last listing
entry examined (possibly a request the caller may not see). So the API hands out only sealed
forms: AES-256-GCM under a server key, with the token's purpose and the caller's identity as
associated data. A sealed token reveals nothing, and opening fails for a token that was
tampered with, sealed by another key, issued for another purpose or to another caller; every
such failure is the same ``InvalidInput`` naming the field, so a caller cannot tell which.

Format (URL-safe base64, no padding): ``0x01 | nonce (12 random bytes) | ciphertext + tag``.

Keys: the key file (``AFTERSALE_TOKEN_KEY_FILE``, default ``<data_dir>/token.key``) holds one
key per line, each 32 random bytes in URL-safe base64. The first seals; every one opens. Every
replica must read the same file. To rotate, put a new key first and remove the old one once
the tokens it sealed no longer matter (a cursor lives as long as the client keeps it). With no
file at the default path, the service writes one with a fresh key, readable by its owner only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aftersale.exceptions import InvalidInput
from service.api.caller import Caller

FORMAT = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
PURPOSES = ("cursor", "page_token")  # each purpose is a field name of the API


class KeyFileError(ValueError):
    """The token key file is missing, unreadable or holds something that is not a key."""


class Sealer:
    """Seals and opens tokens with the first of ``keys`` (opening tries each)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"need one or more keys of {KEY_BYTES} bytes")
        self._ciphers = [AESGCM(key) for key in keys]

    def seal(self, purpose: str, caller: Sequence[str], payload: bytes) -> str:
        """``payload`` sealed for ``purpose`` and ``caller`` (the identity parts)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[0].encrypt(nonce, payload, _context(purpose, caller))
        return base64.urlsafe_b64encode(FORMAT + nonce + sealed).decode().rstrip("=")

    def open(self, purpose: str, caller: Sequence[str], token: str) -> bytes:
        """The payload of a token ``seal`` made for the same purpose and caller;
        ``InvalidInput(purpose)`` for anything else."""
        refused = InvalidInput(
            purpose,
            f"not a {purpose} issued by this service to this caller",
            "不是本服务签发给该调用方的令牌",
            "TOKEN_NOT_ISSUED",
        )
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error):
            raise refused from None
        if len(raw) < len(FORMAT) + NONCE_BYTES + TAG_BYTES or not raw.startswith(FORMAT):
            raise refused
        nonce, sealed = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
        context = _context(purpose, caller)
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, context)
            except InvalidTag:
                continue
        raise refused


def identity(caller: Caller) -> tuple[str, str, str]:
    """Whom a token is bound to: the calling service and the party it speaks for."""
    return caller.service, caller.actor.role.value, caller.actor.id


def _context(purpose: str, caller: Sequence[str]) -> bytes:
    """The associated data: what a token is for and whom it was issued to. Parts are joined
    with NUL, which no id, role or service name contains, so two callers never share one."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return "\0".join(("aftersale.v1", purpose, *caller)).encode()


def read_key_file(path: Path) -> list[bytes]:
    """The keys in ``path``, first (sealing) key first."""
    try:
        lines = path.read_text(encoding="ascii").split()
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"token key file {path}: {exc}") from exc
    keys = []
    for number, line in enumerate(lines, 1):
        try:
            key = base64.urlsafe_b64decode(line + "=" * (-len(line) % 4))
        except (ValueError, binascii.Error):
            key = b""
        if len(key) != KEY_BYTES:  # never print the line: it may be a key
            raise KeyFileError(f"token key file {path}, key {number}: not {KEY_BYTES} bytes")
        keys.append(key)
    if not keys:
        raise KeyFileError(f"token key file {path}: no key")
    return keys


def write_key_file(path: Path) -> list[bytes]:
    """Create ``path`` with one fresh key (owner-only), unless another process did first;
    either way, the keys now in the file.

    Written to a temporary file and linked into place, so a process starting beside this one
    reads either no file or the whole key, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".token-key-")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return read_key_file(path)
