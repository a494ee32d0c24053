"""Backends answer requests in batches; they know nothing about tasks."""

from harness.backends.base import BACKENDS, Backend, BackendInfo

# Importing the modules registers their factories (heavy imports stay inside them).
from harness.backends import mock as _mock  # noqa: F401  isort: skip
from harness.backends import hf_factory as _hf  # noqa: F401  isort: skip
from harness.backends import openai_factory as _openai  # noqa: F401  isort: skip
from harness.backends import llamacpp_factory as _llamacpp  # noqa: F401  isort: skip

__all__ = ["BACKENDS", "Backend", "BackendInfo"]
