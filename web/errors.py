"""API errors: one shape for every 4xx, rendered by the error middleware."""

from __future__ import annotations


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and a message for people (Chinese)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
