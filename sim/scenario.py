"""Loading a scenario file: JSON → `schemas.sim.Scenario`, then the checks that need the whole
file. Every problem names the field and the row (`district.stations[1 "east"].caregivers`);
an error means the day cannot run as written, a warning that it can but something looks
wrong. Nothing here raises anything but `ScenarioError`.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from dispatch.geo import GeoPoint, haversine_m
from dispatch.travel import TravelMode, TravelParams, service_circle_radius_m
from schemas import hotline as hotline_schemas
from schemas import sim as contract
from schemas.sim import Coord, Scenario, Shift, Station, TeamRow, clock_s
from sim.coords import displaced_like, point_problem, to_gcj02
from sim.day import DAY_S, Span
from sim.menu import MENU

Severity = Literal["error", "warning"]
FAR_M = 30_000  # farther than this from every station: a coordinate mistake, not an elder
MAX_CALLS = 20_000  # a day's calls; far beyond any district (a typo in a rate, not a day)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


class ScenarioError(Exception):
    """The scenario cannot run: every error found (and the warnings beside them)."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(self.text())

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    def text(self) -> str:
        n = len(self.errors)
        head = f"{self.source}: {n} error{'s' if n != 1 else ''}, the day cannot run"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


@dataclass(frozen=True)
class Loaded:
    scenario: Scenario
    warnings: tuple[Problem, ...]
    source: str


def load_scenario(path: str | Path) -> Loaded:
    """Read, validate and check a scenario file; ScenarioError when the day cannot run."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(source, [Problem("(file)", f"cannot read: {exc}")]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ScenarioError(
            source, [Problem("(file)", f"not JSON at {where}: {exc.msg}")]
        ) from None
    return parse_scenario(data, source)


def parse_scenario(data: object, source: str = "<scenario>") -> Loaded:
    """Validate and check scenario data already read from JSON."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, [_from_pydantic(e, data) for e in exc.errors()]) from None
    problems = check(scenario)
    if any(p.severity == "error" for p in problems):
        raise ScenarioError(source, problems)
    return Loaded(scenario, tuple(problems), source)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the scenario file (docs/sim-scenario.schema.json)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Anxin simulator scenario"
    return schema


# ----- pydantic's errors, with the row named ----------------------------------------------


def _label(item: object) -> str:
    if not isinstance(item, dict):
        return ""
    for key in ("id", "name", "elder", "caregiver"):
        value = item.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return f' "{value}"' if key in ("id", "name") else f' {key} "{value}"'
    return ""


def path_of(loc: Sequence[int | str], data: object) -> str:
    """A readable path for a pydantic location, naming list rows by their id or name."""
    out = ""
    node: object = data
    for seg in loc:
        if isinstance(seg, int):
            item = node[seg] if isinstance(node, list) and 0 <= seg < len(node) else None
            out += f"[{seg}{_label(item)}]"
            node = item
        elif isinstance(node, dict) and seg not in node and node.get("kind") == seg:
            continue  # the tag of a union ("generate"), not a field
        elif seg == "[key]":
            out += " (key)"
        else:
            out += f".{seg}" if out else str(seg)
            node = node.get(seg) if isinstance(node, dict) else None
    return out or "(top)"


def _models() -> list[type[BaseModel]]:
    found = [
        v
        for mod in (contract, hotline_schemas)
        for v in vars(mod).values()
        if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == mod.__name__
    ]
    return found


def _unknown_field(name: str, parent: object) -> str:
    """ "unknown field", with the closest allowed name among the models the row fits."""
    keys = set(parent) - {name} if isinstance(parent, dict) else set()
    fitting = [list(m.model_fields) for m in _models() if keys <= set(m.model_fields)]
    for fields in fitting:
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
        if close:
            return f'unknown field "{name}" (did you mean "{close[0]}"?)'
    if len(fitting) == 1:
        return f'unknown field "{name}"; allowed here: {", ".join(fitting[0])}'
    return f'unknown field "{name}"'


def _parent(loc: Sequence[int | str], data: object) -> object:
    node = data
    for seg in loc[:-1]:
        if isinstance(seg, int):
            node = node[seg] if isinstance(node, list) and 0 <= seg < len(node) else None
        elif isinstance(node, dict):
            node = node.get(seg, node if node.get("kind") == seg else None)
    return node


