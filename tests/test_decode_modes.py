"""The transformers engine's decode modes: a static KV cache answers exactly as the dynamic
one (greedy), its cache shapes are prepared before the window and timed on their own, and
the mode is chosen per device unless the suite sets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends.hf.decode_modes import (
    WIDTH_BUCKET,
    bucketed_width,
    generate_kwargs,
    resolve_mode,
)
from harness.core.requests import Generate, RollingLogLikelihood
from tests.test_variants import _load

PROMPTS = ["the cat sat on", "a dog ran to the far end of the", "one two", "x"]


def _generate(folder: Path, **knobs: object) -> tuple[list[str], object]:
    loaded = _load(folder, batch_size=3, **knobs)
    reqs = [Generate(p, 12, ()) for p in PROMPTS]
    return [r.text for r in loaded.backend.generate(reqs)], loaded


def test_static_cache_answers_as_the_dynamic_one(tiny_model_dir: Path) -> None:
    dynamic, _ = _generate(tiny_model_dir, decode="dynamic")
    static, loaded = _generate(tiny_model_dir, decode="static")
    assert static == dynamic and any(dynamic)
    assert loaded.conventions()["decode"] == "static"  # type: ignore[attr-defined]


def test_static_shapes_are_prepared_before_the_window(tiny_model_dir: Path) -> None:
    loaded = _load(tiny_model_dir, batch_size=3, decode="static")
    reqs = [Generate(p, 12, ()) for p in PROMPTS]
    seconds = loaded.backend.prepare_generation(reqs)
    assert seconds is not None and seconds > 0
    assert _load(tiny_model_dir, decode="dynamic").backend.prepare_generation(reqs) is None


def test_the_mode_is_chosen_per_device_unless_set() -> None:
    assert resolve_mode(None, "cpu") == "dynamic"  # measured fastest on CPU (README)
    assert resolve_mode(None, "cuda") == "compiled"  # transformers' static-cache path
    assert resolve_mode("static", "cuda") == "static"
    assert generate_kwargs("dynamic", "cpu") == {}
    assert generate_kwargs("static", "cpu")["disable_compile"] is True
    compiled = generate_kwargs("compiled", "cuda")
    assert compiled["compile_config"].mode == "reduce-overhead"
    assert bucketed_width(65, "static") == 2 * WIDTH_BUCKET and bucketed_width(65, "dynamic") == 65


def test_an_unknown_mode_is_refused_at_plan_time() -> None:
    from harness.backends.options import check_variants
    from harness.core.errors import UserError
    from harness.suite.schema import ModelConfig
    from harness.variants import Variant

    model = ModelConfig(name="m", source="x")
    with pytest.raises(UserError, match=r"knob 'decode' = 'fast'"):
        check_variants([Variant(model, (("decode", "fast"),))], "s.yaml")


def test_batch_size_auto_probes_and_records_its_choice(tiny_model_dir: Path) -> None:
    loaded = _load(tiny_model_dir, batch_size="auto")
    backend = loaded.backend
    chosen = loaded.perf_values()
    assert chosen["batch_size_chosen"].value == backend.batch_size >= 1
    assert chosen["batch_tokens_chosen"].value == backend.batch_tokens
    assert "within 5% of the best probe speed" in loaded.conventions()["batch_size_auto"]
    # it scores as a fixed batch does
    fixed = _load(tiny_model_dir, batch_size=2).backend
    texts = [RollingLogLikelihood(t) for t in PROMPTS]
    assert [r.logprob for r in backend.loglikelihood_rolling(texts)] == pytest.approx(
        [r.logprob for r in fixed.loglikelihood_rolling(texts)], abs=1e-4
    )
