"""Small helpers every handler uses: parse a body, know the caller, answer in JSON."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.keys import PLATFORM
from server.platform import Platform

M = TypeVar("M", bound=pydantic.BaseModel)

PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


async def parse(request: web.Request, model: type[M]) -> M:
    """Validate the JSON body against a schema; 400 for broken JSON, 422 for bad fields."""
    raw = await request.read()
    if not raw:
        raise ApiError(400, "empty_body", "request body is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", "request body is not valid JSON") from exc
    return _in_range(model.model_validate(data))


async def parse_optional(request: web.Request, model: type[M]) -> M:
    """A body whose every field has a default: an empty body is the defaults."""
    if not await request.read():
        return model()
    return await parse(request, model)


def parse_query(request: web.Request, model: type[M]) -> M:
    return _in_range(model.model_validate(dict(request.query)))


INT64 = 2**63 - 1


def _in_range(parsed: M) -> M:
    """Refuse integers the store cannot hold (ids, counts) with a 422, not a driver error."""
    path = _oversized(parsed.model_dump(), ())
    if path is not None:
        raise ApiError(
            422, "number_out_of_range", "a number in the request is too large", field=".".join(path)
        )
    return parsed


def _oversized(value: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return path if abs(value) > INT64 else None
    items: Any = (
        value.items()
        if isinstance(value, dict)
        else (enumerate(value) if isinstance(value, list | tuple) else ())
    )
    for key, item in items:
        found = _oversized(item, (*path, str(key)))
        if found is not None:
            return found
    return None


def caller(request: web.Request) -> Principal:
    p = request.get(PRINCIPAL)
    if not isinstance(p, Principal):
        raise ApiError(401, "unauthenticated", "sign in first")
    return p


def require(request: web.Request, *roles: Role) -> Principal:
    """The caller, if their role is one of ``roles`` (admins pass everywhere)."""
    p = caller(request)
    if p.role not in roles and p.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "your role may not do this")
    return p


def int_param(request: web.Request, name: str) -> int:
    raw = request.match_info.get(name, "")
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(404, "not_found", f"no such {name}") from exc
    if value <= 0 or value > 2**62:
        raise ApiError(404, "not_found", f"no such {name}")
    return value


def platform(request: web.Request) -> Platform:
    return request.app[PLATFORM]


def ok(data: pydantic.BaseModel | dict[str, Any] | list[Any], status: int = 200) -> web.Response:
    if isinstance(data, pydantic.BaseModel):
        text = data.model_dump_json()
    else:
        text = json.dumps(data, ensure_ascii=False, default=_default)
    return web.Response(status=status, text=text, content_type="application/json")


def _default(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value)}")


_LOCAL = ("127.", "::1", "unix")


def client_source(request: web.Request) -> str:
    """The caller's address: behind the local proxy (nginx on this host), the address it
    appended last to X-Forwarded-For; otherwise the socket's peer. Never trusted from a
    remote peer, who could write any header."""
    remote = request.remote or "unix"
    if remote.startswith(_LOCAL):
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return remote[:64]
