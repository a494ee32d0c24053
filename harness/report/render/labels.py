"""Point names in the report's figures: a small number beside each point and a key of numbers
and names beside the axes.

Names written at their points printed over each other (eight quantization levels share one
bits-per-weight spot); a column of names in the margin joined by leaders crossed into a
thicket. A number is short enough to find a free spot: each tries places around its point,
nearest first, and takes the first that covers no other number, no point and stays inside
the axes. Points at one spot (within a few pixels) share a number, and the key lists every
name under it. The key sits in the right margin under the legend; the figure grows taller
when the key needs it, so no line is ever squeezed onto another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

NUMBER_FONT = 6.5  # points
KEY_FONT = 6.5
KEY_LINE = 1.45  # key line pitch, in font heights
KEY_MIN_FONT = 4.5  # a long name shrinks the key's font to this, no further
SAME_SPOT_PX = 4.0  # points closer than this share a number
MARKER_PX = 5.0  # half the side of the box a drawn point occupies
# where a number may sit, in points from its point: nearest ring first, up-right first
RADII = (6.0, 10.0, 15.0, 22.0, 32.0)
ANGLES = (45.0, 135.0, -45.0, -135.0, 0.0, 180.0, 90.0, -90.0)
LEADER_FROM = 14.0  # numbers this far out get a thin line to their point
Named = tuple[float, float, str]  # (x, y, name) in data coordinates


@dataclass(frozen=True)
class Spot:
    """One numbered place: its data position and the names of the points there."""

    number: int
    x: float
    y: float
    names: tuple[str, ...]


def spots(ax: Any, points: Sequence[Named]) -> list[Spot]:
    """Finite points grouped by where they land on screen, numbered left to right."""
    shown = [(x, y, n) for x, y, n in points if np.isfinite(x) and np.isfinite(y)]
    if not shown:
        return []
    pixels = ax.transData.transform([(x, y) for x, y, _ in shown])
    groups: list[tuple[Any, list[int]]] = []
    for i, px in enumerate(pixels):
        near = next((g for g in groups if np.hypot(*(g[0] - px)) <= SAME_SPOT_PX), None)
        if near is None:
            groups.append((px, [i]))
        else:
            near[1].append(i)
    groups.sort(key=lambda g: (float(g[0][0]), -float(g[0][1])))
    return [
        # a base variant drawn in two series is one name at its spot
        Spot(k, shown[idx[0]][0], shown[idx[0]][1], tuple(dict.fromkeys(shown[i][2] for i in idx)))
        for k, (_, idx) in enumerate(groups, start=1)
    ]


def _boxes_hit(box: Any, others: Any) -> int:
    """How many of `others` (rows of x0, y0, x1, y1 on screen) the box overlaps."""
    if len(others) == 0:
        return 0
    x0, y0, x1, y1 = others.T
    return int(np.sum((box.x0 < x1) & (box.x1 > x0) & (box.y0 < y1) & (box.y1 > y0)))


def _free_offset(note: Any, renderer: Any, inside: Any, blocked: Any) -> tuple[float, float]:
    """The nearest offset (in points) where the number covers nothing in `blocked` and stays
    inside the axes; the least crowded one when every place is taken."""
    from matplotlib.text import Text

    best: tuple[int, tuple[float, float]] | None = None
    for radius in RADII:
        for angle in ANGLES:
            offset = (
                radius * math.cos(math.radians(angle)),
                radius * math.sin(math.radians(angle)),
            )
            note.xyann = offset
            note.update_positions(renderer)  # an annotation places its text when drawn
            box = Text.get_window_extent(note, renderer)
            outside = not (
                inside.x0 <= box.x0
                and box.x1 <= inside.x1
                and inside.y0 <= box.y0 <= box.y1 <= inside.y1
            )
            cost = _boxes_hit(box, blocked) + 10 * outside
            if cost == 0:
                return offset
            if best is None or cost < best[0]:
                best = (cost, offset)
    assert best is not None
    return best[1]


def place_numbers(ax: Any, places: Sequence[Spot], marks: Any) -> list[Any]:
    """Each spot's number at the nearest free place around it (see the module docstring)."""
    from matplotlib.text import Text

    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    blocked = np.asarray(marks, dtype=float).reshape(-1, 4)
    texts = []
    style = {"textcoords": "offset points", "fontsize": NUMBER_FONT, "ha": "center", "va": "center"}
    for spot in places:
        probe = ax.annotate(str(spot.number), (spot.x, spot.y), xytext=(0, 0), **style)
        offset = _free_offset(probe, renderer, inside, blocked)
        probe.remove()
        leader = (
            {"arrowstyle": "-", "lw": 0.4, "color": "0.55", "shrinkA": 0, "shrinkB": 3}
            if math.hypot(*offset) >= LEADER_FROM
            else None
        )
        note = ax.annotate(
            str(spot.number), (spot.x, spot.y), xytext=offset, arrowprops=leader, **style
        )
        note.update_positions(renderer)
        box = Text.get_window_extent(note, renderer)
        blocked = np.vstack([blocked, [box.x0, box.y0, box.x1, box.y1]])
        texts.append(note)
    return texts


