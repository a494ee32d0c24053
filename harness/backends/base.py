"""The one engine interface, what an engine reports about itself, and the engine registry.

Every member the runner, profilers and transforms use is declared on `Backend`, with a
default where one makes sense, so no caller probes an engine with `getattr`. An engine
registers an `Engine`: its typed options (the knobs it honours, with their defaults), the
function that loads it and what it needs to load here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from harness.backends.resolved import ResolvedConfig
from harness.core.errors import UserError
from harness.core.perf_specs import Scope
from harness.core.registry import Registry
from harness.core.requests import (
    Embed,
    EmbedResponse,
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    Request,
    RollingLogLikelihood,
    RollingResponse,
    TopTokens,
)
from harness.core.values import Scalar, Value
from harness.hardware.shapes import ModelShape
from harness.suite.schema import ModelConfig
from harness.variants.facts import TransformFacts

Progress = Callable[[int], None]  # called with the number of requests just finished
LatencyScope = Literal[Scope.PER_REQUEST, Scope.PER_BATCH]
# What a language model answers (the default); an encoder answers Embed instead.
ALL_KINDS: frozenset[type[Request]] = frozenset({LogLikelihood, RollingLogLikelihood, Generate})


class ServedWindow(ABC):
    """The server's side of a measured window, for an engine that streams requests to a
    server: the serving profiler reads per-request timings from the responses and these
    counters from the server. Values come with the record's `unavailable` reasons."""

    @abstractmethod
    def open(self) -> dict[str, str]:
        """Before the window: prepare the server (e.g. empty its prefix cache) and read its
        counters; returns what could not be done, by `unavailable` key."""

    @abstractmethod
    def close(self) -> tuple[dict[str, Value], dict[str, str]]:
        """After the window: the server's counters over it, or why there are none."""

    @abstractmethod
    def token_counts(
        self, streamed: Sequence[GenerateResponse]
    ) -> tuple[dict[str, Value], str | None]:
        """The server's token counts beside the client tokenizer's, or why not."""


@dataclass(frozen=True)
class BackendInfo:
    model: str
    source: str
    n_params: int
    dtype: str
    device: str
    weight_bytes: int
    max_length: int
    details: Mapping[str, Scalar] = field(default_factory=dict)


