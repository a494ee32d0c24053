"""What a served model's configuration is known to be: the load this client offered, and what
the server says of itself in its /v1/models entry (vLLM adds `max_model_len`, llama.cpp's
server a `meta` block) and, where offered, its /version route. The OpenAI API has no field
for the weights' dtype or the server's batching, so those are stated unknown, with why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.backends.resolved import ResolvedConfig, imported_versions, known
from harness.core.values import Scalar

UNKNOWN_DTYPE = (
    "an OpenAI-compatible server does not report the dtype its weights run in (its "
    "/v1/models entry has no such field); see the server's own command line or logs"
)
UNKNOWN_BATCHING = (
    "the server's scheduler (batch size, sequences in flight) is its own, outside the OpenAI API"
)


def model_entry_facts(entry: Mapping[str, Any]) -> dict[str, Scalar]:
    """The scalar fields of the served model's /v1/models entry, and of its `meta` block
    (llama.cpp's server: n_ctx_train, n_params, size, ...) as `meta.<name>`."""
    facts: dict[str, Scalar] = {}
    for prefix, fields in (("", entry), ("meta.", entry.get("meta"))):
        if not isinstance(fields, Mapping):
            continue
        for name, value in fields.items():
            if isinstance(value, bool | int | float | str) and name != "object":
                facts[prefix + str(name)] = value
    return facts


def server_version(httpx: Any, root: str, headers: dict[str, str]) -> str | None:
    """GET <root>/version (vLLM offers it); None where the server has no such route."""
    try:
        reply = httpx.get(root + "/version", headers=headers, timeout=10.0)
        version = reply.json().get("version") if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(version) if isinstance(version, str | int | float) else None


def served_resolved(
    device: str,
    concurrency: int | None,
    request_rate: float | None,
    reported: Mapping[str, Scalar],
) -> ResolvedConfig:
    unknown = {"dtype": UNKNOWN_DTYPE, "batching": UNKNOWN_BATCHING}
    if "max_model_len" not in reported and "meta.n_ctx_train" not in reported:
        unknown["max_model_len"] = "the server's /v1/models entry does not state its context"
    return ResolvedConfig(
        dtype=None,
        device=device,
        options=known({"concurrency": concurrency, "request_rate": request_rate}),
        reported=dict(reported),
        unknown=unknown,
        libraries=imported_versions(("httpx",)),
    )
