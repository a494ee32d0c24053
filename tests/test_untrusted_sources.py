"""A suite or task file from someone else cannot run code or reach files outside its roots."""

from __future__ import annotations

import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

import harness.suite.sources
from harness.core.errors import UserError
from harness.suite.yaml_reading import read_yaml
from tests.conftest import WriteYaml, run_cli

# The conftest refuses pip: resolution in tests not marked `network`; these tests serve the
# package from a local folder, so they use the real resolver.
_REAL_PIP_PACKAGE = harness.suite.sources.pip_package


def _hostile_sdist(folder: Path, marker: Path) -> None:
    """markerpkg 1.0 as a source distribution only, whose setup.py writes `marker`."""
    setup = (
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('build code ran')\n"
        "from setuptools import setup\nsetup(name='markerpkg', version='1.0')\n"
    )
    files = {
        "setup.py": setup,
        "PKG-INFO": "Metadata-Version: 2.1\nName: markerpkg\nVersion: 1.0\n",
        "markerpkg/__init__.py": "",
        "markerpkg/data.txt": "one line\n",
    }
    folder.mkdir(parents=True)
    with tarfile.open(folder / "markerpkg-1.0.tar.gz", "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"markerpkg-1.0/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


@pytest.fixture()
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only a local folder holding the hostile sdist; returns the marker path.
    Build isolation is off so that, were the sdist prepared, its setup.py would run here
    (with isolation and no index, pip would fail to fetch setuptools first)."""
    marker = tmp_path / "MARKER"
    _hostile_sdist(tmp_path / "index", marker)
    monkeypatch.setattr(harness.suite.sources, "pip_package", _REAL_PIP_PACKAGE)
    monkeypatch.setenv("LIMITBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "index"))
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")  # pip's spelling of "no isolation"
    return marker


@pytest.mark.e2e
def test_sdist_only_package_is_refused_without_running_its_build_code(
    tmp_path: Path,
    local_index: Path,
    write_yaml: WriteYaml,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = "pip:markerpkg==1.0/markerpkg/data.txt"
    task = {"name": "t", "adapter": "perplexity", "source": {"format": "text", "path": source}}
    write_yaml(tmp_path / "tasks" / "t.yaml", task)
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": "s",
            "models": [{"name": "m", "source": "x", "backend": "mock"}],
            "tasks": ["t"],
            "task_dirs": ["tasks"],
        },
    )
    assert run_cli(monkeypatch, "validate", str(suite)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len([ln for ln in err.splitlines() if ln.strip()]) == 1
    assert source in err and "wheels only" in err and "build code" in err
    assert not local_index.exists()


def _alias_bomb(levels: int) -> str:
    """Nine aliases per level: a few hundred bytes standing for 9**levels strings, given
    where a validator reads them (`n`) and an error message would echo them."""
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{aliases}]")
    head = ["name: t", "adapter: perplexity", "source: {format: text, path: x}", "options:"]
    return "\n".join([*head, *lines, f"n: *l{levels - 1}"]) + "\n"


@pytest.mark.parametrize("levels", [6, 9])
def test_yaml_alias_bomb_is_refused_in_one_short_message(
    tmp_path: Path,
    levels: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = tmp_path / "tasks" / "t.yaml"
    task.parent.mkdir()
    task.write_text(_alias_bomb(levels))
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\nmodels: [{name: m, source: x, backend: mock}]\ntasks: [t]\n")
    suite.write_text(suite.read_text() + "task_dirs: [tasks]\n")
    tracemalloc.start()
    try:
        assert run_cli(monkeypatch, "validate", str(suite)) == 2
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err and len(err) < 400, err[:400]
    assert str(task) in err and "aliases" in err and "100000 values" in err
    assert peak < 100 * 2**20


def test_yaml_alias_to_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nloop: &a [1, *a]\n")
    with pytest.raises(UserError, match=r"s.yaml: the YAML alias at line 2 refers to itself"):
        read_yaml(path)


def test_ordinary_anchors_still_load(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("base: &b {n: 2, seed: 1}\nother: *b\n")
    assert read_yaml(path) == {"base": {"n": 2, "seed": 1}, "other": {"n": 2, "seed": 1}}


def test_a_long_wrong_value_is_echoed_as_a_short_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"name: [{', '.join(['abcdefgh'] * 5000)}]\nmodels: []\ntasks: [t]\n")
    assert run_cli(monkeypatch, "validate", str(suite)) == 2
    err = capsys.readouterr().err.strip()
    assert "key 'name'" in err and "(60000 characters)" in err and len(err) < 600, err[:600]
