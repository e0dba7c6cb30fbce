"""Night on-call shifts (夜间值班): whether a caregiver's on-call slot covers a moment.

A slot names the weekday its evening starts on (0 = Monday) and a local start and end; an end
at or before the start runs into the next morning (Monday 22:00-08:00 covers Tuesday 07:59).
Pure: local times in, a yes or no out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Any


def _hhmm(raw: Any) -> time | None:
    try:
        h, m = (int(x) for x in str(raw).split(":"))
        return time(h, m)
    except (ValueError, TypeError):
        return None


def on_call_at(slots: Iterable[Mapping[str, Any]] | None, local: datetime) -> bool:
    """Whether any slot covers the local (Asia/Shanghai) moment; odd slots are ignored."""
    for s in slots or ():
        if not isinstance(s, Mapping):
            continue
        start, end, day = _hhmm(s.get("start")), _hhmm(s.get("end")), s.get("weekday")
        if start is None or end is None or not isinstance(day, int) or not 0 <= day <= 6:
            continue
        for back in (0, 1):  # the slot may have started yesterday evening
            begin_day = (local - timedelta(days=back)).date()
            if begin_day.weekday() != day:
                continue
            begin = datetime.combine(begin_day, start, tzinfo=local.tzinfo)
            finish = datetime.combine(begin_day, end, tzinfo=local.tzinfo)
            if end <= start:
                finish += timedelta(days=1)
            if begin <= local < finish:
                return True
    return False
