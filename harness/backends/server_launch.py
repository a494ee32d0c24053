"""Start a model server on a free port of 127.0.0.1, wait until it answers, stop it.

The server's output goes to a temporary file, so a server that dies during start-up is
reported with the tail of what it printed. Stopping is terminate, then kill after a grace
period, sent to the server's own process group (its workers too). A server never outlives
limitbench: an atexit hook and the runner's `finally` stop it on errors, Ctrl-C and SIGTERM,
and on Linux the kernel kills it when limitbench dies without cleaning up (SIGKILL, OOM):
the parent-death signal, set in the child before it runs the server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.backends.server_memory import TreeMemoryWatch
from harness.core.errors import UserError

GRACE_S = 5.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LaunchedServer:
    """A server process started from a command; `url` is its OpenAI base URL (…/v1)."""

    def __init__(
        self,
        command: Sequence[str],
        placeholders: Mapping[str, str],
        where: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`placeholders` maps `{name}` to its text; `{port}` (a free port) is added here."""
        self.port = free_port()
        self.where = where
        values = {**placeholders, "port": str(self.port)}
        self.args = [_expand(part, values) for part in command]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = tempfile.NamedTemporaryFile(prefix="limitbench-server-", suffix=".log")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.args,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: stopped with its workers, not by ^C
                preexec_fn=die_with_parent(),  # only prctl, then exec
                env={**os.environ, **(env or {})},
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

    def watch_memory(self) -> TreeMemoryWatch:
        """A poller of the server's process tree (its workers too), started by the caller
        around a measured window."""
        return TreeMemoryWatch(self.process.pid)

    def stop(self) -> None:
        """Terminate, wait a grace period, then kill. Safe to call more than once."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(GRACE_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(OSError):
            self.log.close()
        atexit.unregister(self.stop)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            self.process.send_signal(signum)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGKILL the child when this process dies, or None
    where that is not possible. Linux sends it when the *thread* that started the child
    ends, so only the main thread (which lives as long as the process) uses it; servers
    started from other threads rely on the atexit hook and the runner's `finally`."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child must not load libraries
    parent = os.getpid()

    def set_death_signal() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_death_signal


def _expand(part: str, values: Mapping[str, str]) -> str:
    for name, value in values.items():
        part = part.replace("{" + name + "}", value)
    return part


def _answers(url: str, headers: dict[str, str]) -> bool:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2.0) as reply:
            return bool(reply.status == 200)
    except urllib.error.HTTPError:
        return True  # it answers (maybe 401 for a wrong key: reported by the backend's check)
    except (OSError, ValueError):
        return False
