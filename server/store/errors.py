"""What a store error means for the caller: try again at once, or the store is away.

A deadlock or a failed serialisation check means another transaction won a race for the same
rows; nothing of ours was written, and the same work a moment later succeeds. A refused or
broken connection means the database is down or restarting: the client should come back
(503 with Retry-After), and the phones keep what was pressed until it is answered.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import exc as sa_exc

# PostgreSQL SQLSTATEs: 40001 serialization_failure, 40P01 deadlock_detected.
RETRYABLE_STATES = frozenset({"40001", "40P01"})
# Class 08 (connection exception), 57P01-57P03 (the server is shutting down or starting),
# 53300 (too many connections).
UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, exc):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def is_retryable(exc: BaseException) -> bool:
    """Lost a race with another transaction (deadlock, serialisation, SQLite's lock)."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if _sqlstate(exc) in RETRYABLE_STATES:
        return True
    return "database is locked" in str(exc.orig)


def is_unavailable(exc: BaseException) -> bool:
    """The store cannot be reached or is going away: come back later."""
    if isinstance(exc, sa_exc.TimeoutError | ConnectionError | asyncio.TimeoutError):
        return True
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        state = _sqlstate(exc) or ""
        if state.startswith("08") or state in UNAVAILABLE_STATES:
            return True
        text = str(exc.orig).lower()
        return any(
            s in text
            for s in ("connection is closed", "connection was closed", "connection refused",
                      "cannot connect now", "the database system is")
        )  # fmt: skip
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_unavailable(cause)
