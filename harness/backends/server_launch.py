"""Start a model server on a free port of 127.0.0.1, wait until it answers, stop it.

The server's output goes to a temporary file, so a server that dies during start-up is
reported with the tail of what it printed. Stopping is terminate, then kill after a grace
period; an atexit hook stops servers a crash or Ctrl-C would otherwise leave behind.
"""

from __future__ import annotations

import atexit
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from harness.errors import UserError

GRACE_S = 5.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LaunchedServer:
    """A server process started from a command; `url` is its OpenAI base URL (…/v1)."""

    def __init__(self, command: Sequence[str], source: str, where: str) -> None:
        self.port = free_port()
        self.where = where
        self.args = [
            part.replace("{port}", str(self.port))
            .replace("{source}", source)
            .replace("{python}", sys.executable)
            for part in command
        ]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = tempfile.NamedTemporaryFile(prefix="limitbench-server-", suffix=".log")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        except OSError as err:
            raise UserError(
                f"{where}: could not start the server command {self.args[0]!r}: {err}"
            ) from None
        atexit.register(self.stop)

    def log_tail(self, lines: int = 15) -> str:
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def wait_ready(self, timeout_s: float, headers: dict[str, str]) -> None:
        """Poll GET /v1/models until it answers; a dead process or the deadline is an error."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                tail = self.log_tail()
                self.stop()
                raise UserError(
                    f"{self.where}: the server command exited with code {code} before it "
                    f"answered ({' '.join(self.args)}). Its last output:\n{tail}"
                )
            if _answers(self.url + "/models", headers):
                return
            time.sleep(0.25)
        tail = self.log_tail()
        self.stop()
        raise UserError(
            f"{self.where}: the server did not answer {self.url}/models within "
            f"{timeout_s:g} s (raise server.startup_timeout_s if it loads slowly). "
            f"Its last output:\n{tail}"
        )

    def stop(self) -> None:
        """Terminate, wait a grace period, then kill. Safe to call more than once."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            self.log.close()
        atexit.unregister(self.stop)


def _answers(url: str, headers: dict[str, str]) -> bool:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2.0) as reply:
            return bool(reply.status == 200)
    except urllib.error.HTTPError:
        return True  # it answers (maybe 401 for a wrong key: reported by the backend's check)
    except (OSError, ValueError):
        return False
