"""The console's read models: what the board, the caregiver's and the elder's pages and the
notification list show, read over every domain's tables (the console writes nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.incidents import IncidentStatus as IS
from server.auth.principal import Principal, Role
from server.clock import SHANGHAI
from server.console import out
from server.errors import ApiError
from server.incidents.model import ACTIVE_STATES
from server.incidents.out import incident_out
from server.incidents.tables import alarms, incidents, offers
from server.platform import Platform
from server.registry.guards import elder_for
from server.registry.tables import caregivers, elders, stations
from server.store.tables import push_messages
from server.tasks.tables import tasks
from server.texts import Audience

ON_THE_WAY: Final = (IS.ACCEPTED.value, IS.EN_ROUTE.value, IS.ARRIVED.value)
ACTIVE_TASK: Final = ("open", "planned", "en_route", "in_progress")
UNDER_WAY: Final = ("en_route", "in_progress")
# The station's own phone work about an elder (call-backs, device checks): not a visit or a
# meal, so not on the elder's or the family's "today".
STATION_SIDE: Final = ("return_call", "device")
NOTIFICATION_TYPES: Final = (
    "incident.status",
    "family.call_requested",
    "binding.confirmed",
    "binding.requested",
)


async def any_station(platform: Platform) -> bool:
    """Whether the database holds a station yet (an empty one gets the first-start page)."""
    async with platform.store.read() as conn:
        return (await conn.execute(select(stations.c.id).limit(1))).first() is not None


def station_of(p: Principal, asked: str | None) -> int:
    """The operator's own station; an admin names one (``asked``), or 0 for the first."""
    if p.role is Role.ADMIN:
        if asked:
            try:
                return int(asked)
            except ValueError as exc:
                raise ApiError(422, "bad_station_id", "station_id must be an integer") from exc
        return 0
    if p.station_id is None:
        raise ApiError(403, "forbidden", "no station in scope")
    return p.station_id


