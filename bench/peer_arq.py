"""The peer anchor of section 3: arq (PyPI) on the same Redis, the same burst.

arq pins ``redis<6`` (the service uses redis-py 8), so it gets a venv of its own under
``var/bench/arq-venv``, made on first use with pip; ``bench/arq_burst.py`` runs there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

ARQ_VERSION = "0.28.0"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "bench" / "arq-venv"
SCRIPT = Path(__file__).resolve().parent / "arq_burst.py"


def ensure_venv() -> Path:
    """The arq venv's python (created and filled with pip on first use)."""
    python = VENV / "bin" / "python"
    stamp = VENV / f".arq-{ARQ_VERSION}"
    if not stamp.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"arq=={ARQ_VERSION}"],
            check=True,
        )
        stamp.touch()
    return python


def _run(
    python: Path, mode: str, url: str, count: int, timeout_s: float, max_s: float = 0
) -> dict[str, Any]:
    extra = [str(max_s)] if max_s else []
    done = subprocess.run(
        [str(python), str(SCRIPT), mode, url, str(count), *extra],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"arq {mode} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(redis_url: str, count: int, log: Any, max_s: float = 90.0) -> dict[str, Any]:
    python = ensure_venv()
    versions = subprocess.run(
        [str(python), "-c", "import arq, redis; print(arq.VERSION, redis.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    queued = _run(python, "enqueue", redis_url, count, timeout_s=300)
    worked = _run(python, "work", redis_url, count, timeout_s=max_s + 120, max_s=max_s)
    log(
        f"  arq {versions[0]}: {worked['fires']} jobs in {worked['seconds']} s = "
        f"{worked['fires_per_s']:.0f}/s (enqueue took {queued['enqueue_s']} s)"
    )
    return {
        "arq_version": versions[0],
        "arq_redis_py": versions[1],
        "jobs": count,
        **queued,
        **worked,
        "python": sys.version.split()[0],
    }
