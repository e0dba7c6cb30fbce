"""A scenario and a seed → the day (`sim.day.Day`): pure and deterministic.

Each purpose draws from its own stream (`sim.day.stream`): elders, their attributes,
caregivers' homes and names, offline spells per caregiver, bookings, meals, and help calls per
station. Raising the call rate therefore leaves the elders, the team and the bookings as they
were, and one station's calls do not move another's.

Help calls are a non-homogeneous Poisson process per station, drawn by thinning: candidates
at the highest rate of the day, each kept with the ratio of the rate at its moment to that
highest rate (Lewis and Shedler). The rate is `rate_per_1000_per_hour[hour]` × the station's
elders ÷ 1,000, times every surge on at that moment; the caller is drawn in proportion to
care level and risk.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch.geo import GeoPoint
from dispatch.travel import TravelMode
from schemas import sim as contract
from schemas.hotline import PressOutcome
from schemas.incidents import CallType
from schemas.registry import Living
from schemas.sim import Scenario, clock_s
from sim.day import (
    DAY_S,
    AnswerParams,
    Caregiver,
    Day,
    Elder,
    HelpCall,
    Kitchen,
    Meal,
    SlowArea,
    Span,
    Station,
    Visit,
    draw_delay,
    draw_factor,
    stream,
)
from sim.menu import MENU
from sim.scenario import (
    circle_radius_m,
    generated_elder_id,
    geo,
    nearest_station,
    roster,
    spans,
    travel_params,
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
_PAIRS = "秀英桂英玉兰秀兰凤英淑珍建国建华国强德明春花淑兰玉珍桂兰振华文华丽华宝山福林金凤秀珍玉梅凤兰淑英志刚永福树林长友素芳桂芝"
ELDER_GIVEN = tuple(_PAIRS[i : i + 2] for i in range(0, len(_PAIRS), 2))
CAREGIVER_GIVEN = tuple("芳静敏丽娟霞燕伟强军磊洋婷艳杰涛红梅琳鹏")
# Draws of (elder, item, window) for one visit before giving it up: only a district with
# far more visits than its elders' days can hold runs out.
MAX_BOOKING_DRAWS = 100


def generate(scenario: Scenario, seed: int) -> Day:
    """The day of `scenario` for `seed` (the scenario should have passed `sim.scenario`)."""
    stations = tuple(_station(scenario, s) for s in scenario.district.stations)
    elders = _elders(scenario, seed, stations)
    return Day(
        scenario=scenario,
        seed=seed,
        date=scenario.start_date,
        stations=stations,
        elders=elders,
        caregivers=_caregivers(scenario, seed, stations),
        visits=_visits(scenario, seed, stations, elders),
        meals=_meals(scenario, seed, stations, elders),
        calls=_calls(scenario, seed, stations, elders),
        slow_areas=tuple(
            SlowArea(
                geo(scenario, d.centre), d.radius_m, d.factor, clock_s(d.start), clock_s(d.end)
            )
            for d in scenario.disruptions
            if isinstance(d, contract.SlowArea)
        ),
        travel=travel_params(scenario),
    )


# ----- places -------------------------------------------------------------------------


def offset(p: GeoPoint, east_m: float, north_m: float) -> GeoPoint:
    return GeoPoint(
        p.lat + north_m / 111_195.0,
        p.lng + east_m / (111_195.0 * math.cos(math.radians(p.lat))),
    )


def in_disc(rng: random.Random, centre: GeoPoint, radius_m: float) -> GeoPoint:
    """A point uniformly inside the disc (the square root keeps the density even)."""
    r = radius_m * math.sqrt(rng.random())
    a = rng.uniform(0.0, 2.0 * math.pi)
    return offset(centre, r * math.cos(a), r * math.sin(a))


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder; the parts add up)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda k: (parts[k] - exact[k], k))
    for k in by_remainder[: total - sum(parts)]:
        parts[k] += 1
    return parts


def _station(scn: Scenario, s: contract.Station) -> Station:
    where = geo(scn, s.location)
    k = s.kitchen
    kitchen = (
        None
        if k is None
        else Kitchen(
            name=k.name,
            location=geo(scn, k.location) if k.location is not None else where,
            cutoff_s=clock_s(k.cutoff),
            ready_s=clock_s(k.ready),
            lunch_opens_s=clock_s(k.lunch.opens),
            lunch_closes_s=clock_s(k.lunch.closes),
            max_to_door_s=k.max_minutes_to_door * 60,
            box_capacity=k.box_capacity,
        )
    )
    return Station(
        id=s.id,
        name=s.name,
        location=where,
        circle_minutes=s.circle_minutes,
        circle_mode=TravelMode(s.circle_mode),
        circle_radius_m=circle_radius_m(scn, s),
        opens_s=clock_s(s.hours.opens),
        closes_s=clock_s(s.hours.closes),
        kitchen=kitchen,
    )


# ----- elders -------------------------------------------------------------------------


def _name(rng: random.Random, given: Sequence[str]) -> str:
    return rng.choice(SURNAMES) + rng.choice(given)


def _elders(scn: Scenario, seed: int, stations: Sequence[Station]) -> tuple[Elder, ...]:
    e = scn.elders
    if isinstance(e, contract.ElderList):
        names = stream(seed, "elder-names")
        return tuple(
            Elder(
                id=r.id,
                name=r.name or _name(names, ELDER_GIVEN),
                station_id=r.station or nearest_station(scn, geo(scn, r.location))[0].id,
                location=geo(scn, r.location),
                care_level=r.care_level,
                living=r.living,
                high_risk=r.high_risk,
                device=r.device,
                age=r.age,
            )
            for r in e.rows
        )
    places = _elder_places(scn, e, seed, stations)
    rng = stream(seed, "elder-attributes")
    return tuple(
        _elder_drawn(rng, e, generated_elder_id(k), p, st, compound)
        for k, (p, st, compound) in enumerate(places)
    )


def _elder_places(
    scn: Scenario, g: contract.ElderGenerator, seed: int, stations: Sequence[Station]
) -> list[tuple[GeoPoint, str, str | None]]:
    """(where, station, compound) for every generated elder: compounds first, in order."""
    rng = stream(seed, "elder-places")
    scattered = round(g.count * g.scattered_share) if g.compounds else g.count
    sizes = apportion(g.count - scattered, [c.size for c in g.compounds])
    out: list[tuple[GeoPoint, str, str | None]] = []
    for c, n in zip(g.compounds, sizes, strict=True):
        centre = geo(scn, c.centre)
        station = c.station or nearest_station(scn, centre)[0].id
        out += [(in_disc(rng, centre, c.radius_m), station, c.name) for _ in range(n)]
    for _ in range(scattered):
        st = rng.choice(stations)
        out.append((in_disc(rng, st.location, st.circle_radius_m), st.id, None))
    return out


def _elder_drawn(
    rng: random.Random,
    g: contract.ElderGenerator,
    elder_id: str,
    where: GeoPoint,
    station_id: str,
    compound: str | None,
) -> Elder:
    levels = list(g.care_levels)
    level = rng.choices(levels, [g.care_levels[k] for k in levels])[0]
    if rng.random() < g.living_alone_share:
        living = Living.ALONE
    elif rng.random() < g.empty_nest_share:
        living = Living.EMPTY_NEST
    else:
        living = Living.WITH_FAMILY
    risk = g.high_risk_by_care_level.get(level, 0.0)
    risk = min(1.0, risk * (g.alone_risk_factor if living is Living.ALONE else 1.0))
    return Elder(
        id=elder_id,
        name=_name(rng, ELDER_GIVEN),
        station_id=station_id,
        location=where,
        care_level=level,
        living=living,
        high_risk=rng.random() < risk,
        device=rng.random() < g.device_share,
        age=round(rng.triangular(g.age.min, g.age.max, g.age.mode)),
        compound=compound,
    )


# ----- caregivers ---------------------------------------------------------------------


def _caregivers(scn: Scenario, seed: int, stations: Sequence[Station]) -> tuple[Caregiver, ...]:
    sick = {d.caregiver: clock_s(d.at) for d in scn.disruptions if isinstance(d, contract.Sick)}
    names = stream(seed, "caregiver-names")
    out = []
    for s, st in zip(scn.district.stations, stations, strict=True):
        for ref, _, k, row in roster(s):
            if row.name is None:
                name = _name(names, CAREGIVER_GIVEN)
            else:
                name = row.name if row.count == 1 else f"{row.name}{k + 1}"
            home = geo(scn, row.home) if row.home is not None else None
            if home is None and row.home_radius_m is not None:
                home = in_disc(stream(seed, "caregiver-home", ref), st.location, row.home_radius_m)
            duty = tuple(
                sorted((p for sh in row.shifts for p in spans(sh)), key=lambda p: p.start_s)
            )
            a = row.answers or scn.behaviour.answers
            out.append(
                Caregiver(
                    id=ref,
                    station_id=st.id,
                    name=name,
                    skills=frozenset(row.skills),
                    mode=TravelMode(row.mode),
                    base=home or st.location,
                    home=home,
                    shifts=duty,
                    lunch=row.lunch,
                    answers=AnswerParams(a.accept, a.decline, a.accept_delay, a.decline_delay),
                    sick_from_s=sick.get(ref),
                    offline=_offline(scn, stream(seed, "offline", ref), duty),
                )
            )
    return tuple(out)


def _offline(
    scn: Scenario, rng: random.Random, duty: Sequence[Span]
) -> tuple[tuple[int, int], ...]:
    """Phone-offline spells: in each on-duty hour, with the chance, from a moment in it."""
    o = scn.behaviour.offline
    found: list[tuple[int, int]] = []
    for span in duty:
        for hour_start in range(span.start_s, span.end_s, 3600):
            if rng.random() >= o.chance_per_hour:
                continue
            start = min(span.end_s - 1, hour_start + int(rng.random() * 3600))
            found.append((start, min(DAY_S, start + max(1, draw_delay(rng, o.length)))))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return tuple(merged)


# ----- bookings and meals -------------------------------------------------------------


def _visits(
    scn: Scenario, seed: int, stations: Sequence[Station], elders: Sequence[Elder]
) -> tuple[Visit, ...]:
    b = scn.bookings
    rng = stream(seed, "bookings")
    by_id = {e.id: e for e in elders}
    st_by_id = {s.id: s for s in stations}
    rows: list[tuple[Elder, str, int, int]] = []
    if isinstance(b, contract.BookingList):
        rows = [(by_id[r.elder], r.item, clock_s(r.start), clock_s(r.end)) for r in b.rows]
    elif b.count > 0:
        codes = [c for c, w in b.menu.items() if c in MENU and w > 0]
        item_w = list(itertools.accumulate(b.menu[c] for c in codes))
        who = _weighted_picker(elders, [b.care_weight.get(e.care_level, 0.0) for e in elders])
        taken: dict[str, list[tuple[int, int]]] = {}
        for _ in range(b.count):
            for _draw in range(MAX_BOOKING_DRAWS):
                elder = who(rng)
                code = codes[bisect.bisect_right(item_w, rng.random() * item_w[-1])]
                start, end = _window(rng, st_by_id[elder.station_id], MENU[code].minutes, b)
                # The booking service refuses a window that overlaps another booking of the
                # same elder (booking.double_booked): draw again rather than book a refusal.
                if not any(s < end and start < e for s, e in taken.get(elder.id, ())):
                    taken.setdefault(elder.id, []).append((start, end))
                    rows.append((elder, code, start, end))
                    break
    rows.sort(key=lambda r: (r[2], r[0].id, r[1]))
    noise = scn.behaviour.service_noise
    return tuple(
        Visit(
            id=f"V{n + 1:04d}",
            elder_id=elder.id,
            station_id=elder.station_id,
            location=elder.location,
            item=code,
            name_zh=MENU[code].name_zh,
            skill=MENU[code].skill,
            interruptible=MENU[code].interruptible,
            window_start_s=start,
            window_end_s=end,
            planned_s=MENU[code].minutes * 60,
            actual_s=round(MENU[code].minutes * 60 * draw_factor(rng, noise)),
        )
        for n, (elder, code, start, end) in enumerate(rows)
    )


def _window(
    rng: random.Random, st: Station, minutes: int, b: contract.BookingGenerator
) -> tuple[int, int]:
    """A booked window on the half hour inside the station's hours, long enough to fit."""
    length = max(b.window_minutes, minutes + 30) * 60
    if st.closes_s - st.opens_s <= length:
        return st.opens_s, st.closes_s
    slots = (st.closes_s - length - st.opens_s) // 1800
    start = st.opens_s + 1800 * rng.randint(0, slots)
    return start, start + length


