"""The first screen's verdicts hold against the tables below them: "ship the base" only
where every variant was shown slower, "cannot rank" with the reason where speeds have no
interval or tie, a metric constant across variants named as such with the sample size that
could tell them apart, and load levels given as capacity under the SLO, not as variants."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.core.values import Value
from harness.store.records import RunStore
from tests.conftest import run_cli
from tests.report_runs import BASE_BYTES, BASE_SPEED, Variant, write_deploy_run

BASE = Variant("m", {}, 0, BASE_SPEED, BASE_BYTES)


def _slo(rate: float, n: int = 400) -> dict[str, Value]:
    met = Value(value=float(rate >= 0.9), unit="bool", higher_is_better=True)
    attained = Value(value=rate, unit="fraction", higher_is_better=True, n=n)
    return {"slo_attainment": attained, "slo_met": met}


PLAN = {
    # the base timed once beside a variant twice as fast timed three times
    "untimed": [
        Variant("m", {}, 0, (100.0,), BASE_BYTES),
        Variant("m@dtype=bfloat16", {"dtype": "bfloat16"}, 0, (200.0, 203.0, 198.0), 2000.0),
    ],
    # every answer wrong for every variant, on 4 samples
    "zeros": [
        Variant("m", {}, 0, BASE_SPEED, BASE_BYTES, n=4, wrong=4),
        Variant("m@quant=q2_k", {"quant": "q2_k"}, 0, (300.0, 303.0, 298.0), 700.0, 4, 4),
    ],
    "slower": [BASE, Variant("m@sparsity=0.5", {"sparsity": 0.5}, 0, (50.0, 52.0, 49.0), 4000)],
    "tied": [BASE, Variant("m@quant=q8_0", {"quant": "q8_0"}, 0, (99.0, 104.0, 97.0), 2125.0)],
    # one server under concurrency 1, 2, 4: the SLO holds up to 2
    "served": [
        Variant("m", {"concurrency": 1}, 0, BASE_SPEED, BASE_BYTES, perf=_slo(1.0)),
        Variant(
            "m@concurrency=2",
            {"concurrency": 2},
            0,
            (180.0, 182.0, 178.0),
            BASE_BYTES,
            perf=_slo(0.95),
        ),
        Variant(
            "m@concurrency=4",
            {"concurrency": 4},
            0,
            (190.0, 195.0, 185.0),
            BASE_BYTES,
            perf=_slo(0.4),
        ),
    ],
}


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("headline")
    run = write_deploy_run(folder / "run", PLAN)
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "report", str(run), "--out", str(folder / "r.md"))
    mp.undo()
    assert code == 0
    text = (folder / "r.md").read_text(encoding="utf-8")
    first = text.split("## What to deploy\n", 1)[1].split("\n## ", 1)[0].splitlines()
    out: dict[str, list[str]] = {}
    for line in first:
        if line.startswith("- **m** · "):
            task = line.split(" · ", 1)[1].split(" ", 1)[0]
            out[task] = [line]
        elif line.startswith("  - ") and out:
            out[list(out)[-1]].append(line)
    return out


def test_a_base_timed_once_is_never_shipped_over_a_faster_variant(
    lines: dict[str, list[str]],
) -> None:
    (head,) = lines["untimed"]
    assert "ship the base" not in head
    assert "cannot rank: the base was timed in 1 window(s), so input tok/s ratios have no " in head
    assert "(points: `m@dtype=bfloat16` +100.0%)" in head


def test_a_metric_zero_for_every_variant_says_so_with_the_sample_it_needs(
    lines: dict[str, list[str]],
) -> None:
    head, fastest = lines["zeros"]
    assert head.endswith(
        "accuracy 0 for every variant (n = 4): cannot tell variants apart; a 10-point change "
        "is detectable (80% power) at n ≥ 78"
    )
    assert "no detectable" not in head and "[+0, +0]" not in fastest
    assert fastest.startswith(
        "  - fastest (quality cannot tell): `m@quant=q2_k`: input tok/s +200.0% ["
    )


def test_ship_the_base_only_where_every_variant_is_shown_slower(
    lines: dict[str, list[str]],
) -> None:
    assert lines["slower"] == [
        "- **m** · slower (base `m`: accuracy ↑ 0.8): ship the base: every variant is slower "
        "by input tok/s (1 compared)"
    ]
    (tied,) = lines["tied"]
    assert "ship the base" not in tied
    assert "cannot rank: `m@quant=q8_0` tie with the base on input tok/s" in tied


def test_load_levels_get_a_capacity_line_not_a_verdict(lines: dict[str, list[str]]) -> None:
    (line,) = lines["served"]
    assert "ship" not in line and "load levels of one deployment, not variants" in line
    assert "meets the SLO up to concurrency = 2 (attainment 0.95)" in line
    assert "misses it at concurrency = 4 (attainment 0.4)" in line
    assert "input tok/s by concurrency: 100 at 1, 180 at 2, 190 at 4" in line


@pytest.mark.e2e
def test_a_base_is_timed_in_as_many_windows_as_the_variants_of_its_name(
    tmp_path: Path, ppl_suite: object
) -> None:
    """Two entries of one model name: the plain one (the suite's one window) holds the base,
    the sweep asks for three; the base is timed three times on the task they share."""
    assert callable(ppl_suite)
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}], tasks=2)
    spec = yaml.safe_load(suite.read_text())
    sweep: dict[str, object] = {"name": "m", "source": "x", "backend": "mock", "tasks": ["ppl_0"]}
    sweep |= {"timing": {"min_repeats": 3}, "variants": {"include": [{"mock_delay_s": 0.001}]}}
    spec["models"].append(sweep)
    spec["timing"] = {"min_repeats": 1}
    suite.write_text(yaml.safe_dump(spec))
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "run", str(suite), "--out", str(tmp_path / "run"), "--no-report")
    mp.undo()
    assert code == 0
    windows = {
        (r.variant_id, r.task): len(r.perf["input_tokens_per_s"].repeats or ())
        for r in RunStore(tmp_path / "run").records()
    }
    assert windows == {("m", "ppl_0"): 3, ("m", "ppl_1"): 1, ("m@mock_delay_s=0.001", "ppl_0"): 3}
