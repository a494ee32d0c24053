"""Variant transforms on a tiny random-init model: parameters and bytes change as they
should, and the model still answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.backends.options import check_variants
from harness.backends.shared_transformers.quantize import quantizable_linears
from harness.core.errors import UserError
from harness.core.requests import Generate, RollingLogLikelihood
from harness.run.load import load_variant
from harness.suite.schema import ModelConfig, SuiteConfig
from harness.variants import Variant, expand_variants
from tests.conftest import CORPUS


def _load(folder: Path, **knobs: Any) -> Any:
    model = ModelConfig(name="tiny", source=str(folder))
    return load_variant(Variant(model, tuple(sorted(knobs.items()))), folder)


def _linear_numel(model: Any) -> int:
    return sum(m.weight.numel() for _, m in quantizable_linears(model))


def _ppl_logprob(loaded: Any) -> float:
    (response,) = loaded.backend.loglikelihood_rolling([RollingLogLikelihood(CORPUS[2])])
    return float(response.logprob)


@pytest.mark.e2e
@pytest.mark.parametrize(("kind", "bits"), [("q8_0", 8.5), ("q5_0", 5.5), ("q4_0", 4.5)])
def test_gguf_round_trip_quantizes_linears_only(
    tiny_model_dir: Path, kind: str, bits: float
) -> None:
    base = _load(tiny_model_dir)
    quant = _load(tiny_model_dir, quant=kind)
    head_before = base.backend.model.get_output_embeddings().weight
    head_after = quant.backend.model.get_output_embeddings().weight
    assert torch.equal(head_before, head_after)
    changed = [
        not torch.equal(a.weight, b.weight)
        for (_, a), (_, b) in zip(
            quantizable_linears(base.backend.model),
            quantizable_linears(quant.backend.model),
            strict=True,
        )
    ]
    assert all(changed)
    assert quant.facts.measure("bits_per_weight") == pytest.approx(bits)
    total = base.backend.info.n_params
    linears = _linear_numel(base.backend.model)
    expected = (linears * bits + (total - linears) * 32) / 8
    assert quant.facts.measure("weight_bytes_quantized") == pytest.approx(expected)
    assert quant.perf_values()["weight_bytes_quantized"].unit == "B"


@pytest.mark.e2e
def test_lower_bits_move_logprobs_more(tiny_model_dir: Path) -> None:
    base = _ppl_logprob(_load(tiny_model_dir))
    q8 = _ppl_logprob(_load(tiny_model_dir, quant="q8_0"))
    q4 = _ppl_logprob(_load(tiny_model_dir, quant="q4_0"))
    assert abs(q8 - base) < abs(q4 - base)


@pytest.mark.e2e
def test_torch_int8_dynamic_shrinks_weights_and_runs(tiny_model_dir: Path) -> None:
    base = _load(tiny_model_dir)
    int8 = _load(tiny_model_dir, quant="int8_dynamic")
    linears = _linear_numel(base.backend.model)
    saved = base.backend.info.weight_bytes - int8.backend.info.weight_bytes
    assert saved == 3 * linears  # 4 bytes -> 1 byte per quantized weight
    assert int8.facts.measure("bits_per_weight") == 8.0
    out = int8.backend.generate([Generate(CORPUS[0], 3)])
    assert out[0].n_out is not None and out[0].n_out > 0


def test_magnitude_pruning_zeroes_smallest_weights(tiny_model_dir: Path) -> None:
    base = _load(tiny_model_dir)
    pruned = _load(tiny_model_dir, sparsity=0.5)
    model = pruned.backend.model
    for _, module in quantizable_linears(model):
        zero = (module.weight == 0).float().mean().item()
        assert zero == pytest.approx(0.5, abs=0.01)
    head = model.get_output_embeddings().weight
    assert (head == 0).float().mean().item() < 0.01
    zeroed = sum(int((m.weight == 0).sum()) for _, m in quantizable_linears(model))
    assert pruned.n_params == base.backend.info.n_params - zeroed
    assert pruned.perf_values()["n_params_effective"].value == pruned.n_params


def test_layer_truncation_and_middle_drop(tiny_model_dir: Path) -> None:
    base = _load(tiny_model_dir)
    per_layer = sum(p.numel() for p in base.backend.model.model.layers[0].parameters())
    one = _load(tiny_model_dir, layers=1)
    assert one.backend.model.config.num_hidden_layers == 1
    assert one.n_params == base.backend.info.n_params - 3 * per_layer
    dropped = _load(tiny_model_dir, drop_middle=2)
    layers = dropped.backend.model.model.layers
    assert len(layers) == 2 and [layer.self_attn.layer_idx for layer in layers] == [0, 1]
    assert layers[1] is not None and dropped.facts.measure("layers_original") == 4
    for loaded in (one, dropped):  # generation uses the KV cache, indexed by layer
        assert loaded.backend.generate([Generate(CORPUS[1], 4)])[0].n_out
        assert _ppl_logprob(loaded) < 0


def test_bad_knob_values_are_clear_errors(tiny_model_dir: Path) -> None:
    with pytest.raises(UserError, match="the model has 4 decoder layers"):
        _load(tiny_model_dir, layers=9)
    with pytest.raises(UserError, match="needs a CUDA device and the bitsandbytes package"):
        _load(tiny_model_dir, quant="bnb_nf4")


def test_expand_with_include_and_exclude() -> None:
    suite = SuiteConfig.model_validate(
        {
            "name": "s",
            "tasks": ["t"],
            "models": [{"name": "m", "source": "x", "backend": "mock"}],
            "variants": {
                "axes": {"dtype": ["float32", "bfloat16"], "batch_size": [1, 8]},
                "exclude": [{"dtype": "bfloat16", "batch_size": 1}],
                "include": [{"dtype": "float16", "batch_size": 8}],
            },
        }
    )
    ids = [v.id for v in expand_variants(suite, "s.yaml")]
    assert ids == [
        "m@batch_size=1,dtype=float32",
        "m@batch_size=8,dtype=float32",
        "m@batch_size=8,dtype=bfloat16",
        "m@batch_size=8,dtype=float16",
    ]
    bad = suite.model_copy(
        update={
            "models": [suite.models[0].model_copy(update={"backend": "hf"})],
            "variants": suite.variants.model_copy(
                update={"axes": {"quant": ["q3_0"]}, "include": [], "exclude": []}
            ),
        }
    )
    with pytest.raises(UserError, match="knob 'quant' = 'q3_0': not a level of the hf backend"):
        check_variants(expand_variants(bad, "s.yaml"), "s.yaml")