def _weighted_picker(items: Sequence[Elder], weights: Sequence[float]) -> _Picker:
    return _Picker(list(items), list(itertools.accumulate(weights)))


@dataclass(frozen=True)
class _Picker:
    """Draws an item in proportion to its weight (cumulative weights, bisect)."""

    items: list[Elder]
    cumulative: list[float]

    def __call__(self, rng: random.Random) -> Elder:
        x = rng.random() * self.cumulative[-1]
        return self.items[min(len(self.items) - 1, bisect.bisect_right(self.cumulative, x))]


def _meals(
    scn: Scenario, seed: int, stations: Sequence[Station], elders: Sequence[Elder]
) -> tuple[Meal, ...]:
    m = scn.meals
    kitchens = {s.id for s in stations if s.kitchen is not None}
    by_id = {e.id: e for e in elders}
    if isinstance(m, contract.MealList):
        chosen = [(by_id[r.elder], r.boxes) for r in m.rows]
    else:
        rng = stream(seed, "meals")
        # Weighted sampling without replacement (Efraimidis-Spirakis): the largest u^(1/w).
        keyed = [
            (rng.random() ** (1.0 / w), e.id)
            for e in elders
            if e.station_id in kitchens and (w := m.care_weight.get(e.care_level, 0.0)) > 0
        ]
        picked = sorted(k for _, k in sorted(keyed, reverse=True)[: m.count])
        chosen = [(by_id[k], m.boxes) for k in picked]
    return tuple(
        Meal(f"M{n + 1:04d}", e.id, e.station_id, e.location, boxes)
        for n, (e, boxes) in enumerate(chosen)
    )


