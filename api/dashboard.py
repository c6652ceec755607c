"""The supervisor dashboard: static files served by the app itself (no CDN, works offline).

The page and its script are public (they hold no data); everything they show comes from the
token-protected API, with the token the supervisor types in, kept in the tab's sessionStorage.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from api.endpoint import ApiCall, Endpoint
from api.errors import ApiError

STATIC = Path(__file__).with_name("static")
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_HEADERS = {
    # The page only ever talks to its own origin; nothing inline, nothing from elsewhere.
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


async def dashboard_page(call: ApiCall) -> web.StreamResponse:
    return web.FileResponse(STATIC / "dashboard.html", headers={**_HEADERS, "Content-Type": "text/html"})


async def dashboard_file(call: ApiCall) -> web.StreamResponse:
    name = call.path["name"]
    path = (STATIC / name).resolve()
    if path.parent != STATIC.resolve() or path.suffix not in _TYPES or not path.is_file():
        raise ApiError(404, f"no dashboard file {name!r}")
    return web.FileResponse(path, headers={**_HEADERS, "Content-Type": _TYPES[path.suffix]})


ENDPOINTS = [
    Endpoint("GET", "/dashboard", dashboard_page, "The supervisor dashboard (HTML)", "dashboard",
             public=True, produces="text/html"),
    Endpoint("GET", "/dashboard/static/{name}", dashboard_file, "The dashboard's script and style",
             "dashboard", path_params={"name": "file"}, public=True, produces="text/plain", errors=(404,)),
]
