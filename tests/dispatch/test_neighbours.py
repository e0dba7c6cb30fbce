"""Lending a neighbouring station's caregiver, on instances a person can check by hand.

The elder is at HOME; on the great-circle model an e-bike takes about 2 minutes plus 5 per
km: 1 km is about 7 minutes, 2.5 km 15, 3 km 17.5, 5 km 28 (past the 20-minute promise).
"""

from __future__ import annotations

from dispatch.emergency import (
    WHY_ON_EMERGENCY,
    CaregiverState,
    CurrentWork,
    EmergencyRanking,
    EmergencyRequest,
    offer_batch,
    rank_for_emergency,
)
from dispatch.geo import GeoPoint
from dispatch.neighbours import MAX_NEIGHBOURS, StationRef, neighbours, with_neighbours
from dispatch.travel import GreatCircleTravel

HOME = GeoPoint(39.929, 116.47)
TRAVEL = GreatCircleTravel()
KM_LAT = 1 / 111.195
CALL = EmergencyRequest(1, HOME)


def north(km: float) -> GeoPoint:
    return GeoPoint(HOME.lat + km * KM_LAT, HOME.lng)


def idle(cid: int, km: float) -> CaregiverState:
    """An idle on-duty caregiver on an e-bike ``km`` north of the elder."""
    return CaregiverState(cid, f"护理员{cid}", north(km), True, frozenset({"first_aid"}))


def at_emergency(cid: int, km: float) -> CaregiverState:
    """On scene at another emergency ``km`` north of the elder."""
    return CaregiverState(cid, f"护理员{cid}", north(km), True, frozenset(), on_emergency=True)


def rank(states: list[CaregiverState], exclude: frozenset[int] = frozenset()) -> EmergencyRanking:
    return rank_for_emergency(CALL, states, TRAVEL, exclude=exclude)


def lend(own: list[CaregiverState], lenders: list[CaregiverState]) -> EmergencyRanking:
    return with_neighbours(rank(own), rank(lenders))


def test_own_only_caregiver_at_another_emergency_neighbour_gets_the_call() -> None:
    """团结湖's only evening caregiver (1) is at another emergency; 仓红's (7) is idle 2 km
    away: 7 is offered the call, marked lent, and the call can be reached in time."""
    r = lend([at_emergency(1, 0.5)], [idle(7, 2)])
    assert r.best is not None and r.best.caregiver_id == 7 and r.best.lent
    assert r.can_meet_target
    assert r.excluded == ((1, WHY_ON_EMERGENCY),)  # the own station's, as before
    assert [c.caregiver_id for c in offer_batch(r, offer_timeout_s=60)] == [7]


def test_own_station_first_when_it_can_make_the_promise() -> None:
    """Own 1 is 3 km away (~17.5 min, in time); neighbour 7 is 1 km away (~7 min): own
    goes, and the neighbour is not even in the list."""
    r = lend([idle(1, 3)], [idle(7, 1)])
    assert r.best is not None and r.best.caregiver_id == 1 and not r.best.lent
    assert [c.caregiver_id for c in r.candidates] == [1]


def test_neighbour_before_own_caregiver_too_far_to_make_it() -> None:
    """Own 1 is 5 km away (late); neighbour 7 is 3 km away: 7 first, then 1 as a runner-up
    (asked if 7 says no)."""
    r = lend([idle(1, 5)], [idle(7, 3)])
    assert [(c.caregiver_id, c.lent) for c in r.candidates] == [(7, True), (1, False)]
    assert not r.candidates[1].meets_target


def test_neighbour_who_cannot_make_it_either_is_not_offered() -> None:
    """Own 1 at 5 km, neighbour 7 at 6 km: both late, the own station's ranking stands."""
    r = lend([idle(1, 5)], [idle(7, 6)])
    assert [c.caregiver_id for c in r.candidates] == [1]
    assert not r.can_meet_target


