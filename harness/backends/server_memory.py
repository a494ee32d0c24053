"""The memory of a server limitbench launched, over a measured window: its process tree's
peak RSS (the server and every child it spawned: vLLM runs its engine and workers as
children) and, where NVML can tell, the GPU memory those processes hold.

Both are polled on a thread. RSS is summed over the tree at each poll, so pages two
processes share count once per process (an upper bound; PSS would need /proc/*/smaps, too
slow to poll). NVML's per-process figures name host PIDs: in a container that hides them, or
where the driver withholds per-process usage, the reason is recorded instead of a number.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import psutil

POLL_S = 0.1


@dataclass(frozen=True)
class ServerMemory:
    peak_rss: int  # bytes: the largest summed RSS of the tree at one poll
    processes: int  # the most processes the tree had at one poll
    polls: int
    gpu_peak: int | None  # bytes: the largest NVML per-process sum at one poll
    gpu_why_not: str | None  # why there is no GPU figure


class _GpuProcesses:
    """NVML's used memory of given PIDs, summed over every GPU, or why it cannot say."""

    def __init__(self) -> None:
        self.pynvml: Any = None
        self.handles: list[Any] = []
        self.why_not: str | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
        except Exception as err:  # no library, no driver, no permission: all say why
            self.why_not = f"NVML is not available here ({type(err).__name__}: {err})"
            return
        if count == 0:
            self.why_not = "NVML sees no GPU"
            return
        try:
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception as err:  # a device NVML counts but cannot open (lost, no permission)
            self.why_not = f"NVML could not open a GPU ({type(err).__name__}: {err})"
            return
        self.pynvml = pynvml

    def used(self, pids: set[int]) -> int | None:
        """Bytes the PIDs hold on all GPUs; None when NVML lists none of them with a figure."""
        if self.pynvml is None:
            return None
        held: dict[tuple[int, int], int] = {}  # (device, pid): a process listed twice counts once
        for device, handle in enumerate(self.handles):
            for listing in (
                self.pynvml.nvmlDeviceGetComputeRunningProcesses,
                self.pynvml.nvmlDeviceGetGraphicsRunningProcesses,
            ):
                try:
                    processes = listing(handle)
                except Exception:  # a listing the driver does not offer for this device
                    continue
                for proc in processes:
                    used = getattr(proc, "usedGpuMemory", None)
                    if proc.pid in pids and used is not None:
                        held[(device, proc.pid)] = max(held.get((device, proc.pid), 0), int(used))
        return sum(held.values()) if held else None


class TreeMemoryWatch:
    """Polls a process tree's RSS (and GPU memory) from `start` to `stop`."""

    def __init__(self, pid: int, gpu: bool = True) -> None:
        self.root = psutil.Process(pid)
        self.gpu = _GpuProcesses() if gpu else None
        self.peak_rss = self.processes = self.polls = 0
        self.gpu_peak: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self.poll()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()

    def poll(self) -> None:
        tree = [self.root]
        try:
            tree += self.root.children(recursive=True)
        except psutil.Error:
            return  # the server is gone: the serving window reports the failed requests
        rss, pids = 0, set()
        for proc in tree:
            try:
                rss += proc.memory_info().rss
                pids.add(proc.pid)
            except psutil.Error:
                continue  # a child that exited between listing and reading
        self.peak_rss = max(self.peak_rss, rss)
        self.processes = max(self.processes, len(pids))
        self.polls += 1
        used = self.gpu.used(pids) if self.gpu is not None else None
        if used is not None:
            self.gpu_peak = max(self.gpu_peak or 0, used)

    def stop(self) -> ServerMemory:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()
        why = None
        if self.gpu is None:
            why = "not asked"
        elif self.gpu.why_not is not None:
            why = self.gpu.why_not
        elif self.gpu_peak is None:
            why = (
                "NVML lists no process of the server's tree on any GPU (a server on the CPU, "
                "or a container whose PIDs NVML does not see)"
            )
        return ServerMemory(self.peak_rss, self.processes, self.polls, self.gpu_peak, why)
