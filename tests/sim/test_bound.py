"""The bound per call: the earliest arrival of anyone on duty, from their base, ignoring
what they are doing. The tiny scenario has no travel noise, so the numbers are the model's:
ceil(metres × 1.3 ÷ speed) + 120 s."""

from __future__ import annotations

import math
from dataclasses import replace

from dispatch.geo import GeoPoint, haversine_m
from sim.bound import bounds, call_bound, phone_back_s
from tests.sim.helpers import CENTRE, day_of, near, tiny


def ride_s(metres: float, speed: float) -> int:
    return math.ceil(metres * 1.3 / speed) + 120


def test_a_call_next_to_an_idle_caregiver() -> None:
    """A caregiver whose home is 50 m from the elder walks there in 50 × 1.3 ÷ 1.2 + 120 s;
    the others ride 600 m from the station; the walker is first."""
    data = tiny()
    team = data["district"]["stations"][0]["caregivers"]
    team[1] |= {"mode": "walk", "home": near(0, 550)}
    day = day_of(data)
    b = call_bound(day, day.calls[0])
    metres = haversine_m(day.caregivers[1].base, day.calls[0].location)
    assert 45 < metres < 55
    assert (b.caregiver_id, b.bound_s, b.reachable) == ("st.2", ride_s(metres, 1.2), True)


def test_the_station_ride_when_everyone_is_there() -> None:
    """600 m by e-bike from the station: 1.3 × 600 ÷ 4.2 + 120 ≈ 306 s."""
    day = day_of(tiny())
    b = call_bound(day, day.calls[0])
    station = GeoPoint(CENTRE["lat"], CENTRE["lng"])
    assert b.bound_s == ride_s(haversine_m(station, day.calls[0].location), 4.2)


def test_nobody_on_duty_is_unreachable() -> None:
    """A call at 03:00 to a day team: no bound at all, unreachable."""
    data = tiny()
    data["calls"]["rows"][0]["at"] = "03:00"
    day = day_of(data)
    b = call_bound(day, day.calls[0])
    assert (b.bound_s, b.caregiver_id, b.reachable) == (None, None, False)


def test_a_call_beyond_twenty_minutes_is_unreachable() -> None:
    """8 km away by e-bike: 8000 × 1.3 ÷ 4.2 + 120 ≈ 2,596 s > 1,200 s."""
    data = tiny()
    data["elders"]["rows"][0]["location"] = near(0, 8000)
    day = day_of(data)
    b = call_bound(day, day.calls[0])
    assert b.bound_s is not None and b.bound_s > 1200 and not b.reachable


def test_a_caregiver_off_sick_does_not_count() -> None:
    """The walker next door is off sick from 09:00: the e-bike from the station is first."""
    data = tiny()
    team = data["district"]["stations"][0]["caregivers"]
    team[1] |= {"mode": "walk", "home": near(0, 550)}
    data["disruptions"] = [{"kind": "sick", "caregiver": "st.2", "at": "09:00"}]
    day = day_of(data)
    assert call_bound(day, day.calls[0]).caregiver_id == "st.1"


def test_another_station_s_caregiver_does_not_count() -> None:
    """The dispatcher offers a call to its station's team only; so does the bound."""
    data = tiny()
    other = {
        "id": "far",
        "name": "远站",
        "location": near(0, 3000),
        "caregivers": [{"shifts": [{"start": "08:00", "end": "17:00"}], "home": near(0, 610)}],
    }
    data["district"]["stations"].append(other)
    data["elders"]["rows"][0]["station"] = "st"
    day = day_of(data)
    assert call_bound(day, day.calls[0]).caregiver_id == "st.1"


def test_bounds_cover_every_call() -> None:
    """One entry per call of the day, keyed by its id."""
    data = tiny()
    data["calls"]["rows"].append({"elder": "E2", "at": "11:00"})
    day = day_of(data)
    assert sorted(bounds(day)) == [c.id for c in day.calls]


def test_a_caregiver_whose_phone_is_off_counts_from_when_it_is_back() -> None:
    """The walker next door has her phone off from 15 minutes before the press to 15 minutes
    after (no offer can reach her before): she counts from then, so the e-bike from the
    station is first; with the spell over before the press she is first again."""
    data = tiny()
    team = data["district"]["stations"][0]["caregivers"]
    team[1] |= {"mode": "walk", "home": near(0, 550)}
    day = day_of(data)
    at = day.calls[0].at_s
    walker = day.caregiver_by_id["st.2"]
    off = replace(walker, offline=((at - 900, at + 900),))
    later = replace(day, caregivers=tuple(off if c.id == "st.2" else c for c in day.caregivers))
    b = call_bound(later, day.calls[0])
    assert b.caregiver_id == "st.1"
    assert phone_back_s(off, at) == at + 900
    assert phone_back_s(replace(walker, offline=((at - 900, at), (at, at + 60))), at) == at + 60
    over = replace(walker, offline=((at - 900, at - 1),))
    again = replace(day, caregivers=tuple(over if c.id == "st.2" else c for c in day.caregivers))
    assert call_bound(again, day.calls[0]).caregiver_id == "st.2"
