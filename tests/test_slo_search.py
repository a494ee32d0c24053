"""The SLO search, the steady-state window and the server's own counters: the search logic
on synthetic levels, then a whole search through the runner and the report against the
fake server, which decodes at most `--capacity` requests at once (the rest wait, so their
first token is late). The real server's search: tests/test_serving_vllm.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.core.errors import UserError
from harness.core.requests import GenerateResponse
from harness.profilers.steady import steady_values
from harness.run.slo_search import SearchLevel, read_outcomes, search_levels
from harness.store.records import RunStore
from harness.suite.schema import SLOSearchConfig
from tests.conftest import WriteYaml, run_cli
from tests.test_serving_mechanics import FAKE
from tests.test_serving_runner import write_echo_task


def _threshold(limit: float, rates: dict[float, float] | None = None) -> Any:
    """An evaluate() whose levels pass up to `limit`; records the levels it was asked."""
    asked: list[float] = []

    def evaluate(level: float, phase: str) -> SearchLevel:
        asked.append(level)
        steady = (rates or {}).get(level, 10.0 * level)
        return SearchLevel(
            level=level,
            passed=level <= limit,
            attainment=1.0 if level <= limit else 0.5,
            ci_low=None,
            ci_high=None,
            steady_output_tokens_per_s=steady,
            phase=phase,
        )

    evaluate.asked = asked  # type: ignore[attr-defined]
    return evaluate


def test_search_grows_then_bisects_to_the_highest_passing_level() -> None:
    evaluate = _threshold(5)
    levels, best, stopped = search_levels(SLOSearchConfig(start=1, max=64), evaluate)
    assert evaluate.asked == [1, 2, 4, 8, 6, 5]
    assert best == 5 and [lv.phase for lv in levels] == ["grow"] * 4 + ["bisect"] * 2
    assert "level 8 missed the SLO" in stopped and "bisected to 5 (next failing level 6)" in stopped


def test_search_stops_at_max_at_saturation_and_when_the_first_level_fails() -> None:
    assert search_levels(SLOSearchConfig(start=1, max=6), _threshold(100))[1] == 6
    flat = {1.0: 10.0, 2.0: 19.0, 4.0: 19.5}  # 4 adds < 5% over 2: saturated
    _, best, stopped = search_levels(SLOSearchConfig(start=1, max=64), _threshold(100, flat))
    assert best == 4 and stopped.startswith("saturated at level 4")
    _, best, stopped = search_levels(SLOSearchConfig(start=2, max=64), _threshold(1))
    assert best is None and stopped == "the first level (2) already misses the SLO"
    rate = SLOSearchConfig(knob="request_rate", start=0.5, max=8, resolution=0.25)
    _, best, _ = search_levels(rate, _threshold(1.3))
    assert 1.0 <= best <= 1.3  # type: ignore[operator]


def test_search_keys_are_checked() -> None:
    with pytest.raises(ValueError, match=r"start .* is above max"):
        SLOSearchConfig(start=8, max=4)
    with pytest.raises(ValueError, match="whole-number"):
        SLOSearchConfig(start=1.5)


def _sent(at: float, ttft: float, gaps: tuple[float, ...]) -> GenerateResponse:
    latency = ttft + sum(gaps)
    return GenerateResponse(
        "x" * (len(gaps) + 1), len(gaps) + 1, ttft_s=ttft, latency_s=latency, itl_s=gaps,
        sent_at_s=at,
    )  # fmt: skip


def test_steady_window_runs_from_the_first_completion_to_the_last_send() -> None:
    # two slots: requests of 1 s (a token every 0.25 s), sent at 0, 0, 1, 1, 2, 2
    every = [_sent(t, 0.25, (0.25, 0.25, 0.25)) for t in (0.0, 0.0, 1.0, 1.0, 2.0, 2.0)]
    values, why = steady_values(every)
    assert why is None
    assert values["steady_window_s"].value == pytest.approx(1.0)  # from 1.0 to 2.0
    # tokens arriving in [1, 2]: 2 at t=1 (the first pair's last) + 4 x 2 of the middle pair
    # (1.25 .. 2.0) + 0 of the last pair (their first tokens come at 2.25)
    assert values["steady_output_tokens_per_s"].value == pytest.approx(10.0)
    _, why = steady_values([_sent(0.0, 0.1, (0.1,)), _sent(0.0, 0.1, (0.1,))])
    assert why is not None and "no steady-state window" in why


def _search_suite(tmp_path: Path, write_yaml: WriteYaml, **search: Any) -> Path:
    write_echo_task(tmp_path, write_yaml, ["abc"] * 16)
    flags = ["--delay-s", "0.03", "--capacity", "3", "--metrics", "--usage"]
    command = ["{python}", FAKE, "--port", "{port}", *flags]
    model = {
        "name": "fake",
        "source": "fake",
        "backend": "openai",
        "server": {"model": "fake", "command": command},
        "slo_search": {"start": 1, "max": 16, "judge": "point", **search},
    }
    return write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "searched",
            "models": [model],
            "tasks": ["echo_qa"],
            "task_dirs": ["tasks"],
            "slo": {"ttft_ms": 60, "attainment": 0.9},
            "profilers": ["timing", "serving"],
            "timing": {"min_repeats": 1},
            "load_level": {"min_requests": 1, "min_duration_s": 0},  # each sample once
        },
    )


@pytest.mark.e2e
def test_a_search_through_the_runner_finds_the_servers_capacity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml
) -> None:
    suite = _search_suite(tmp_path, write_yaml)
    out = tmp_path / "run"
    assert run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--no-report") == 0
    (outcome,) = read_outcomes(out)
    # up to 3 in flight every first token is prompt (one 30 ms step); a 4th waits ~120 ms
    assert outcome.highest_passing == 3
    assert [lv.level for lv in outcome.levels] == [1, 2, 4, 3]
    records = {r.variant_id: r for r in RunStore(out).records()}
    assert set(records) == {f"fake@concurrency={c}" for c in (1, 2, 3, 4)}
    four = records["fake@concurrency=4"]
    assert (
        four.perf["slo_attainment"].value
        < 0.9
        <= records["fake@concurrency=3"].perf["slo_attainment"].value
    )
    # the server's counters over each window: 16 answers of 3 tokens, a reset before it
    assert four.perf["server_generation_tokens"].value == 48
    assert four.perf["output_tokens_server"].value == 48
    assert four.perf["prefix_cache_hit_rate"].value == 0  # the fake counts resets as hits
    assert "token_counts" in four.unavailable  # no tokenizer for a fake model: said, not 0
    report = tmp_path / "r.md"
    assert run_cli(monkeypatch, "report", str(out), "--out", str(report)) == 0
    text = report.read_text(encoding="utf-8")
    assert "**SLO search · fake**: highest concurrency meeting the SLO: **3**" in text


def test_a_search_without_an_slo_or_on_an_in_process_engine_is_refused(
    tmp_path: Path, write_yaml: WriteYaml
) -> None:
    from harness.run.slo_search import plan_searches
    from harness.suite.schema import load_suite

    suite = load_suite(_search_suite(tmp_path, write_yaml))
    with pytest.raises(UserError, match="needs the suite's 'slo:'"):
        plan_searches(suite.model_copy(update={"slo": None}), [], "s.yaml")
    hf = suite.models[0].model_copy(update={"backend": "hf"})
    with pytest.raises(UserError, match="backend 'openai'"):
        plan_searches(suite.model_copy(update={"models": [hf]}), [], "s.yaml")


def test_a_search_refuses_the_ray_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_yaml: WriteYaml, capsys: Any
) -> None:
    suite = _search_suite(tmp_path, write_yaml)
    out = tmp_path / "run"
    code = run_cli(monkeypatch, "run", str(suite), "--out", str(out), "--executor", "ray")
    assert code == 2
    assert "runs with the local executor" in capsys.readouterr().err