def _from_pydantic(err: Any, data: object) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return Problem(path_of(loc[:-1], data), _unknown_field(str(loc[-1]), _parent(loc, data)))
    if kind == "missing":
        return Problem(path_of(loc, data), "required, but missing")
    message = str(err["msg"]).removeprefix("Value error, ")
    return Problem(path_of(loc, data), message)


# ----- reading the scenario (shared with sim.generate) ------------------------------------


def geo(scn: Scenario, c: Coord) -> GeoPoint:
    """A scenario point as GCJ-02."""
    return to_gcj02(c.lat, c.lng, scn.coord_system.value)


def travel_params(scn: Scenario) -> TravelParams:
    s = scn.travel.speeds_mps
    speeds = {TravelMode.WALK: s.walk, TravelMode.EBIKE: s.ebike, TravelMode.CAR: s.car}
    return TravelParams(scn.travel.detour_factor, speeds, scn.travel.overhead_s)


def circle_radius_m(scn: Scenario, st: Station) -> float:
    return service_circle_radius_m(
        travel_params(scn), TravelMode(st.circle_mode), st.circle_minutes
    )


def spans(shift: Shift) -> list[Span]:
    """A shift as spans of the simulated day; one past midnight wraps to the morning."""
    start, end = clock_s(shift.start), clock_s(shift.end)
    if end > start:
        return [Span(start, end, shift.on_call)]
    parts = [Span(0, end, shift.on_call)] if end > 0 else []
    return [*parts, Span(start, DAY_S, shift.on_call)]


def roster(st: Station) -> Iterator[tuple[str, int, int, TeamRow]]:
    """(ref STATION.N, row index, copy index, row) for every caregiver of the station."""
    n = 0
    for r, row in enumerate(st.caregivers):
        for k in range(row.count):
            n += 1
            yield f"{st.id}.{n}", r, k, row


def elder_ids(scn: Scenario) -> set[str]:
    """The elders' ids: the rows' own, or E0001... for generated elders."""
    if isinstance(scn.elders, contract.ElderList):
        return {e.id for e in scn.elders.rows}
    return {generated_elder_id(k) for k in range(scn.elders.count)}


def generated_elder_id(k: int) -> str:
    return f"E{k + 1:04d}"


def nearest_station(scn: Scenario, p: GeoPoint) -> tuple[Station, float]:
    """The station nearest to p (straight line) and the distance in metres."""
    best = min(scn.district.stations, key=lambda s: haversine_m(p, geo(scn, s.location)))
    return best, haversine_m(p, geo(scn, best.location))


# ----- the checks ---------------------------------------------------------------------


def check(scn: Scenario) -> list[Problem]:
    """Every problem that needs more than one field to see, errors and warnings."""
    found: list[Problem] = []
    for rule in (
        _check_ids,
        _check_teams,
        _check_kitchens,
        _check_points,
        _check_mixes,
        _check_work,
        _check_calls,
        _check_disruptions,
    ):
        found.extend(rule(scn))
    if not any(p.severity == "error" for p in found):
        # Places are only worth judging once every point reads as a point in China.
        found.extend(_check_places(scn))
    return found


def _err(path: str, message: str) -> Problem:
    return Problem(path, message, "error")


def _warn(path: str, message: str) -> Problem:
    return Problem(path, message, "warning")


def _st(i: int, st: Station) -> str:
    return f'district.stations[{i} "{st.id}"]'


def _check_ids(scn: Scenario) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, st in enumerate(scn.district.stations):
        if st.id in seen:
            yield _err(_st(i, st) + ".id", f'"{st.id}" is used by another station')
        seen.add(st.id)
    if isinstance(scn.elders, contract.ElderList):
        ids: set[str] = set()
        for k, e in enumerate(scn.elders.rows):
            if e.id in ids:
                yield _err(f'elders.rows[{k} "{e.id}"].id', "used by another elder")
            ids.add(e.id)


def _check_teams(scn: Scenario) -> Iterator[Problem]:
    for i, st in enumerate(scn.district.stations):
        size = sum(r.count for r in st.caregivers)
        if size == 0:
            yield _err(_st(i, st) + ".caregivers", "a station needs at least one caregiver")
        elif size < 3:
            yield _warn(
                _st(i, st) + ".caregivers",
                f"{size} caregiver(s): stations must have at least 3 full-time caregivers",
            )
        for r, row in enumerate(st.caregivers):
            yield from _overlaps(f"{_st(i, st)}.caregivers[{r}]", row)


