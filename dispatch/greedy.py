"""The baseline the simulator compares Anxin with: how a station dispatches by phone today.

The operator rings the caregiver nearest the elder as the crow flies who is not already on a
help call, whatever they are doing (a bath that cannot be left half-way included); nobody's
day is re-planned around the call. Pure: the same inputs as `rank_for_emergency`, the same
ranking shape, so the system offers, times out and escalates exactly as it does for Anxin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dispatch.emergency import (
    Candidate,
    CaregiverState,
    EmergencyRanking,
    EmergencyRequest,
    rank_for_emergency,
)
from dispatch.geo import haversine_m
from dispatch.travel import TravelTimeModel


def rank_nearest(
    request: EmergencyRequest,
    caregivers: Sequence[CaregiverState],
    travel: TravelTimeModel,
    *,
    target_s: int = 1200,
    exclude: frozenset[int] = frozenset(),
) -> EmergencyRanking:
    """The same eligible caregivers as Anxin's ranking (on duty, not on a call, located, not
    just asked), ordered by straight-line distance from where they are to the elder; the ETA
    each offer carries is still the honest one (finish what cannot be broken off, then ride)."""
    ranked = rank_for_emergency(
        request, caregivers, travel, target_s=target_s, plan_s=target_s, exclude=exclude
    )
    where = {
        c.caregiver_id: (c.current.location if c.current is not None else c.location)
        for c in caregivers
    }

    def key(x: Candidate) -> tuple[float, int]:
        origin = where.get(x.caregiver_id)
        far = haversine_m(origin, request.location) if origin is not None else float("inf")
        return (far, x.caregiver_id)

    ordered = tuple(sorted(ranked.candidates, key=key))
    return replace(ranked, best=ordered[0] if ordered else None, candidates=ordered)
