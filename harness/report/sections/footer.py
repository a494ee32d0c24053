"""The reproducibility footer: the runs a report reads (suite, its hash, the command that made
each), the command that made the report, and the environment."""

from __future__ import annotations

import json
from collections.abc import Sequence

from harness.store.runfiles import Manifest


def footer(manifests: Sequence[Manifest], command: str) -> str:
    lines = ["## Reproducibility", ""]
    for m in manifests:
        lines.append(
            f"- run `{m.run_id}` of suite `{m.suite}` (sha256 "
            f"`{m.suite_sha256[:16]}`), made by `{m.command}`"
        )
    env = manifests[0].env.model_dump(mode="json")
    lines.append(f"- report made by `{command}`")
    lines.append(f"- environment: `{json.dumps(env, sort_keys=True)}`")
    return "\n".join(lines)
