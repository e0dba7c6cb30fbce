"""A request that lost a lock race is run again, inside the server, a few times.

Two transactions that want the same rows in different orders (or a serialisation check on
PostgreSQL) make one of them fail; nothing of it was written, and the same request a moment
later succeeds. The client must never see that as a 500, and the help button least of all.
A handler is run again only if none of its transactions committed yet, so no step happens
twice; a store that is away is not retried here (the client is told to come back: 503).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.store.engine import count_commits
from server.store.errors import is_retryable

log = logging.getLogger("anxin.retry")

ATTEMPTS = 4
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def retry_lost_races(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run the handler again after a deadlock or a serialisation failure, if it wrote
    nothing yet; the last failure goes on to the problem mapper."""
    for attempt in range(1, ATTEMPTS + 1):
        commits = count_commits()
        try:
            return await handler(request)
        except Exception as exc:
            if attempt == ATTEMPTS or commits[0] or not is_retryable(exc):
                raise
            log.info("lost a lock race; running the request again",
                     extra={"path": request.path, "attempt": attempt})  # fmt: skip
            # Jittered, so the two losers of a deadlock do not meet again at once.
            await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)
    raise AssertionError("unreachable")
