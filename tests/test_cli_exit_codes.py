"""The command line's exit codes: bad values exit 2 without a traceback, an unwritable
--out exits 2 naming the flag, and an unexpected exception a short message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    "args",
    [
        ["run", "smoke", "--limit", "-3"],
        ["run", "smoke", "--limit", "abc"],
        ["gate", "--baseline", "nope", "--candidate", "nope"],
        ["report", "/no/such/run"],
    ],
)
def test_bad_command_line_values_exit_2_without_traceback(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


def test_unwritable_out_exits_2_naming_the_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ppl_suite: Any
) -> None:
    suite = ppl_suite([{"name": "m", "source": "x", "backend": "mock"}])
    assert run_cli(monkeypatch, "run", str(suite), "--out", "/proc/no/such/dir") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--out /proc/no/such/dir: cannot create" in err


def test_unexpected_exception_exits_3_with_a_short_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import harness.report.render.command as report_command

    def boom(*_: object, **__: object) -> Path:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(report_command, "write_report", boom)
    assert run_cli(monkeypatch, "report", str(tmp_path)) == 4
    err = capsys.readouterr().err
    assert "internal error (ZeroDivisionError" in err and "Traceback" not in err
