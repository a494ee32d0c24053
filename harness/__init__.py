"""limitbench: how far can a language model be pushed, and what does it cost.

The public names below load on first use (PEP 562), so importing one layer of the package
(`harness.core.values`, say) does not pull in the run store through this file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.core import moved

moved.install()  # 0.2's module paths stay importable, with a DeprecationWarning

if TYPE_CHECKING:
    from harness.core.errors import UserError
    from harness.core.requests import (
        Generate,
        GenerateResponse,
        LogLikelihood,
        LogLikelihoodResponse,
        Response,
        RollingLogLikelihood,
        RollingResponse,
    )
    from harness.core.values import Value
    from harness.store.records import SCHEMA_VERSION, Record, RunStore

__version__ = "0.3.0"

_PUBLIC = {
    "UserError": "harness.core.errors",
    "Generate": "harness.core.requests",
    "GenerateResponse": "harness.core.requests",
    "LogLikelihood": "harness.core.requests",
    "LogLikelihoodResponse": "harness.core.requests",
    "Response": "harness.core.requests",
    "RollingLogLikelihood": "harness.core.requests",
    "RollingResponse": "harness.core.requests",
    "Value": "harness.core.values",
    "SCHEMA_VERSION": "harness.store.records",
    "Record": "harness.store.records",
    "RunStore": "harness.store.records",
}
__all__ = [
    "SCHEMA_VERSION",
    "Generate",
    "GenerateResponse",
    "LogLikelihood",
    "LogLikelihoodResponse",
    "Record",
    "Response",
    "RollingLogLikelihood",
    "RollingResponse",
    "RunStore",
    "UserError",
    "Value",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
