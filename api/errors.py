"""Errors as JSON: every failure a client sees is `{"error": {"status": ..., "message": ...}}`.

Handlers raise `ApiError` with a message written for the operator reading it; aiohttp's own
HTTP exceptions (unknown route, wrong method, body too large) are rewritten into the same shape,
and anything unexpected is logged with its traceback and answered with a 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_response(status: int, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    error: dict[str, Any] = {"status": status, "message": message}
    if details is not None:
        error["details"] = details
    return web.json_response({"error": error}, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.details)
    except HttpProcessingError as exc:  # a malformed request body (multipart headers, encodings)
        return error_response(400, f"malformed request: {exc.message}")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are not errors
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return error_response(exc.status, exc.reason if exc.text is None or exc.text.startswith(
            f"{exc.status}:") else exc.text, headers=headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal error; the details are in the server's log")
