"""The OpenAPI 3.1 document, built from the endpoint declarations (never written by hand)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from api.endpoint import PATH_KINDS, Endpoint

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["status", "message"], "properties": {
        "status": {"type": "integer"}, "message": {"type": "string"}, "details": {}}}},
}
_ERROR_TEXT = {400: "bad input", 401: "missing or invalid token", 403: "the caller's role may not do this",
               404: "not found", 409: "conflict", 410: "gone", 422: "input failed validation", 429: "too many at once: retry after Retry-After",
               502: "the remote side failed", 503: "not ready"}


def document(endpoints: Sequence[Endpoint], *, version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "AI call center: operator API", "version": version,
                 "description": "Contacts, campaigns, calls and their results, webhooks and the "
                                "ready-for-human queue. Every endpoint but the public ones needs "
                                "`Authorization: Bearer <token>`."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
    }


def _operation(ep: Endpoint, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": ep.operation_id, "summary": ep.summary, "tags": [ep.tag]}
    if ep.public:
        op["security"] = []
    params = [{"name": name, "in": "path", "required": True, "schema": PATH_KINDS[kind][1]}
              for name, kind in ep.path_params.items()]
    if ep.query is not None:
        params += _query_params(ep.query, schemas)
    if params:
        op["parameters"] = params
    if ep.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _schema_ref(ep.body, schemas)}}}
    elif ep.multipart is not None:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": ep.multipart}}}
    ok_content = {ep.produces: {"schema": {"type": "string", "format": "binary"}
                                if ep.produces not in ("application/json",) else {}}}
    responses: dict[str, Any] = {str(ep.ok): {"description": "success", "content": ok_content}}
    codes = [400, 422, *ep.errors] + ([] if ep.public else [401, 403])
    for code in sorted(set(codes)):
        responses[str(code)] = {"description": _ERROR_TEXT.get(code, "error"), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = responses
    return op


def _schema_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_params(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]