# ----- help calls ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Press:
    at_s: int
    station_id: str
    elder: Elder
    type: CallType
    outcome: PressOutcome
    surge: bool
    key: tuple[str, int]  # (station, n): names the press before ids are given
    repeat_of: tuple[str, int] | None = None


def _calls(
    scn: Scenario, seed: int, stations: Sequence[Station], elders: Sequence[Elder]
) -> tuple[HelpCall, ...]:
    c = scn.calls
    if isinstance(c, contract.CallList):
        presses = _listed_presses(scn, {e.id: e for e in elders})
    else:
        presses = []
        for st in stations:
            mine = [e for e in elders if e.station_id == st.id]
            presses += _station_presses(scn, c, stream(seed, "calls", st.id), st.id, mine)
    presses.sort(key=lambda p: (p.at_s, p.station_id, p.elder.id, p.key))
    ids = {p.key: f"H{n + 1:04d}" for n, p in enumerate(presses)}
    # What follows a press (call-back, time on scene, who answers the chain) has a stream
    # per press, so one more call does not change what happens after the others.
    return tuple(_help_call(scn, stream(seed, "aftermath", *p.key), p, ids) for p in presses)


def _help_call(
    scn: Scenario, rng: random.Random, p: _Press, ids: dict[tuple[str, int], str]
) -> HelpCall:
    b = scn.behaviour
    return HelpCall(
        id=ids[p.key],
        elder_id=p.elder.id,
        station_id=p.station_id,
        at_s=p.at_s,
        type=p.type,
        outcome=p.outcome,
        via="device" if p.elder.device else "phone",
        location=p.elder.location,
        repeat_of=ids[p.repeat_of] if p.repeat_of is not None else None,
        surge=p.surge,
        callback_after_s=draw_delay(rng, b.operator_callback),
        on_scene_s=draw_delay(rng, b.on_scene),
        neighbour_after_s=draw_delay(rng, b.neighbour.delay)
        if rng.random() < b.neighbour.chance
        else None,
        family_after_s=draw_delay(rng, b.family.delay) if rng.random() < b.family.chance else None,
    )


