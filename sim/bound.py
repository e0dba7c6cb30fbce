"""The bound per help call: the earliest arrival of any caregiver of the call's station who is
on duty at the press, riding from where their shift starts (home, else the station),
ignoring what they are doing. No policy that has to find them there can do better; a call
whose bound is over the promise (20 minutes) is "unreachable" and reported apart.

The trip is the one the day really has for that caregiver and call (`Day.trip_s` with the key
`call_trip_key(call_id)`: the nominal model × that trip's noise × any slow area), so a driver
that uses the same key for the ride to a call can never beat the bound from the same start.
A caregiver who happens to be nearer than their base (on a visit next door) can: the bound
is the reference of an idle team waiting at its bases, as the issue defines it.

A caregiver whose phone is off at the press counts from the moment it is back on: an offer
cannot reach her before (the simulated phone lets it ring out), so no policy can send her
earlier. Counting her from the press made calls "reachable" that only someone out of reach
could have made in time (township seed 5: the only free caregiver 3 minutes away, her
phone off for the next half hour).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.day import Caregiver, Day, HelpCall


def call_trip_key(call_id: str) -> str:
    """The name of the ride to a help call, for `Day.trip_s` (the driver uses it too)."""
    return f"call:{call_id}"


@dataclass(frozen=True)
class CallBound:
    call_id: str
    bound_s: int | None  # seconds from the press; None: nobody of the station on duty
    caregiver_id: str | None  # who would be first
    sla_s: int

    @property
    def reachable(self) -> bool:
        return self.bound_s is not None and self.bound_s <= self.sla_s


def call_bound(day: Day, call: HelpCall, sla_s: int | None = None) -> CallBound:
    """The earliest arrival at `call` of anyone on duty at the press (see the module)."""
    limit = day.scenario.policy.sla_s if sla_s is None else sla_s
    best: tuple[int, str] | None = None
    for c in day.team(call.station_id):
        if not c.on_duty(call.at_s):
            continue
        reached = phone_back_s(c, call.at_s)
        trip = day.trip_s(c.id, c.base, call.location, reached, call_trip_key(call.id))
        s = reached - call.at_s + trip
        if best is None or (s, c.id) < best:
            best = (s, c.id)
    if best is None:
        return CallBound(call.id, None, None, limit)
    return CallBound(call.id, best[0], best[1], limit)


def phone_back_s(c: Caregiver, t: int) -> int:
    """The first second from ``t`` on at which the caregiver's phone is on (``t`` itself
    unless an offline spell covers it; back-to-back spells are followed)."""
    while True:
        covering = [b for a, b in c.offline if a <= t < b]
        if not covering:
            return t
        t = max(covering)


def bounds(day: Day, sla_s: int | None = None) -> dict[str, CallBound]:
    """The bound of every call of the day, by call id."""
    return {c.id: call_bound(day, c, sla_s) for c in day.calls}
