"""What a record says about the machine and the model's size: the fingerprint taken before
any model loads, a hardware key that tells GPUs apart, the NVML device a model runs on, and
parameter and byte counts that see through packed 4-bit storage."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from harness.backends.mock import MockBackend
from harness.hardware.fingerprint import Fingerprint, fingerprint, hardware_key
from tests.conftest import make_fingerprint


class _TorchNotYetImported(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves a stand-in `torch` to the next `import torch`, as a fresh process would import
    the real one, and counts the imports."""

    def __init__(self) -> None:
        self.imports = 0

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        return importlib.util.spec_from_loader(name, self) if name == "torch" else None

    def create_module(self, spec: Any) -> Any:
        return None

    def exec_module(self, module: Any) -> None:
        self.imports += 1
        module.get_num_threads = lambda: 3
        module.cuda = SimpleNamespace(is_available=lambda: False)


def test_fingerprint_sees_torch_before_any_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest is written before torch is imported; it said torch_threads null. (That
    importing the fingerprint module does not import torch is checked with `--help`, in
    test_runner.py.)"""
    finder = _TorchNotYetImported()
    monkeypatch.delitem(sys.modules, "torch")  # restored, the real module, after the test
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    found = fingerprint()
    assert finder.imports == 1 and found.torch_threads == 3
    assert found.gpu == "no CUDA device visible"


def test_hardware_key_tells_gpus_apart_but_not_cards_of_one_model() -> None:
    def env(name: str, uuid: str) -> Fingerprint:
        return make_fingerprint(gpu=[{"name": name, "uuid": uuid, "memory_bytes": 1}])

    assert hardware_key(env("H100", "GPU-1")) == hardware_key(env("H100", "GPU-2"))
    assert hardware_key(env("H100", "GPU-1")) != hardware_key(env("A10", "GPU-1"))
    assert hardware_key(env("H100", "GPU-1")) != hardware_key(make_fingerprint(gpu="no CUDA"))


class FakeNVML:
    """pynvml's surface the energy profiler uses: NVML indexes GPUs in PCI order."""

    def __init__(self) -> None:
        self.by_uuid = {b"GPU-aaa": "pci0", b"GPU-bbb": "pci1"}
        self.energy_mj = {"pci0": 1_000_000, "pci1": 5_000_000}

    def nvmlInit(self) -> None: ...

    def nvmlDeviceGetHandleByUUID(self, uuid: bytes) -> str:
        return self.by_uuid[uuid]

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"pci{index}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        return self.energy_mj[handle]


def _fake_torch(uuids: list[str | None]) -> Any:
    props = [SimpleNamespace(uuid=u) for u in uuids]
    cuda = SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: len(uuids),
        get_device_properties=lambda i: props[i],
        current_device=lambda: 0,
    )
    return SimpleNamespace(cuda=cuda)


def _backend_on(index: int) -> Any:
    param = SimpleNamespace(device=SimpleNamespace(type="cuda", index=index))

    class OnGPU(MockBackend):
        @property
        def torch_model(self) -> Any:
            return SimpleNamespace(parameters=lambda: [param])

    return OnGPU("m")


def test_nvml_reads_only_the_models_gpu_matched_by_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's cuda:0 is NVML's pci1 here (CUDA orders fastest first); opening by index read
    the other GPU, and every visible GPU was summed."""
    from harness.profilers import energy

    fake = FakeNVML()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setitem(sys.modules, "torch", _fake_torch(["bbb", "aaa"]))
    counter = energy.nvml_reader(_backend_on(0))
    assert isinstance(counter, energy.Counter)
    assert counter.read() == [5000.0]  # pci1's counter only, in joules
    counter = energy.nvml_reader(_backend_on(1))
    assert isinstance(counter, energy.Counter) and counter.read() == [1000.0]


def test_nvml_maps_through_cuda_visible_devices_without_uuids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.profilers import energy

    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML())
    monkeypatch.setitem(sys.modules, "torch", _fake_torch([None, None]))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    counter = energy.nvml_reader(_backend_on(0))
    assert isinstance(counter, energy.Counter) and counter.read() == [5000.0]


def test_roofline_counts_packed_4bit_linears_and_head_dim() -> None:
    from harness.hardware.params import linear_weights
    from harness.hardware.shapes import (
        ModelShape,
        attention_flops,
        config_widths,
        config_windows,
    )

    class Packed(torch.nn.Parameter):
        quant_state: Any

    model = torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False))
    packed = Packed(torch.zeros(32 * 64 // 2, 1, dtype=torch.uint8), requires_grad=False)
    packed.quant_state = SimpleNamespace(shape=torch.Size([32, 64]))
    model[0].weight = packed
    assert linear_weights(model) == 32 * 64  # not the packed 1024
    gemma = SimpleNamespace(
        num_attention_heads=4,
        head_dim=256,
        hidden_size=640,
        num_hidden_layers=2,
        sliding_window=512,
        layer_types=["sliding_attention", "full_attention"],
    )
    width, kv_width = config_widths(gemma)
    assert width == kv_width == 1024  # no num_key_value_heads: as many as query heads
    shape = ModelShape(2, width, kv_width, 0, 0, config_windows(gemma), 4.0, "config")
    assert shape.windows == (512, None)
    # 1000 tokens: the sliding layer sees at most 512 keys, the full layer all of them
    sliding = 512 * 513 // 2 + (1000 - 512) * 512
    full = 1000 * 1001 // 2
    flops = attention_flops(shape, [1000], 8192)
    assert flops == 4 * 1024 * (sliding + full)
    # sum of n^2, not (sum n)^2 / R: two requests of 10 and 1000 tokens
    one = attention_flops(shape, [10], 8192)
    assert attention_flops(shape, [10, 1000], 8192) == one + flops


def test_bnb_4bit_quantized_bytes_count_every_weight() -> None:
    """apply_quant on a model whose Linear holds a packed 4-bit weight (as bitsandbytes'
    Linear4bit does): n_params and weight_bytes_quantized must not be halved."""
    from harness.backends.shared_transformers.quantize import apply_quant

    class Packed(torch.nn.Parameter):
        quant_state: Any

    class Tiny(torch.nn.Module):
        is_loaded_in_4bit = True

        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(64, 32, bias=False)
            self.lm_head = torch.nn.Linear(32, 10, bias=False)

        def get_output_embeddings(self) -> torch.nn.Module:
            return self.lm_head

    model = Tiny()
    packed = Packed(torch.zeros(32 * 64 // 2, 1, dtype=torch.uint8), requires_grad=False)
    packed.quant_state = SimpleNamespace(shape=torch.Size([32, 64]))
    model.proj.weight = packed
    details = apply_quant(SimpleNamespace(model=model), "bnb_nf4")
    # 2048 weights at 4 bits + the 320-weight head at 16 bits
    assert details.measure("weight_bytes_quantized") == pytest.approx((2048 * 4 + 320 * 16) / 8)
