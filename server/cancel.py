"""Cancellation that cannot be lost.

A background loop catches ``Exception`` so that one failed pass does not end it. But a task
cancelled while it waits on the store can see a plain exception instead of ``CancelledError``
(a driver error raised by the interrupted call, a ``gather`` whose child failed while being
cancelled). Caught, that exception swallows the cancellation: the loop goes on, and the stop
that awaits it waits for ever (seen as a test teardown that hung, and a server that ignored
SIGTERM). Every loop asks here before it carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any


def raise_if_stopping() -> None:
    """Raise ``CancelledError`` when the running task has been asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


async def stop_tasks(
    tasks: Sequence[asyncio.Task[Any]], within_s: float, log: logging.Logger
) -> None:
    """Cancel the tasks and wait for them at most ``within_s``: a stop must end even if a
    task does not (it is named in the log, and left to the process's exit)."""
    for t in tasks:
        t.cancel()
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=within_s)
    for t in pending:
        log.error("task did not stop when cancelled", extra={"task": t.get_name()})
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            log.warning("task ended with an error while stopping", exc_info=t.exception())
