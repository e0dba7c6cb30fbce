"""What the dispatcher knows: the station's caregivers as dispatch/ sees them, and travel
times from the travel model, computed outside any write transaction (a road-time service
may take a moment, and nothing should hold the store's locks meanwhile)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Final

from sqlalchemy import select

from dispatch.emergency import CaregiverState, CurrentWork, remaining_work_s
from dispatch.geo import GeoPoint
from dispatch.neighbours import StationRef, neighbours
from dispatch.oncall import on_call_at
from dispatch.travel import TravelMode, TravelTimeModel
from schemas.incidents import OfferStatus
from server.clock import SHANGHAI
from server.incidents.model import WITH_CAREGIVER
from server.incidents.tables import incidents, offers
from server.platform import Platform, Slot, Tx
from server.providers.flows.listed import blocked
from server.registry.out import skills_of
from server.registry.tables import caregivers, stations
from server.tasks.tables import tasks
from server.travel import does_io, make_travel_model
from server.welfare.workdays import business_date

log = logging.getLogger("anxin.dispatch")

# The travel model (great-circle, or the configured road service); tests may put their own.
TRAVEL_KEY: Final[Slot[TravelTimeModel]] = Slot("travel")


def travel_model(platform: Platform) -> TravelTimeModel:
    """The platform's travel model, made from the settings on first use."""
    try:
        return platform.get(TRAVEL_KEY)
    except LookupError:
        model = make_travel_model(platform.settings.osrm_url)
        platform.put(TRAVEL_KEY, model)
        return model


async def travel_s(platform: Platform, origin: GeoPoint, to: GeoPoint, mode: TravelMode) -> int:
    """Travel seconds from ``origin`` to ``to``: off the event loop when the model does I/O.
    Never call it inside a write transaction."""
    model = travel_model(platform)

    def one() -> int:
        return int(model.matrix([origin], [to], mode)[0][0])

    return await asyncio.to_thread(one) if does_io(model) else one()


async def eta_from(
    platform: Platform, cg: Any, inc: Any, at: tuple[float, float] | None = None
) -> int:
    """Travel seconds from the caregiver (or ``at``) to the incident; the whole promise
    when we do not know where they are."""
    origin = point_of(*at) if at is not None else point_of(cg.lat, cg.lng)
    if origin is None:
        return platform.settings.sla_s
    to = GeoPoint(inc.lat, inc.lng)
    return await travel_s(platform, origin, to, travel_mode_of(cg.travel_mode))


async def caregiver_states(tx: Tx, station_id: int, now: datetime) -> list[CaregiverState]:
    """Every active caregiver of the station as dispatch/ sees them right now."""
    return await _states(tx, (station_id,), now)


async def lender_states(tx: Tx, station_id: int, now: datetime) -> list[CaregiverState]:
    """The active caregivers of the stations that may lend ``station_id`` one for a medical
    emergency (dispatch.neighbours: same district and street centre, nearest first)."""
    s = stations.c
    home = (await tx.conn.execute(select(s.district, s.street).where(s.id == station_id))).first()
    if home is None:
        return []
    # Only the stations of the call's street centre are read, not the whole city's.
    centre = select(s.id, s.district, s.street, s.lat, s.lng, s.active).where(
        s.district == home.district, s.street == home.street
    )
    rows = (await tx.conn.execute(centre)).all()
    refs = {
        r.id: StationRef(r.id, r.district, r.street, GeoPoint(r.lat, r.lng), r.active) for r in rows
    }
    own = refs.get(station_id)
    near = neighbours(own, list(refs.values())) if own is not None else ()
    return await _states(tx, near, now) if near else []


