"""What each performance value is: the spec every record stores beside it.

A perf value's number and unit live in its `Value`; its spec says what was measured: the
kind of figure, the phase of inference it times, its scope (one figure for the timed window,
per request, per batch, a fact of the variant or of the machine) and whose kernels produced
it (a simulated quantization runs the base model's float kernels, so its speed and memory are
the base's). The report, gate and exporters read these fields; no reader matches note text.
A leaf module (pydantic and Value only): the run store names specs without the profilers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from harness.core.perf_names import Percentiled, PerfName, Precision, peak_flops_name
from harness.core.values import Value


class PerfKind(StrEnum):
    SPEED = "speed"  # work per second: higher is faster
    LATENCY = "latency"  # seconds per request, token or window
    MEMORY = "memory"
    ENERGY = "energy"
    UTILIZATION = "utilization"  # achieved against the measured hardware peak
    HARDWARE = "hardware"  # the machine's peaks and idle power: context, never ranked
    SIZE = "size"  # facts of the variant: bits, bytes, layers, parameters
    WORKLOAD = "workload"  # what the requests asked for (tokens in and out)
    RELIABILITY = "reliability"  # failed and retried requests
    SERVICE = "service"  # goodput under the suite's SLO
    FITTING = "fitting"  # what an adapter's own fitting cost (a probe), outside the window
    OTHER = "other"  # a plugin profiler's figure that the catalogue does not know


class Phase(StrEnum):
    PREFILL = "prefill"  # reading the prompt: TTFT, or a window that only scores
    DECODE = "decode"  # generating: TPOT, inter-token latency
    WHOLE = "whole"  # both, as one figure
    NONE = "none"  # not a timing of inference (a size, a machine's peak)


class Scope(StrEnum):
    WINDOW = "window"  # one figure for the whole timed window
    PER_REQUEST = "per_request"  # each request's own time, then a percentile
    PER_BATCH = "per_batch"  # every request of a batch carries its batch's time
    VARIANT = "variant"  # a fact of the model variant (file bytes, bits per weight)
    MACHINE = "machine"  # a fact of the machine (hardware peaks, idle power)


KERNELS_NOTE = "quant_kernels"  # the conventions key that repeats a variant's Kernels value


class Kernels(StrEnum):
    REAL = "real"  # the variant's own kernels ran: its speed and memory are its own
    SIMULATED = "simulated"  # weights rounded, run on the base's float kernels
    NOT_APPLICABLE = "not_applicable"  # no kernels behind it (a file's size, a machine's peak)


class PerfSpec(BaseModel):
    """What one perf value measures; stored beside it in every record (schema 3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = Field(description="unit of the value, as in the Value")
    higher_is_better: bool | None = Field(description="direction; None for facts without one")
    kind: PerfKind = Field(description="what sort of figure it is")
    phase: Phase = Field(description="the phase of inference it times")
    scope: Scope = Field(description="what one number stands for")
    kernels: Kernels = Field(description="whose kernels produced it")

    @property
    def measured(self) -> bool:
        """Produced by the model's kernels at work (not a fact of its file or the machine)."""
        return self.kernels is not Kernels.NOT_APPLICABLE


# name -> (kind, phase, scope); scope None: the engine's latency scope (per request, or per
# batch where a batch decodes in lock-step), as for the percentile families below.
_WINDOW = Scope.WINDOW
ENGINE_TIMED = None
CATALOGUE: dict[str, tuple[PerfKind, Phase, Scope | None]] = {
    PerfName.WALL_TIME: (PerfKind.LATENCY, Phase.WHOLE, _WINDOW),
    PerfName.REQUESTS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.SAMPLES_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.INPUT_TOKENS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.OUTPUT_TOKENS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.TOTAL_TOKENS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.TIME_PER_OUTPUT_TOKEN: (PerfKind.LATENCY, Phase.DECODE, ENGINE_TIMED),
    PerfName.ACHIEVED_REQUESTS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.REQUEST_ERRORS: (PerfKind.RELIABILITY, Phase.WHOLE, _WINDOW),
    PerfName.REQUEST_RETRIES: (PerfKind.RELIABILITY, Phase.WHOLE, _WINDOW),
    PerfName.GOODPUT: (PerfKind.SERVICE, Phase.WHOLE, _WINDOW),
    PerfName.SLO_ATTAINMENT: (PerfKind.SERVICE, Phase.WHOLE, _WINDOW),
    PerfName.SLO_MET: (PerfKind.SERVICE, Phase.WHOLE, _WINDOW),
    PerfName.STEADY_OUTPUT_TOKENS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    PerfName.STEADY_REQUESTS_PER_S: (PerfKind.SPEED, Phase.WHOLE, _WINDOW),
    **{  # the steady part's length, both sides' token counts, the server's own state
        name: (PerfKind.WORKLOAD, Phase.NONE, _WINDOW)
        for name in (
            PerfName.STEADY_WINDOW,
            PerfName.OUTPUT_TOKENS_SERVER,
            PerfName.OUTPUT_TOKENS_CLIENT,
            PerfName.TOKEN_COUNT_MISMATCH,
            PerfName.TOKEN_TOTAL_GAP,
            PerfName.SERVER_PROMPT_TOKENS,
            PerfName.SERVER_GENERATION_TOKENS,
            PerfName.SERVER_PREEMPTIONS,
            PerfName.PREFIX_CACHE_HIT_RATE,
        )
    },
    PerfName.PEAK_RSS: (PerfKind.MEMORY, Phase.WHOLE, _WINDOW),
    PerfName.RSS_GROWTH: (PerfKind.MEMORY, Phase.WHOLE, _WINDOW),
    PerfName.SERVER_PEAK_RSS: (PerfKind.MEMORY, Phase.WHOLE, _WINDOW),
    PerfName.SERVER_GPU_PEAK_MEMORY: (PerfKind.MEMORY, Phase.WHOLE, _WINDOW),
    # the bytes the loaded weights occupy: a simulated quantization's are its float base's
    PerfName.WEIGHT_BYTES: (PerfKind.MEMORY, Phase.NONE, Scope.VARIANT),
    PerfName.RESIDENT_BYTES: (PerfKind.MEMORY, Phase.NONE, Scope.VARIANT),
    PerfName.CUDA_PEAK_ALLOCATED: (PerfKind.MEMORY, Phase.WHOLE, _WINDOW),
    PerfName.CUDA_PEAK_RESERVED: (PerfKind.MEMORY, Phase.WHOLE, _WINDOW),
    PerfName.ENERGY: (PerfKind.ENERGY, Phase.WHOLE, _WINDOW),
    PerfName.IDLE_POWER: (PerfKind.HARDWARE, Phase.NONE, Scope.MACHINE),
    # the card's state as the window opened and closed (NVML): clocks, heat, throttling
    PerfName.GPU_SM_CLOCK_START: (PerfKind.HARDWARE, Phase.WHOLE, _WINDOW),
    PerfName.GPU_SM_CLOCK_END: (PerfKind.HARDWARE, Phase.WHOLE, _WINDOW),
    PerfName.GPU_TEMPERATURE_START: (PerfKind.HARDWARE, Phase.WHOLE, _WINDOW),
    PerfName.GPU_TEMPERATURE_END: (PerfKind.HARDWARE, Phase.WHOLE, _WINDOW),
    PerfName.ENERGY_NET: (PerfKind.ENERGY, Phase.WHOLE, _WINDOW),
    PerfName.JOULES_PER_TOKEN: (PerfKind.ENERGY, Phase.WHOLE, _WINDOW),
    PerfName.JOULES_PER_CORRECT: (PerfKind.ENERGY, Phase.WHOLE, _WINDOW),
    # tokens the model read and wrote per correct answer: what the task asked, not kernels
    PerfName.TOKENS_PER_CORRECT: (PerfKind.WORKLOAD, Phase.NONE, _WINDOW),
    PerfName.PEAK_FLOPS: (PerfKind.HARDWARE, Phase.NONE, Scope.MACHINE),
    PerfName.PEAK_BANDWIDTH: (PerfKind.HARDWARE, Phase.NONE, Scope.MACHINE),
    PerfName.ACHIEVED_FLOPS: (PerfKind.UTILIZATION, Phase.WHOLE, _WINDOW),
    PerfName.ACHIEVED_BANDWIDTH: (PerfKind.UTILIZATION, Phase.WHOLE, _WINDOW),
    PerfName.MFU: (PerfKind.UTILIZATION, Phase.WHOLE, _WINDOW),
    PerfName.MBU: (PerfKind.UTILIZATION, Phase.WHOLE, _WINDOW),
    PerfName.PROBE_FIT_TIME: (PerfKind.FITTING, Phase.NONE, Scope.VARIANT),
    # compiling the decode step for the unit's shapes, before the window: the unit's cost
    PerfName.DECODE_PREPARE_TIME: (PerfKind.LATENCY, Phase.DECODE, _WINDOW),
    PerfName.PROBE_TRAIN_ROWS: (PerfKind.FITTING, Phase.NONE, Scope.VARIANT),
    **{
        name: (PerfKind.SIZE, Phase.NONE, Scope.VARIANT)
        for name in (
            PerfName.BITS_PER_WEIGHT,
            PerfName.MEAN_BITS_PER_PARAMETER,
            PerfName.WEIGHT_BYTES_QUANTIZED,
            PerfName.FILE_BYTES,
            PerfName.LAYERS_KEPT,
            PerfName.LAYERS_ORIGINAL,
            PerfName.N_PARAMS_EFFECTIVE,
            PerfName.SPARSITY,
            PerfName.ADAPTER_PARAMS,
            PerfName.BATCH_SIZE_CHOSEN,  # batch_size: auto, as the probe chose it
            PerfName.BATCH_TOKENS_CHOSEN,
        )
    },
}
_FAMILIES: dict[str, tuple[PerfKind, Phase]] = {
    Percentiled.LATENCY: (PerfKind.LATENCY, Phase.WHOLE),
    Percentiled.E2E: (PerfKind.LATENCY, Phase.WHOLE),
    Percentiled.TTFT: (PerfKind.LATENCY, Phase.PREFILL),
    Percentiled.TPOT: (PerfKind.LATENCY, Phase.DECODE),
    Percentiled.ITL: (PerfKind.LATENCY, Phase.DECODE),
    Percentiled.OUTPUT_TOKENS: (PerfKind.WORKLOAD, Phase.NONE),
    Percentiled.INPUT_TOKENS: (PerfKind.WORKLOAD, Phase.NONE),
}
_PEAKS_BY_PRECISION = frozenset(peak_flops_name(p) for p in Precision)
_PERCENTILE = re.compile(r"^(?P<family>[a-z0-9_]+)_p\d{1,2}$")


def _entry(name: str, latency_scope: Scope) -> tuple[PerfKind, Phase, Scope] | None:
    found = _PERCENTILE.match(name)
    if name in CATALOGUE:
        kind, phase, scope = CATALOGUE[name]
    elif name in _PEAKS_BY_PRECISION:  # the matmul peak, named by the precision it is of
        kind, phase, scope = CATALOGUE[PerfName.PEAK_FLOPS]
    elif found and found["family"] in _FAMILIES:
        (kind, phase), scope = _FAMILIES[found["family"]], ENGINE_TIMED
    else:
        return None
    return kind, phase, scope if scope is not None else latency_scope


class SpecContext(BaseModel):
    """What the specs of one unit's values depend on beyond their names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_scope: Scope = Scope.PER_REQUEST
    kernels: Kernels = Kernels.REAL
    generated: bool = True  # whether the window generated tokens (else it only scored)


def spec_for(
    name: str,
    unit: str,
    higher_is_better: bool | None,
    context: SpecContext,
) -> PerfSpec:
    """The spec of the perf value `name` measured under `context`."""
    kind, phase, scope = _entry(name, context.latency_scope) or (
        PerfKind.OTHER,
        Phase.WHOLE,
        Scope.WINDOW,
    )
    if phase is Phase.WHOLE and not context.generated:
        phase = Phase.PREFILL  # a window that only scores prompts is all prefill
    no_kernels = kind in (PerfKind.SIZE, PerfKind.HARDWARE, PerfKind.WORKLOAD, PerfKind.FITTING)
    return PerfSpec(
        unit=unit,
        higher_is_better=higher_is_better,
        kind=kind,
        phase=phase,
        scope=scope,
        kernels=Kernels.NOT_APPLICABLE if no_kernels else context.kernels,
    )


def perf_specs(perf: Mapping[str, Value], context: SpecContext) -> dict[str, PerfSpec]:
    """A spec for every perf value of one unit."""
    return {
        name: spec_for(name, value.unit, value.higher_is_better, context)
        for name, value in perf.items()
    }
