"""The server's refusals: `ApiError` (an HTTP status and a message, answered as `{"error": message}`),
and the check every model route makes first: does the URL name the served model and version."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as `{"error": message}` with an HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def check_model(served: Any, name: str, version: str | None) -> None:
    """404 unless the URL names the served model (and its version, when it names one)."""
    if name != served.name:
        raise ApiError(404, f'no model "{name}"; this server serves "{served.name}"')
    if version is not None and version != served.version:
        raise ApiError(404, f'model "{name}" has no version "{version}"; its version is "{served.version}"')
