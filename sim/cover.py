"""Emergency cover on the day as it happened: the minutes in which a high-risk elder had no
caregiver of their station who could be there within the promise.

dispatch/cover.py's rule, read off the run's segments instead of a plan: a caregiver covers
an elder at a moment when the time until they can leave plus the nominal ride from where they
will then be is within the promise. Riding somewhere: free on arrival there (conservative);
riding back to base with nothing to do: free at once, from the place she left (as the driver
sends her).
Work that can be broken off: a minute to leave; work that cannot (a bath, a help call on
scene): its end. Idle: where the last segment left them, or their base if that was before
this stretch of duty. Off duty, off sick or with the phone offline: covers nobody (nobody
can tell them). On call at night: the wake-up delay's median before leaving home.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from dispatch.geo import GeoPoint
from sim.day import DAY_S, Caregiver, Day, Elder
from sim.log import Activity, RunLog, Segment

BREAK_OFF_S = 60
RIDE_BACK = "base"  # the segment's ref for a ride back to base (simrun's driver)
_NEVER = 10**9


def where_free(
    c: Caregiver, segs: Sequence[Segment], starts: Sequence[int], t: int, wake_s: int
) -> tuple[GeoPoint, int] | None:
    """(where the caregiver can leave from, seconds until then) at t; None if unreachable."""
    span = c.span_at(t)
    if span is None or c.offline_at(t):
        return None
    k = bisect.bisect_right(starts, t) - 1
    idle = wake_s if span.on_call else 0
    if k < 0:
        return c.base, idle
    seg = segs[k]
    place = seg.place or c.base
    if t < seg.end_s:
        if seg.activity is Activity.TRAVEL and seg.ref == RIDE_BACK:
            return seg.origin or place, idle  # the driver sends her from where she left
        if seg.activity is Activity.TRAVEL:
            return place, seg.end_s - t
        if seg.activity is Activity.WAIT:
            return place, 0
        if seg.interruptible and seg.activity is not Activity.CALL:
            return place, BREAK_OFF_S
        return place, seg.end_s - t
    if seg.end_s <= span.start_s:
        return c.base, idle  # the last segment was before this stretch of duty
    return place, idle


def _station_misses(
    day: Day,
    log: RunLog,
    team: Sequence[Caregiver],
    risky: Sequence[Elder],
    sla_s: int,
    step_s: int,
    wake_s: int,
) -> np.ndarray:
    """Per time step: how many of `risky` nobody of `team` could reach in time."""
    model = day.travel_model()
    targets = [e.location for e in risky]
    rows: dict[tuple[GeoPoint, str], np.ndarray] = {}
    segs = {c.id: log.of_caregiver(c.id) for c in team}
    starts = {c.id: [s.start_s for s in segs[c.id]] for c in team}
    times = range(0, DAY_S, step_s)
    misses = np.zeros(len(times), dtype=np.int64)
    for i, t in enumerate(times):
        best = np.full(len(risky), _NEVER, dtype=np.int64)
        for c in team:
            state = where_free(c, segs[c.id], starts[c.id], t, wake_s)
            if state is None:
                continue
            key = (state[0], c.mode.value)
            if key not in rows:
                rows[key] = np.array(model.matrix([state[0]], targets, c.mode)[0], dtype=np.int64)
            np.minimum(best, rows[key] + state[1], out=best)
        misses[i] = int((best > sla_s).sum())
    return misses


def uncovered_minutes(day: Day, log: RunLog, sla_s: int, step_s: int = 60) -> tuple[int, int]:
    """(minutes in which some high-risk elder was uncovered, the sum over elders)."""
    wake = day.scenario.behaviour.on_call_depart_delay.median_s
    some = np.zeros(len(range(0, DAY_S, step_s)), dtype=bool)
    elder_steps = 0
    for st in day.stations:
        risky = [e for e in day.elders if e.high_risk and e.station_id == st.id]
        if not risky:
            continue
        misses = _station_misses(day, log, day.team(st.id), risky, sla_s, step_s, round(wake))
        some |= misses > 0
        elder_steps += int(misses.sum())
    return int(some.sum()) * step_s // 60, elder_steps * step_s // 60
