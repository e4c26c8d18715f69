"""The embedded redis-server's files are its owner's alone: they hold buyers' addresses and
phones, and the password that guards the server.

The server's directory is 0700 and every file in it 0600: files this process writes are
created so, the server itself runs under umask 077 (its AOF, AOF rewrites, pid file), and a
directory left by an older release, whose files were 0644 in a 0755 directory, is tightened
when a server starts there.

The password is made on first start and kept in a 0600 file, so a restart on the same
directory reuses it; it reaches redis-server through a 0600 config file, never its command
line (which other local users may read).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SERVER_UMASK = 0o077  # what redis-server creates (AOF, pid file, nodes.conf) is 0600


def private_directory(directory: Path) -> None:
    """Make ``directory`` 0700 and every file in it 0600; missing parents are made 0700 too
    (``mkdir(parents=True)`` would make them with the default mode)."""
    missing = [path for path in (directory, *directory.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    os.chmod(directory, DIRECTORY_MODE)
    for path in directory.iterdir():
        if path.is_file() and not path.is_symlink():
            os.chmod(path, FILE_MODE)


def password_in(path: Path) -> str:
    """The password kept in ``path``; made (random, URL-safe) and kept on first use."""
    with contextlib.suppress(FileNotFoundError):
        kept = path.read_text(encoding="ascii").strip()
        if kept:
            return kept
    private_directory(path.parent)
    password = secrets.token_urlsafe(32)  # URL-safe: it goes into redis://:<password>@host
    write_private(path, password + "\n")
    return password


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, 0600 from its first byte (written aside, then renamed)."""
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(text)
    os.replace(aside, path)


def open_private_log(path: Path) -> BinaryIO:
    """``path`` opened for appending, created 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    return os.fdopen(descriptor, "ab")


def auth_config(password: str) -> str:
    """The config file lines that make clients (and cluster peers) authenticate."""
    return f'requirepass "{password}"\nmasterauth "{password}"\n'