async def _states(tx: Tx, station_ids: Sequence[int], now: datetime) -> list[CaregiverState]:
    """The stations' active caregivers: one read of the columns dispatch/ uses, a row per
    caregiver (with the visit in progress, whether they already hold an emergency, of any
    station, or an unanswered offer, and whether they are on the black list)."""
    c, t = caregivers.c, tasks.c
    # Any station's call: a caregiver lent to a neighbour is busy at home too.
    with_call = select(incidents.c.caregiver_id).where(
        incidents.c.status.in_(WITH_CAREGIVER),
        incidents.c.caregiver_id.is_not(None),
    )
    # A caregiver holding an unanswered offer is not offered a second emergency meanwhile.
    offered = select(offers.c.caregiver_id).where(offers.c.status == OfferStatus.OFFERED.value)
    working = t.caregiver_id == c.id
    query = (
        select(
            *(c[k] for k in _CAREGIVER),
            *(t[k].label(f"task_{k}") for k in _TASK),
            (c.id.in_(with_call) | c.id.in_(offered)).label("busy"),
            # A black-listed caregiver (or one whose provider is) is offered no new work.
            blocked(c.id, c.provider_id, business_date(now)).label("blocked"),
        )
        .outerjoin(tasks, working & (t.status == "in_progress"))
        .where(c.station_id.in_(list(station_ids)), c.active.is_(True))
        .order_by(c.id, t.id)
    )
    rows = (await tx.conn.execute(query)).all()
    seen: dict[int, CaregiverState | None] = {}
    for row in rows:  # a caregiver with two visits in progress: the last row read counts
        if not row.blocked:
            task = _task_of(row)
            seen[row.id] = _state_of(row, task, bool(row.busy), now)
    return [s for s in seen.values() if s is not None]


_CAREGIVER = ("id", "name", "lat", "lng", "on_duty", "on_call", "home_lat", "home_lng",
              "skills", "travel_mode")  # fmt: skip
_TASK = ("id", "started_at", "duration_s", "lat", "lng", "interruptible", "title")


def _task_of(row: Any) -> SimpleNamespace | None:
    """The visit in progress on a snapshot row, as _state_of reads a task."""
    if row.task_id is None:
        return None
    return SimpleNamespace(**{k: getattr(row, f"task_{k}") for k in _TASK})


def _state_of(c: Any, task: Any, busy: bool, now: datetime) -> CaregiverState | None:
    """One caregiver row as dispatch/ sees it, read defensively: the rows come from
    operators' forms, imports and older versions, and one odd row (skills stored as null
    or a string, an unknown travel mode, half a location) must not stop dispatch for the
    whole station — an emergency would stay open with nobody offered while the outbox
    retried the same crash. Odd fields get safe readings; a row that still cannot be read
    is left out and logged."""
    try:
        loc = point_of(c.lat, c.lng)
        # a caregiver on night call is offered help calls from home, duty switch or not
        on_call = not c.on_duty and on_call_at(
            getattr(c, "on_call", None), now.astimezone(SHANGHAI)
        )
        if on_call:
            loc = point_of(getattr(c, "home_lat", None), getattr(c, "home_lng", None)) or loc
        work = None
        if task is not None and task.started_at is not None:
            duration = task.duration_s if isinstance(task.duration_s, int | float) else 0
            remaining = remaining_work_s(duration, (now - task.started_at).total_seconds())
            where = point_of(task.lat, task.lng) or loc
            if where is not None:
                work = CurrentWork(
                    task_id=str(task.id),
                    interruptible=task.interruptible is not False,
                    remaining_s=remaining,
                    location=where,
                    label=str(task.title or ""),
                )
        return CaregiverState(
            caregiver_id=c.id,
            name=str(c.name or ""),
            location=loc,
            on_duty=bool(c.on_duty) or on_call,
            skills=skills_of(c.skills),
            mode=travel_mode_of(c.travel_mode),
            current=work,
            on_emergency=busy,
        )
    except Exception:
        log.exception(
            "caregiver row unreadable, left out of dispatch",
            extra={"caregiver_id": getattr(c, "id", None)},
        )
        return None


def travel_mode_of(raw: Any) -> TravelMode:
    """A stored travel mode, or the station's usual one where it does not read."""
    try:
        return TravelMode(raw)
    except ValueError:
        return TravelMode.EBIKE  # the station's usual way of getting about


def point_of(lat: Any, lng: Any) -> GeoPoint | None:
    """A stored location, or None where it is missing or not a valid point."""
    if not isinstance(lat, int | float) or not isinstance(lng, int | float):
        return None
    p = GeoPoint(float(lat), float(lng))
    return p if p.is_valid() else None
