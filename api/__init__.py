"""The operator HTTP API (token auth, OpenAPI) and the supervisor dashboard, in one aiohttp app."""

from api.server import ApiServices, OperatorApi, build_app

__all__ = ["ApiServices", "OperatorApi", "build_app"]
