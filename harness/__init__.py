"""limitbench: how far can a language model be pushed, and what does it cost."""

from harness.errors import UserError
from harness.requests import (
    Generate,
    GenerateResponse,
    LogLikelihood,
    LogLikelihoodResponse,
    Response,
    RollingLogLikelihood,
    RollingResponse,
)
from harness.store.records import SCHEMA_VERSION, Record, RunStore
from harness.values import Value

__version__ = "0.1.0"
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
