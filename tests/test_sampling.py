from __future__ import annotations

from collections import Counter

from harness.data.base import Sample, make_sample
from harness.data.sampling import select


def _rows(n_pos: int, n_neg: int) -> list[Sample]:
    return [make_sample({"text": f"p{i}"}, "pos") for i in range(n_pos)] + [
        make_sample({"text": f"n{i}"}, "neg") for i in range(n_neg)
    ]


def test_stratified_by_label() -> None:
    picked = select(_rows(80, 20), 10, seed=1)
    assert Counter(s.label for s in picked) == {"pos": 8, "neg": 2}


def test_seeded_stable_and_order_independent() -> None:
    rows = _rows(50, 50)
    a = select(rows, 10, seed=7)
    b = select(list(reversed(rows)), 10, seed=7)
    c = select(rows, 10, seed=8)
    assert [s.id for s in a] == [s.id for s in b]
    assert [s.id for s in a] != [s.id for s in c]


def test_not_the_first_rows() -> None:
    rows = sorted(_rows(100, 0), key=lambda r: r.id)
    assert [s.id for s in select(rows, 10, seed=0)] != [r.id for r in rows[:10]]


def test_ids_are_content_hashes() -> None:
    assert make_sample({"text": "a"}).id == make_sample({"text": "a"}).id
    assert make_sample({"text": "a"}).id != make_sample({"text": "b"}).id
