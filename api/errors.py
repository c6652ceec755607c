"""Errors as JSON: every failure a client sees is `{"error": {"status": ..., "message": ...}}`.

Handlers raise `ApiError` with a message written for the operator reading it; aiohttp's own
HTTP exceptions (unknown route, wrong method, body too large) are rewritten into the same shape,
a wait for one of the API's database connections that runs out is a 503 with Retry-After, and
anything unexpected is logged with its traceback and answered with a 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from psycopg_pool import PoolTimeout

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers  # e.g. Retry-After on a 429


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
        return error_response(exc.status, exc.message, exc.details, headers=exc.headers)
    except PoolTimeout:
        # Every connection of the API's own pool stayed busy past the pool's wait: the client may retry;
        # it is not a fault of this server's code (the call path has its own pool and is not affected).
        return error_response(503, "the database is busy; try again in a moment", headers={"Retry-After": "5"})
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
