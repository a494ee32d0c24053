"""Mechanics of the openai backend against a tiny fake server (tests/fake_openai_server.py):
Poisson seeding, load bounds, retry counting, percentile/SLO/goodput math, launcher and
error messages. The truth tests against a real model server are in test_serving_llamacpp.py."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.backends.openai import http as net
from harness.backends.openai.backend import OpenAIBackend
from harness.backends.openai.factory import load_openai
from harness.backends.openai.options import OpenAIOptions
from harness.core.errors import UserError
from harness.core.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    RollingLogLikelihood,
)
from harness.metrics import mean_metric
from harness.profilers.serving import request_stats, tpot_s
from harness.profilers.slo import meets, slo_values
from harness.suite.schema import ModelConfig, ServerConfig, SLOConfig

FAKE = str(Path(__file__).with_name("fake_openai_server.py"))


def fake_model(*flags: str, **server: Any) -> ModelConfig:
    command = ["{python}", FAKE, "--port", "{port}", *flags]
    return ModelConfig(
        name="fake",
        source="fake-model",
        backend="openai",
        server=ServerConfig(model="fake", command=command, startup_timeout_s=20, **server),
    )


@pytest.fixture()
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(net, "BACKOFF_BASE_S", 0.01)


@pytest.fixture()
def launched(request: pytest.FixtureRequest) -> Iterator[OpenAIBackend]:
    flags, knobs = getattr(request, "param", ((), {}))
    backend = load_openai(fake_model(*flags), OpenAIOptions.model_validate(knobs), Path("."))
    assert isinstance(backend, OpenAIBackend)
    yield backend
    backend.close()
    assert backend.launched is not None and backend.launched.process.poll() is not None


def test_poisson_arrivals_are_seeded_and_have_the_requested_rate() -> None:
    a, b = net.arrival_offsets(2000, 5.0, seed=7), net.arrival_offsets(2000, 5.0, seed=7)
    assert a == b
    assert a != net.arrival_offsets(2000, 5.0, seed=8)
    assert all(np.diff(a) > 0)
    mean_gap = a[-1] / len(a)
    assert mean_gap == pytest.approx(0.2, rel=0.1)


def test_closed_loop_never_exceeds_its_concurrency() -> None:
    in_flight, peak = 0, 0

    def job() -> Any:
        async def run(started: float) -> float:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return started

        return run

    done: list[int] = []
    out = asyncio.run(net.run_load([job() for _ in range(12)], 3, None, 0, lambda: done.append(1)))
    assert peak == 3 and len(out) == 12 and len(done) == 12


def test_open_loop_releases_requests_at_their_arrival_times() -> None:
    async def run(started: float) -> float:
        return started

    starts = asyncio.run(net.run_load([run] * 6, None, 20.0, 3))
    offsets = net.arrival_offsets(6, 20.0, 3)
    gaps = np.diff(starts)
    assert gaps == pytest.approx(np.diff(offsets), abs=0.03)


def _response(ttft: float, e2e: float, n_out: int, error: str | None = None) -> GenerateResponse:
    return GenerateResponse(
        text="x", n_in=5, n_out=n_out, ttft_s=ttft, latency_s=e2e, itl_s=(0.01,), error=error
    )


def test_percentiles_tpot_and_rates_follow_their_definitions() -> None:
    rows = [_response(0.1 * i, 0.1 * i + 0.9, 10) for i in range(1, 11)]
    rows.append(_response(0.1, 0.2, 1, error="HTTP 503 after 3 retries"))
    stats = request_stats(rows, wall_s=2.0)
    ttfts = [0.1 * i for i in range(1, 11)]
    assert stats["ttft_p50"].value == pytest.approx(float(np.percentile(ttfts, 50)))
    assert stats["ttft_p99"].value == pytest.approx(float(np.percentile(ttfts, 99)))
    assert stats["tpot_p50"].value == pytest.approx(0.1)  # (e2e - ttft) / (10 - 1)
    assert stats["achieved_requests_per_s"].value == pytest.approx(5.0)  # 10 ok / 2 s
    assert stats["achieved_output_tokens_per_s"].value == pytest.approx(50.0)
    assert stats["request_errors"].value == 1
    assert tpot_s(_response(0.1, 0.5, 1)) is None


def test_slo_goodput_and_accuracy_under_slo() -> None:
    slo = SLOConfig(ttft_ms=250, tpot_ms=50, e2e_ms=1000)
    assert meets(slo, _response(0.2, 0.6, 9))  # TPOT 50 ms exactly
    assert not meets(slo, _response(0.3, 0.6, 9))  # TTFT over
    assert not meets(slo, _response(0.2, 0.7, 9))  # TPOT 62.5 ms
    assert meets(slo, _response(0.2, 0.3, 1))  # one token: no TPOT bound
    assert not meets(slo, _response(0.1, 0.2, 3, error="HTTP 503"))
    responses = [[_response(0.2, 0.6, 9)], [_response(0.3, 0.6, 9)], [_response(0.1, 0.5, 9)]]
    scores = [{"exact_match": 1.0}, {"exact_match": 1.0}, {"exact_match": 0.0}]
    metric = mean_metric("exact_match", "fraction", True)
    got = slo_values(slo, responses, scores, [metric], wall_s=2.0, seed=1)
    assert got.perf["slo_attainment"].value == pytest.approx(2 / 3)
    assert got.perf["goodput"].value == pytest.approx(1.0)  # 2 met / 2 s
    assert got.perf["slo_met"].value == 0.0  # 0.67 < attainment 0.9
    under = got.quality["exact_match_under_slo"]
    assert under.value == pytest.approx(1 / 3) and under.ci_low is not None
    assert slo_values(None, responses, scores, [metric], 2.0, 1).unavailable


@pytest.mark.e2e
@pytest.mark.parametrize("launched", [(("--delay-s", "0.02"), {"concurrency": 2})], indirect=True)
def test_streams_are_timed_per_token(launched: OpenAIBackend) -> None:
    out = launched.generate([Generate("hello world", 4), Generate("abcdef", 3)])
    assert [r.text for r in out] == ["orld", "def"]
    first = out[0]
    assert first.n_out == 4 and first.itl_s is not None and len(first.itl_s) == 3
    assert first.ttft_s is not None and first.latency_s is not None
    assert first.ttft_s >= 0.015 and all(gap >= 0.015 for gap in first.itl_s)
    assert first.latency_s >= first.ttft_s + sum(first.itl_s) - 1e-6


@pytest.mark.e2e
@pytest.mark.parametrize("launched", [((), {})], indirect=True)
def test_loglikelihoods_come_from_echoed_prompt_logprobs(launched: OpenAIBackend) -> None:
    (ll,) = launched.loglikelihood([LogLikelihood("ab", "cde")])
    assert ll.logprob == pytest.approx(-3.0) and ll.n_tokens == 3 and ll.is_greedy
    (rolling,) = launched.loglikelihood_rolling([RollingLogLikelihood("abcd")])
    assert rolling.logprob == pytest.approx(-3.0) and rolling.n_tokens == 3  # first unscored


@pytest.mark.e2e
@pytest.mark.parametrize("launched", [(("--fail-first", "2"), {})], indirect=True)
def test_retries_on_503_are_counted(launched: OpenAIBackend, quick_backoff: None) -> None:
    (out,) = launched.generate([Generate("xyz", 2)])
    assert out.text == "yz" and out.retries == 2 and out.error is None


@pytest.mark.e2e
@pytest.mark.parametrize("launched", [(("--fail-first", "9"), {})], indirect=True)
def test_exhausted_retries_become_a_counted_error(
    launched: OpenAIBackend, quick_backoff: None
) -> None:
    (out,) = launched.generate([Generate("xyz", 2)])
    assert out.error is not None and "503" in out.error and out.retries == 3 and out.text == ""
    assert request_stats([out], 1.0)["request_errors"].value == 1


@pytest.mark.e2e
@pytest.mark.parametrize("launched", [(("--no-logprobs",), {})], indirect=True)
def test_a_server_without_prompt_logprobs_gets_one_clear_error(launched: OpenAIBackend) -> None:
    with pytest.raises(UserError, match=r"refused a loglikelihood request.*echo"):
        launched.loglikelihood([LogLikelihood("a", "b")])


@pytest.mark.e2e
def test_wrong_model_name_suggests_the_served_one() -> None:
    cfg = fake_model("--model", "smollm2")
    assert cfg.server is not None
    cfg = cfg.model_copy(update={"server": cfg.server.model_copy(update={"model": "smolm2"})})
    with pytest.raises(UserError, match=r"does not serve 'smolm2' \(did you mean 'smollm2'"):
        load_openai(cfg, OpenAIOptions(), Path("."))


def test_missing_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LB_TEST_KEY", raising=False)
    with pytest.raises(UserError, match="'LB_TEST_KEY', which is not set"):
        load_openai(fake_model(api_key_env="LB_TEST_KEY"), OpenAIOptions(), Path("."))


@pytest.mark.e2e
def test_wrong_key_is_refused_without_showing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LB_TEST_KEY", "s3cret-wrong")
    with pytest.raises(UserError, match="refused the API key") as err:
        model = fake_model("--api-key", "right", api_key_env="LB_TEST_KEY")
        load_openai(model, OpenAIOptions(), Path("."))
    assert "s3cret" not in str(err.value)


def test_nothing_listening_at_the_url() -> None:
    from harness.backends.server_launch import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    cfg = ModelConfig(
        name="x", source="x", backend="openai", server=ServerConfig(url=url, model="m")
    )
    with pytest.raises(UserError, match=f"no OpenAI-compatible server answers at {url}"):
        load_openai(cfg, OpenAIOptions(), Path("."))


@pytest.mark.e2e
def test_a_server_that_dies_at_start_shows_its_output() -> None:
    with pytest.raises(UserError, match=r"(?s)exited with code 1.*refusing to start"):
        load_openai(fake_model("--exit-at-once"), OpenAIOptions(), Path("."))


def test_the_serving_profiler_says_why_it_cannot_measure_in_process_models() -> None:
    from harness.backends.mock import MockBackend
    from harness.profilers import PROFILERS

    assert PROFILERS.get("serving")(MockBackend("m")).available() is not None
    assert sys.executable  # the launcher's {python}
