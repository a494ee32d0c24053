"""Engines answer requests in batches; they know nothing about tasks.

base.py      the one engine interface (Backend), EngineOptions and the registry
options.py   shared option types and the plan-time check of a suite's knobs
items.py windows.py stops.py server_launch.py   conventions the engines share
hf/ llamacpp/ openai/ encoder/ vllm/ mock/   one folder per engine (see docs/engines.md)
"""

from harness.backends.base import BACKENDS, Backend, BackendInfo, Engine, EngineOptions

# Importing the engine packages registers them (heavy imports stay inside their loaders).
from harness.backends import mock as _mock  # noqa: F401  isort: skip
from harness.backends import hf as _hf  # noqa: F401  isort: skip
from harness.backends import openai as _openai  # noqa: F401  isort: skip
from harness.backends import llamacpp as _llamacpp  # noqa: F401  isort: skip
from harness.backends import encoder as _encoder  # noqa: F401  isort: skip
from harness.backends import vllm as _vllm  # noqa: F401  isort: skip

__all__ = ["BACKENDS", "Backend", "BackendInfo", "Engine", "EngineOptions"]
