"""``python -m service serve --workers 2`` as real processes, with its own embedded Redis in a
temporary data directory: both workers serve one port, a worker killed with SIGKILL is
replaced, and SIGTERM drains both, stops the embedded Redis and exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from aftersale.clock import FakeClock, SystemClock
from aftersale.policy import DAY_MS
from service.api.tokens import token_of
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.storage.redis_binary import process_alive
from tests.e2e.support import create_request, new_stub, unique

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (\S+:\d+) \(2 workers\)")
READY = re.compile(r"worker ready index=(\d+) pid=(\d+)")


@dataclass
class Supervised:
    process: asyncio.subprocess.Process
    address: str
    data_dir: Path
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def ready_workers(self) -> dict[int, int]:
        """Index → pid of the latest worker that said it serves, per index."""
        return {int(index): int(pid) for index, pid in READY.findall(self.log_text())}

    async def wait_for_log(
        self, pattern: str, timeout_s: float = 60, *, supervisor_runs: bool = True
    ) -> re.Match[str]:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            found = re.search(pattern, self.log_text())
            if found:
                return found
            exited = supervisor_runs and self.process.returncode is not None
            if asyncio.get_running_loop().time() > deadline or exited:
                raise AssertionError(f"no {pattern!r} in the log:\n{self.log_text()[-4000:]}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def supervised(tmp_path: Path) -> AsyncIterator[Supervised]:
    """The supervisor with two workers and its own embedded Redis, on a free port."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AFTERSALE_") and k != "REDIS_URL"
    }
    env |= {
        "AFTERSALE_LISTEN": "127.0.0.1:0",
        "AFTERSALE_METRICS_LISTEN": "127.0.0.1:0",  # never the default port another holds
        "AFTERSALE_DATA_DIR": str(tmp_path / "data"),
        "AFTERSALE_WORKER_RESTART_BACKOFF_MAX_S": "0.5",
    }
    log = tmp_path / "service.log"
    with log.open("wb") as stderr:  # a file, not a pipe: three processes write to it
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service", "serve", "--workers", "2",
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=90)
        found = LISTENING.search(line.decode())
        if not found:
            raise AssertionError(f"no banner ({line!r}):\n{log.read_text(errors='replace')}")
        yield Supervised(process, found.group(1), tmp_path / "data", log)
    finally:
        if process.returncode is None:  # stop it as an operator would: it stops its Redis
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=60)
            except TimeoutError:
                process.kill()
                await process.wait()
        for pid in Supervised(process, "", tmp_path, log).ready_workers().values():
            if process_alive(pid):  # a failed test must not leave workers behind
                os.kill(pid, signal.SIGKILL)
        redis_pid = tmp_path / "data" / "redis" / "redis.pid"
        if redis_pid.exists() and process_alive(int(redis_pid.read_text())):
            os.kill(int(redis_pid.read_text()), signal.SIGTERM)  # the supervisor was killed
        postgres_pid = tmp_path / "data" / "postgres" / "data" / "postmaster.pid"
        if postgres_pid.exists() and process_alive(int(postgres_pid.read_text().split()[0])):
            os.kill(int(postgres_pid.read_text().split()[0]), signal.SIGINT)  # and its archive


async def create_and_read(address: str, tokens: Path, calls: int) -> None:
    """``calls`` applications and reads, each on a new connection (the kernel picks the
    worker per connection)."""
    order = [("authorization", f"Bearer {token_of(tokens, service='order-system')}")]
    for _ in range(calls):
        async with grpc.aio.insecure_channel(address) as channel:
            stub = new_stub(channel)
            request = create_request(
                order_id=unique("order"), sku_id="sku-1", shop_id="shop-1", clock=FakeClock()
            )
            request.after_sale_deadline.FromMilliseconds(SystemClock().now_ms() + DAY_MS)
            buyer = [*order, ("x-actor-id", "buyer-1")]
            created = await stub.CreateAfterSale(request, metadata=buyer, timeout=10)
            read = await stub.GetAfterSale(
                pb.GetAfterSaleRequest(request_id=created.after_sale.request_id),
                metadata=buyer,
                timeout=10,
            )
            assert read.after_sale.version == created.after_sale.version


