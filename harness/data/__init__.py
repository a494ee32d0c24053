"""Dataset loaders, one per file format, registered by name (`source.format` in a task)."""

from harness.data.base import LOADERS, Rows, Sample, ids_digest, load_rows, load_source
from harness.data.sampling import select

# Importing the modules registers their loaders.
from harness.data import text as _text  # noqa: F401  isort: skip
from harness.data import tabular as _tabular  # noqa: F401  isort: skip
from harness.data import qa_formats as _qa_formats  # noqa: F401  isort: skip

__all__ = ["LOADERS", "Rows", "Sample", "ids_digest", "load_rows", "load_source", "select"]
