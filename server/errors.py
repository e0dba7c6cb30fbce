"""One place that turns failures into RFC 9457 problem+json responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
from aiohttp import web
from sqlalchemy import exc as sa_exc

from server.store.errors import is_unavailable

log = logging.getLogger("anxin.errors")

PROBLEM_TYPE = "application/problem+json"


class ApiError(Exception):
    """An error the client can act on: HTTP status, stable machine code, message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", f"{what} not found")


def problem(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """The problem+json answer; ``title_i18n`` is its title for the reader, in both languages
    (key, params, zh, en: server/texts/errors.py)."""
    from server.texts import problem_text  # the catalogue imports domains that raise ApiError

    body = {
        "type": f"https://anxin.dev/problems/{code}",
        "title": message,
        "status": status,
        "code": code,
        **extra,
        "title_i18n": problem_text(code, extra).out(),
    }
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False, default=str),
        content_type=PROBLEM_TYPE,
    )


def validation_problem(exc: pydantic.ValidationError) -> web.Response:
    errors = [
        {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]
    return problem(422, "validation_error", "request is not valid", errors=errors)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        resp = problem(exc.status, exc.code, exc.message, **exc.extra)
        wait = exc.extra.get("retry_after_s")
        if isinstance(wait, int) and wait > 0:
            resp.headers["Retry-After"] = str(wait)
        return resp
    except pydantic.ValidationError as exc:
        return validation_problem(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status, "http_error"
        )
        return problem(exc.status, code, exc.reason)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return problem(400, "malformed_json", "request body is not valid JSON")
    except sa_exc.IntegrityError:
        # A handler should have said which reference or duplicate is wrong; the transaction
        # rolled back, so nothing was written. Still the client's problem, not a crash.
        log.warning("integrity error not mapped by its handler", extra={"path": request.path})
        return problem(
            409,
            "conflict",
            "the request conflicts with stored data (a duplicate or "
            "a reference to something that does not exist)",
        )
    except (sa_exc.DataError, OverflowError):
        log.warning("value rejected by the store", extra={"path": request.path})
        return problem(422, "value_out_of_range", "a value in the request cannot be stored")
    except Exception as exc:
        if isinstance(exc, sa_exc.DBAPIError) and _data_exception(exc):
            # SQLSTATE class 22 the driver does not map to DataError (asyncpg: a NUL in
            # text, 22021): the value is the client's, and nothing was written.
            log.warning("value rejected by the store", extra={"path": request.path})
            return problem(422, "value_out_of_range", "a value in the request cannot be stored")
        if is_unavailable(exc):
            return store_unavailable(request, exc)
        log.exception("unhandled error", extra={"path": request.path})
        return problem(500, "internal_error", "internal error")


def _data_exception(exc: sa_exc.DBAPIError) -> bool:
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(state, str) and state.startswith("22")


RETRY_AFTER_S = 5


def store_unavailable(request: web.Request, exc: BaseException) -> web.Response:
    """The database is down or restarting: nothing was written, come back shortly (the phones
    keep what was pressed and send it again; the device gateway retries)."""
    log.warning("store unavailable", extra={"path": request.path, "error": type(exc).__name__})
    resp = problem(
        503,
        "store_unavailable",
        "the station's database cannot be reached just now; nothing was saved, try again",
        retry_after_s=RETRY_AFTER_S,
    )
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    return resp
