"""Service processes for the end-to-end sections: ``python -m service serve``, as in production.

Each process gets its settings through the environment (``Settings.from_env``): the bench's
Redis, a listen address, a token file written for the bench. Several processes may listen on
the same port (gRPC sets ``SO_REUSEPORT`` on Linux by default; the kernel spreads connections
over the listeners). Optionally a process runs under ``py-spy record`` (a raw flame file).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.load_client import Tokens
from service.config import OPTIONS
from service.storage.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def write_tokens(path: Path) -> Tokens:
    """A token file for the bench (format: ``service.api.tokens``) and the tokens in it."""
    tokens = Tokens(order_system=secrets.token_urlsafe(24), payment=secrets.token_urlsafe(24))
    document = {
        tokens.order_system: {"service": "bench-order-system", "roles": ["BUYER", "MERCHANT"]},
        tokens.payment: {"service": "bench-payment", "roles": ["PAYMENT"]},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)
    return tokens


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    profiled: bool

    @property
    def pid(self) -> int:
        """The service's own pid (under py-spy: py-spy's child)."""
        if not self.profiled:
            return self.process.pid
        children = _children(self.process.pid)
        return children[0] if children else self.process.pid


def reuse_port_env() -> str | None:
    """The variable that lets several service processes share a port, if the service has one
    (a ``Settings`` field named ``reuse_port``)."""
    return next((o.env for o in OPTIONS if o.field == "reuse_port"), None)


class ServiceGroup:
    """``count`` service processes, on one shared port (``shared_port``, needs the service's
    reuse-port setting) or on a port each, started and stopped together."""

    def __init__(
        self,
        *,
        count: int,
        port: int,
        shared_port: bool = True,
        redis_url: str,
        tokens_file: Path,
        work_dir: Path,
        extra_env: dict[str, str] | None = None,
        profile_to: Path | None = None,
    ) -> None:
        self.count = count
        self.shared_port = shared_port and count > 1
        ports = [port] * count if shared_port else [port] + [free_port() for _ in range(count - 1)]
        self.targets = list(dict.fromkeys(f"127.0.0.1:{p}" for p in ports))
        self.listen = [f"127.0.0.1:{p}" for p in ports]
        self.redis_url = redis_url
        self.tokens_file = tokens_file
        self.work_dir = work_dir
        self.extra_env = extra_env or {}
        self.profile_to = profile_to
        self.processes: list[ServiceProcess] = []

    def env(self, index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_")}
        reuse = reuse_port_env()
        if self.shared_port and reuse is not None:
            env[reuse] = "1"
        env.update(
            {
                "REDIS_URL": self.redis_url,
                "AFTERSALE_LISTEN": self.listen[index],
                "AFTERSALE_TOKENS_FILE": str(self.tokens_file),
                "AFTERSALE_DATA_DIR": str(self.work_dir),
                "AFTERSALE_LOG_LEVEL": "WARNING",
                "AFTERSALE_METRICS_LISTEN": "127.0.0.1:0",
                **self.extra_env,
            }
        )
        return env

    def start(self, timeout_s: float = 60.0) -> ServiceGroup:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for index in range(self.count):
            command = [sys.executable, "-m", "service", "serve"]
            profiled = self.profile_to is not None and index == 0
            if profiled and self.profile_to is not None:
                spy = str(Path(sys.executable).parent / "py-spy")
                raw = str(self.profile_to)
                native = ["--native"] if os.environ.get("BENCH_PROFILE_NATIVE") else []
                command = [spy, "record", *native, "--format", "raw", "--rate", "250", "-o", raw]
                command += ["--"]
                command += [sys.executable, "-m", "service", "serve"]
            log_path = self.work_dir / f"service-{index}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command, cwd=ROOT, env=self.env(index), stdout=log, stderr=subprocess.STDOUT
                )
            self.processes.append(ServiceProcess(process, log_path, profiled))
        self._wait_serving(timeout_s)
        return self

    def _wait_serving(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for proc, target in zip(self.processes, self.listen, strict=True):
            while True:
                if proc.process.poll() is not None:
                    tail = proc.log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"service exited with {proc.process.returncode}:\n{tail}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"service did not serve within {timeout_s}s")
                if self._serving(target):
                    break
                time.sleep(0.1)
        if self.shared_port:
            time.sleep(2.0)  # a check on the shared port may have reached another process
        for proc in self.processes:
            if proc.process.poll() is not None:
                tail = proc.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"service exited with {proc.process.returncode}:\n{tail}")

    @staticmethod
    def _serving(target: str) -> bool:
        try:
            with grpc.insecure_channel(target) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
        except grpc.RpcError:
            return False

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self, timeout_s: float = 30.0) -> None:
        for proc in self.processes:
            pid = proc.pid
            if proc.process.poll() is None:
                os.kill(pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait()
        self.processes = []

    def __enter__(self) -> ServiceGroup:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
