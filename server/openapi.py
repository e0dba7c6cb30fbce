"""OpenAPI 3.1 generated from the pydantic schemas and the URL table."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import pydantic
from aiohttp import web

import schemas.auth
import schemas.incidents
import schemas.registry
from schemas.common import Problem

SCHEMA_MODULES = [schemas.auth, schemas.registry, schemas.incidents]


def _models() -> dict[str, type[pydantic.BaseModel]]:
    found: dict[str, type[pydantic.BaseModel]] = {"Problem": Problem}
    for module in SCHEMA_MODULES + _extra_modules():
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, pydantic.BaseModel) and obj.__module__ == module.__name__:
                found[name] = obj
    return found


def _extra_modules() -> list[Any]:
    import importlib

    mods = []
    for name in ("schemas.hotline", "schemas.welfare", "schemas.services"):
        with contextlib.suppress(ModuleNotFoundError):
            mods.append(importlib.import_module(name))
    return mods


def build_openapi(app: web.Application) -> dict[str, Any]:
    models = _models()
    _, defs = pydantic.json_schema.models_json_schema(
        [(m, "validation") for m in models.values()], ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        info = route.get_info()
        path = info.get("path") or info.get("formatter")
        if not path or route.method in ("HEAD", "*"):
            continue
        doc = inspect.getdoc(route.handler) or ""
        op: dict[str, Any] = {
            "operationId": f"{route.method.lower()}_{getattr(route.handler, '__name__', 'handler')}",
            "summary": doc.splitlines()[0] if doc else "",
            "responses": {"default": {"description": "problem",
                                      "content": {"application/problem+json": {
                                          "schema": {"$ref": "#/components/schemas/Problem"}}}}},
        }
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [{"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
                                for n in params]
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Anxin 安心 API", "version": "1.0.0",
                 "description": "Community elder-care station back end: help calls, dispatch, hotline, services."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": defs.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
    }