def connections_served_by(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` whose server end ``pid`` holds (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rpartition(":")[2], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


async def test_connections_are_spread_over_both_workers(supervised: Supervised) -> None:
    port = int(supervised.address.rpartition(":")[2])
    # Channels to one target share a connection unless each keeps its own subchannels.
    own_connection = [("grpc.use_local_subchannel_pool", 1)]
    channels = [
        grpc.aio.insecure_channel(supervised.address, options=own_connection) for _ in range(24)
    ]
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), timeout=10)

        served = {
            index: connections_served_by(pid, port)
            for index, pid in supervised.ready_workers().items()
        }
    finally:
        for channel in channels:
            await channel.close()

    assert sum(served.values()) == 24
    assert all(count > 0 for count in served.values()), served  # 2 * 2**-24 odds otherwise


async def test_two_workers_serve_one_port_and_a_killed_worker_is_replaced(
    supervised: Supervised,
) -> None:
    tokens = supervised.data_dir / "tokens.json"
    workers = supervised.ready_workers()
    assert sorted(workers) == [0, 1]
    await create_and_read(supervised.address, tokens, calls=6)

    os.kill(workers[0], signal.SIGKILL)
    await supervised.wait_for_log(rf"worker exited index=0 pid={workers[0]} status=-9")
    await supervised.wait_for_log(rf"worker ready index=0 pid=(?!{workers[0]})\d+")
    await create_and_read(supervised.address, tokens, calls=6)

    replaced = supervised.ready_workers()
    assert replaced[0] != workers[0]
    assert replaced[1] == workers[1]
    assert not process_alive(workers[0])


async def test_sigterm_drains_every_worker_and_stops_the_embedded_redis(
    supervised: Supervised,
) -> None:
    workers = supervised.ready_workers()
    redis_pid = int((supervised.data_dir / "redis" / "redis.pid").read_text())
    tokens = supervised.data_dir / "tokens.json"
    await create_and_read(supervised.address, tokens, calls=1)
    ops = [("authorization", f"Bearer {token_of(tokens, service='ops')}")]
    async with grpc.aio.insecure_channel(supervised.address) as channel:
        request = pb.WatchTransitionsRequest(from_oldest=True)
        stream = new_stub(channel).WatchTransitions(request, metadata=ops)
        first = await asyncio.wait_for(stream.read(), timeout=30)  # a worker holds it open

        supervised.process.send_signal(signal.SIGTERM)
        end = await asyncio.wait_for(stream.read(), timeout=60)
        code = await stream.code()
    status = await asyncio.wait_for(supervised.process.wait(), timeout=60)

    assert first.event.version == 1
    assert end is grpc.aio.EOF and code == grpc.StatusCode.OK  # the worker drained the stream
    assert status == 0
    log = supervised.log_text()
    for index, pid in workers.items():
        assert f"worker stopped index={index} pid={pid} status=0" in log
        assert not process_alive(pid)
    assert f"redis-server pid {redis_pid} exited with 0" in log
    assert not process_alive(redis_pid)
    assert "Traceback" not in log


async def test_the_workers_of_a_killed_supervisor_drain_and_exit(supervised: Supervised) -> None:
    workers = supervised.ready_workers()

    supervised.process.kill()
    await supervised.process.wait()
    gone = r"supervisor pid \d+ is gone; stopping"
    await supervised.wait_for_log(rf"{gone}(.|\n)*{gone}", supervisor_runs=False)

    deadline = asyncio.get_running_loop().time() + 30
    while any(process_alive(pid) for pid in workers.values()):
        assert asyncio.get_running_loop().time() < deadline, "orphaned workers still run"
        await asyncio.sleep(0.05)
