"""A served load level's minimums: the task's generation requests cycled in order until the
level has answered `min_requests` and run `min_duration_s`, the first answers scored, every
answer counted in the window (mock engine; the real server is in test_serving_llamacpp)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from harness.backends.base import Progress, ServedWindow
from harness.backends.mock import MockBackend
from harness.core.requests import Generate, GenerateResponse, LogLikelihood, Request
from harness.core.values import Value
from harness.run.level import cycled, serve_level
from harness.run.measure import measure
from harness.suite.schema import LoadLevelConfig, SuiteConfig


class _Window(ServedWindow):
    def open(self) -> dict[str, str]:
        return {}

    def close(self) -> tuple[dict[str, Value], dict[str, str]]:
        return {}, {}

    def token_counts(
        self, streamed: Sequence[GenerateResponse]
    ) -> tuple[dict[str, Value], str | None]:
        return {}, None


class ServedMock(MockBackend):
    """The mock engine as if it streamed to a server: it records every prompt it was sent,
    streams each answer (ttft and gaps), and takes `delay_s` per call."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__("served-mock")
        self.sent: list[str] = []
        self.call_delay_s = delay_s
        self.window = _Window()

    def served_window(self) -> ServedWindow:
        return self.window

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        time.sleep(self.call_delay_s)
        self.sent += [r.prompt for r in reqs]
        answers = super().generate(reqs, progress)
        return [
            GenerateResponse(
                text=a.text, n_in=a.n_in, n_out=a.n_out, ttft_s=0.01, latency_s=0.02,
                itl_s=(0.01,), sent_at_s=0.0,
            )
            for a in answers
        ]  # fmt: skip


PROMPTS = ["alpha", "bravo", "charlie"]


def test_cycled_continues_the_order_from_any_position() -> None:
    reqs = [Generate(p, 2) for p in PROMPTS]
    assert [r.prompt for r in cycled(reqs, 2, 5)] == [
        "charlie", "alpha", "bravo", "charlie", "alpha"
    ]  # fmt: skip


def test_a_level_issues_at_least_min_requests_in_one_call() -> None:
    backend = ServedMock()
    ticks: list[int] = []
    got = serve_level(
        backend,
        [Generate(p, 2) for p in PROMPTS],
        LoadLevelConfig(min_requests=10, min_duration_s=0),
        ticks.append,
    )
    assert len(got) == 10 and backend.sent == (PROMPTS * 4)[:10]
    assert [r.text for r in got[:3]] == PROMPTS  # the mock echoes the prompt's tail
    assert sum(ticks) == 3  # progress counts the task's samples, not the repeats


def test_a_level_keeps_going_until_its_minimum_duration() -> None:
    backend = ServedMock(delay_s=0.05)
    started = time.perf_counter()
    got = serve_level(
        backend,
        [Generate(p, 2) for p in PROMPTS],
        LoadLevelConfig(min_requests=1, min_duration_s=0.3),
    )
    assert time.perf_counter() - started >= 0.3
    assert len(got) > 3 and backend.sent == (PROMPTS * len(got))[: len(got)]


def _per_sample() -> list[list[Request]]:
    rows: list[list[Request]] = [[Generate(p, 2)] for p in PROMPTS]
    return [*rows, [LogLikelihood("a b", " c")]]


def test_measure_scores_the_first_answers_and_counts_every_one() -> None:
    backend = ServedMock()
    level = LoadLevelConfig(min_requests=12, min_duration_s=0)
    measured = measure(backend, _per_sample(), ["timing"], None, None, level)
    assert [len(row) for row in measured.responses] == [1, 1, 1, 1]
    scored = [r for row in measured.responses[:3] for r in row]
    assert [r.text for r in scored if isinstance(r, GenerateResponse)] == PROMPTS
    assert len(measured.window_responses) == 12 + 1  # the cycled generations + the scoring
    assert measured.perf["requests_per_s"].n == 13
    # one request per sample: the 9 repeated generations answered 9 more samples
    assert measured.perf["samples_per_s"].n == 4 + 9
    # the warm-up request went first, outside the window; the window cycled 12
    assert backend.sent[1:] == (PROMPTS * 4)[:12]


def test_an_engine_that_serves_nothing_runs_each_request_once() -> None:
    backend = MockBackend("plain")
    level = LoadLevelConfig(min_requests=50, min_duration_s=0)
    measured = measure(backend, _per_sample(), ["timing"], None, None, level)
    assert len(measured.window_responses) == 4
    assert measured.perf["requests_per_s"].n == 4


def test_minimums_default_to_a_meaningful_p99_and_validate() -> None:
    default = LoadLevelConfig()
    assert (default.min_requests, default.min_duration_s) == (100, 60.0)
    base = {"name": "s", "models": [{"name": "m", "source": "x"}], "tasks": ["t"]}
    suite = SuiteConfig.model_validate({**base, "load_level": {"min_requests": 24}})
    assert suite.load_level.min_requests == 24 and suite.load_level.min_duration_s == 60.0
    with pytest.raises(ValueError, match="min_requests"):
        SuiteConfig.model_validate({**base, "load_level": {"min_requests": 0}})
    with pytest.raises(ValueError, match="min_request"):
        SuiteConfig.model_validate({**base, "load_level": {"min_request": 5}})
