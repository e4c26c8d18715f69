"""What the embedded servers (Redis, ``service.storage.redis_server``; PostgreSQL,
``service.archive.postgres_server``) share about their child process and its directory: one
owner per directory (an flock held while the server runs), and an end that signals, waits,
and kills a server that ignores the signal."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def lock_directory(directory: Path, refused: type[Exception]) -> int:
    """Take ``directory``'s ``embedded.lock`` (released when the returned fd is closed);
    ``refused`` is raised when another process holds it."""
    fd = os.open(directory / "embedded.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise refused(f"{directory} is used by another process") from None
    return fd


def end_process(
    process: subprocess.Popen[bytes], name: str, signum: signal.Signals, timeout_s: float
) -> None:
    """Send ``signum`` to a running ``process`` and wait ``timeout_s``; then SIGKILL it."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s pid %s ignored %s; killing it", name, process.pid, signum)
            process.kill()
            process.wait()
    log.info("%s pid %s exited with %s", name, process.pid, process.returncode)