def marker_boxes(ax: Any, points: Sequence[Named]) -> Any:
    """The screen boxes the named points occupy (scatter points are no lines)."""
    shown = [(x, y) for x, y, _ in points if np.isfinite(x) and np.isfinite(y)]
    if not shown:
        return np.zeros((0, 4))
    xy = ax.transData.transform(shown)
    return np.hstack([xy - MARKER_PX, xy + MARKER_PX])


def _segment_boxes(xy: Any, step: float = 4.0, half: float = 1.5) -> list[list[float]]:
    """Small boxes along a polyline on screen, `step` pixels apart: a diagonal line blocks
    only the pixels it crosses, not the box around it."""
    boxes = []
    for (x0, y0), (x1, y1) in pairwise(xy):
        n = max(1, int(np.hypot(x1 - x0, y1 - y0) / step))
        for t in np.linspace(0.0, 1.0, n + 1):
            x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            boxes.append([x - half, y - half, x + half, y + half])
    return boxes


def drawn_boxes(ax: Any) -> Any:
    """Screen boxes of what the axes draw (lines, markers, error bars and their caps), which
    no number may cover: a number on a bar reads as its end, on a line as its label."""
    from matplotlib.collections import LineCollection

    boxes: list[list[float]] = []
    for line in ax.lines:
        data = np.asarray(line.get_xydata(), dtype=float)
        xy = ax.transData.transform(data[np.all(np.isfinite(data), axis=1)])
        if len(xy) > 1 and line.get_linestyle() not in ("None", "none", "", " "):
            boxes += _segment_boxes(xy)
        if line.get_marker() not in (None, "None", "none", "", " "):
            half = line.get_markersize() * ax.figure.dpi / 72 / 2
            boxes += [[x - half, y - half, x + half, y + half] for x, y in xy]
    for collection in ax.collections:
        if isinstance(collection, LineCollection):
            for segment in collection.get_segments():
                finite = segment[np.all(np.isfinite(segment), axis=1)]
                if len(finite) > 1:
                    boxes += _segment_boxes(ax.transData.transform(finite))
    return np.asarray(boxes, dtype=float).reshape(-1, 4)


def key_lines(places: Sequence[Spot]) -> list[str]:
    lines = []
    for spot in places:
        lines.append(f"{spot.number}  {spot.names[0]}")
        lines += [f"{' ' * (2 * len(str(spot.number)))}  {name}" for name in spot.names[1:]]
    return lines


def _grow_for_key(fig: Any, ax: Any, legend: Any | None, n_lines: int) -> None:
    """Make the figure tall enough for the legend and the key in the margin beside the axes
    (the axes grow with it: the margins are fractions)."""
    renderer = fig.canvas.get_renderer()
    pitch = KEY_FONT * KEY_LINE * fig.dpi / 72
    legend_px = legend.get_window_extent(renderer).height + 8 if legend is not None else 0.0
    needed = legend_px + n_lines * pitch + 6
    box = ax.get_position()  # figure fractions
    available = box.y1 * fig.get_figheight() * fig.dpi
    if needed > available:
        fig.set_figheight(needed / (box.y1 * fig.dpi) + 0.1)


def write_key(fig: Any, ax: Any, legend: Any | None, places: Sequence[Spot]) -> list[Any]:
    """The numbers and their names in a column right of the axes, under the legend."""
    lines = key_lines(places)
    if not lines:
        return []
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    axes = ax.get_window_extent(renderer)
    left = axes.x1 + 0.02 * width
    top = legend.get_window_extent(renderer).y0 - 8 if legend is not None else axes.y1
    font = KEY_FONT
    texts: list[Any] = []
    while True:
        pitch = font * KEY_LINE * fig.dpi / 72
        texts = [
            fig.text(left / width, (top - k * pitch) / height, line, fontsize=font, va="top")
            for k, line in enumerate(lines)
        ]
        widest = max(t.get_window_extent(renderer).x1 for t in texts)
        if widest <= width - 4 or font <= KEY_MIN_FONT:
            return texts
        for t in texts:
            t.remove()
        font = max(KEY_MIN_FONT, font - 0.5)


def name_points(fig: Any, ax: Any, points: Sequence[Named], legend: Any | None) -> list[Any]:
    """Number every point and write the key (call once the axes' scales are final); the
    numbers and key lines drawn, for tests to measure."""
    ax.autoscale_view()
    first = spots(ax, points)
    _grow_for_key(fig, ax, legend, len(key_lines(first)))
    places = spots(ax, points)  # a taller figure may separate points that shared a spot
    numbers = place_numbers(ax, places, np.vstack([marker_boxes(ax, points), drawn_boxes(ax)]))
    return [*numbers, *write_key(fig, ax, legend, places)]
