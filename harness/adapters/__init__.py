"""Task adapters: dataset rows -> requests; responses -> per-sample scores."""

from harness.adapters.base import ADAPTERS, Adapter, AdapterOptions

# Importing the modules registers their adapters.
from harness.adapters import perplexity as _perplexity  # noqa: F401  isort: skip
from harness.adapters import choice as _choice  # noqa: F401  isort: skip
from harness.adapters import generation as _generation  # noqa: F401  isort: skip
from harness.adapters import load as _load  # noqa: F401  isort: skip

__all__ = ["ADAPTERS", "Adapter", "AdapterOptions"]
