"""Distance to the hardware limit: each unit's prefill MFU and decode MBU against the
measured peak of the precision that ran.

A utilisation above 1 is impossible against a true peak, so it is never shown as a plain
number: it says the peak was under-measured or the work over-counted. Records written before
peaks were named by precision held every model against its float dtype's peak; where their
knobs say int8 kernels ran, the figure is shown with that caveat, not as a utilisation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.core.perf_names import PerfName, Precision, peak_flops_name
from harness.core.perf_specs import Kernels
from harness.core.values import Scalar, Value
from harness.profilers.roofline import ABOVE_PEAK, precision_of_dtype
from harness.report.sections.format import fmt_bytes, fmt_number, table
from harness.store.records import Record

# Below this share of the measured peak, the engine (kernels, dispatch, host work) and not
# the hardware sets the speed: the report says so instead of reading it as the model's limit.
ENGINE_BOUND = 0.10
# quant knob values whose kernels multiply 8-bit integers (llama.cpp's levels: see
# harness.profilers.roofline.precision_of_dtype); bnb_nf4 dequantizes to bfloat16.
_INT8_QUANTS = ("int8_dynamic", "bnb_int8")


@dataclass(frozen=True)
class Peak:
    """The matmul peak a record's MFU was divided by, and its precision where the record
    names it (None: a record from before peaks were named by precision)."""

    value: Value
    precision: Precision | None


def peak_of(record: Record) -> Peak | None:
    for precision in Precision:
        found = record.perf.get(peak_flops_name(precision))
        if found is not None:
            return Peak(found, precision)
    old = record.perf.get(PerfName.PEAK_FLOPS)
    return Peak(old, None) if old is not None else None


def precision_from_knobs(knobs: Mapping[str, Scalar]) -> Precision | None:
    """The precision a variant's knobs say its matmuls ran in; None when they do not say
    (the engine's default dtype, which older records do not store)."""
    quant = knobs.get("quant")
    if isinstance(quant, str):
        if quant in _INT8_QUANTS:
            return Precision.INT8
        if quant == "bnb_nf4":
            return Precision.BFLOAT16
        found = precision_of_dtype(f"gguf {quant}")
        if found is Precision.INT8:
            return found
    dtype = knobs.get("dtype")
    return precision_of_dtype(dtype) if isinstance(dtype, str) else None


def bound_by(mfu: float | None, mbu: float | None) -> str:
    best = max((v for v in (mfu, mbu) if v is not None), default=None)
    if best is None:
        return "—"
    if best > 1:
        return "— (utilisation above the measured peak)"
    if best < ENGINE_BOUND:
        return f"engine-bound (under {ENGINE_BOUND:.0%} of the peak)"
    return "near the hardware limit" if best >= 0.5 else "partly engine-bound"


def precision_that_ran(record: Record) -> Precision | None:
    """From the configuration that ran (`resolved`, every option after defaults), else from
    the knobs of a record written before it existed. A simulated quantization (weights
    round-tripped and dequantized) runs float kernels whatever its `quant` says."""
    source = record.knobs if record.resolved is None else record.resolved.options
    if record.kernels is Kernels.SIMULATED:
        source = {k: v for k, v in source.items() if k != "quant"}
    if record.resolved is None:
        return precision_from_knobs(source)
    options = dict(source)
    if record.resolved.dtype is not None and "dtype" not in options:
        options["dtype"] = record.resolved.dtype
    return precision_from_knobs(options)


def mismatch(record: Record, peak: Peak | None) -> str | None:
    """Why a record's MFU is not against the peak of the precision that ran, if it is not."""
    ran = precision_that_ran(record)
    if peak is None or peak.precision is not None or ran is not Precision.INT8:
        return None
    return "int8 kernels against a float peak: not a utilisation"


def fmt_utilisation(value: Value | None, caveat: str | None = None) -> str:
    if value is None:
        return "—"
    text = f"{value.value:.1%}"
    if caveat is not None:
        return f"{text} ({caveat})"
    return f"{text} ({ABOVE_PEAK})" if value.value > 1 else text


def fmt_peak(peak: Peak | None) -> str:
    if peak is None:
        return "—"
    label = peak.precision.value if peak.precision else "float*"
    return f"{fmt_number(peak.value.value / 1e9)} GFLOP/s ({label})"


def _row(r: Record) -> list[str]:
    mfu, mbu = r.perf.get(PerfName.MFU), r.perf.get(PerfName.MBU)
    peak = peak_of(r)
    caveat = mismatch(r, peak)
    bandwidth = r.perf.get(PerfName.PEAK_BANDWIDTH)
    usable_mfu = mfu.value if mfu and caveat is None else None
    return [
        r.variant_id,
        r.task,
        fmt_utilisation(mfu, caveat),
        fmt_utilisation(mbu),
        fmt_peak(peak),
        fmt_bytes(bandwidth.value) + "/s" if bandwidth else "—",
        bound_by(usable_mfu, mbu.value if mbu else None),
    ]


HEADERS = [
    "variant",
    "task",
    "MFU (prefill)",
    "MBU (decode)",
    "peak FLOP/s (precision)",
    "peak bandwidth",
    "bound by",
]


def hardware_section(records: Sequence[Record]) -> str:
    rows = [
        _row(r)
        for r in sorted(records, key=lambda r: (r.variant_id, r.task))
        if PerfName.MFU in r.perf or PerfName.MBU in r.perf
    ]
    if not rows:
        return ""
    return (
        "### Distance to the hardware limit\n\nMFU: model FLOPs per second over the measured "
        "matmul peak of the precision the model's matmuls ran in (int8 kernels against the "
        "int8 peak); MBU: bytes read per decode step over the measured copy bandwidth. "
        "Neither can pass 1 against a true peak: a value above it is flagged, not read as "
        "a utilisation.\n\n"
        + table(HEADERS, rows)
        + (OLD_PEAKS if any("float*" in row[4] for row in rows) else "")
    )


OLD_PEAKS = (
    "\n\n\\* written before peaks were named by their precision: the peak of the model's "
    "float dtype, whatever its matmuls ran in; a run made now holds int8 kernels against "
    "the int8 peak."
)
