"""Lending across stations: which stations are neighbours, and when a neighbour's caregiver
is offered a medical emergency the call's own station cannot reach in time.

A street-level centre runs about ten stations ("中心带站"); their caregivers may help each
other. The rules (docs/dispatch.md, "Who is offered the call, and when"):
- the call's own station goes first whenever one of its caregivers can be on scene within the
  promise (by the same ranking, `rank_for_emergency`);
- only when none can, a neighbour's caregiver who can make the promise is offered it, before
  the own station's late ones, ranked among themselves as the own station's would be;
- when nobody anywhere can make the promise, a neighbour goes first only if she is on scene
  at least LATE_LEND_GAIN_S sooner than the own station's best: a late own caregiver knows
  the elder and the station, but not at the price of many minutes in an emergency; the
  alarms run either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from dispatch.emergency import Candidate, EmergencyRanking
from dispatch.geo import GeoPoint, haversine_m

MAX_NEIGHBOURS = 10  # about one street centre's stations besides the call's own
# When everyone is late: how much sooner a neighbour must be on scene to go before the own
# station's caregiver (who knows the elder, the door and the family).
LATE_LEND_GAIN_S = 5 * 60


@dataclass(frozen=True)
class StationRef:
    """A station as lending sees it: where it is and which street centre runs it."""

    station_id: int
    district: str
    street: str
    location: GeoPoint
    active: bool = True


def neighbours(own: StationRef, stations: Sequence[StationRef]) -> tuple[int, ...]:
    """The stations that may lend ``own`` a caregiver, nearest first: active, in the same
    district and under the same street centre (where no street is recorded, the district
    stands for it), at most MAX_NEIGHBOURS of them."""
    near = [
        s
        for s in stations
        if s.active
        and s.station_id != own.station_id
        and s.district == own.district
        and s.street == own.street
    ]
    near.sort(key=lambda s: (haversine_m(own.location, s.location), s.station_id))
    return tuple(s.station_id for s in near[:MAX_NEIGHBOURS])


def with_neighbours(own: EmergencyRanking, lenders: EmergencyRanking) -> EmergencyRanking:
    """The call's ranking with the neighbours' caregivers (``lenders``, ranked by
    `rank_for_emergency` for the same call) taken in: ``own`` unchanged while it can make
    the promise; else the neighbours who can make it first, marked ``lent``, then the own
    station's candidates. When no neighbour can make it either, those who would be on scene
    LATE_LEND_GAIN_S sooner than the own station's best go first all the same, and the
    ranking still says the promise cannot be met (the alarm runs). Exclusions stay the own
    station's: the neighbours' rosters are theirs to show (and so are their visits, see
    _lent)."""
    if own.can_meet_target:
        return own
    lent = tuple(_lent(c) for c in lenders.candidates if c.meets_target)
    if not lent:
        lent = tuple(_lent(c) for c in _much_sooner(own, lenders))
    if not lent:
        return own
    return EmergencyRanking(
        best=lent[0],
        candidates=(*lent, *own.candidates),
        excluded=own.excluded,
        can_meet_target=any(c.meets_target for c in lent),
        target_s=own.target_s,
    )


def _much_sooner(own: EmergencyRanking, lenders: EmergencyRanking) -> tuple[Candidate, ...]:
    """Late neighbours worth their minutes: on scene LATE_LEND_GAIN_S before the own
    station's best, in the ranking's order (for the late, soonest first). None where the own
    station has nobody left to ask: the one who let the offer ring out a moment ago (asleep
    on night call) is rung again by ask_again, and a neighbour awake an hour's ride away must
    not take the call from her by answering first."""
    if not own.candidates:
        return ()
    bar = min(c.eta_s for c in own.candidates) - LATE_LEND_GAIN_S
    return tuple(c for c in lenders.candidates if c.eta_s <= bar)


def _lent(c: Candidate) -> Candidate:
    """A neighbour's candidate as the borrowing station sees it: what she is busy with says
    only that she is on a visit (its label may name the lending station's elder)."""
    busy = c.why.busy_with
    return replace(c, lent=True, why=replace(c.why, busy_with=None if busy is None else ""))
