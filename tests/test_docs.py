"""The docs stay true to the code: the generated references match a fresh generation, the
site builds in strict mode (a broken link or anchor fails), the README stays short, the
layout page names every package, and one version is stated everywhere it appears."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import harness
from harness.cli.reference import pages

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.mark.e2e
@pytest.mark.parametrize("page", sorted(str(p) for p in pages()))
def test_generated_reference_is_current(page: str) -> None:
    fresh = pages()[Path(page)]
    committed = (DOCS / page).read_text(encoding="utf-8")
    assert committed == fresh, f"docs/{page} is stale: run `python -m harness.cli.reference`"


def test_reference_names_every_command_and_suite_key() -> None:
    cli, suite = pages().values()
    for command in ("run", "report", "gate", "validate", "setup", "baseline save"):
        assert f"## `limitbench {command}`" in cli
    assert "--executor" in cli and "--native" in cli
    for key in ("`models`", "`slo_search`", "`reset_prefix_cache`", "`fewshot`"):
        assert key in suite
    assert "| `quant` | transform |" in suite  # the knobs table, with its engines


@pytest.mark.e2e
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    if shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists():
        pytest.fail("mkdocs is missing: it comes with the dev extra (pip install -e '.[dev]')")
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    done = subprocess.run(
        [mkdocs, "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "suite-file.html").exists()


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300


def test_layout_page_names_every_package() -> None:
    text = (DOCS / "contributing.md").read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    packages = sorted(p.parent.name for p in (ROOT / "harness").glob("*/__init__.py"))
    assert packages, "no packages found"
    assert [p for p in packages if f"  {p}/" not in layout] == []


def test_one_version_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version = project["project"]["version"]
    assert harness.__version__ == version
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.findall(r"^## (\d+\.\d+\.\d+)", changelog, re.M)[0] == version
    # the site's copy differs only in where its links start (docs/ is the site's root)
    site_copy = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert site_copy == changelog.replace("](docs/", "](")
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence[:200] and "Version 2.0" in licence[:300]
    assert project["project"]["license"] == "Apache-2.0"