def _overlaps(path: str, row: TeamRow) -> Iterator[Problem]:
    parts = [(k, s) for k, shift in enumerate(row.shifts) for s in spans(shift)]
    reported: set[tuple[int, int]] = set()
    for a, (i, x) in enumerate(parts):
        for j, y in parts[a + 1 :]:
            if x.start_s < y.end_s and y.start_s < x.end_s and (i, j) not in reported:
                reported.add((i, j))
                other = row.shifts[i]
                yield _err(
                    f"{path}.shifts[{j}]",
                    f"overlaps shifts[{i}] ({other.start}-{other.end}); "
                    "give each stretch of duty once",
                )


def _check_kitchens(scn: Scenario) -> Iterator[Problem]:
    for i, st in enumerate(scn.district.stations):
        k = st.kitchen
        if k is None:
            continue
        path = _st(i, st) + ".kitchen"
        if clock_s(k.ready) >= clock_s(k.lunch.closes):
            yield _err(path + ".ready", f"{k.ready} is not before lunch closes ({k.lunch.closes})")
        if clock_s(k.cutoff) > clock_s(k.ready):
            yield _warn(path + ".cutoff", f"orders close ({k.cutoff}) after food is ready")


def _points(scn: Scenario) -> Iterator[tuple[str, Coord]]:
    for i, st in enumerate(scn.district.stations):
        yield _st(i, st) + ".location", st.location
        if st.kitchen is not None and st.kitchen.location is not None:
            yield _st(i, st) + ".kitchen.location", st.kitchen.location
        for r, row in enumerate(st.caregivers):
            if row.home is not None:
                yield f"{_st(i, st)}.caregivers[{r}].home", row.home
    if isinstance(scn.elders, contract.ElderList):
        for k, e in enumerate(scn.elders.rows):
            yield f'elders.rows[{k} "{e.id}"].location', e.location
    else:
        for k, c in enumerate(scn.elders.compounds):
            yield f'elders.compounds[{k} "{c.name}"].centre', c.centre
    for k, d in enumerate(scn.disruptions):
        if isinstance(d, contract.SlowArea):
            yield f"disruptions[{k}].centre", d.centre


def _check_points(scn: Scenario) -> Iterator[Problem]:
    for path, c in _points(scn):
        trouble = point_problem(c.lat, c.lng)
        if trouble is not None:
            yield _err(path, trouble)


def _check_mixes(scn: Scenario) -> Iterator[Problem]:
    e = scn.elders
    if isinstance(e, contract.ElderGenerator):
        if sum(e.care_levels.values()) <= 0:
            yield _err("elders.care_levels", "the weights add up to 0")
        if not e.compounds and e.scattered_share < 1:
            yield _err("elders.compounds", "no compounds: set scattered_share to 1 or add some")
        elif e.compounds and sum(c.size for c in e.compounds) <= 0:
            yield _err("elders.compounds", "every compound has size 0")


def _check_work(scn: Scenario) -> Iterator[Problem]:
    yield from _check_bookings(scn)
    yield from _check_meals(scn)


def _skills_at(scn: Scenario) -> dict[str, set[str]]:
    return {st.id: {s for row in st.caregivers for s in row.skills} for st in scn.district.stations}


def _check_bookings(scn: Scenario) -> Iterator[Problem]:
    b = scn.bookings
    if isinstance(b, contract.BookingGenerator):
        for code in b.menu:
            if code not in MENU:
                yield _err(f'bookings.menu."{code}"', f"not on the menu; known: {', '.join(MENU)}")
        if b.count > 0 and sum(w for c, w in b.menu.items() if c in MENU) <= 0:
            yield _err("bookings.menu", "the weights add up to 0")
        if b.count > 0 and sum(b.care_weight.values()) <= 0:
            yield _err("bookings.care_weight", "the weights add up to 0")
        everyone = set().union(*_skills_at(scn).values())
        for code, w in b.menu.items():
            skill = MENU[code].skill if code in MENU else None
            if w > 0 and skill is not None and skill not in everyone:
                yield _warn(
                    f'bookings.menu."{code}"',
                    f'needs skill "{skill}" that no caregiver has: these visits will be missed',
                )
        return
    ids = elder_ids(scn)
    for k, row in enumerate(b.rows):
        path = f'bookings.rows[{k} elder "{row.elder}"]'
        if row.elder not in ids:
            yield _err(path + ".elder", f'no elder "{row.elder}"')
        if row.item not in MENU:
            yield _err(path + ".item", f'"{row.item}" is not on the menu; known: {", ".join(MENU)}')
    yield from _check_booked_windows(b.rows)


