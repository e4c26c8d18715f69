"""A Redis Cluster of embedded servers (tests and benchmarks): N masters, no replicas, each an
``EmbeddedRedis`` in cluster mode, joined with ``redis-cli --cluster create``. The nodes share
one password (a cluster client uses one for every node it discovers), kept in ``directory``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import redis

from service.storage.redis_server import (
    HOST,
    EmbeddedRedis,
    EmbeddedRedisError,
    probe,
    redis_cli_path,
)


class EmbeddedCluster:
    """`masters` cluster-mode servers under `directory`, joined into one cluster, no replicas."""

    def __init__(self, directory: Path, *, masters: int = 3, start_timeout_s: float = 60.0) -> None:
        self.nodes = [
            EmbeddedRedis(
                directory / f"node{index}",
                cluster=True,
                start_timeout_s=start_timeout_s,
                password_file=directory / "password",
            )
            for index in range(masters)
        ]
        self.start_timeout_s = start_timeout_s

    @property
    def url(self) -> str:
        """A URL of one node; the cluster client discovers the others from it."""
        return self.nodes[0].url

    def start(self) -> EmbeddedCluster:
        """Start every node, create the cluster on first use, wait for `cluster_state:ok`."""
        try:
            for node in self.nodes:
                node.start()
            if self._cluster_info(self.nodes[0]).get("cluster_known_nodes") != str(len(self.nodes)):
                self._create()
            self._wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every node (their AOF and nodes.conf stay for a later start)."""
        for node in self.nodes:
            node.stop()

    def _create(self) -> None:
        addresses = [f"{HOST}:{node.port}" for node in self.nodes]
        command = [str(redis_cli_path()), "--cluster", "create", *addresses]
        command += ["--cluster-replicas", "0", "--cluster-yes"]
        # The password through the environment: a command line is readable by any local user.
        env = {**os.environ, "REDISCLI_AUTH": self.nodes[0].password}
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=self.start_timeout_s,
            check=False,
            env=env,
        )
        if result.returncode != 0:
            raise EmbeddedRedisError(f"redis-cli --cluster create failed:\n{result.stdout}")

    def _wait_ok(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while not all(self._cluster_info(node).get("cluster_state") == "ok" for node in self.nodes):
            if time.monotonic() > deadline:
                raise EmbeddedRedisError("the cluster did not reach cluster_state:ok")
            time.sleep(0.05)

    @staticmethod
    def _cluster_info(node: EmbeddedRedis) -> dict[str, str]:
        with (
            contextlib.suppress(redis.RedisError),
            probe(node.port, node.password) as client,
        ):
            info: dict[str, str] = client.execute_command("CLUSTER INFO")
            return info
        return {}
