"""A step a phone took while it could not reach the server: recorded at the time it happened.

The caregiver's phone queues a step (accept, on my way, arrived, done ...) with the time on the
device and sends it, with its own Idempotency-Key, until the server answers. The step is then
recorded at the device's time when that is plausible: not in the future (beyond a small clock
skew), not before the thing it is a step of existed, not older than ``MAX_LATE``. Otherwise it
is recorded at the server's time and flagged, so the console can say the phone's clock was off.

While a step runs, ``Platform.tx`` reads the ``StepContext`` of the running request: the step's
first committed transaction gets ``tx.now`` = the recorded time, and ``write`` is called in it
(the Idempotency-Key row, kept with the effect). Only the task that set the context is
affected, and only until its first commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

SKEW: Final = timedelta(seconds=120)  # a phone's clock ahead of the server by up to this is fine
MAX_LATE: Final = timedelta(hours=12)  # a step held longer than this is not trusted
LATE_AFTER: Final = timedelta(seconds=60)  # a step that arrives later than this is marked late


@dataclass(frozen=True)
class When:
    """When a step is recorded, and what the console is told about it."""

    at: datetime
    device_time: datetime | None = None
    late: bool = False  # it happened well before the server heard of it
    flagged: str | None = None  # future, before_start, too_old: the device time was not used

    def marker(self) -> dict[str, Any]:
        """The step's marker for timelines and answers (empty for an ordinary step)."""
        if self.device_time is None:
            return {}
        return {
            "device_time": self.device_time.isoformat(),
            "recorded_at": self.at.isoformat(),
            "late": self.late,
            "device_time_flagged": self.flagged,
        }


def decide(now: datetime, device: datetime | None, floor: datetime | None) -> When:
    """When to record a step the device says happened at ``device`` (pure)."""
    if device is None:
        return When(at=now)
    if device > now + SKEW:
        return When(at=now, device_time=device, flagged="future")
    if floor is not None and device < floor:
        return When(at=now, device_time=device, flagged="before_start")
    if device < now - MAX_LATE:
        return When(at=now, device_time=device, flagged="too_old")
    at = min(device, now)
    return When(at=at, device_time=device, late=now - at > LATE_AFTER)


Write = Callable[[Any], Awaitable[None]]  # called with the step's Tx, before it commits


@dataclass
class StepContext:
    when: When
    write: Write | None = None
    task: asyncio.Task[Any] | None = field(default_factory=asyncio.current_task)
    committed: bool = False

    def applies(self) -> bool:
        return not self.committed and asyncio.current_task() is self.task


CURRENT: ContextVar[StepContext | None] = ContextVar("anxin_step", default=None)


def current() -> StepContext | None:
    """The step being recorded by this request, until its first commit."""
    ctx = CURRENT.get()
    return ctx if ctx is not None and ctx.applies() else None