def _check_booked_windows(rows: Sequence[contract.BookingRow]) -> Iterator[Problem]:
    """Bookings the booking service will refuse (the day runs; they are missed): a window
    shorter than the service (it must hold the whole visit), or one that overlaps another
    booking of the same elder."""
    seen: dict[str, list[tuple[int, int, int]]] = {}
    for k, row in enumerate(rows):
        path = f'bookings.rows[{k} elder "{row.elder}"]'
        start, end = clock_s(row.start), clock_s(row.end)
        item = MENU.get(row.item)
        if item is not None and start < end < start + item.minutes * 60:
            yield _warn(
                path + ".end",
                f"the window is shorter than {row.item} ({item.minutes} min): the booking "
                "service will refuse it (booking.window_too_short)",
            )
            continue
        mine = seen.setdefault(row.elder, [])
        clash = next((j for j, a, b in mine if a < end and start < b), None)
        if clash is not None:
            yield _warn(
                path + ".start",
                f"overlaps bookings.rows[{clash}] of the same elder: the booking service will "
                "refuse it (booking.double_booked)",
            )
        else:
            mine.append((k, start, end))  # a refused booking holds no slot


def _check_meals(scn: Scenario) -> Iterator[Problem]:
    m = scn.meals
    kitchens = [st for st in scn.district.stations if st.kitchen is not None]
    if isinstance(m, contract.MealGenerator):
        if m.count > 0 and not kitchens:
            yield _err("meals.count", "meals are ordered but no station has a kitchen")
        if m.count > len(elder_ids(scn)):
            yield _err("meals.count", f"{m.count} meals for {len(elder_ids(scn))} elders")
        if m.count > 0 and sum(m.care_weight.values()) <= 0:
            yield _err("meals.care_weight", "the weights add up to 0")
        return
    ids = elder_ids(scn)
    seen: set[str] = set()
    for k, row in enumerate(m.rows):
        path = f'meals.rows[{k} elder "{row.elder}"]'
        if row.elder not in ids:
            yield _err(path + ".elder", f'no elder "{row.elder}"')
        if row.elder in seen:
            yield _err(path + ".elder", "one lunch order per elder and day")
        seen.add(row.elder)
    if m.rows and not kitchens:
        yield _err("meals.rows", "meals are ordered but no station has a kitchen")


def _check_calls(scn: Scenario) -> Iterator[Problem]:
    c = scn.calls
    if isinstance(c, contract.CallList):
        ids = elder_ids(scn)
        for k, row in enumerate(c.rows):
            if row.elder not in ids:
                yield _err(f'calls.rows[{k} elder "{row.elder}"].elder', f'no elder "{row.elder}"')
        return
    if not any(r > 0 for r in c.rate_per_1000_per_hour):
        yield _err(
            "calls.rate_per_1000_per_hour",
            "every hourly rate is 0: the day would have no help calls to judge",
        )
    if sum(c.types.values()) <= 0:
        yield _err("calls.types", "the weights add up to 0")
    expected = _expected_calls(scn, c)
    if expected > MAX_CALLS:
        yield _err(
            "calls.rate_per_1000_per_hour",
            f"about {expected:,.0f} calls a day; the simulator draws at most {MAX_CALLS:,}",
        )
    yield from _uncovered_hours(scn, c)


def _expected_calls(scn: Scenario, c: contract.CallProcess) -> float:
    """Calls a day at the rates, with every surge on all day (an upper estimate)."""
    elders = len(elder_ids(scn))
    surges = math.prod(max(1.0, d.factor) for d in scn.disruptions if isinstance(d, contract.Surge))
    return elders / 1000 * sum(c.rate_per_1000_per_hour) * surges


