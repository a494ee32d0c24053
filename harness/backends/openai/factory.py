"""Connects to (or launches) an OpenAI-compatible server; httpx loads only when it is used."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.backends.base import Backend, BackendInfo
from harness.backends.openai.options import OpenAIOptions
from harness.backends.openai.served_config import model_entry_facts
from harness.core.errors import UserError, did_you_mean
from harness.core.values import Scalar
from harness.suite.schema import ModelConfig, ServerConfig


def load_openai(cfg: ModelConfig, options: OpenAIOptions, base_dir: Path) -> Backend:
    from harness.backends.openai.backend import OpenAIBackend
    from harness.backends.openai.http import api_headers, import_httpx
    from harness.backends.openai.served_config import server_version
    from harness.backends.server_launch import LaunchedServer

    where = f"model '{cfg.name}'"
    server = _server_of(cfg, where)
    headers = api_headers(server, where)
    import_httpx()
    local = _local_file(cfg, base_dir, server)
    launched = None
    if server.command is not None:
        placeholders = command_placeholders(server.command, cfg, local, where)
        launched = LaunchedServer(server.command, placeholders, where, server.env)
        try:
            launched.wait_ready(server.startup_timeout_s, headers)
        except BaseException:
            launched.stop()
            raise
    url = launched.url if launched is not None else str(server.url)
    try:
        reported = check_served_model(url, server, headers, where)
    except BaseException:
        if launched is not None:
            launched.stop()
        raise
    version = server_version(import_httpx(), url.rstrip("/").removesuffix("/v1"), headers)
    if version is not None:
        reported["server_version"] = version
    info = _info(cfg, url, local)
    served_file = local if launched is not None else None
    backend = OpenAIBackend(server, url, headers, options, info, launched, served_file)
    backend.client_tokenizer_source = client_tokenizer_source(server, local)
    backend.server_reports = reported
    return backend


def command_placeholders(
    command: list[str], cfg: ModelConfig, local: Path | None, where: str
) -> dict[str, str]:
    """What each `{name}` in the server command stands for; the costly ones (a GGUF
    dequantized to a transformers folder, an engine's environment) only when used."""
    import sys

    from harness.backends.envs import require_env_python

    joined = " ".join(command)
    values = {"source": str(local or cfg.source), "python": sys.executable}
    if "{model_dir}" in joined:
        values["model_dir"] = str(model_folder(cfg, local, where))
    for name in re.findall(r"\{env:([A-Za-z0-9_]+)\}", joined):
        values[f"env:{name}"] = str(require_env_python(name, f"{where}, key 'server.command'"))
    return values


def model_folder(cfg: ModelConfig, local: Path | None, where: str) -> Path | str:
    """The source as a transformers folder: a GGUF dequantized once into the cache (the hf
    engine's own conversion), a folder as it is, a hub id as it is (the server fetches it)."""
    from harness.backends.shared_transformers.load import transformers_source

    if local is None:
        return str(cfg.source)
    if not (local.is_dir() or (local.is_file() and local.suffix == ".gguf")):
        raise UserError(f"{where}: '{{model_dir}}' needs a folder or a GGUF file, not {local.name}")
    return transformers_source(local)[0]


def client_tokenizer_source(server: ServerConfig, local: Path | None) -> str | None:
    """Where the client tokenizer comes from: the suite's `server.tokenizer`, else the
    model's own folder or GGUF file on disk (None: the client cannot count tokens)."""
    if server.tokenizer is not None:
        return server.tokenizer
    return str(local) if local is not None and (local.is_dir() or local.suffix == ".gguf") else None


def _server_of(cfg: ModelConfig, where: str) -> ServerConfig:
    if cfg.server is None:
        raise UserError(f"{where}: backend 'openai' needs a 'server:' block with at least 'model'")
    if cfg.server.url is None and cfg.server.command is None:
        raise UserError(f"{where}: key 'server' needs 'url' (a running server) or 'command'")
    return cfg.server


def _local_file(cfg: ModelConfig, base_dir: Path, server: ServerConfig) -> Path | None:
    """The model file, when the suite launches the server from it or it lies on disk."""
    from harness.suite.sources import PIP_PREFIX, resolve

    source = cfg.source
    launching = server.command is not None and any(
        "{source}" in a or "{model_dir}" in a for a in server.command
    )
    if isinstance(source, str) and not source.startswith(PIP_PREFIX) and not launching:
        candidate = base_dir / source
        return candidate if candidate.exists() else None
    found = resolve(source, base_dir)
    return found if isinstance(found, Path) else None


def check_served_model(
    url: str, server: ServerConfig, headers: dict[str, str], where: str
) -> dict[str, Scalar]:
    """GET /v1/models: the server answers, accepts the key and serves the named model; what
    its entry for that model says (for the record's resolved configuration)."""
    import httpx

    try:
        reply = httpx.get(url.rstrip("/") + "/models", headers=headers, timeout=10.0)
    except httpx.HTTPError as err:
        raise UserError(
            f"{where}: no OpenAI-compatible server answers at {url} (key 'server.url'): "
            f"{type(err).__name__}. Start the server, fix the URL (it usually ends in /v1), "
            "or give 'server.command' to let limitbench start one"
        ) from None
    if reply.status_code in (401, 403):
        key = server.api_key_env or "(none: set key 'server.api_key_env')"
        raise UserError(
            f"{where}: the server at {url} refused the API key (HTTP {reply.status_code}); "
            f"the key is read from the environment variable {key}"
        )
    if reply.status_code != 200:
        raise UserError(f"{where}: GET {url}/models answered HTTP {reply.status_code}")
    try:
        entries = list(reply.json().get("data", []))
        served = [str(m["id"]) for m in entries]
    except (json.JSONDecodeError, AttributeError, KeyError, TypeError):
        raise UserError(f"{where}: {url}/models did not return an OpenAI model list") from None
    if served and server.model not in served:
        raise UserError(
            f"{where}: key 'server.model': the server at {url} does not serve "
            f"'{server.model}'{did_you_mean(server.model, served)}"
        )
    entry = next((m for m in entries if str(m["id"]) == server.model), None)
    return model_entry_facts(entry) if isinstance(entry, dict) else {}


def _info(cfg: ModelConfig, url: str, local: Path | None) -> BackendInfo:
    """Parameters and weight bytes from the GGUF file when there is one, else 0 (unknown)."""
    n_params, size = 0, 0
    if local is not None and local.is_file() and local.suffix == ".gguf":
        from gguf import GGUFReader

        n_params = sum(int(t.n_elements) for t in GGUFReader(local).tensors)
        size = local.stat().st_size
    return BackendInfo(cfg.name, url, n_params, "server", f"server {url}", size, 0)
