"""The openai engine: any OpenAI-compatible server (vLLM, TGI, SGLang, llama.cpp, Ollama).

  options.py   OpenAIOptions: only the offered load (concurrency, request_rate); the
               server's own settings are the server's
  factory.py   connects to `server.url` or launches `server.command` (../server_launch.py)
  backend.py   OpenAIBackend: the request kinds over HTTP (http.py: streaming, retries)

Importing this package registers the engine; httpx is imported only when it connects.
"""

from __future__ import annotations

from harness.backends.base import BACKENDS, Engine
from harness.backends.openai.factory import load_openai
from harness.backends.openai.options import OpenAIOptions

ENGINE = BACKENDS.register("openai")(
    Engine(
        load_openai,
        OpenAIOptions,
        description="an OpenAI-compatible server (HTTP)",
        serves=True,
    )
)
