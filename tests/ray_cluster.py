"""A real two-node Ray cluster on 127.0.0.1 for the executor tests: a head and a second
node, each its own `ray start --block` process group with one CPU, a small object store and
its own temp dir, torn down by process-group id (never `ray stop`, which would hit every
Ray process on the machine)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

OBJECT_STORE_BYTES = 100 * 2**20
START_TIMEOUT_S = 90


@dataclass(frozen=True)
class Cluster:
    address: str
    processes: tuple[subprocess.Popen[bytes], ...]
    env: dict[str, str]  # what a driver needs to join: this cluster's own auth token


def cluster_env() -> dict[str, str]:
    """A fresh token per cluster, so Ray's token auth never reads a stale ~/.ray/auth_token
    left by another cluster on this machine."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ray_start(
    args: list[str], name: str, log_dir: Path, auth: dict[str, str]
) -> subprocess.Popen[bytes]:
    ray = str(Path(sys.executable).with_name("ray"))
    temp = tempfile.mkdtemp(prefix=f"lb-{name}-", dir=log_dir)
    command = [ray, "start", "--block", "--disable-usage-stats"]
    command += ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--temp-dir", temp]
    command += ["--object-store-memory", str(OBJECT_STORE_BYTES), *args]
    log = (log_dir / f"{name}.log").open("wb")
    env = {**os.environ, **auth, "HF_HUB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen(command, stdout=log, stderr=log, env=env, start_new_session=True)


def _alive_nodes(address: str, auth: dict[str, str]) -> int:
    code = (
        f"import ray, json; ray.init(address={address!r}, logging_level='ERROR');"
        "print(json.dumps(sum(1 for n in ray.nodes() if n['Alive'])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **auth},
    )
    lines = done.stdout.strip().splitlines()
    return int(json.loads(lines[-1])) if done.returncode == 0 and lines else 0


def stop_node(proc: subprocess.Popen[bytes], graceful: bool = True) -> None:
    """SIGTERM the node's process group, then SIGKILL whatever of it is left (its workers
    included: they run in process groups of their own). Not graceful: SIGKILL at once, as
    when a machine is lost."""
    try:
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        family = [proc.pid]
    if graceful:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    for pid in family:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@contextmanager
def two_node_cluster(log_dir: Path) -> Iterator[Cluster]:
    port = free_port()
    address = f"127.0.0.1:{port}"
    head_args = ["--head", "--port", str(port), "--include-dashboard=false"]
    auth = cluster_env()
    head = _ray_start([*head_args, "--resources", '{"head": 1}'], "head", log_dir, auth)
    procs = [head]
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while _alive_nodes(address, auth) < 1:
            if time.monotonic() > deadline or head.poll() is not None:
                raise RuntimeError(f"ray head did not start; see {log_dir / 'head.log'}")
            time.sleep(1)
        second = ["--address", address, "--resources", '{"second": 1}']
        procs.append(_ray_start(second, "second", log_dir, auth))
        while _alive_nodes(address, auth) < 2:
            if time.monotonic() > deadline or procs[1].poll() is not None:
                raise RuntimeError(f"second ray node did not join; see {log_dir / 'second.log'}")
            time.sleep(1)
        yield Cluster(address, tuple(procs), auth)
    finally:
        for proc in reversed(procs):
            stop_node(proc)
