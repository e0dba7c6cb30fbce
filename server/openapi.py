"""OpenAPI 3.1 generated from the pydantic schemas and the URL table.

Each operation gets its request body, query parameters, the ``Idempotency-Key`` header
where it is used, its success response and problem+json errors. Where that comes from:

1. ``@doc(...)`` next to a handler says it explicitly (the platform's own routes);
2. otherwise it is read off the handler's source: the model passed to ``parse()``,
   ``parse_optional()`` or ``parse_query()`` (or ``Model.model_validate`` of the body),
   ``request.query.get("x")`` reads, the ``Idempotency-Key`` header, and the model (or the
   function returning one) passed to ``ok()``. That covers the other domains' routes
   without touching their files; ``tests/platform/test_openapi.py`` checks the result
   against what the handlers really do.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pydantic
from aiohttp import web

import schemas.auth
import schemas.console
import schemas.hotline
import schemas.incidents
import schemas.planning
import schemas.pushes
import schemas.registry
import schemas.services
import schemas.tasks
import schemas.welfare
from schemas.common import Problem
from server.texts import render

SCHEMA_MODULES = [
    schemas.auth,
    schemas.registry,
    schemas.incidents,
    schemas.tasks,
    schemas.planning,
    schemas.hotline,
    schemas.welfare,
    schemas.services,
    schemas.console,
    schemas.pushes,
]
REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"

H = TypeVar("H", bound=Callable[..., Any])


@dataclass(frozen=True)
class Doc:
    """What an operation takes and gives, for the document."""

    body: type[pydantic.BaseModel] | None = None
    body_required: bool = True
    body_any: bool = False  # reads a body it checks itself (signed webhooks, uploads)
    body_media: str = "application/json"
    query: type[pydantic.BaseModel] | None = None
    query_names: tuple[str, ...] = ()  # plain ``request.query.get`` reads
    response: Any = None  # a model class, or list[Model]
    status: int = 200
    also: dict[int, str] = field(default_factory=dict)  # other success statuses, same body
    idempotency_key: bool = False
    idempotency_required: bool = True
    public: bool = False
    content_type: str = "application/json"
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def doc(**kw: Any) -> Callable[[H], H]:
    """Declare an operation's contract next to its handler: ``@doc(body=ElderIn,
    response=ElderOut, status=201)``. Anything not given is still derived."""

    def mark(fn: H) -> H:
        fn.__openapi__ = kw  # type: ignore[attr-defined]
        return fn

    return mark


# ----- reading a handler ------------------------------------------------------------------

_BODY = re.compile(r"\bparse(_optional)?\(\s*request\s*,\s*([A-Za-z_][\w.]*)")
_QUERY = re.compile(r"\bparse_query\(\s*request\s*,\s*([A-Za-z_][\w.]*)")
_VALIDATE = re.compile(
    r"\b([A-Za-z_][\w.]*)\.model_validate\(\s*(?:_json\(|await request\.json\(|json\.loads\()"
)
_QUERY_GET = re.compile(r"request\.query(?:\.get\(|\[)\s*[\"'](\w+)[\"']")
_OK_CALL = re.compile(r"\bok\(\s*(\[\s*)?([A-Za-z_][\w.]*)\(")
_READS_BODY = re.compile(r"await request\.(?:read|json|text|post)\(\)")
_AUTH = re.compile(r"\b(?:require|caller|ensure_staff_only)\(")
_CALLS = re.compile(r"\b([A-Za-z_]\w*)\(\s*request\b")
_PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(inspect.unwrap(fn))
    except (OSError, TypeError):
        return ""


def _resolve(name: str, scope: dict[str, Any]) -> Any:
    head, *rest = name.split(".")
    obj = scope.get(head)
    for part in rest:
        obj = getattr(obj, part, None)
    return obj


def _is_model(obj: Any) -> bool:
    return inspect.isclass(obj) and issubclass(obj, pydantic.BaseModel)


def _model_of(name: str, scope: dict[str, Any]) -> type[pydantic.BaseModel] | None:
    """A model class by name, or the model a helper function is annotated to return."""
    obj = _resolve(name, scope)
    if _is_model(obj):
        return typing.cast(type[pydantic.BaseModel], obj)
    if inspect.isfunction(obj):
        with contextlib.suppress(Exception):
            ret = typing.get_type_hints(obj).get("return")
            if _is_model(ret):
                return typing.cast(type[pydantic.BaseModel], ret)
    return None


def _needs_auth(src: str, scope: dict[str, Any], depth: int = 1) -> bool:
    if _AUTH.search(src):
        return True
    if depth <= 0:
        return False
    for name in set(_CALLS.findall(src)):
        helper = scope.get(name)
        if inspect.isfunction(helper) and _needs_auth(
            _source(helper), helper.__globals__, depth - 1
        ):
            return True
    return False


def derive(handler: Any) -> Doc:
    """The contract as far as the handler's source shows it."""
    fn = inspect.unwrap(handler)
    src = _source(fn)
    scope: dict[str, Any] = getattr(fn, "__globals__", {})
    d = Doc()
    if m := _BODY.search(src):
        d = replace(d, body=_model_of(m.group(2), scope), body_required=m.group(1) is None)
    elif m := _VALIDATE.search(src):
        d = replace(d, body=_model_of(m.group(1), scope))
    if d.body is None and _READS_BODY.search(src):
        # Signed webhooks check JSON themselves; uploads take the raw bytes of a media type.
        d = replace(
            d,
            body_any=True,
            body_media="application/octet-stream"
            if "request.content_type" in src
            else "application/json",
        )
    if not re.search(r"\b(?:ok|json_response|step_once)\(", src):
        d = replace(d, content_type="")  # a file, CSV, text: described, not given a JSON schema
    if m := _QUERY.search(src):
        d = replace(d, query=_model_of(m.group(1), scope))
    d = replace(d, query_names=tuple(dict.fromkeys(_QUERY_GET.findall(src))))
    if "Idempotency-Key" in src:
        d = replace(d, idempotency_key=True, idempotency_required="valid_key(" in src)
    if m := _OK_CALL.search(src):
        model = _model_of(m.group(2), scope)
        if model is not None:
            d = replace(d, response=list[model] if m.group(1) else model)  # type: ignore[valid-type]
    if re.search(r"\bok\([^\n]*,\s*201\)", src):
        d = replace(d, status=201)
    text = inspect.getdoc(fn) or ""
    return replace(
        d, public=not _needs_auth(src, scope), summary=text.splitlines()[0] if text else ""
    )