async def station_row(conn: AsyncConnection, sid: int) -> Row[Any]:
    """The station (0: the first one), or 404."""
    stmt = (
        select(stations).order_by(stations.c.id).limit(1)
        if sid == 0
        else select(stations).where(stations.c.id == sid)
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        raise ApiError(404, "station_not_found", "station not found")
    return row


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Today in Shanghai, as [start, end)."""
    local = now.astimezone(SHANGHAI)
    start = datetime.combine(local.date(), time(0), tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


# ----- caregivers on the board --------------------------------------------------------------


def _of_station(sid: int) -> Any:
    """The station's caregivers, as a subquery."""
    return select(caregivers.c.id).where(caregivers.c.station_id == sid)


async def _live_incidents(conn: AsyncConnection, sid: int) -> Sequence[Row[Any]]:
    """Incidents a caregiver of the station is on now, with the elder's name and the call's
    station (a neighbour's, when she was lent to it)."""
    return (
        await conn.execute(
            select(incidents, elders.c.name.label("elder_name"), stations.c.name.label("at"))
            .join(elders, elders.c.id == incidents.c.elder_id)
            .join(stations, stations.c.id == incidents.c.station_id)
            .where(
                incidents.c.caregiver_id.in_(_of_station(sid)),
                incidents.c.status.in_(ON_THE_WAY),
            )
        )
    ).all()


async def _open_tasks(conn: AsyncConnection, sid: int, end: datetime) -> Sequence[Row[Any]]:
    """The station's assigned tasks still to do, up to the end of today."""
    return (
        await conn.execute(
            select(tasks, elders.c.name.label("elder_name"))
            .outerjoin(elders, elders.c.id == tasks.c.elder_id)
            .where(
                tasks.c.station_id == sid,
                tasks.c.caregiver_id.is_not(None),
                tasks.c.status.in_(ACTIVE_TASK),
                (tasks.c.window_start.is_(None)) | (tasks.c.window_start < end),
            )
        )
    ).all()


async def _waiting_offers(conn: AsyncConnection, sid: int) -> Sequence[Any]:
    """Offers waiting for an answer of a caregiver of the station, with the elder's name and
    the call's station."""
    return (
        await conn.execute(
            select(
                offers.c.caregiver_id,
                offers.c.incident_id,
                offers.c.expires_at,
                incidents.c.station_id,
                elders.c.name.label("elder_name"),
                stations.c.name.label("at"),
            )
            .join(incidents, incidents.c.id == offers.c.incident_id)
            .join(elders, elders.c.id == incidents.c.elder_id)
            .join(stations, stations.c.id == incidents.c.station_id)
            .where(offers.c.caregiver_id.in_(_of_station(sid)), offers.c.status == "offered")
        )
    ).all()


async def caregivers_board(conn: AsyncConnection, sid: int, now: datetime) -> list[dict[str, Any]]:
    """The station's active caregivers, each with what they are doing and what is next."""
    cgs = (
        await conn.execute(
            select(caregivers)
            .where(caregivers.c.station_id == sid, caregivers.c.active.is_(True))
            .order_by(caregivers.c.id)
        )
    ).all()
    live = await _live_incidents(conn, sid)
    day_tasks = await _open_tasks(conn, sid, day_bounds(now)[1])
    pending = await _waiting_offers(conn, sid)
    cards = []
    for c in cgs:
        inc = next((i for i in live if i.caregiver_id == c.id), None)
        offer = next((o for o in pending if o.caregiver_id == c.id), None)
        mine = sorted((t for t in day_tasks if t.caregiver_id == c.id), key=out.task_order)
        cards.append(out.caregiver_card(c, inc, offer, mine))
    return cards


# ----- today's figures ----------------------------------------------------------------------


async def _cover(conn: AsyncConnection, sid: int, day: str) -> dict[str, Any] | None:
    """The emergency cover of the day's plan in force, as the planner summed it up."""
    from server.planning.tables import day_plans

    row = (
        await conn.execute(
            select(day_plans.c.summary)
            .where(day_plans.c.station_id == sid, day_plans.c.day == day)
            .order_by(day_plans.c.id.desc())
            .limit(1)
        )
    ).first()
    cover = row.summary.get("cover") if row is not None and isinstance(row.summary, dict) else None
    return cover if isinstance(cover, dict) else None


async def today(conn: AsyncConnection, sid: int, now: datetime, sla_s: int) -> dict[str, Any]:
    """Today's figures: calls, response times, meals, visits, staff by the hour, cover."""
    # Rows read defensively (server/planning: shifts_on): an odd shift is skipped, not a 500.
    from server.planning.flows import shifts_on

    start, end = day_bounds(now)
    calls = (
        await conn.execute(
            select(incidents).where(
                incidents.c.station_id == sid,
                incidents.c.opened_at >= start,
                incidents.c.opened_at < end,
            )
        )
    ).all()
    day_tasks = (
        await conn.execute(
            select(tasks).where(
                tasks.c.station_id == sid, tasks.c.window_start >= start, tasks.c.window_start < end
            )
        )
    ).all()
    cgs = (
        await conn.execute(
            select(caregivers).where(caregivers.c.station_id == sid, caregivers.c.active.is_(True))
        )
    ).all()
    return out.today_out(
        start=start,
        now=now,
        sla_s=sla_s,
        calls=calls,
        day_tasks=day_tasks,
        caregivers=cgs,
        shifts={c.id: shifts_on(c, start.date(), warn=False) for c in cgs},
        cover=await _cover(conn, sid, start.date().isoformat()),
    )


# ----- incidents ----------------------------------------------------------------------------


async def pending_offers(
    conn: AsyncConnection, incident_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Each incident's offer waiting for an answer, with the dispatcher's reason as data."""
    if not incident_ids:
        return {}
    rows = (
        await conn.execute(
            select(offers, caregivers.c.name.label("caregiver_name"))
            .join(caregivers, caregivers.c.id == offers.c.caregiver_id)
            .where(offers.c.incident_id.in_(incident_ids), offers.c.status == "offered")
        )
    ).all()
    return {r.incident_id: out.offer_out(r) for r in rows}


async def incident_view(platform: Platform, p: Principal, incident_id: int) -> dict[str, Any]:
    """The operator's view of one incident: timeline, candidates, the pending offer, the elder."""
    async with platform.store.read() as conn:
        row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
        if row is None or (p.role is not Role.ADMIN and row.station_id != p.station_id):
            raise ApiError(404, "incident_not_found", "incident not found")
        now = platform.clock.now()
        view = (
            await incident_out(conn, row, now, with_timeline=True, with_candidates=True)
        ).model_dump(mode="json")
        view["offer"] = (await pending_offers(conn, [incident_id])).get(incident_id)
        out.texts(view, "operator", view["offer"])
        e = (await conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        view["elder"] = out.elder_brief(e)
    return view


async def _open_incidents(conn: AsyncConnection, sid: int, now: datetime) -> list[dict[str, Any]]:
    """The station's open incidents, oldest first, each with its pending offer."""
    rows = (
        await conn.execute(
            select(incidents)
            .where(incidents.c.station_id == sid, incidents.c.status.in_(ACTIVE_STATES))
            .order_by(incidents.c.opened_at)
        )
    ).all()
    incs = [(await incident_out(conn, r, now)).model_dump(mode="json") for r in rows]
    pending = await pending_offers(conn, [r.id for r in rows])
    for i in incs:
        i["offer"] = pending.get(i["id"])
        out.texts(i, "operator", i["offer"])
    return incs


async def board(platform: Platform, *, station_id: int, tile_url: str | None) -> dict[str, Any]:
    """Everything the live board draws, in one snapshot (reloaded on every (re)connect)."""
    async with platform.store.read() as conn:
        st = await station_row(conn, station_id)
        now = platform.clock.now()
        eld = (
            await conn.execute(
                select(
                    elders.c.id,
                    elders.c.name,
                    elders.c.lat,
                    elders.c.lng,
                    elders.c.high_risk,
                    elders.c.care_level,
                    elders.c.living,
                )
                .where(elders.c.station_id == st.id, elders.c.active.is_(True))
                .order_by(elders.c.id)
            )
        ).all()
        incs = await _open_incidents(conn, st.id, now)
        alarm_rows = (
            await conn.execute(
                select(alarms)
                .where(alarms.c.station_id == st.id, alarms.c.acknowledged_at.is_(None))
                .order_by(alarms.c.id)
            )
        ).all()
        cg = await caregivers_board(conn, st.id, now)
        figures = await today(conn, st.id, now, platform.settings.sla_s)
    return {
        "now": now.isoformat(),
        "sla_s": platform.settings.sla_s,
        # Raster tiles for deployments that have a tile server ({z}/{x}/{y}, GCJ-02 for Chinese
        # providers); without one the map is drawn from data alone.
        "map": {"tile_url": tile_url},
        "station": out.station_card(st),
        "elders": [out.elder_pin(e) for e in eld],
        "caregivers": cg,
        "incidents": incs,
        "alarms": [out.alarm_out(a) for a in alarm_rows],
        "today": figures,
    }


async def today_view(platform: Platform, sid: int) -> dict[str, Any]:
    """Today's figures of the station (0: the first)."""
    async with platform.store.read() as conn:
        st = await station_row(conn, sid)
        return await today(conn, st.id, platform.clock.now(), platform.settings.sla_s)


async def caregivers_view(platform: Platform, sid: int) -> list[dict[str, Any]]:
    """The station's caregivers as the board lists them (0: the first station)."""
    async with platform.store.read() as conn:
        st = await station_row(conn, sid)
        return await caregivers_board(conn, st.id, platform.clock.now())


# ----- a caregiver's day ----------------------------------------------------------------------


async def _my_incidents(conn: AsyncConnection, cid: int, now: datetime) -> list[dict[str, Any]]:
    """The incidents the caregiver is on, with where to go and how to get in."""
    rows = (
        await conn.execute(
            select(incidents)
            .where(incidents.c.caregiver_id == cid, incidents.c.status.in_(ON_THE_WAY))
            .order_by(incidents.c.id)
        )
    ).all()
    incs = []
    for r in rows:
        d = (await incident_out(conn, r, now)).model_dump(mode="json")
        e = (
            await conn.execute(
                select(elders.c.address, elders.c.access_notes).where(elders.c.id == r.elder_id)
            )
        ).one()
        d["address"], d["access_notes"] = e.address, e.access_notes
        d["elder_location"] = {"lat": r.lat, "lng": r.lng}
        incs.append(d)
    return incs


async def _my_offers(conn: AsyncConnection, cid: int) -> list[dict[str, Any]]:
    """Offers waiting for the caregiver's answer."""
    rows = (
        await conn.execute(
            select(
                offers,
                incidents.c.kind,
                incidents.c.lat,
                incidents.c.lng,
                incidents.c.deadline_at,
                elders.c.name.label("elder_name"),
                elders.c.address,
                elders.c.access_notes,
            )
            .join(incidents, incidents.c.id == offers.c.incident_id)
            .join(elders, elders.c.id == incidents.c.elder_id)
            .where(offers.c.caregiver_id == cid, offers.c.status == "offered")
            .order_by(offers.c.id)
        )
    ).all()
    return [out.offered_to_me(o) for o in rows]


async def _my_tasks(conn: AsyncConnection, cid: int, now: datetime) -> list[dict[str, Any]]:
    """Today's tasks (and any still under way) in route order, with the elder's address."""
    start, end = day_bounds(now)
    rows = (
        await conn.execute(
            select(tasks, elders.c.name.label("elder_name"), elders.c.address.label("address"))
            .outerjoin(elders, elders.c.id == tasks.c.elder_id)
            .where(
                tasks.c.caregiver_id == cid,
                ((tasks.c.window_start >= start) & (tasks.c.window_start < end))
                | tasks.c.status.in_(UNDER_WAY),
            )
        )
    ).all()
    return [
        {**out.task_out(t, t.elder_name), "address": t.address}
        for t in sorted(rows, key=out.task_order)
    ]


async def my_day(platform: Platform, p: Principal) -> dict[str, Any]:
    """A caregiver's day: their live incident(s) and today's tasks in route order."""
    if p.caregiver_id is None:
        raise ApiError(403, "forbidden", "caregivers only")
    cid = p.caregiver_id
    async with platform.store.read() as conn:
        now = platform.clock.now()
        me = (await conn.execute(select(caregivers).where(caregivers.c.id == cid))).one()
        incs = await _my_incidents(conn, cid, now)
        pending = await _my_offers(conn, cid)
        items = await _my_tasks(conn, cid, now)
    return {
        "caregiver": {
            "id": me.id,
            "name": me.name,
            "on_duty": me.on_duty,
            "travel_mode": me.travel_mode,
        },
        "now": now.isoformat(),
        "offers": pending,
        "incidents": incs,
        "tasks": items,
    }


# ----- an elder's day -----------------------------------------------------------------------


async def _elder_row(conn: AsyncConnection, p: Principal, elder_id: int) -> Row[Any]:
    """The elder, for the elder themselves or whoever may see them (never a caregiver here)."""
    if p.role is Role.ELDER:
        if p.elder_id != elder_id:
            raise ApiError(404, "elder_not_found", "elder not found")
        return (await conn.execute(select(elders).where(elders.c.id == elder_id))).one()
    if p.role is Role.CAREGIVER:
        raise ApiError(404, "elder_not_found", "elder not found")
    row: Row[Any] = await elder_for(conn, p, elder_id)
    return row


async def _elder_tasks(conn: AsyncConnection, elder_id: int, now: datetime) -> list[dict[str, Any]]:
    """The elder's visits and meals today, with who comes."""
    start, end = day_bounds(now)
    rows = (
        await conn.execute(
            select(tasks, caregivers.c.name.label("caregiver_name"))
            .outerjoin(caregivers, caregivers.c.id == tasks.c.caregiver_id)
            .where(
                tasks.c.elder_id == elder_id,
                tasks.c.window_start >= start,
                tasks.c.window_start < end,
                tasks.c.status != "cancelled",
                tasks.c.kind.notin_(STATION_SIDE),
            )
        )
    ).all()
    return [
        {**out.task_out(t), "caregiver_name": t.caregiver_name}
        for t in sorted(rows, key=out.task_order)
    ]


async def _elder_incidents(
    conn: AsyncConnection, stmt: Any, now: datetime, who: Audience
) -> list[dict[str, Any]]:
    """Incidents in this reader's wording."""
    return [
        out.texts((await incident_out(conn, r, now)).model_dump(mode="json"), who)
        for r in (await conn.execute(stmt)).all()
    ]


async def elder_day(platform: Platform, p: Principal, elder_id: int) -> dict[str, Any]:
    """An elder's day (visits, meals) and open calls, for the elder or a bound family member."""
    async with platform.store.read() as conn:
        e = await _elder_row(conn, p, elder_id)
        now = platform.clock.now()
        items = await _elder_tasks(conn, elder_id, now)
        who = out.audience(p)
        mine = select(incidents).where(incidents.c.elder_id == elder_id)
        open_now = mine.where(incidents.c.status.in_(ACTIVE_STATES))
        incs = await _elder_incidents(conn, open_now.order_by(incidents.c.id.desc()), now, who)
        recent_stmt = mine.order_by(incidents.c.id.desc()).limit(10)
        recent = await _elder_incidents(conn, recent_stmt, now, who)
        station_phone = (
            await conn.execute(select(stations.c.phone).where(stations.c.id == e.station_id))
        ).scalar()
    return {
        "now": now.isoformat(),
        "elder": {"id": e.id, "name": e.name},
        "phones": _phones(station_phone, e.contacts)
        | (
            # The family asked to call back gets the elder's number to do it with.
            {"elder": e.phone}
            if p.role is Role.FAMILY and any(i.get("kind") == "family" for i in incs)
            else {}
        ),
        "tasks": items,
        "open_incidents": incs,
        "recent_incidents": recent,
    }


def _phones(station_phone: str | None, contacts: Any) -> dict[str, Any]:
    """The numbers the elder's page offers as big call buttons while a call cannot get out:
    the station, the first family contact (by order) and 120."""
    listed = [c for c in (contacts or []) if isinstance(c, dict) and c.get("phone")]
    first = min(listed, key=lambda c: int(c.get("order") or 0), default=None)
    return {
        "station": station_phone or None,
        "family": {"name": str(first.get("name") or ""), "phone": str(first["phone"])}
        if first
        else None,
        "emergency": "120",
    }


# ----- notifications ------------------------------------------------------------------------


async def notifications(platform: Platform, p: Principal, limit: int) -> dict[str, Any]:
    """The caller's recent pushes that a person reads, newest first, each with its text in
    both languages: the history survives a new phone or a cleared browser, because it is the
    server's own push record."""
    async with platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(push_messages)
                .where(
                    push_messages.c.recipient == p.push_recipient,
                    push_messages.c.type.in_(NOTIFICATION_TYPES),
                )
                .order_by(push_messages.c.seq.desc())
                .limit(limit)
            )
        ).all()
    who = out.audience(p)
    return {"items": [out.notification_out(r, who) for r in _without_repeats(rows)]}


def _without_repeats(rows: Sequence[Row[Any]]) -> list[Row[Any]]:
    """The history without repeats (newest first, as given): a call's status said again (a
    second press joining it, a new ETA while on the way) is kept only the first time."""
    kept: list[Row[Any]] = []
    last: dict[Any, tuple[str, Any]] = {}
    for r in reversed(rows):
        payload = r.payload or {}
        iid = payload.get("incident_id")
        said = (r.type, payload.get("status"))
        if iid is not None and last.get(iid) == said:
            continue
        if iid is not None:
            last[iid] = said
        kept.append(r)
    return kept[::-1]
