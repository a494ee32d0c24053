"""Point names in the report's plots never print over each other: they sit in a column
beside the axes, in the points' vertical order, a line apart, each joined to its point
(eight quantization levels at nearly one bits-per-weight value used to share one spot)."""

from __future__ import annotations

from itertools import combinations, pairwise

import pytest
from matplotlib.text import Text

from harness.report.render.plots import FIGSIZE, MARGINS, _pyplot, label_points, spread


def test_spread_keeps_order_and_gap_inside_the_unit_interval() -> None:
    wanted = [0.5, 0.5, 0.51, 0.98, 0.99, 0.02, 0.5]
    places = spread(wanted, 0.05)
    assert all(0.0 <= p <= 1.0 for p in places)
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    ordered = [places[i] for i in order]
    assert all(b - a >= 0.05 - 1e-12 for a, b in pairwise(ordered))
    assert spread([0.3], 0.05) == [0.3]  # a lone label stays where its point is
    crowded = spread([0.5] * 30, 0.05)  # more than fit: the gap shrinks to 1/29, no overlap
    assert sorted(crowded) == pytest.approx([k / 29 for k in range(30)])


def test_eight_names_at_one_spot_do_not_overlap() -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE, dpi=110)
    bits = [4.5, 4.5, 4.6, 4.5, 8.5, 8.5, 16.0, 32.0]
    bpb = [1.061, 1.0611, 1.06, 1.0612, 1.005, 1.0051, 1.005, 1.005]
    names = [f"smollm2-135m-gguf@quant=level{i}" for i in range(len(bits))]
    ax.errorbar(bits, bpb, yerr=0.02, fmt="o")
    ax.set_xscale("log")
    fig.subplots_adjust(**MARGINS)
    texts = label_points(ax, list(zip(bits, bpb, names, strict=True)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # the names' own boxes (an Annotation's extent also spans its leader line)
    boxes = [Text.get_window_extent(t, renderer) for t in texts]
    assert len(boxes) == len(names)
    for a, b in combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    right_of_axes = ax.get_window_extent(renderer).x1
    assert all(box.x0 >= right_of_axes for box in boxes)
    # higher points get higher names, so a leader never has to cross the column
    by_point = sorted(range(len(names)), key=lambda i: (bpb[i], i))
    heights = [boxes[i].y0 for i in by_point]
    assert heights == sorted(heights)
    plt.close(fig)
