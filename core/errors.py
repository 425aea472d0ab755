"""Domain errors. Each carries a stable code (for APIs) and a message for people (Chinese)."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class IllegalCommand(DomainError):
    """The command does not exist or is not allowed in the case's current state."""

    code = "illegal_transition"
    status = 409


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class PreconditionFailed(DomainError):
    """The command is legal in this state but a business rule refuses it now."""

    code = "precondition_failed"
    status = 409


class InvalidParameters(DomainError):
    code = "invalid_parameters"
    status = 422


class StaleVersion(DomainError):
    code = "stale_version"
    status = 409


class NotFound(DomainError):
    code = "not_found"
    status = 404


class RateLimited(DomainError):
    """Too many attempts in a window (logins, phone reveals); the client should wait and retry."""

    code = "rate_limited"
    status = 429
