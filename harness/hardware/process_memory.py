"""The process's own memory, measured per unit rather than per process lifetime.

Two things made a unit's peak RSS describe the process's history instead of the unit: the
kernel's peak (ru_maxrss / VmHWM) only ever grows, and memory a previous variant freed stays
resident in malloc's heap (a truncated model's dropped layers, a previous model's buffers).
`release_freed_memory` hands freed heap pages back to the OS (glibc's malloc_trim) and
`reset_peak` restarts the kernel's peak counter (Linux /proc/self/clear_refs, value 5), so
the peak read at the end of a window is that window's own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def release_freed_memory() -> bool:
    """Collect garbage and return freed heap pages to the OS; True where malloc_trim ran."""
    gc.collect()
    torch = sys.modules.get("torch")  # never import torch only to free its cache
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # musl and other libcs have no malloc_trim
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
    return True


def reset_peak() -> bool:
    """Restart the kernel's peak-RSS counter (VmHWM) at the current RSS; False where the
    kernel does not allow it (not Linux, or /proc not writable)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return peak_since_reset() is not None


def peak_since_reset() -> int | None:
    """VmHWM in bytes: the kernel's exact peak RSS since the last reset (or process start)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        return None
    return None
