"""A demo station modelled on DOMAIN.md: 仓红社区, 5,300 residents, 320 elders aged 60+,
four caregivers, a central kitchen. Deterministic (seeded), and safe to run twice.

Every run also seeds *today* (Asia/Shanghai) once: bookings from the station's menu, the day's
lunch menu and delivery orders (closed at once, so the delivery tasks exist), and one day plan,
so a newcomer sees routes, visits, meals and navigation links at any hour. The day is seeded as
the station would have set it up at 07:00 (bookings made then, the plan run then) through the
real service functions; nothing is marked done. A second run the same day adds nothing."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from dispatch.travel import TravelMode, TravelParams, service_circle_radius_m
from schemas.registry import BindingStatus
from schemas.services import MealOrderStatus
from server.auth.passwords import hash_password
from server.auth.tables import users
from server.clock import Clock, make_clock
from server.errors import ApiError
from server.identity import make_id_number
from server.registry.tables import caregivers, elders, family_bindings, stations
from server.settings import Settings
from server.store.engine import Store
from server.tasks.tables import tasks

STATION_NAME = "仓红社区养老服务站"
CENTRE = (39.9219, 116.4436)  # GCJ-02, Chaoyang district
DEMO_PASSWORD = "anxin1234"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀英桂英玉兰秀兰凤英淑珍建国建华国强志强德明春花淑兰玉珍桂兰振华文华丽华宝山福林金凤秀珍"
STREETS = ["朝阳路", "红庙北里", "延静里", "金台路", "团结湖北路", "甜水园街"]
CATEGORY_POOL = ["低保", "特困", "重点优抚", "低保边缘", "计生困难", "劳动模范"]


def _offset(lat: float, lng: float, r_m: float, bearing: float) -> tuple[float, float]:
    dlat = r_m * math.cos(bearing) / 111_320
    dlng = r_m * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return lat + dlat, lng + dlng


def _name(rng: random.Random) -> str:
    g = rng.randrange(0, len(GIVEN) // 2) * 2
    return rng.choice(SURNAMES) + GIVEN[g : g + 2]


DEMO_LOGINS = (
    "admin",
    "operator",
    "caregiver1",
    "caregiver2",
    "caregiver3",
    "caregiver4",
    "elder",
    "family",
)


async def demo_passwords_in_use(settings: Settings) -> list[str]:
    """The logins (the demo's own and any active staff) whose password is the demo's."""
    from server.auth.passwords import verify_password

    store = Store(settings.database_url)
    try:
        async with store.read() as db:
            rows = (
                await db.execute(
                    select(users.c.username, users.c.password_hash).where(
                        users.c.username.in_(DEMO_LOGINS), users.c.password_hash.is_not(None)
                    )
                )
            ).all()
    finally:
        await store.dispose()
    return sorted(str(r.username) for r in rows if verify_password(r.password_hash, DEMO_PASSWORD))


async def seed_demo(
    settings: Settings, *, elders_n: int = 320, today: bool = True, clock: Clock | None = None
) -> str:
    """Seed the station once and today's work once, at the time ``clock`` says (the server's)."""
    clock = clock or make_clock(settings.clock_start)
    store = Store(settings.database_url)
    try:
        async with store.begin() as conn:
            found = (
                await conn.execute(select(stations.c.id).where(stations.c.name == STATION_NAME))
            ).scalar()
            if found:
                summary = f"demo station already seeded (id {found}); sign in as operator / {DEMO_PASSWORD}"
            else:
                summary = await _seed(conn, elders_n, clock.now())
                found = (
                    await conn.execute(select(stations.c.id).where(stations.c.name == STATION_NAME))
                ).scalar()
        if today and found is not None:
            try:
                summary += "\n" + await seed_day(settings, store, int(found), now=clock.now())
            except SQLAlchemyError as exc:
                # The station must start even if today's sample work cannot be written (a
                # schema behind the code, say): say why, and serve without it.
                summary += (
                    f"\ntoday not seeded: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                )
        return summary
    finally:
        await store.dispose()


# ----- today ------------------------------------------------------------------------------
# (menu item, local start, window in minutes): services the team has the skills for
# (bathing: 王芳 and 陈静; rehab: 陈静; the rest anyone), spread over the working day.
DAY_BOOKINGS = [
    ("bath-help", "09:00", 150),
    ("chat", "09:30", 120),
    ("medicine-delivery", "10:00", 90),
    ("read-news", "10:30", 120),
    ("door-knock", "13:00", 90),
    ("rehab", "13:30", 150),
    ("shopping", "14:00", 120),
    ("laundry", "14:30", 120),
    ("chat", "15:00", 120),
    ("bath-help", "15:00", 150),
    ("door-knock", "15:30", 90),
    ("gas-grain", "16:00", 90),
]
DAY_DISHES = [
    {
        "code": "braised-tofu",
        "name_zh": "家常豆腐套餐",
        "price_fen": 1200,
        "tags": ["低盐", "软食"],
    },
    {"code": "steamed-fish", "name_zh": "清蒸鱼套餐", "price_fen": 1500, "tags": ["低盐"]},
    {"code": "veg-noodles", "name_zh": "青菜肉丝面", "price_fen": 1000, "tags": ["软食"]},
]
DAY_MEALS = 8  # delivery orders for today's lunch
DAY_PLAN_SECONDS = 2.0  # the demo must start quickly


def _demo_key(day: date, n: int) -> str:
    return f"demo:{day.isoformat()}:{n}"


async def seed_day(
    settings: Settings, store: Store, station_id: int, *, now: datetime | None = None
) -> str:
    """Seed today's bookings, meals and day plan once (see the module docstring)."""
    from server.bus import InProcessBus
    from server.clock import SHANGHAI, FakeClock
    from server.planning.flows import replan, route_meals
    from server.platform import Platform, Tx, flush_pushes
    from server.services.flows.bookings import create_booking
    from server.services.tables import bookings

    now = now or datetime.now(UTC)
    day = now.astimezone(SHANGHAI).date()
    # The station set the day up at 07:00 (or now, if earlier): bookings made then, plan run then.
    morning = min(now, datetime.combine(day, time(7, 0), SHANGHAI).astimezone(UTC))
    platform = Platform(settings, store, InProcessBus(), FakeClock(morning))
    async with store.begin() as conn:
        done = (
            await conn.execute(
                select(bookings.c.id)
                .where(
                    bookings.c.station_id == station_id,
                    bookings.c.occurrence_key.like(f"demo:{day.isoformat()}:%"),
                )
                .limit(1)
            )
        ).first()
        if done is not None:
            return f"today ({day}) already seeded"
        tx = Tx(conn=conn, now=morning)
        rng = random.Random(day.toordinal())
        eids = list(
            (
                await conn.execute(
                    select(elders.c.id)
                    .where(elders.c.station_id == station_id, elders.c.active.is_(True))
                    .order_by(elders.c.id)
                )
            ).scalars()
        )
        # The demo elder (王秀英, the first) has a visit and a lunch, so her and her family's
        # pages show them; the others are drawn at random, each at most once a day.
        chosen = [eids[0], *rng.sample(eids[1:], len(DAY_BOOKINGS) + DAY_MEALS)]
        made = 0
        for n, (code, at, minutes) in enumerate(DAY_BOOKINGS):
            elder = (await conn.execute(select(elders).where(elders.c.id == chosen[n]))).one()
            hh, mm = (int(x) for x in at.split(":"))
            start = datetime.combine(day, time(hh, mm), SHANGHAI)
            try:
                await create_booking(
                    tx,
                    elder=elder,
                    item_code=code,
                    start=start,
                    end=start + timedelta(minutes=minutes),
                    notes="",
                    actor=None,
                    occurrence_key=_demo_key(day, n),
                )
                made += 1
            except ApiError:
                continue  # an item this elder may not book: the demo goes on without it
        meals = await _seed_meals(
            platform, tx, station_id, day, [chosen[0], *chosen[len(DAY_BOOKINGS) + 1 :]]
        )
        await flush_pushes(tx)
    # Lunch first (the couriers' rounds are then blocked in the day plan), then the day.
    await route_meals(platform, station_id, day)
    _, plan = await replan(
        platform, station_id, day=day, time_limit_s=DAY_PLAN_SECONDS, trigger="demo"
    )
    async with store.read() as conn:
        planned = (
            await conn.execute(
                select(func.count())
                .select_from(tasks)
                .where(
                    tasks.c.station_id == station_id,
                    tasks.c.caregiver_id.is_not(None),
                    tasks.c.window_start >= datetime.combine(day, time(0), SHANGHAI),
                    tasks.c.window_start
                    < datetime.combine(day, time(0), SHANGHAI) + timedelta(days=1),
                )
            )
        ).scalar_one()
    return (
        f"today ({day}): {made} bookings, {meals} lunch deliveries, {planned} tasks on "
        f"{sum(1 for r in plan.routes if r.visits)} caregivers' routes"
    )


