"""Engine and library output goes to `<run>/engine.log`; the terminal keeps limitbench's lines.

The mechanics run in a child process (they move file descriptors 1 and 2); the real case is
llama.cpp's quantizer, which prints ~300 lines from C per level, inside `limitbench run`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import SMOLLM2_SOURCE, WriteYaml

CHILD = textwrap.dedent(
    """
    import logging, os, sys, warnings
    from pathlib import Path
    from harness.run.progress import progress_sink
    from harness.run.engine_log import TERMINAL, engine_output_to_log

    bound_early = logging.getLogger("engine")
    bound_early.addHandler(logging.StreamHandler(sys.stderr))  # as transformers does at import
    folder, verbose = Path(sys.argv[1]), sys.argv[2] == "verbose"
    with engine_output_to_log(folder, verbose) as log, progress_sink(1) as sink:
        os.write(2, b"from C on fd 2\\n")
        os.write(1, b"from C on fd 1\\n")
        print("python print to stdout")
        print("python print to stderr", file=sys.stderr)
        warnings.warn("a library's deprecation", FutureWarning)
        bound_early.warning("a library's log line")
        sink.begin("model · task", 3)
        sink.advance(3)
        sink.end()
        TERMINAL.write("limitbench's own line\\n")
    print("after: stdout is back")
    print("after: stderr is back", file=sys.stderr)
    """
)
ENGINE_LINES = [
    "from C on fd 2",
    "from C on fd 1",
    "python print to stdout",
    "python print to stderr",
    "a library's deprecation",
    "a library's log line",
]


def _child(folder: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_engine_output_goes_to_the_log_and_limitbench_lines_to_the_terminal(
    tmp_path: Path,
) -> None:
    done = _child(tmp_path, "quiet")
    log = (tmp_path / "engine.log").read_text()
    for line in ENGINE_LINES:
        assert line in log
        assert line not in done.stderr and line not in done.stdout
    terminal = done.stderr.splitlines()
    assert terminal[0].startswith("[unit 1/1] model · task: done in 0:00:00")
    assert terminal[1:] == ["limitbench's own line", "after: stderr is back"]
    assert done.stdout.splitlines() == ["after: stdout is back"]


def test_verbose_leaves_engine_output_on_the_terminal(tmp_path: Path) -> None:
    done = _child(tmp_path, "verbose")
    assert not (tmp_path / "engine.log").exists()
    both = done.stdout + done.stderr
    for line in ENGINE_LINES:
        assert line in both


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("verbose", [False, True])
def test_llama_cpp_quantizer_output_is_in_the_run_folder(
    verbose: bool, tmp_path: Path, write_yaml: WriteYaml
) -> None:
    pytest.importorskip("llama_cpp", reason="needs pip install 'limitbench[llamacpp]'")
    from harness.backends.llamacpp.ladder import ladder_dir, ladder_file
    from harness.core.paths import cache_dir
    from harness.suite.sources import pip_file

    source = pip_file(SMOLLM2_SOURCE)
    real = ladder_file(source, "f32", threads=2).path  # builds it once in the real cache
    # A cache of links to the real one but without the q8_0 level: the run must quantize.
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("pip", "sha256", "converted"):
        if (cache_dir() / name).exists():
            (cache / name).symlink_to(cache_dir() / name)
    env = {**os.environ, "LIMITBENCH_CACHE": str(cache)}
    levels = cache / ladder_dir(source).relative_to(cache_dir())
    levels.mkdir(parents=True)
    (levels / "f32.gguf").symlink_to(real)
    model: dict[str, object] = {"name": "q8", "source": SMOLLM2_SOURCE, "backend": "llamacpp"}
    model["variants"] = {"axes": {"quant": ["q8_0"]}}
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "quiet",
            "models": [model],
            "tasks": [{"name": "wiki_ppl", "n": 1}],
            "timing": {"min_repeats": 1},
        },
    )
    out = tmp_path / "run"
    command = [sys.executable, "-m", "harness.cli", "run", str(suite), "--out", str(out)]
    done = subprocess.run(
        [*command, "--no-report", *(["-v"] if verbose else [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert (levels / "q8_0.gguf").exists()
    assert json.loads((out / "records.jsonl").read_text())["knobs"]["quant"] == "q8_0"
    loader_lines = [ln for ln in done.stderr.splitlines() if "llama_model_loader" in ln]
    if verbose:
        assert len(loader_lines) > 20 and not (out / "engine.log").exists()
        return
    assert loader_lines == []
    assert len(done.stderr.splitlines()) <= 5, done.stderr
    log = (out / "engine.log").read_text()
    assert log.count("llama_model_loader") > 20 and "q8_0" in log
