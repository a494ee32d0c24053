"""Paths named by a suite, task, run folder or argument stay inside their roots (issue 37)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import harness.suite.sources
from harness.core.errors import UserError
from harness.data.tabular import SqliteOptions, load_sqlite
from harness.report.render.command import default_target
from harness.suite.sources import resolve
from tests.conftest import WriteYaml, make_manifest, run_cli
from tests.report_runs import write_deploy_run


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "\n" not in err, err
    return err


@pytest.mark.parametrize(
    "inner",
    ["../outside.txt", "pkg/../../outside.txt", "/etc/hostname", "../../../../etc/hostname"],
)
def test_pip_path_must_stay_inside_the_package(tmp_path: Path, inner: str) -> None:
    (tmp_path / "outside.txt").write_text("not the package's")
    with pytest.raises(UserError, match=r"must stay inside the package \(no '..'\)"):
        resolve(f"pip:gensim==4.4.0/{inner}")  # refused before any fetch


def test_pip_path_through_a_link_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "unpacked"
    (package / "pkg").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("outside")
    (package / "pkg" / "data.txt").symlink_to(tmp_path / "secret.txt")
    (package / "pkg" / "real.txt").write_text("inside")
    monkeypatch.setattr(harness.suite.sources, "pip_package", lambda name, version: package)
    assert resolve("pip:pkg==1.0/pkg/real.txt") == package / "pkg" / "real.txt"
    with pytest.raises(UserError, match="must stay inside the package"):
        resolve("pip:pkg==1.0/pkg/data.txt")


@pytest.mark.parametrize("name", ["../../x", "..", "a/b", "/tmp/x"])
def test_baseline_name_must_be_a_plain_name(
    tmp_path: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = write_deploy_run(tmp_path / "run", {})
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert run_cli(monkeypatch, "baseline", "save", str(run), name) == 2
    assert "use a plain name" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "work"]
    assert list(work.iterdir()) == []


def test_report_folder_from_a_foreign_manifest_stays_in_reports() -> None:
    manifest = make_manifest().model_copy(update={"suite": "../../x", "run_id": "../../../y"})
    target = default_target([manifest])
    assert target == Path("reports/.._.._x/.._.._.._y.md")
    assert target.resolve().is_relative_to(Path("reports").resolve())
    dots = make_manifest().model_copy(update={"suite": "..", "run_id": "."})
    assert default_target([dots]) == Path("reports/__/_.md")


@pytest.mark.parametrize("name", ["..", "."])
def test_suite_named_dots_does_not_run_outside_results(
    tmp_path: Path,
    name: str,
    write_yaml: WriteYaml,
    corpus_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_yaml(
        tmp_path / "tasks" / "t.yaml",
        {
            "name": "t",
            "adapter": "perplexity",
            "source": {"format": "text", "path": str(corpus_file)},
        },
    )
    suite = write_yaml(
        tmp_path / "suite.yaml",
        {
            "name": name,
            "models": [{"name": "m", "source": "x", "backend": "mock"}],
            "tasks": ["t"],
            "task_dirs": ["tasks"],
        },
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, "run", str(suite), "--no-report") == 2
    assert f"'{name}' cannot name the run's folder" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "query",
    [
        "VACUUM INTO '{out}'",
        "ATTACH 'file:{out}?mode=rwc' AS other",
        "SELECT * FROM pragma_table_info('t')",
        "CREATE TABLE u (a)",
        "DELETE FROM t",
    ],
)
def test_sqlite_query_cannot_write(tmp_path: Path, query: str) -> None:
    db = tmp_path / "rows.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (text TEXT)")
        conn.execute("INSERT INTO t VALUES ('a row')")
    conn.close()
    out = tmp_path / "written.db"
    options = SqliteOptions(format="sqlite", path=str(db), query=query.format(out=out))
    with pytest.raises(UserError, match=r"query in 'source.query' failed"):
        load_sqlite(options, db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.db"]
    reads = SqliteOptions(format="sqlite", path=str(db), query="SELECT text FROM t")
    assert [s.fields["text"] for s in load_sqlite(reads, db)] == ["a row"]
