from __future__ import annotations

import pytest

from harness.backends.windows import rolling_windows


@pytest.mark.parametrize(
    ("n", "length", "stride"),
    [
        (1, 4, None),
        (4, 4, None),
        (5, 4, None),
        (37, 8, None),
        (37, 8, 3),
        (37, 8, 8),
        (100, 16, 1),
    ],
)
def test_every_target_scored_exactly_once(n: int, length: int, stride: int | None) -> None:
    windows = rolling_windows(n, length, stride)
    scored = []
    for w in windows:
        assert 0 < w.end - w.start <= length
        assert w.n_scored <= w.end - w.start
        scored += list(range(w.end - w.n_scored + 1, w.end + 1))
    assert scored == list(range(1, n + 1))


def test_stride_equal_to_length_is_lm_eval_disjoint() -> None:
    windows = rolling_windows(10, 4)
    assert [(w.start, w.end, w.n_scored) for w in windows] == [(0, 4, 4), (4, 8, 4), (6, 10, 2)]


def test_smaller_stride_keeps_context() -> None:
    windows = rolling_windows(10, 4, 2)
    # after the first window every window sees 2 tokens of context beyond its targets' own
    assert all(w.end - w.start == 4 for w in windows)
    assert [w.n_scored for w in windows] == [4, 2, 2, 2]
