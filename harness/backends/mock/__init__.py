"""A deterministic fake model, for unit tests of the runner's mechanics only."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from pydantic import Field

from harness.backends.base import BACKENDS, Backend, BackendInfo, Engine, EngineOptions, Progress
from harness.backends.resolved import ResolvedConfig
from harness.backends.stops import cut_at_stop
from harness.core.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    RollingLogLikelihood,
    RollingResponse,
)
from harness.suite.schema import ModelConfig
from harness.variants.base import knob

knob("mock_quality", "mock backend only: divides its log-likelihoods", "runtime")
knob("mock_delay_s", "mock backend only: sleep per request", "runtime", unit="s")


class MockOptions(EngineOptions):
    mock_quality: float = 1.0  # NaN too: the runner must refuse NaN scores clearly
    mock_delay_s: Annotated[float, Field(ge=0)] = 0.0


class MockBackend(Backend):
    """Scores by character counts; `quality` scales log-likelihoods for paired tests."""

    def __init__(self, name: str, quality: float = 1.0, delay_s: float = 0.0) -> None:
        self.quality = quality
        self.delay_s = delay_s
        self.info = BackendInfo(name, "mock", 1000, "float32", "cpu", 4000, 2048)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def resolved(self) -> ResolvedConfig:
        """Its two options as they ran (it has no defaults to resolve and no libraries)."""
        return ResolvedConfig(
            dtype=self.info.dtype,
            device=self.info.device,
            options={"mock_quality": self.quality, "mock_delay_s": self.delay_s},
        )

    def loglikelihood(
        self, reqs: Sequence[LogLikelihood], progress: Progress | None = None
    ) -> list[LogLikelihoodResponse]:
        out = [
            LogLikelihoodResponse(
                logprob=-0.1 * len(r.continuation) / self.quality, is_greedy=True, n_tokens=1
            )
            for r in reqs
        ]
        if progress:
            progress(len(reqs))
        return out

    def loglikelihood_rolling(
        self, reqs: Sequence[RollingLogLikelihood], progress: Progress | None = None
    ) -> list[RollingResponse]:
        time.sleep(self.delay_s * len(reqs))
        out = [
            RollingResponse(
                logprob=-0.5 * len(r.text) / self.quality, n_tokens=self.count_tokens(r.text)
            )
            for r in reqs
        ]
        if progress:
            progress(len(reqs))
        return out

    def generate(
        self, reqs: Sequence[Generate], progress: Progress | None = None
    ) -> list[GenerateResponse]:
        # The prompt's tail, cut at the first stop as every engine cuts (stops.cut_at_stop).
        out = [
            GenerateResponse(
                text=cut_at_stop(r.prompt[-8:], r.stop),
                n_in=len(r.prompt),
                n_out=min(2, r.max_new_tokens),
                ttft_s=0.0,
            )
            for r in reqs
        ]
        if progress:
            progress(len(reqs))
        return out


def load_mock(cfg: ModelConfig, options: MockOptions, base_dir: Path) -> Backend:
    return MockBackend(cfg.name, options.mock_quality, options.mock_delay_s)


BACKENDS.register("mock")(
    Engine(
        load_mock,
        MockOptions,
        description="deterministic fake, for mechanics tests only",
        reads_source=False,
    )
)
