"""How the report writes numbers, sizes, tables and figure file names in markdown."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.values import Value


def file_slug(text: str) -> str:
    """A task or model name as part of a figure's file name: every other character to _."""
    return "".join(c if c.isalnum() else "_" for c in text)


def axis_label(quantity: str, unit: str | None) -> str:
    """A figure axis's label: the quantity and its unit, as "bits_per_byte (bits/byte)"."""
    return f"{quantity} ({unit})" if unit and f"({unit})" not in quantity else quantity


# A scaling axis's unit, for its figure label (harness.variants.base declares the axes).
AXIS_UNITS = {"n_params": "count", "bits_per_weight": "bits", "sparsity": "fraction of weights"}


def fmt_number(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.4g}"
    return f"{x:.3e}"


def fmt_value(v: Value) -> str:
    if v.ci_low is None or v.ci_high is None:
        return fmt_number(v.value)
    return f"{fmt_number(v.value)} [{fmt_number(v.ci_low)}, {fmt_number(v.ci_high)}]"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GiB"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
