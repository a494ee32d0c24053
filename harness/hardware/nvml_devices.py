"""Which NVML devices hold the model being measured.

NVML numbers GPUs in PCI bus order; CUDA (and so torch) numbers the visible ones fastest
first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, and CUDA_VISIBLE_DEVICES renumbers them again.
Opening NVML handles by torch's index can therefore read another GPU's counter. A device's
UUID is the same in both worlds, so handles are opened by UUID; where torch does not expose
it, CUDA_VISIBLE_DEVICES (indices or UUIDs) maps torch's index to NVML's.
"""

from __future__ import annotations

import os
from typing import Any


def model_cuda_indices(model: Any | None, device_name: str | None, torch: Any) -> list[int]:
    """torch indices of the CUDA devices a torch model has parameters on, else of the engine's
    device (an engine without a torch model, such as llama.cpp, names only its device)."""
    found: set[int] = set()
    if model is not None:
        for param in model.parameters():
            device = param.device
            if device.type == "cuda":
                found.add(device.index if device.index is not None else torch.cuda.current_device())
    if not found and device_name is not None:
        device = device_name
        if device.startswith("cuda"):
            index = device.partition(":")[2]
            found.add(int(index) if index.isdigit() else 0)
    return sorted(found)


def _torch_uuid(torch: Any, index: int) -> str | None:
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    if uuid is None:
        return None
    text = str(uuid)
    return text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}"


def _visible_entry(index: int) -> str | None:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return None
    entries = [e.strip() for e in visible.split(",") if e.strip()]
    return entries[index] if index < len(entries) else None


def nvml_handle(pynvml: Any, torch: Any, index: int) -> tuple[Any, str]:
    """The NVML handle of torch's CUDA device `index`, and how it was found."""
    uuid = _torch_uuid(torch, index)
    if uuid is not None:
        return pynvml.nvmlDeviceGetHandleByUUID(uuid.encode()), f"uuid {uuid}"
    entry = _visible_entry(index)
    if entry is not None and entry.isdigit():
        return pynvml.nvmlDeviceGetHandleByIndex(int(entry)), f"CUDA_VISIBLE_DEVICES -> {entry}"
    if entry is not None:
        return pynvml.nvmlDeviceGetHandleByUUID(entry.encode()), f"CUDA_VISIBLE_DEVICES {entry}"
    return pynvml.nvmlDeviceGetHandleByIndex(index), f"index {index} (no UUID to match)"
