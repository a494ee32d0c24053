"""One limitbench paragraph for a Hugging Face hub that cannot be reached.

transformers and datasets answer an unreachable hub (offline mode, no network, a proxy) with
several lines about their own settings; the user needs the key that named the hub id, what
was tried, and the ways to run without the hub.
"""

from __future__ import annotations

import os

from harness.core.errors import UserError

# Exception class names (huggingface_hub, requests, httpx, urllib3) and message fragments
# that mean "could not reach the hub", not "the repository is wrong".
_NETWORK_TYPES = {
    "OfflineModeIsEnabled",
    "LocalEntryNotFoundError",
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "ConnectError",
    "NewConnectionError",
    "MaxRetryError",
    "ProxyError",
}
_NETWORK_TEXT = (
    "offline mode",
    "hf_hub_offline",
    "couldn't connect",
    "could not connect",
    "connection error",
    "failed to establish",
    "name or service not known",
    "temporary failure in name resolution",
    "network is unreachable",
    "max retries exceeded",
    "cannot find the requested files in the local cache",
)


def is_unreachable(err: BaseException) -> bool:
    """Whether `err` (or what caused it) says the hub could not be reached."""
    seen: BaseException | None = err
    while seen is not None:
        names = {cls.__name__ for cls in type(seen).__mro__}
        text = str(seen).lower()
        if names & _NETWORK_TYPES or any(fragment in text for fragment in _NETWORK_TEXT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def hub_unreachable(where: str, hub_id: str, what: str, local_hint: str) -> UserError:
    """The paragraph: `where` names the file and key, `what` the kind of thing fetched."""
    offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    tried = (
        "HF_HUB_OFFLINE is set, so only the local cache was tried, and it does not hold it"
        if offline and offline not in ("0", "false", "False")
        else "the hub could not be reached from here and the local cache does not hold it"
    )
    return UserError(
        f"{where}: {what} '{hub_id}' is a Hugging Face hub id; {tried}. To run offline: "
        f"{local_hint}, or fill the cache once on a machine with network "
        f"(`huggingface-cli download {hub_id}`, then copy ~/.cache/huggingface)."
    )
