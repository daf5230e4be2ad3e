"""What handlers raise; the one error middleware (`middleware.py`) turns each into a response."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class ApiError(Exception):
    """An error answered as `{"detail": "..."}` with `status`."""

    status = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ApiError):
    status = 404


class AlreadyExists(ApiError):
    status = 400


class UnsupportedMediaType(ApiError):
    status = 415


class RequestTimeout(ApiError):
    """The client did not send its body within HTTP_BODY_TIMEOUT."""

    status = 408


class Unavailable(ApiError):
    """A dependency (database, event stream) cannot answer: 503, the client may retry."""

    status = 503


class RequestValidationError(Exception):
    """Bad input, answered 422 with FastAPI's body: `{"detail": [{"loc", "msg", "type"}]}`."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        super().__init__(issues)
        self.issues = issues

    @classmethod
    def from_pydantic(cls, exc: ValidationError, where: str) -> RequestValidationError:
        return cls(
            [
                {"loc": [where, *err["loc"]], "msg": err["msg"], "type": err["type"]}
                for err in exc.errors(include_url=False, include_input=False, include_context=False)
            ]
        )


class Conflict(ApiError):
    """The request contradicts the current state (a robot resumed while the whole fleet is stopped)."""

    status = 409