async def _seed_meals(
    platform: Any, tx: Any, station_id: int, day: date, elder_ids: list[int]
) -> int:
    """Today's lunch menu, delivery orders, and the cut-off (run now, so the tasks exist)."""
    from server.services.jobs import on_meal_cutoff
    from server.services.tables import meal_menus, meal_orders

    if (
        await tx.conn.execute(
            select(meal_menus.c.id).where(
                meal_menus.c.station_id == station_id, meal_menus.c.day == day
            )
        )
    ).first() is None:
        await tx.conn.execute(
            insert(meal_menus).values(
                station_id=station_id,
                day=day,
                dishes=DAY_DISHES,
                cutoff="09:30",
                lunch_opens="11:00",
                lunch_closes="12:30",
                updated_at=tx.now,
            )
        )
    n = 0
    for i, eid in enumerate(elder_ids[:DAY_MEALS]):
        if (
            await tx.conn.execute(
                select(meal_orders.c.id).where(
                    meal_orders.c.elder_id == eid, meal_orders.c.day == day
                )
            )
        ).first() is not None:
            continue
        dish = DAY_DISHES[i % len(DAY_DISHES)]
        await tx.conn.execute(
            insert(meal_orders).values(
                station_id=station_id,
                elder_id=eid,
                day=day,
                mode="delivery",
                dishes=[dish["code"]],
                total_fen=dish["price_fen"],
                diet_warnings=[],
                notes="",
                status=MealOrderStatus.ORDERED,
                created_at=tx.now,
            )
        )
        n += 1
    await on_meal_cutoff(platform, tx, {"station_id": station_id, "day": day.isoformat()})
    return n


