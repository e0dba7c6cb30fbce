"""The simulated district written into a real store: stations with their menus, operators,
caregivers and elders as the registry holds them, and the day's bookings through the
services' own `create_booking` (the check of the slot, the quote and the task included).

Registry rows are inserted as an import would (as `server.demo` seeds its station): the
registry's forms check what a person types, which a generated day has not typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from schemas.services import DishIn, MealOrderIn, MenuIn
from server.auth.principal import Principal, Role
from server.auth.tables import users
from server.errors import ApiError
from server.identity import make_id_number
from server.platform import Platform
from server.registry.tables import caregivers, elders, stations
from server.services.catalogue import SEED_ITEMS
from server.services.flows.bookings import create_booking
from server.services.flows.meals import order_meal, put_menu
from server.services.flows.menu import seed_menu_rows
from server.tasks.tables import tasks
from sim.day import Caregiver, Day

NO_PASSWORD = "!"  # a hash no password matches: simulated people never sign in


@dataclass
class Ids:
    """The day's ids (sim) against the store's (int)."""

    station: dict[str, int] = field(default_factory=dict)
    operator: dict[str, int] = field(default_factory=dict)  # station → operator's user id
    elder: dict[str, int] = field(default_factory=dict)
    elder_user: dict[str, int] = field(default_factory=dict)
    caregiver: dict[str, int] = field(default_factory=dict)
    caregiver_user: dict[str, int] = field(default_factory=dict)
    visit_task: dict[str, int] = field(default_factory=dict)
    task_visit: dict[int, str] = field(default_factory=dict)
    caregiver_sim: dict[int, str] = field(default_factory=dict)
    meal_of_elder: dict[int, str] = field(default_factory=dict)  # elder (store) → meal ordered
    meal_task: dict[str, int] = field(default_factory=dict)  # once the cut-off made the tasks
    task_meal: dict[int, str] = field(default_factory=dict)


def shifts_json(c: Caregiver, day: date) -> list[dict[str, Any]]:
    """Day shifts as the registry stores them; on-call nights are not planned (calls only)."""
    out = []
    for s in c.shifts:
        if s.on_call:
            continue
        start, end = divmod(s.start_s // 60, 60), divmod(s.end_s // 60, 60)
        out.append(
            {
                "weekday": day.weekday(),
                "start": f"{start[0]:02d}:{start[1]:02d}",
                "end": f"{end[0]:02d}:{end[1]:02d}",
            }
        )
    return out


def certificates_for(skills: Iterable[str]) -> list[dict[str, str]]:
    """持证上岗: a simulated caregiver holds the certificate of every menu item her skills
    cover (the scenario names skills; a station that staffs by the rules has the papers)."""
    have = set(skills)
    names = sorted({i.certificate for i in SEED_ITEMS if i.skill in have and i.certificate})
    return [
        {"name": n, "number": f"SIM{k:04d}", "expires": "2099-12-31"} for k, n in enumerate(names)
    ]


async def seed(platform: Platform, day: Day) -> Ids:
    """Write the district (see the module docstring); the clock stands at the day's start."""
    ids = Ids()
    now = platform.clock.now()
    async with platform.store.begin() as conn:
        for s in day.stations:
            kitchen = None
            if s.kitchen is not None:
                k = s.kitchen
                kitchen = {
                    "name": k.name,
                    "lat": k.location.lat,
                    "lng": k.location.lng,
                    "box_capacity": k.box_capacity,
                    "max_minutes_to_door": k.max_to_door_s // 60,
                }
            sid = (
                await conn.execute(
                    insert(stations)
                    .values(
                        name=s.name,
                        lat=s.location.lat,
                        lng=s.location.lng,
                        circle_minutes=s.circle_minutes,
                        circle_radius_m=s.circle_radius_m,
                        opening_hours={
                            "weekdays": [0, 1, 2, 3, 4, 5, 6],
                            "open": _hhmm(s.opens_s),
                            "close": _hhmm(min(s.closes_s, 86_340)),
                        },
                        kitchen=kitchen,
                        created_at=now,
                    )
                    .returning(stations.c.id)
                )
            ).scalar_one()
            ids.station[s.id] = int(sid)
            await seed_menu_rows(conn, station_id=int(sid), now=now)
            ids.operator[s.id] = await _user(conn, "operator", f"op.{s.id}", int(sid), now)
        for c in day.caregivers:
            sid = ids.station[c.station_id]
            uid = await _user(conn, "caregiver", f"cg.{c.id}", sid, now)
            cid = (
                await conn.execute(
                    insert(caregivers)
                    .values(
                        user_id=uid,
                        station_id=sid,
                        name=c.name[:50],
                        phone=f"139{len(ids.caregiver):08d}",
                        skills=sorted(c.skills),
                        certificates=certificates_for(c.skills),
                        travel_mode=c.mode.value,
                        shifts=shifts_json(c, day.date),
                        on_duty=False,
                        lat=c.base.lat,
                        lng=c.base.lng,
                        located_at=now,
                        home_lat=c.home.lat if c.home else None,
                        home_lng=c.home.lng if c.home else None,
                        created_at=now,
                    )
                    .returning(caregivers.c.id)
                )
            ).scalar_one()
            ids.caregiver[c.id] = int(cid)
            ids.caregiver_user[c.id] = uid
            ids.caregiver_sim[int(cid)] = c.id
        for n, e in enumerate(day.elders):
            sid = ids.station[e.station_id]
            uid = await _user(conn, "elder", f"el.{e.id}", sid, now)
            born = date(day.date.year - e.age, 1, 1) + timedelta(days=n // 900)
            eid = (
                await conn.execute(
                    insert(elders)
                    .values(
                        station_id=sid,
                        user_id=uid,
                        name=e.name[:50],
                        sex="F" if n % 2 else "M",
                        birth_date=born.isoformat(),
                        id_number=make_id_number("110105", born, n % 900 + 1),
                        phone=f"135{n:08d}",
                        address=f"{e.compound or '朝阳区'} {e.id}",
                        lat=e.location.lat,
                        lng=e.location.lng,
                        living=e.living.value,
                        categories=[],
                        care_level=e.care_level.value,
                        contacts=[
                            {"name": "家属", "relation": "子女", "phone": f"136{n:08d}", "order": 1}
                        ],
                        neighbours=[{"name": "邻居", "phone": f"137{n:08d}", "agreement_no": ""}],
                        high_risk=e.high_risk,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(elders.c.id)
                )
            ).scalar_one()
            ids.elder[e.id] = int(eid)
            ids.elder_user[e.id] = uid
    return ids


async def book(platform: Platform, day: Day, ids: Ids) -> dict[str, str]:
    """Each visit booked as the service pages book it; returns visit → why it was refused.

    The catalogue does not yet say which services cannot be broken off for a help call; the
    simulator's menu does (`sim.menu`), and the task carries it (`tasks.interruptible`)."""
    refused: dict[str, str] = {}
    for v in day.visits:
        try:
            async with platform.tx() as tx:
                elder = (
                    await tx.conn.execute(
                        select(elders).where(elders.c.id == ids.elder[v.elder_id])
                    )
                ).one()
                row = await create_booking(
                    tx,
                    elder=elder,
                    item_code=v.item,
                    start=day.at(v.window_start_s),
                    end=day.at(v.window_end_s),
                    notes="",
                    actor=None,
                    occurrence_key=f"sim:{v.id}",
                )
                task_id = int(row.task_id)
                if not v.interruptible:
                    await tx.conn.execute(
                        update(tasks).where(tasks.c.id == task_id).values(interruptible=False)
                    )
        except ApiError as exc:
            refused[v.id] = f"booking_refused:{exc.code}"
            continue
        ids.visit_task[v.id] = task_id
        ids.task_visit[task_id] = v.id
    return refused


LUNCH = DishIn(code="sim-lunch", name_zh="营养午餐", price_fen=1200, tags=["低盐"])


async def order_meals(platform: Platform, day: Day, ids: Ids) -> dict[str, str]:
    """Each kitchen's menu for the day (its cut-off timer included) as the station sets it, and
    each lunch ordered for delivery as the elder's page orders it; returns meal → why refused."""
    refused: dict[str, str] = {}
    for s in day.stations:
        if s.kitchen is None:
            continue
        k = s.kitchen
        menu = MenuIn(
            dishes=[LUNCH],
            cutoff=_hhmm(k.cutoff_s),
            lunch_opens=_hhmm(k.lunch_opens_s),
            lunch_closes=_hhmm(k.lunch_closes_s),
        )
        await put_menu(
            platform,
            station_id=ids.station[s.id],
            day=day.date,
            body=menu,
            actor=ids.operator[s.id],
        )
    for m in day.meals:
        eid = ids.elder[m.elder_id]
        who = Principal(
            user_id=ids.elder_user[m.elder_id],
            role=Role.ELDER,
            station_id=ids.station[m.station_id],
            elder_id=eid,
        )
        order = MealOrderIn(day=day.date, mode="delivery", dishes=[LUNCH.code] * m.boxes)
        try:
            await order_meal(platform, who, elder_id=eid, body=order)
        except ApiError as exc:
            refused[m.id] = f"order_refused:{exc.code}"
            continue
        ids.meal_of_elder[eid] = m.id
    return refused


async def map_meal_tasks(platform: Platform, ids: Ids) -> None:
    """The delivery tasks the cut-off made, against the day's meals (one per elder)."""
    async with platform.store.read() as conn:
        rows = (
            await conn.execute(
                select(tasks.c.id, tasks.c.elder_id).where(tasks.c.kind == "meal_delivery")
            )
        ).all()
    for r in rows:
        meal = ids.meal_of_elder.get(int(r.elder_id))
        if meal is not None and int(r.id) not in ids.task_meal:
            ids.meal_task[meal] = int(r.id)
            ids.task_meal[int(r.id)] = meal


async def _user(conn: Any, role: str, username: str, station: int | None, now: Any) -> int:
    return int(
        (
            await conn.execute(
                insert(users)
                .values(
                    role=role,
                    username=username,
                    display_name=username,
                    password_hash=NO_PASSWORD,
                    station_id=station,
                    created_at=now,
                )
                .returning(users.c.id)
            )
        ).scalar_one()
    )


def _hhmm(seconds: int) -> str:
    h, m = divmod(seconds // 60, 60)
    return f"{h:02d}:{m:02d}"
