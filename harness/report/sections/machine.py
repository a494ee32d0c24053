"""The report's opening lines: the machine and engines every figure was measured on, and
energy per task where it was measured (or why not), before any advice that depends on them."""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.perf_names import PerfName
from harness.hardware.fingerprint import Fingerprint
from harness.report.sections.format import fmt_bytes, fmt_number
from harness.store.records import Record
from harness.store.runfiles import Manifest

# The libraries whose versions shape the numbers, in the order a reader looks for them.
ENGINE_LIBRARIES = ("torch", "transformers", "llama_cpp", "vllm", "accelerate", "peft")


def engine_versions(env: Fingerprint, records: Sequence[Record]) -> str:
    """The engine libraries' versions: those the records' engines imported (llama.cpp and
    vLLM are not in the driver's fingerprint), then the fingerprint's; never 'not installed'."""
    found: dict[str, str] = {}
    for r in records:
        if r.resolved is not None:
            found.update(r.resolved.libraries)
    for name, version in env.libraries.items():
        found.setdefault(name, version)
    shown = [
        f"{name} {found[name]}"
        for name in ENGINE_LIBRARIES
        if name in found and "not installed" not in found[name]
    ]
    return ", ".join(shown) or "no engine library recorded"


def machine_text(env: Fingerprint, records: Sequence[Record]) -> str:
    cores = f"{env.physical_cores or '?'} cores / {env.logical_cores or '?'} threads"
    if isinstance(env.gpu, str):
        gpu = f"no GPU ({env.gpu})"
    else:
        gpu = ", ".join(f"{d.name} ({fmt_bytes(d.memory_bytes)})" for d in env.gpu) or "no GPU"
    return (
        f"{env.cpu}, {cores}, {fmt_bytes(env.memory_bytes)} memory; {gpu}; "
        f"torch threads {env.torch_threads or '?'}; {engine_versions(env, records)}"
    )


def energy_text(records: Sequence[Record]) -> str:
    """Energy per task where measured: the lowest joules per token of each task."""
    measured = [r for r in records if PerfName.JOULES_PER_TOKEN in r.perf]
    if not measured:
        reasons = sorted(
            {r.unavailable[PerfName.ENERGY] for r in records if PerfName.ENERGY in r.unavailable}
        )
        return "not measured (" + ("; ".join(reasons) or "no energy profiler in the suite") + ")"
    parts = []
    for task in sorted({r.task for r in measured}):
        mine = [r for r in measured if r.task == task]
        best = min(mine, key=lambda r: r.perf[PerfName.JOULES_PER_TOKEN].value)
        joules = fmt_number(best.perf[PerfName.JOULES_PER_TOKEN].value)
        parts.append(f"{task} {joules} J/token (`{best.variant_id}`, least of {len(mine)})")
    return "; ".join(parts)


def machine_lines(manifests: Sequence[Manifest], records: Sequence[Record]) -> str:
    """Where the numbers come from: one line per distinct machine, then energy."""
    machines: dict[str, list[Manifest]] = {}
    for m in manifests:
        machines.setdefault(m.env.hardware_key(), []).append(m)
    lines = []
    for group in machines.values():
        runs = f" (runs {', '.join(m.run_id for m in group)})" if len(machines) > 1 else ""
        mine = [r for r in records if r.run_id in {m.run_id for m in group}]
        lines.append(f"- **Measured on** {machine_text(group[0].env, mine)}{runs}")
    lines.append(f"- **Energy**: {energy_text(records)}")
    return "\n".join(lines)
