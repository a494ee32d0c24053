"""A launched server's memory: the process tree's summed RSS (children included, as vLLM's
workers are) and NVML's per-process GPU memory, with the reason where NVML cannot tell.
NVML is faked here (no GPU on the test machine); the real server is in
test_serving_level_llamacpp."""

from __future__ import annotations

import subprocess
import sys
import time
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import psutil
import pytest

from harness.backends.openai.window import memory_values
from harness.backends.server_memory import ServerMemory, TreeMemoryWatch

# A parent holding 30 MB that starts a child holding 60 MB, both sleeping.
CHILD = "import time; b = bytearray(60_000_000); time.sleep(30)"
PARENT = (
    "import subprocess, sys, time; b = bytearray(30_000_000); "
    f"subprocess.Popen([sys.executable, '-c', {CHILD!r}]); time.sleep(30)"
)


@pytest.fixture
def tree() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", PARENT])
    deadline = time.monotonic() + 20
    while len(psutil.Process(proc.pid).children()) < 1 or _rss(proc.pid) < 90e6:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield proc
    for child in psutil.Process(proc.pid).children(recursive=True):
        child.kill()
    proc.kill()
    proc.wait()


def _rss(pid: int) -> int:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


@dataclass
class _Proc:
    pid: int
    usedGpuMemory: int | None  # NVML's field name


def _fake_nvml(listed: Mapping[int, int | None]) -> types.ModuleType:
    """An NVML with one GPU whose compute processes are `listed` (pid -> bytes or None)."""
    fake = types.ModuleType("pynvml")
    fake.nvmlInit = lambda: None  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 1  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = lambda i: f"gpu{i}"  # type: ignore[attr-defined]
    compute = [_Proc(pid, used) for pid, used in listed.items()]
    fake.nvmlDeviceGetComputeRunningProcesses = lambda h: compute  # type: ignore[attr-defined]
    fake.nvmlDeviceGetGraphicsRunningProcesses = lambda h: compute[:1]  # type: ignore[attr-defined]
    return fake


def test_the_tree_peak_counts_the_children(
    tree: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails: NVML not available
    watch = TreeMemoryWatch(tree.pid)
    watch.start()
    time.sleep(0.3)
    got = watch.stop()
    assert got.processes == 2 and got.polls >= 2
    assert got.peak_rss >= 90e6  # 30 MB + 60 MB held, plus two interpreters
    assert got.peak_rss >= psutil.Process(tree.pid).memory_info().rss + 60e6
    assert got.gpu_peak is None and got.gpu_why_not is not None
    assert got.gpu_why_not.startswith("NVML is not available here")


def test_gpu_memory_sums_the_trees_processes_once_each(
    tree: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    child = psutil.Process(tree.pid).children()[0].pid
    listed = {tree.pid: 2 << 30, child: 1 << 30, 999_999_999: 5 << 30}  # the last: not ours
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml(listed))
    watch = TreeMemoryWatch(tree.pid)
    watch.start()
    got = watch.stop()
    # listed twice (compute and graphics) still counts once; another process not at all
    assert got.gpu_peak == 3 << 30 and got.gpu_why_not is None
    values, why = memory_values(got)
    assert values["server_gpu_peak_memory"].value == 3 << 30 and not why
    assert values["server_peak_rss"].unit == "B"


def test_no_process_of_the_tree_on_a_gpu_is_a_reason_not_zero(
    tree: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _fake_nvml({999_999_999: 1 << 30}))
    watch = TreeMemoryWatch(tree.pid)
    watch.start()
    got = watch.stop()
    assert got.gpu_peak is None and "lists no process of the server's tree" in (
        got.gpu_why_not or ""
    )
    values, why = memory_values(got)
    assert "server_gpu_peak_memory" not in values
    assert why == {"server_gpu_memory": got.gpu_why_not}


def test_memory_values_state_the_tree() -> None:
    values, _ = memory_values(ServerMemory(300_000_000, 3, 12, None, "NVML sees no GPU"))
    rss = values["server_peak_rss"]
    assert (rss.value, rss.n) == (300_000_000, 12)
    assert "3 processes" in (rss.note or "")