def contract(handler: Any) -> Doc:
    """The declared contract over the derived one."""
    derived = derive(handler)
    declared = getattr(inspect.unwrap(handler), "__openapi__", None) or {}
    return replace(derived, **declared)


# ----- the document -----------------------------------------------------------------------


def _schema_modules() -> list[Any]:
    return list(SCHEMA_MODULES)


def _module_models() -> list[type[pydantic.BaseModel]]:
    found: list[type[pydantic.BaseModel]] = [Problem]
    for module in _schema_modules():
        for obj in vars(module).values():
            if (
                _is_model(obj)
                and obj.__module__ == module.__name__
                and not getattr(obj, "__pydantic_generic_metadata__", {}).get("parameters")
            ):
                found.append(obj)
    return found


def _inner(response: Any) -> tuple[type[pydantic.BaseModel] | None, bool]:
    """(model, is_list) of a declared response."""
    if typing.get_origin(response) is list:
        (item,) = typing.get_args(response)
        return item, True
    return (response, False) if _is_model(response) else (None, False)


def _routes(app: web.Application) -> list[tuple[str, str, Any]]:
    out = []
    for route in app.router.routes():
        info = route.get_info()
        path = info.get("path") or info.get("formatter")
        if not path or route.method in ("HEAD", "*"):
            continue
        if not (path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics")):
            continue  # the console's HTML pages and static files are not the API
        out.append((path, route.method.lower(), route.handler))
    return out


def build_openapi(app: web.Application) -> dict[str, Any]:
    ops = [(path, method, contract(handler), handler) for path, method, handler in _routes(app)]
    models: dict[int, type[pydantic.BaseModel]] = {id(m): m for m in _module_models()}
    for _, _, d, _ in ops:
        for m in (d.body, d.query, _inner(d.response)[0]):
            if m is not None:
                models[id(m)] = m
    refs, defs = pydantic.json_schema.models_json_schema(
        [(m, "validation") for m in models.values()], ref_template=REF
    )
    components = defs.get("$defs", {})

    def ref(m: type[pydantic.BaseModel]) -> dict[str, Any]:
        return dict(refs[(m, "validation")])

    paths: dict[str, dict[str, Any]] = {}
    op_ids: set[str] = set()
    for path, method, d, handler in ops:
        op = _operation(path, method, d, handler, ref, components, op_ids)
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{render('api.title', 'en')} ({render('app.name')})",
            "version": "1.0.0",
            "description": "Community elder-care station back end: help calls, dispatch, "
            "hotline, services. Errors are RFC 9457 problem+json with a "
            "stable machine `code`.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "responses": {
                "Problem": {
                    "description": "an error, as RFC 9457 problem details",
                    "content": {PROBLEM: {"schema": ref(Problem)}},
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearer": []}],
    }


def _operation(
    path: str,
    method: str,
    d: Doc,
    handler: Any,
    ref: Callable[[type[pydantic.BaseModel]], dict[str, Any]],
    components: dict[str, Any],
    op_ids: set[str],
) -> dict[str, Any]:
    name = getattr(inspect.unwrap(handler), "__name__", "handler")
    op_id = f"{method}_{name}"
    if op_id in op_ids:
        op_id = f"{op_id}_{len(op_ids)}"
    op_ids.add(op_id)
    segments = [s for s in path.split("/") if s and not s.startswith("{")]
    tag = segments[2] if len(segments) > 2 and segments[:2] == ["api", "v1"] else "ops"
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": d.summary or f"{method.upper()} {path}",
        "tags": [tag],
    }
    params = _path_params(path) + _query_params(d, components)
    if d.idempotency_key:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": d.idempotency_required,
                "description": "a new random key per press; a retry with the same key and "
                "body gets the same answer, a different body is 422",
                "schema": {"type": "string", "minLength": 8, "maxLength": 128},
            }
        )
    if params:
        op["parameters"] = params
    if d.body is not None or d.body_any:
        if d.body is not None:
            schema = ref(d.body)
        else:
            schema = {"type": "object"} if d.body_media == "application/json" else {}
        op["requestBody"] = {
            "required": d.body_required,
            "content": {d.body_media: {"schema": schema}},
        }
    op["responses"] = _responses(path, method, d, ref)
    if d.public:
        op["security"] = []
    op.update(d.extra)
    return op