def test_everyone_late_a_neighbour_much_sooner_goes_first() -> None:
    """Own 1 at 9 km (~47 min, in a bath she cannot leave or simply far), neighbour 7 at
    5 km (~28 min): nobody makes the promise, but 7 is there 19 minutes sooner: she is
    offered the call, marked lent; the ranking still says the promise cannot be met, so the
    alarm runs."""
    r = lend([idle(1, 9)], [idle(7, 5)])
    assert [(c.caregiver_id, c.lent) for c in r.candidates] == [(7, True), (1, False)]
    assert not r.can_meet_target
    assert [c.caregiver_id for c in offer_batch(r, offer_timeout_s=60)] == [7]


def test_everyone_late_a_neighbour_a_little_sooner_does_not_go_first() -> None:
    """Own 1 at 5 km, neighbour 7 at 4.5 km: 2.5 minutes sooner is not worth taking the
    call from the caregiver who knows the elder; the own ranking stands."""
    r = lend([idle(1, 5)], [idle(7, 4.5)])
    assert [c.caregiver_id for c in r.candidates] == [1]


def test_own_station_with_nobody_left_a_late_neighbour_is_not_offered() -> None:
    """The own station's only caregiver let the offer ring out (excluded now, asked again
    by ask_again) or is at another emergency; neighbour 7 is 6 km away (late): she is not
    offered the call, or, awake, she would answer first and take it from the own caregiver
    asked again, who is minutes away."""
    r = lend([at_emergency(1, 0.5)], [idle(7, 6)])
    assert r.best is None and r.candidates == ()


def test_neighbours_ranked_among_themselves_and_busy_ones_left_out() -> None:
    """Nobody of the own station on duty; neighbours 7 (3 km), 8 (1 km), 9 (at an
    emergency): 8 then 7; 9 is not a candidate, and the neighbours' exclusions stay theirs."""
    r = lend([], [idle(7, 3), idle(8, 1), at_emergency(9, 0.5)])
    assert [c.caregiver_id for c in r.candidates] == [8, 7]
    assert r.excluded == ()


def test_a_neighbour_who_said_no_is_not_asked_again_at_once() -> None:
    """Neighbour 7 declined (excluded): own late 1 is asked again, neighbour 8 is too far."""
    r = with_neighbours(rank([idle(1, 5)]), rank([idle(7, 1), idle(8, 6)], frozenset({7})))
    assert [c.caregiver_id for c in r.candidates] == [1]


def test_the_borrowing_station_is_not_told_what_visit_the_neighbour_leaves() -> None:
    """Neighbour 7 is 1 km away at a visit she can break off ("助浴 张玉兰", the lending
    station's elder): the reason keeps that she is busy and can break off, not the label."""
    visit = CurrentWork("t9", True, 1800, north(1), "助浴 张玉兰")
    busy = CaregiverState(7, "护理员7", north(1), True, frozenset(), current=visit)
    r = lend([], [busy])
    assert r.best is not None and r.best.why.code == "busy_can_break_off"
    assert r.best.why.busy_with == "" and "张玉兰" not in str(r.best.why.params())


def station(sid: int, km: float, street: str = "团结湖街道", **kw: object) -> StationRef:
    return StationRef(sid, "朝阳区", street, north(km), **kw)  # type: ignore[arg-type]


def test_neighbours_are_the_same_street_centre_nearest_first() -> None:
    """Own 1; 2 and 3 under the same street centre (3 nearer), 4 under another street, 5
    closed, 6 in another district: 3 then 2."""
    own = station(1, 0)
    others = [
        own,
        station(2, 3),
        station(3, 1),
        station(4, 0.5, street="呼家楼街道"),
        station(5, 0.5, active=False),
        StationRef(6, "东城区", "团结湖街道", north(0.2)),
    ]
    assert neighbours(own, others) == (3, 2)


def test_at_most_a_street_centre_of_neighbours() -> None:
    """Twenty stations with no street recorded in one district: the nearest MAX_NEIGHBOURS."""
    own = station(0, 0, street="")
    many = [station(i, i, street="") for i in range(1, 21)]
    assert neighbours(own, many) == tuple(range(1, MAX_NEIGHBOURS + 1))
