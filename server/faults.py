"""Crash points for the durability tests: ``ANXIN_CRASH_AT=name`` makes the process
SIGKILL itself at that point, so a test can kill it between two precise steps."""

from __future__ import annotations

import os
import signal

from server.settings import crash_target

_TARGET = crash_target()


def crash_point(name: str, detail: str | None = None) -> None:
    """Die here if the target is ``name``, or ``name:detail`` (e.g. one outbox topic)."""
    if _TARGET and (name == _TARGET or (detail is not None and f"{name}:{detail}" == _TARGET)):
        os.kill(os.getpid(), signal.SIGKILL)
