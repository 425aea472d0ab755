"""Routes that describe themselves: each API handler declares its operation once, and the OpenAPI 3.1
document is built from those declarations (request bodies and queries from their pydantic models)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATIONS = web.AppKey("operations", list["Operation"])
# Constraints that live in reference data (e.g. the active case categories) are written into the document
# when it is served, so what is documented is what is enforced: async (app, document) -> None.
DOC_REFINERS = web.AppKey("doc_refiners", list[Callable[[web.Application, dict[str, Any]], Awaitable[None]]])


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    roles: tuple[str, ...] = ()
    statuses: dict[int, str] = field(default_factory=dict)
    public: bool = False
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> JSON schema (default: string)
    upload: dict[str, Any] | None = None  # a multipart/form-data request body: JSON schema of its fields
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)  # request header -> {schema, description}


def operation(method: str, path: str, *, summary: str, tag: str, body: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, roles: tuple[str, ...] = (),
              statuses: dict[int, str] | None = None, public: bool = False,
              path_params: dict[str, dict[str, Any]] | None = None,
              upload: dict[str, Any] | None = None,
              headers: dict[str, dict[str, Any]] | None = None) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.__operation__ = Operation(  # type: ignore[attr-defined]
            method, path, summary, tag, body, query, roles, statuses or {200: "OK"}, public, path_params or {},
            upload, headers or {})
        return handler
    return mark


def add_routes(app: web.Application, *handlers: Handler) -> None:
    operations = app.setdefault(OPERATIONS, [])
    for handler in handlers:
        op: Operation = handler.__operation__  # type: ignore[attr-defined]
        app.router.add_route(op.method, op.path, handler)
        operations.append(op)


def build_document(app: web.Application, title: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for op in app.get(OPERATIONS, []):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation_doc(op, schemas)
    for resource in app.router.resources():  # routes added without a declaration still appear
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/v1") and path not in paths:
            methods = {r.method.lower() for r in resource if r.method not in ("HEAD", "*")}
            paths[path] = {m: {"summary": "", "responses": {"200": {"description": "OK"}}} for m in methods}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**schemas, "Error": _ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _operation_doc(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    if op.roles:
        doc["description"] = "角色：" + "、".join(op.roles)
    if op.public:
        doc["security"] = []
    params = [{"name": name, "in": "path", "required": True,
               "schema": op.path_params.get(name, {"type": "string"})} for name in _path_params(op.path)]
    if op.query is not None:
        schema = _schema(op.query, schemas)
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                           "schema": prop})
    for name, spec in op.headers.items():  # optional request headers (e.g. Idempotency-Key)
        params.append({"name": name, "in": "header", "required": False, **spec})
    if params:
        doc["parameters"] = params
    if op.body is not None:
        _schema(op.body, schemas)
        doc["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
    if op.upload is not None:
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": op.upload}}
    responses: dict[str, Any] = {str(k): {"description": v} for k, v in op.statuses.items()}
    if op.body is not None or op.upload is not None:
        responses.setdefault("413", _error("请求体过大"))
    if op.upload is not None:
        responses.setdefault("415", _error("请求体的内容类型不受支持"))
    for status in (400, 401, 403, 404, 409, 422):
        responses.setdefault(str(status), {"description": "错误", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    responses.setdefault("503", {  # any route that reads the database (web/errors.py unavailable_response)
        "description": "数据库暂时不可用，请在 Retry-After 秒后重试",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "建议重试前等待的秒数"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    doc["responses"] = responses
    return doc


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas[model.__name__] = schema
    return schema


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        "required": ["code", "message"]}},
    "required": ["error"],
}