class Backend(ABC):
    """A loaded engine answering requests in batches; it knows nothing about tasks.

    Subclasses set `info` and answer the request kinds in `answers`; the rest has defaults.
    """

    info: BackendInfo
    # The request kinds it answers; the runner refuses the others with a clear error.
    answers: ClassVar[frozenset[type[Request]]] = ALL_KINDS
    # "per batch": every row of a lock-step batch carries its batch's TTFT and latency.
    latency_scope: ClassVar[LatencyScope] = Scope.PER_REQUEST
    # Whether each token attends only to earlier ones (decoders) or to all (encoders): the
    # roofline profiler counts attention FLOPs from it.
    causal_attention: ClassVar[bool] = True
    # Facts fixed at load (e.g. the llama.cpp file's real bytes), before any transform.
    load_details: TransformFacts = TransformFacts()

    @property
    def torch_model(self) -> Any | None:
        """The torch module doing the work, where there is one (FLOP counts, GPU lookup)."""
        return None

    def model_shape(self) -> ModelShape | None:
        """The model's shapes for the roofline (FLOPs and bytes), where they can be read:
        by default from the torch model doing the work."""
        model = self.torch_model
        if model is None:
            return None
        from harness.hardware.shapes import torch_shape

        return torch_shape(model, self.info.dtype)

    def shape_unavailable(self) -> str:
        """Why model_shape() is None here."""
        return "the engine exposes neither a torch model nor a weight file to read shapes from"

    @property
    def peak_device(self) -> str | None:
        """The torch device whose measured peaks the roofline holds this engine against;
        None where the work runs on a device this process cannot measure."""
        return self.info.device

    @abstractmethod
    def count_tokens(self, text: str) -> int: ...

    def resolved(self) -> ResolvedConfig:
        """The configuration that ran, for the record: every option after defaults and
        `auto` were resolved, what the engine reports, the libraries it ran on. This default
        knows only `info`; each built-in engine states its options."""
        return ResolvedConfig(
            dtype=self.info.dtype,
            device=self.info.device,
            unknown={"options": "this engine does not state its resolved options"},
        )

    def synchronize(self) -> None:
        """Wait for queued device work; engines whose calls return when done need nothing."""
        return None

    def switch_load(self, knobs: Mapping[str, Scalar]) -> bool:
        """Take another variant's load knobs without reloading; False (the default): this
        engine reloads for every variant."""
        return False

    def close(self) -> None:
        """Release what the engine holds outside this process (e.g. a launched server)."""
        return None

    def served_window(self) -> ServedWindow | None:
        """The server-side view of measured windows; None (the default): this engine streams
        no requests to a server, so per-request serving statistics do not apply."""
        return None

    def apply_transform(self, knob: str, value: Scalar) -> TransformFacts:
        """Rewrite the loaded model (knob stage "transform"); the facts it reports. Engines
        whose options declare no transform knob never get here (refused at plan time)."""
        raise UserError(f"engine of model '{self.info.model}' cannot apply the '{knob}' transform")

    def refresh_info(self) -> None:
        """After transforms: update `info` where they changed what it reports."""
        return None

    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        raise self._refuse(LogLikelihood)

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        raise self._refuse(RollingLogLikelihood)

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        raise self._refuse(Generate)

    def embed(self, reqs: Sequence[Embed], progress: Progress | None = None) -> list[EmbedResponse]:
        raise self._refuse(Embed)

    def prepare_generation(self, reqs: Sequence[Generate]) -> float | None:
        """Before the measured window: build what generation will need for these requests'
        shapes (a static cache, a compiled decode step); the seconds it took, or None when
        the engine has nothing to prepare."""
        return None

    def top_tokens(self, reqs: Sequence[RollingLogLikelihood], k: int) -> list[TopTokens] | None:
        """Each text's k most likely next tokens at every position its rolling log-likelihood
        scores (same windows), for a divergence against another variant; None where the
        engine does not expose its distributions (a served model's API gives too few)."""
        return None

    def _refuse(self, kind: type[Request]) -> UserError:
        answered = ", ".join(sorted(k.__name__ for k in self.answers)) or "none"
        return UserError(
            f"model '{self.info.model}': its engine does not answer {kind.__name__} requests "
            f"(it answers {answered}); pick a task of another kind or another backend"
        )


class EngineOptions(BaseModel):
    """An engine's options: one field per knob it honours (a registered knob name, whose
    shared meaning harness.variants documents once), its value checks and its default.
    A knob that is not a field is refused at plan time."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Every engine honours `repeat` by ignoring it: the same configuration measured again.
    repeat: int | None = Field(default=None, ge=1)

    @classmethod
    def honoured(cls) -> list[str]:
        return sorted(cls.model_fields)

    def knobs(self) -> dict[str, Scalar]:
        """The options that have a value, defaults included (None: the engine decides)."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


OptionsT = TypeVar("OptionsT", bound=EngineOptions)


@dataclass(frozen=True)
class Engine(Generic[OptionsT]):
    """A registered engine: `load(model, options, base_dir)` builds its Backend.

    `requires` says why it cannot load here (a missing extra), looked up at plan time.
    """

    load: Callable[[ModelConfig, OptionsT, Path], Backend]
    options: type[OptionsT]
    requires: Callable[[], str | None] = lambda: None
    description: str = ""
    # The request kinds its backends answer, known before loading (plan-time checks); the
    # backend class's `answers` must say the same.
    answers: frozenset[type[Request]] = ALL_KINDS
    # It sends requests to a server under an offered load (an SLO search needs one).
    serves: bool = False
    # It loads weights from the model entry's `source` (a local path is checked at plan time).
    reads_source: bool = True
    # Which quantization ladder its bit widths belong to in the report: levels measured on
    # different kernels are not one curve.
    quant_ladder: str = "quant"
    # Its own quantization levels (knob `quant`), most bits first: on a sweep of these alone,
    # the first level present is the base that KL compares the others with.
    quant_levels: tuple[str, ...] = ()

    def open(self, model: ModelConfig, knobs: Mapping[str, Scalar], base_dir: Path) -> Backend:
        """Validate `knobs` into this engine's options, then load."""
        from harness.backends.options import parse_options

        return self.load(model, parse_options(self, knobs, f"model '{model.name}'"), base_dir)


BACKENDS: Registry[Engine[Any]] = Registry("backend", builtins=("harness.backends",))
