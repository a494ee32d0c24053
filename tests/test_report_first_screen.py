"""The report's first screen answers "what should I deploy and what does it cost": on a run
with a known faster-at-small-cost variant, the first lines name it under its constraint with
the speed gain and quality cost and their intervals (checked against theory), and a task that
separates nothing takes one "no detectable difference" sentence, not a line per metric."""

from __future__ import annotations

import math
import re
import statistics

import pytest

from harness.report.sections.summary import NO_DIFFERENCE
from tests.conftest import run_cli
from tests.report_runs import BASE_SPEED, DEPLOY, N, write_deploy_run

FIRST_SCREEN = 25


@pytest.fixture(scope="module")
def text(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("first_screen")
    run = write_deploy_run(folder / "run")
    target = folder / "r.md"
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "report", str(run), "--out", str(target))
    mp.undo()
    assert code == 0
    return target.read_text(encoding="utf-8")


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", cell)]


def _pick(lines: list[str], constraint: str) -> str:
    (line,) = [ln for ln in lines if ln.startswith(f"  - {constraint}: ")]
    return line


def _speed_and_change(line: str) -> tuple[list[float], list[float]]:
    """The speed ratio (point, low, high, as percents) and the change with its interval."""
    speed = line.split("input tok/s ", 1)[1].split(" for ", 1)[0]
    change = line.split("for accuracy ", 1)[1].split(" (", 1)[0]
    return _numbers(speed), _numbers(change)


def _paired_se(lost: int) -> float:
    """Normal-theory s.e. of a mean of paired differences that are -1 on `lost` samples."""
    p = lost / N
    return math.sqrt(p * (1 - p) / (N - 1))


@pytest.mark.e2e
def test_first_lines_name_the_variant_to_ship_with_its_cost_and_gain(text: str) -> None:
    lines = text.splitlines()[:FIRST_SCREEN]
    assert lines[0].startswith("# limitbench report") and "## What to deploy" in lines[:8]
    assert lines[4].startswith("- **Measured on** test-cpu, 2 cores / 2 threads")
    (head,) = [ln for ln in lines if ln.startswith("- **m** · topic ")]
    assert "base `m`: accuracy ↑ 0.8; by input tok/s" in head
    variants = {v.name: v for v in DEPLOY["topic"]}
    base = statistics.median(BASE_SPEED)

    safe = _pick(lines, "no detectable quality loss")
    assert safe.split(": ", 2)[1] == "`m@quant=q8_0`"
    speed, shown = _speed_and_change(safe)
    ratio = statistics.median(variants["m@quant=q8_0"].speed) / base
    assert speed[0] == pytest.approx(100 * (ratio - 1), abs=0.05)
    assert speed[1] > 0  # distinguishably faster: the interval lies above +0%
    assert shown == [0.0, 0.0, 0.0]
    # identical answers on all 400: no interval to read, but the sign test's floor (6 of 400)
    assert (
        "(no detectable change at n = 400; identical on all 400: a change under 0.015 cannot show)"
        in safe
    )
    assert "weights -46.9%" in safe  # 2125 / 4000 bytes

    cheap = _pick(lines, "quality loss within 5% of the base")
    assert "`m@quant=q4_k_m`" in cheap and "(worse)" in cheap
    speed, (change, low, high) = _speed_and_change(cheap)
    fast = variants["m@quant=q4_k_m"].speed
    assert speed[0] == pytest.approx(100 * (statistics.median(fast) / base - 1), abs=0.05)
    assert 100 * (min(fast) / max(BASE_SPEED) - 1) - 0.1 <= speed[1] <= speed[0] <= speed[2]
    assert change == -8 / N  # exact: 8 of the base's right answers lost, each a paired -1
    se = _paired_se(8)
    assert low == pytest.approx(change - 1.96 * se, abs=0.4 * se)
    assert high == pytest.approx(change + 1.96 * se, abs=0.4 * se)
    assert -low / 0.8 <= 0.05  # why it passes the tolerance: the worst end is within 5%

    trade = _pick(lines, "trade-off (on the frontier)")
    assert "`m@quant=q2_k`" in trade and "+100.0%" in trade
    assert _speed_and_change(trade)[1][0] == -80 / N

    (other,) = [ln for ln in lines if ln.startswith("- **m** · topic2 ")]
    assert other.endswith(  # a tie is not shown slower: no "ship the base"
        "cannot rank: `m@quant=q8_0` tie with the base on input tok/s (intervals include +0%); "
        "nothing here shows a gain from switching"
    )


def test_ties_are_one_sentence_per_task(text: str) -> None:
    summary = text.split("\n## Summary\n", 1)[1].split("\n## ", 1)[0]
    for task in DEPLOY:
        (line,) = [ln for ln in summary.splitlines() if ln.startswith(f"- **{task}**:")]
        if task == "topic2":  # nothing separated: one sentence names every tie
            assert line.count(NO_DIFFERENCE) == 1
            assert "accuracy (all 2 intervals overlap" in line
            assert "input tok/s (all 2 ranked variants tied" in line
        else:
            assert NO_DIFFERENCE not in line
            assert "fastest by input tok/s: `m@quant=q2_k`, 200 [196, 206]" in line
    assert sum(NO_DIFFERENCE in ln for ln in text.splitlines()) == 1