def _listed_presses(scn: Scenario, by_id: dict[str, Elder]) -> list[_Press]:
    assert isinstance(scn.calls, contract.CallList)
    out: list[_Press] = []
    for n, row in enumerate(scn.calls.rows):
        elder = by_id[row.elder]
        outcome = PressOutcome.ACCIDENTAL if row.false_alarm else PressOutcome.REAL
        first = _Press(
            clock_s(row.at), elder.station_id, elder, row.type, outcome, False, ("list", 2 * n)
        )
        out.append(first)
        if row.repeat_after_s is not None and first.at_s + row.repeat_after_s < DAY_S:
            out.append(_repeat(first, first.at_s + round(row.repeat_after_s), ("list", 2 * n + 1)))
    return out


def _repeat(p: _Press, at_s: int, key: tuple[str, int]) -> _Press:
    return _Press(at_s, p.station_id, p.elder, p.type, p.outcome, p.surge, key, repeat_of=p.key)


def _rate_at(
    scn: Scenario, c: contract.CallProcess, station_id: str, t: float
) -> tuple[float, float, dict[CallType, float]]:
    """(base rate, surge factor, type mix) at t, per 1,000 elders per hour."""
    base = c.rate_per_1000_per_hour[min(23, int(t // 3600))]
    factor, types = 1.0, c.types
    for d in scn.disruptions:
        if (
            isinstance(d, contract.Surge)
            and clock_s(d.start) <= t < clock_s(d.end)
            and (d.stations is None or station_id in d.stations)
        ):
            factor *= d.factor
            types = d.types or types
    return base, factor, types


def _station_presses(
    scn: Scenario,
    c: contract.CallProcess,
    rng: random.Random,
    station_id: str,
    elders: Sequence[Elder],
) -> list[_Press]:
    if not elders:
        return []
    per_hour = len(elders) / 1000.0
    peak_factor = math.prod(
        max(1.0, d.factor) for d in scn.disruptions if isinstance(d, contract.Surge)
    )
    top = per_hour * max(c.rate_per_1000_per_hour) * peak_factor  # calls per hour, a ceiling
    if top <= 0:
        return []
    weight = [
        c.care_factor.get(e.care_level, 0.0) * (c.high_risk_factor if e.high_risk else 1.0)
        for e in elders
    ]
    if sum(weight) <= 0:
        weight = [1.0] * len(elders)
    who = _weighted_picker(elders, weight)
    out: list[_Press] = []
    t = 0.0
    while True:
        t += rng.expovariate(top / 3600.0)
        if t >= DAY_S:
            return out
        base, factor, types = _rate_at(scn, c, station_id, t)
        u = rng.random() * top
        if u >= per_hour * base * factor:
            continue  # thinned out
        surge = u >= per_hour * base
        out += _press_and_repeat(c, rng, who(rng), station_id, int(t), types, len(out), surge)


def _press_and_repeat(
    c: contract.CallProcess,
    rng: random.Random,
    elder: Elder,
    station_id: str,
    at_s: int,
    types: dict[CallType, float],
    n: int,
    surge: bool,
) -> list[_Press]:
    kinds = list(types)
    kind = rng.choices(kinds, [types[k] for k in kinds])[0]
    outcome = PressOutcome.REAL
    if rng.random() < c.false_alarm_share:
        test = rng.random() < c.test_share_of_false_alarms
        outcome = PressOutcome.TEST if test else PressOutcome.ACCIDENTAL
    first = _Press(at_s, station_id, elder, kind, outcome, surge, (station_id, n))
    if rng.random() < c.repeat_press_share:
        again = at_s + max(1, draw_delay(rng, c.repeat_delay))
        if again < DAY_S:
            return [first, _repeat(first, again, (station_id, n + 1))]
    return [first]
