"""The Ray executor on a real two-node cluster on 127.0.0.1 (tests/ray_cluster.py) with the
packaged SmolLM2: same units and quality as the local executor, a worker killed mid-unit
retried, a killed driver resumed, a unit that keeps failing reported with exit code 3."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.ray_cluster import Cluster, stop_node, two_node_cluster

pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.network]
pytest.importorskip("ray")

LIMIT = "4"  # samples per task: enough to compare, short on 2 shared cores
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    # Short paths: Ray's unix sockets live under the temp dir (108-byte limit).
    root = Path(tempfile.mkdtemp(prefix="lbray", dir="/tmp"))
    try:
        with two_node_cluster(root) as running:
            yield running
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _command(out: Path, *extra: str, suite: str = "smoke") -> list[str]:
    base = [sys.executable, "-m", "harness.cli", "run", suite, "--out", str(out), "--no-report"]
    return [*base, *extra]


def _ray(cluster: Cluster) -> list[str]:
    return ["--executor", "ray", "--address", cluster.address]


def _env(cluster: Cluster) -> dict[str, str]:
    return {**os.environ, **cluster.env, "HF_HUB_OFFLINE": "1"}


def _run(command: list[str], cluster: Cluster) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_env(cluster),
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]


def _assert_each_unit_once(out: Path, units: int) -> None:
    counted = Counter((r["variant_id"], r["task"]) for r in _records(out))
    assert len(counted) == units and set(counted.values()) == {1}, counted
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    samples = Counter((s["variant_id"], s["task"], s["sample_id"]) for s in rows)
    assert samples and set(samples.values()) == {1}
    assert {(v, t) for v, t, _ in samples} == set(counted)


def _wait_for(check: Any, what: str, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_smoke_on_ray_matches_local(cluster: Cluster, tmp_path: Path) -> None:
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    for out, extra in ((local, []), (on_ray, _ray(cluster))):
        done = _run(_command(out, "--limit", LIMIT, *extra), cluster)
        assert done.returncode == 0, done.stderr
        _assert_each_unit_once(out, 2)
    by_unit = {(r["variant_id"], r["task"]): r for r in _records(local)}
    for record in _records(on_ray):
        twin = by_unit[(record["variant_id"], record["task"])]
        assert set(record["quality"]) == set(twin["quality"])
        for metric, value in record["quality"].items():
            # One torch thread on a Ray worker, two here: float sums may differ in the last bits.
            assert value["value"] == pytest.approx(twin["quality"][metric]["value"], rel=1e-6)
            assert value["n"] == twin["quality"][metric]["n"] == int(LIMIT)
        assert record["env"]["cpu"] == twin["env"]["cpu"]
        assert record["env"]["torch_threads"] == 1  # Ray gives the worker its one declared CPU
    preds = {
        out.name: {
            (s["task"], s["sample_id"]): s["scores"].get("pred")
            for s in map(json.loads, (out / "samples.jsonl").read_text().splitlines())
        }
        for out in (local, on_ray)
    }
    assert preds["local"] == preds["ray"]


def _cluster_worker_running_a_unit(
    cluster: Cluster, nodes: slice = slice(None)
) -> psutil.Process | None:
    """A Ray worker process of this cluster inside VariantWorker.run (Ray sets its title)."""
    for node in cluster.processes[nodes]:
        for proc in psutil.Process(node.pid).children(recursive=True):
            try:
                if proc.cmdline()[:1] == ["ray::VariantWorker.run"]:
                    return proc
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    return None


def test_worker_killed_mid_unit_is_retried(cluster: Cluster, tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = _command(out, "--limit", LIMIT, *_ray(cluster), "--max-retries", "2")
    driver = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(cluster)
    )
    victim = _wait_for(lambda: _cluster_worker_running_a_unit(cluster), "a unit to start")
    victim.kill()
    output, _ = driver.communicate(timeout=RUN_TIMEOUT_S)
    assert driver.returncode == 0, output
    assert "retrying smollm2-135m · pang_lee_sentiment: worker died" in output
    _assert_each_unit_once(out, 2)


def test_driver_killed_then_resume_runs_only_missing_units(
    cluster: Cluster, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    command = _command(out, "--limit", LIMIT, *_ray(cluster))
    driver = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(cluster)
    )
    records = out / "records.jsonl"
    _wait_for(lambda: records.exists() and records.read_text().count("\n") >= 1, "one unit")
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert records.read_text().count("\n") == 1, "the kill should land mid-run"
    first = _records(out)[0]
    done = _run([*command, "--resume"], cluster)
    assert done.returncode == 0, done.stderr
    assert "1 already done" in done.stderr
    _assert_each_unit_once(out, 2)
    assert _records(out)[0] == first  # the finished unit was kept, not rerun


def test_unit_that_keeps_failing_is_reported_and_others_go_on(
    cluster: Cluster, tmp_path: Path, ppl_suite: Any
) -> None:
    suite = ppl_suite(
        [
            {"name": "ok", "source": "x", "backend": "mock"},
            # Resolved on the worker; offline, this hub id cannot load anywhere.
            {"name": "broken", "source": "no-such-org/no-such-model"},
        ]
    )
    out = tmp_path / "run"
    done = _run(_command(out, *_ray(cluster), "--max-retries", "1", suite=str(suite)), cluster)
    assert done.returncode == 3, done.stderr
    said = done.stdout + done.stderr
    assert "failed broken · ppl_0" in said and "loading failed" in said
    assert [r["variant_id"] for r in _records(out)] == ["ok"]


def test_resources_no_node_has_exit_2(cluster: Cluster, tmp_path: Path, ppl_suite: Any) -> None:
    suite = ppl_suite(
        [{"name": "m", "source": "x", "backend": "mock", "resources": {"num_gpus": 1}}]
    )
    done = _run(_command(tmp_path / "run", *_ray(cluster), suite=str(suite)), cluster)
    assert done.returncode == 2
    assert "models.0.resources" in done.stderr and "GPU=1" in done.stderr


def test_node_lost_mid_unit_moves_its_variant(tmp_path: Path, ppl_suite: Any) -> None:
    """A cluster of its own: the second node is killed (all its processes) while one of its
    workers runs a unit; that variant finishes on the head."""
    models = [{"name": f"m{i}", "source": "x", "backend": "mock"} for i in range(2)]
    suite = ppl_suite(models, {"mock_delay_s": [0.3]}, tasks=2)
    out = tmp_path / "run"
    root = Path(tempfile.mkdtemp(prefix="lbray", dir="/tmp"))
    try:
        with two_node_cluster(root) as own:
            command = _command(out, *_ray(own), suite=str(suite))
            driver = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(own)
            )
            _wait_for(lambda: _cluster_worker_running_a_unit(own, slice(1, 2)), "node 2 busy")
            stop_node(own.processes[1], graceful=False)
            output, _ = driver.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert driver.returncode == 0, output
    assert "worker died" in output
    _assert_each_unit_once(out, 4)
