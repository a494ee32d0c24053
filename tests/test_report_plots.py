"""Point names in the report's plots never print over each other: each place gets a number
set where it covers no other number, point or bar, and a key beside the axes names every
point (eight quantization levels at nearly one bits-per-weight value used to share one spot;
a column of names joined by leaders crossed into a thicket). The whole-figure checks are in
test_report_figures.py."""

from __future__ import annotations

import pytest
from matplotlib.text import Text

from harness.report.render.labels import key_lines, name_points, spots
from harness.report.render.plots import FIGSIZE, MARGINS, _pyplot
from tests.test_report_figures import assert_no_overlap


def test_points_at_one_spot_share_a_number_numbered_left_to_right() -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    ax.set(xlim=(0, 10), ylim=(0, 10))
    fig.subplots_adjust(**MARGINS)
    found = spots(ax, [(5, 5, "b"), (1, 1, "a"), (5.001, 5.001, "c"), (5, 5, "b"), (9, 2, "d")])
    assert [(s.number, s.names) for s in found] == [(1, ("a",)), (2, ("b", "c")), (3, ("d",))]
    assert key_lines(found) == ["1  a", "2  b", "    c", "3  d"]  # c listed under b's number
    plt.close(fig)


def test_numbers_stay_inside_the_axes_off_every_bar_and_the_key_fits() -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    x = [0.1 * k for k in range(30)]
    y = [1.0 + 0.001 * (k % 3) for k in range(30)]
    names = [f"a-rather-long-variant-name@quant=level{k}" for k in range(30)]
    ax.errorbar(x, y, yerr=0.002, fmt="o-", capsize=3, label="ladder")
    fig.subplots_adjust(**MARGINS)
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    texts = name_points(fig, ax, list(zip(x, y, names, strict=True)), legend)
    renderer = fig.canvas.get_renderer()
    numbers = [t for t in texts if t in ax.texts]
    inside = ax.get_window_extent(renderer)
    for t in numbers:
        box = Text.get_window_extent(t, renderer)
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1
        assert inside.y0 <= box.y0 and box.y1 <= inside.y1
    assert fig.get_figheight() > FIGSIZE[1]  # 30 names: the figure grew for its key
    assert assert_no_overlap(fig) > 30
    plt.close(fig)


def test_the_overlap_check_sees_an_overlap() -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    ax.plot([0, 1], [0, 1])
    ax.text(0.5, 0.5, "one label")
    ax.text(0.5, 0.5, "another")
    with pytest.raises(AssertionError, match="overlaps"):
        assert_no_overlap(fig)
    plt.close(fig)