def _path_params(path: str) -> list[dict[str, Any]]:
    names = _PATH_PARAM.findall(path)
    return [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1}
            if n.endswith("_id")
            else {"type": "string"},
        }
        for n in names
    ]


def _query_params(d: Doc, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    seen: set[str] = set()
    if d.query is not None:
        schema = d.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for pname, prop in schema.get("properties", {}).items():
            prop = _plain_query_schema(prop)
            param: dict[str, Any] = {
                "name": pname,
                "in": "query",
                "required": pname in required,
                "schema": prop,
            }
            if "description" in prop:
                param["description"] = prop.pop("description")
            params.append(param)
            seen.add(pname)
    for pname in d.query_names:
        if pname not in seen:
            params.append(
                {"name": pname, "in": "query", "required": False, "schema": {"type": "string"}}
            )
    return params


def _plain_query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query value is absent rather than null: ``anyOf: [X, null]`` becomes ``X``."""
    prop = {k: v for k, v in prop.items() if k != "title"}
    options = prop.get("anyOf")
    if isinstance(options, list):
        concrete = [o for o in options if o != {"type": "null"}]
        if len(concrete) == 1 and len(concrete) < len(options):
            prop.pop("anyOf")
            prop = {**concrete[0], **prop}
    if prop.get("default", 0) is None:
        prop.pop("default")
    return prop


def _responses(
    path: str, method: str, d: Doc, ref: Callable[[type[pydantic.BaseModel]], dict[str, Any]]
) -> dict[str, Any]:
    model, is_list = _inner(d.response)
    content: dict[str, Any] | None = None
    if model is not None:
        schema = {"type": "array", "items": ref(model)} if is_list else ref(model)
        content = {d.content_type: {"schema": schema}}
    elif 200 <= d.status < 300:
        content = {d.content_type: {"schema": {}}}
    if not 200 <= d.status < 300 or not d.content_type:
        content = None  # a protocol switch has no body; the description says what follows
    out: dict[str, Any] = {}
    for status, what in {
        d.status: "OK" if d.status != 101 else "switching to WebSocket",
        **d.also,
    }.items():
        out[str(status)] = {"description": what, **({"content": content} if content else {})}
    problem = {"$ref": "#/components/responses/Problem"}
    codes = []
    if d.body is not None or d.body_any:
        codes.append("400")
    if not d.public:
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    if method in ("post", "put", "patch", "delete"):
        codes.append("409")
    if d.body is not None or d.query is not None or d.body_any:
        codes.append("422")
    for code in codes:
        out[code] = problem
    out["default"] = problem
    return out
