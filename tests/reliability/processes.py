"""The service as real processes: ``python -m service serve`` and ``python -m service timers``,
started, SIGKILLed and restarted by the crash tests.

Each process gets an environment of its own (only the variables of ``service/config.py``), logs
to a file in the test's directory, and runs in a session of its own so a kill reaches it alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from service.gen.aftersale.v1 import aftersale_pb2
from tests.reliability.client import AsyncApi, Tokens, Who

OPS = Who("PLATFORM", "reliability-ops")

# Timer durations for the crash tests: every timer of SPEC §6 comes due within seconds.
FAST_TIMERS = {
    "merchant_handling": 2,
    "negotiation_reply": 1,
    "merchant_after_negotiation": 1,
    "return_ship": 1,
    "receipt": 1,
    "escalation_window": 1,
    "proof_deadline": 1,
    "offline_refund": 1,
    "offline_refund_confirm": 1,
}


@dataclass
class ServiceEnv:
    """What every service process of one test shares."""

    redis_url: str
    directory: Path
    tokens_file: Path
    listen_port: int
    shards: int = 16
    lease_s: float = 2.0
    timers: dict[str, int] = field(default_factory=lambda: dict(FAST_TIMERS))

    def environment(self, *, timers_in_process: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
        env.pop("REDIS_URL", None)
        env.update(
            {
                "REDIS_URL": self.redis_url,
                "AFTERSALE_LISTEN": f"127.0.0.1:{self.listen_port}",
                "AFTERSALE_DATA_DIR": str(self.directory / "data"),
                "AFTERSALE_TOKENS_FILE": str(self.tokens_file),
                "AFTERSALE_SHARDS": str(self.shards),
                "AFTERSALE_TIMERS": "1" if timers_in_process else "0",
                "AFTERSALE_TIMER_LEASE_S": str(self.lease_s),
                "AFTERSALE_TIMER_MAX_SLEEP_S": "0.2",
                "AFTERSALE_LOG_LEVEL": "WARNING",
                "AFTERSALE_METRICS_LISTEN": "127.0.0.1:0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name, seconds in self.timers.items():
            env[f"AFTERSALE_TIMER_{name.upper()}_S"] = str(seconds)
        return env


class ServiceProcess:
    """One ``python -m service <role>`` process that can be killed and started again."""

    def __init__(self, role: str, env: ServiceEnv, *, timers_in_process: bool) -> None:
        self.role = role
        self.env = env
        self.timers_in_process = timers_in_process
        self.log_path = env.directory / f"{role}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.role} is already running")
        self.env.directory.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", self.role],
                env=self.env.environment(timers_in_process=self.timers_in_process),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
                start_new_session=True,
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            self.kills += 1

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL if it does not end within 10 s."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def exited_unexpectedly(self) -> int | None:
        """The exit code if the process ended on its own (not by our kill)."""
        if self.process is None:
            return None
        return self.process.poll()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def wait_serving(port: int, tokens: Tokens, timeout_s: float = 30.0) -> None:
    """Until the server on ``port`` answers an authenticated RPC."""
    deadline = time.monotonic() + timeout_s
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        api = AsyncApi(channel, tokens)
        while True:
            reply = await api.call(
                "ListRejectReasons", aftersale_pb2.ListRejectReasonsRequest(), OPS, timeout=1.0
            )
            if reply.ok:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {port} not serving: {reply.code} {reply.message}")
            await asyncio.sleep(0.1)
