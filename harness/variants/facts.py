"""Facts a variant's transforms (and a backend's load) report about the model they produced.

A fact is either a measure (a number with its unit: bits per weight, kept layers, bytes of
the file), which the record stores as a Value in `perf`, or a note (text: which kernels ran,
which file was loaded), which it stores in `conventions`. Each fact carries its own unit, so
no side table of units can fall out of step with what a transform returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.perf_specs import KERNELS_NOTE, Kernels
from harness.core.values import Value


@dataclass(frozen=True)
class Measure:
    """A numeric fact about the variant, e.g. bits_per_weight = 4.5 bits."""

    name: str
    value: float
    unit: str


@dataclass(frozen=True)
class Note:
    """A descriptive fact about the variant, e.g. quant_kernels = "simulated"."""

    name: str
    text: str


@dataclass(frozen=True)
class KernelsUsed:
    """Whose kernels the variant's numbers come from: a simulated quantization rounds the
    weights and runs the base's float kernels, so its speed and memory are the base's."""

    kernels: Kernels
    name: str = KERNELS_NOTE


Fact = Measure | Note | KernelsUsed


@dataclass(frozen=True)
class TransformFacts:
    """Facts in the order they were reported; a later fact of the same name replaces an
    earlier one in place (a transform refines what the load reported)."""

    facts: tuple[Fact, ...] = ()

    @classmethod
    def of(cls, *facts: Fact) -> TransformFacts:
        return cls(()).then(facts)

    def then(self, later: Iterable[Fact]) -> TransformFacts:
        merged: dict[str, Fact] = {f.name: f for f in self.facts}
        for fact in later:
            merged[fact.name] = fact
        return TransformFacts(tuple(merged.values()))

    def __bool__(self) -> bool:
        return bool(self.facts)

    def measure(self, name: str) -> float | None:
        found = next((f for f in self.facts if f.name == name), None)
        return found.value if isinstance(found, Measure) else None

    def perf_values(self) -> dict[str, Value]:
        """The measures, for the record's perf section."""
        return {
            f.name: Value(value=float(f.value), unit=f.unit)
            for f in self.facts
            if isinstance(f, Measure)
        }

    def notes(self) -> dict[str, str]:
        """The notes (and the kernels' provenance, as text), for the record's conventions."""
        return {
            f.name: f.text if isinstance(f, Note) else f.kernels.value
            for f in self.facts
            if not isinstance(f, Measure)
        }

    def kernels(self) -> Kernels:
        """The variant's kernels: its own unless a transform said they are simulated."""
        said = {f.kernels for f in self.facts if isinstance(f, KernelsUsed)}
        return Kernels.SIMULATED if Kernels.SIMULATED in said else Kernels.REAL