def _uncovered_hours(scn: Scenario, c: contract.CallProcess) -> Iterator[Problem]:
    for i, st in enumerate(scn.district.stations):
        duty = [s for row in st.caregivers for sh in row.shifts for s in spans(sh)]
        empty = [
            h
            for h in range(24)
            if c.rate_per_1000_per_hour[h] > 0
            and not any(s.start_s < (h + 1) * 3600 and s.end_s > h * 3600 for s in duty)
        ]
        if duty and empty:
            hours = ", ".join(f"{h:02d}:00" for h in empty)
            yield _warn(
                _st(i, st) + ".caregivers",
                f"help calls can come in hours nobody is on duty ({hours}): "
                "they will be unreachable (add a night on-call shift?)",
            )


def _check_disruptions(scn: Scenario) -> Iterator[Problem]:
    refs = {ref: row for st in scn.district.stations for ref, _, _, row in roster(st)}
    stations = {st.id for st in scn.district.stations}
    for k, d in enumerate(scn.disruptions):
        path = f"disruptions[{k} {d.kind}]"
        if isinstance(d, contract.Sick):
            if d.caregiver not in refs:
                yield _err(path + ".caregiver", f'no caregiver "{d.caregiver}" (STATION.N)')
            elif not any(
                s.end_s > clock_s(d.at) for sh in refs[d.caregiver].shifts for s in spans(sh)
            ):
                yield _warn(path + ".at", f"{d.caregiver} has no duty left after {d.at}")
        elif isinstance(d, contract.SlowArea):
            if clock_s(d.end) <= clock_s(d.start):
                yield _err(path + ".end", f"{d.end} is not after start {d.start}")
        else:
            if clock_s(d.end) <= clock_s(d.start):
                yield _err(path + ".end", f"{d.end} is not after start {d.start}")
            for s in d.stations or []:
                if s not in stations:
                    yield _err(path + ".stations", f'no station "{s}"')
            if d.types is not None and sum(d.types.values()) <= 0:
                yield _err(path + ".types", "the weights add up to 0")


def _check_places(scn: Scenario) -> Iterator[Problem]:
    by_id = {st.id: st for st in scn.district.stations}
    places: list[tuple[str, GeoPoint, str | None]] = []
    if isinstance(scn.elders, contract.ElderList):
        for k, e in enumerate(scn.elders.rows):
            places.append((f'elders.rows[{k} "{e.id}"]', geo(scn, e.location), e.station))
    else:
        for k, c in enumerate(scn.elders.compounds):
            places.append((f'elders.compounds[{k} "{c.name}"]', geo(scn, c.centre), c.station))
    for path, p, station in places:
        if station is not None and station not in by_id:
            yield _err(path + ".station", f'no station "{station}"')
            continue
        yield from _place(scn, path, p, by_id[station] if station else None)
    yield from _shifted(scn, places)


def _place(scn: Scenario, path: str, p: GeoPoint, assigned: Station | None) -> Iterator[Problem]:
    nearest, far = nearest_station(scn, p)
    if far > FAR_M:
        yield _err(
            path,
            f"{far / 1000:.0f} km from the nearest station ({nearest.id}): "
            "a coordinate mistake? (every elder must be within 30 km of a station)",
        )
        return
    st = assigned or nearest
    d = haversine_m(p, geo(scn, st.location))
    inside_any = any(
        haversine_m(p, geo(scn, s.location)) <= circle_radius_m(scn, s)
        for s in scn.district.stations
    )
    if not inside_any:
        yield _warn(
            path,
            f"outside every station's service circle ({d:.0f} m from {st.id}, circle "
            f"{circle_radius_m(scn, st):.0f} m): visits and calls there will be slow",
        )
    elif d > circle_radius_m(scn, st):
        yield _warn(path + ".station", f"outside {st.id}'s circle ({d:.0f} m)")


def _shifted(
    scn: Scenario, places: Sequence[tuple[str, GeoPoint, str | None]]
) -> Iterator[Problem]:
    anchors, clouds = [], []
    for st in scn.district.stations:
        anchors.append(geo(scn, st.location))
        clouds.append([p for _, p, s in places if (s or nearest_station(scn, p)[0].id) == st.id])
    shift = displaced_like(anchors, clouds)
    if shift is not None:
        name = {"wgs84": "WGS-84", "bd09": "BD-09"}[shift.system]
        yield _warn(
            "coord_system",
            f"the elders sit {shift.metres:.0f} m from their stations in exactly the direction "
            f"by which {name} differs from {scn.coord_system.value}: were the stations and the "
            f"elders taken from different maps? Give every point in {scn.coord_system.value}",
        )