async def _user(
    conn: Any,
    now: datetime,
    role: str,
    name: str,
    *,
    username: str | None = None,
    phone: str | None = None,
    station_id: int | None = None,
    openid: str | None = None,
) -> int:
    return int(
        (
            await conn.execute(
                insert(users)
                .values(
                    role=role,
                    username=username,
                    phone=phone,
                    display_name=name,
                    password_hash=hash_password(DEMO_PASSWORD),
                    station_id=station_id,
                    wechat_openid=openid,
                    created_at=now,
                )
                .returning(users.c.id)
            )
        ).scalar_one()
    )


def _certificates(skills: list[str]) -> list[str]:
    """A demo caregiver's certificates: the care-worker's for everyone, and those her skills'
    items need (rehabilitation, nursing), as the catalogue names them."""
    needs = {"rehab": "康复治疗师", "nursing": "护士"}
    return ["养老护理员", *(needs[s] for s in skills if s in needs)]


async def _seed(conn: Any, elders_n: int, now: datetime) -> str:
    rng = random.Random(20261123)
    radius = service_circle_radius_m(TravelParams(), TravelMode.EBIKE, 15)
    kitchen_at = _offset(*CENTRE, 900, 2.2)
    sid = int(
        (
            await conn.execute(
                insert(stations)
                .values(
                    name=STATION_NAME,
                    district="朝阳区",
                    street="六里屯街道",
                    address="北京市朝阳区仓红社区1号",
                    lat=CENTRE[0],
                    lng=CENTRE[1],
                    circle_minutes=15,
                    circle_radius_m=radius,
                    opening_hours={"weekdays": [0, 1, 2, 3, 4], "open": "09:00", "close": "17:00"},
                    kitchen={"name": "六里屯中央厨房", "lat": kitchen_at[0], "lng": kitchen_at[1]},
                    phone="13800138000",
                    created_at=now,
                )
                .returning(stations.c.id)
            )
        ).scalar_one()
    )
    await _user(conn, now, "admin", "系统管理员", username="admin")
    await _user(conn, now, "operator", "值班调度员 李静", username="operator", station_id=sid)
    team = [
        ("王芳", "13900000001", ["first_aid", "bathing", "nursing"], "ebike"),
        ("刘洋", "13900000002", ["first_aid", "meal_delivery", "housekeeping"], "ebike"),
        ("陈静", "13900000003", ["bathing", "rehab", "companion"], "walk"),
        ("赵磊", "13900000004", ["first_aid", "meal_delivery", "medication"], "ebike"),
    ]
    shifts = [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(7)]
    for i, (name, phone, skills, mode) in enumerate(team):
        uid = await _user(
            conn, now, "caregiver", name, username=f"caregiver{i + 1}", phone=phone, station_id=sid
        )
        lat, lng = _offset(*CENTRE, 300 + 400 * i, i * 1.6)
        await conn.execute(
            insert(caregivers).values(
                user_id=uid,
                station_id=sid,
                name=name,
                phone=phone,
                skills=skills,
                # the certificate names the menu's items ask for (持证上岗)
                certificates=[
                    {"name": cert, "number": f"YL2024{i:04d}{n}", "expires": "2028-12-31"}
                    for n, cert in enumerate(_certificates(skills))
                ],
                travel_mode=mode,
                shifts=shifts,
                on_duty=i < 3,
                lat=lat,
                lng=lng,
                located_at=now,
                home_lat=lat,
                home_lng=lng,
                created_at=now,
            )
        )
    first_elder = None
    for n in range(elders_n):
        age = rng.choices(
            [rng.randint(60, 69), rng.randint(70, 79), rng.randint(80, 92), 100],
            weights=[45, 33, 21, 1],
        )[0]
        birth = date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
        idn = make_id_number("110105", birth, 100 + n)
        lat, lng = _offset(*CENTRE, rng.uniform(50, radius * 0.8), rng.uniform(0, 2 * math.pi))
        living = rng.choices(
            ["alone", "empty_nest", "with_family", "with_disabled_child"], [18, 30, 50, 2]
        )[0]
        care = rng.choices(["自理", "半失能", "失能"], [75, 17, 8])[0]
        cats = sorted({rng.choice(CATEGORY_POOL)} if rng.random() < 0.15 else set())
        if age >= 80:
            cats.append("高龄")
        if age >= 100:
            cats.append("百岁")
        name = "王秀英" if n == 0 else _name(rng)
        eid = int(
            (
                await conn.execute(
                    insert(elders)
                    .values(
                        station_id=sid,
                        name=name,
                        sex="F" if int(idn[16]) % 2 == 0 else "M",
                        birth_date=birth.isoformat(),
                        id_number=idn,
                        phone=f"135{rng.randint(10_000_000, 99_999_999)}",
                        address=f"北京市朝阳区{rng.choice(STREETS)}{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(101, 1802)}",
                        access_notes="钥匙在邻居处" if living == "alone" else "",
                        lat=lat,
                        lng=lng,
                        living=living,
                        categories=cats,
                        care_level=care,
                        contacts=[
                            {
                                "name": _name(rng),
                                "relation": "子女",
                                "phone": f"139{rng.randint(10_000_000, 99_999_999)}",
                                "order": 1,
                            }
                        ],
                        neighbours=[
                            {
                                "name": _name(rng),
                                "phone": f"137{rng.randint(10_000_000, 99_999_999)}",
                                "agreement_no": f"KH{n:04d}",
                            }
                        ]
                        if living == "alone"
                        else [],
                        high_risk=living == "alone" and care != "自理",
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(elders.c.id)
                )
            ).scalar_one()
        )
        first_elder = first_elder or eid
    # 王芳 (caregiver1, whom the README names) is on duty round the corner from 王秀英, so a
    # newcomer signed in as caregiver1 gets the offer when the demo elder presses help.
    home = (
        await conn.execute(select(elders.c.lat, elders.c.lng).where(elders.c.id == first_elder))
    ).one()
    near = _offset(home.lat, home.lng, 250, 0.8)
    await conn.execute(
        update(caregivers)
        .where(caregivers.c.phone == team[0][1])
        .values(lat=near[0], lng=near[1], on_duty=True)
    )
    from server.welfare.demo import seed_welfare_demo

    await seed_welfare_demo(conn, station_id=sid, now=now)
    elder_uid = await _user(
        conn, now, "elder", "王秀英", username="elder", station_id=sid, openid="demo-elder-openid"
    )

    await conn.execute(update(elders).where(elders.c.id == first_elder).values(user_id=elder_uid))
    fam = await _user(
        conn, now, "family", "王秀英的女儿", username="family", openid="demo-family-openid"
    )
    await conn.execute(
        insert(family_bindings).values(
            family_user_id=fam,
            elder_id=first_elder,
            relation="女儿",
            status=BindingStatus.CONFIRMED,
            requested_at=now,
            confirmed_at=now,
        )
    )
    return (
        f"seeded {STATION_NAME} (id {sid}): {elders_n} elders, {len(team)} caregivers, a central kitchen. "
        f"Sign in: operator / caregiver1..4 / elder / family / admin, password {DEMO_PASSWORD}"
    )
