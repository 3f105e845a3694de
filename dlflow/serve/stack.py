"""The HTTP stack under `dlflow serve`: uvicorn, with httptools' HTTP parser and uvloop's event loop.

Both are C extensions that `make install` installs (pyproject.toml). On this project's 2-core
machine they take the served digits MLP from about 1,450 to 2,450 requests/s under 8 clients
(`benchmarks/serve.py`, where the bare FastAPI endpoint runs on the same stack). Where one is
missing (uvloop has no Windows build), uvicorn's pure-Python h11 parser or asyncio's own loop
runs instead; `/metadata` says which (`dlflow.serving.http`).
"""

from __future__ import annotations

from importlib.util import find_spec

HTTP = "httptools" if find_spec("httptools") else "h11"
LOOP = "uvloop" if find_spec("uvloop") else "asyncio"


def describe() -> str:
    """The stack in words, for /metadata: e.g. "uvicorn, httptools parser, uvloop event loop"."""
    return f"uvicorn, {HTTP} parser, {LOOP} event loop"
