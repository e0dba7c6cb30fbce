"""The period report against the raw rows of a seeded quarter: help calls and their response
times, visits, meals, subsidies and satisfaction per station, street and district, by month
and quarter, as JSON and XLSX; rows at the edges of a Shanghai month counted in the right
one; each reader sees only their own stations; the audit log read by the roles that may."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, update

from server.clock import SHANGHAI
from server.hotline.tables import satisfaction
from server.incidents.tables import incidents
from server.registry.tables import stations
from server.services.tables import meal_orders
from server.welfare.tables import service_records
from tests.conftest import BACKENDS
from tests.support.api import PASSWORD, Api, near
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

DISTRICT = "朝阳区"
STREETS = {"station": "呼家楼街道", "station2": "团结湖街道"}


@dataclass
class Seeded:
    """What was written, kept beside the database to work the figures out by hand."""

    calls: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    meals: list[dict[str, Any]]
    answers: list[dict[str, Any]]


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI).astimezone(UTC)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


async def seed(api: Api) -> Seeded:
    """A quarter (October to December 2026) of rows for both stations, drawn from a fixed
    seed, plus rows on the edges of November (00:10 on the 1st, 23:50 on the 30th, Shanghai
    time: the other month in UTC) and rows that must not count (a cancelled meal, a
    reversed visit)."""
    rnd = random.Random(15)
    s = Seeded([], [], [], [])
    elders = {api.ids["station"]: [api.ids["elder"], api.ids["elder_other"]]}
    elders[api.ids["station2"]] = [api.ids["elder_s2"]]
    for sid, eids in elders.items():
        for day in days(date(2026, 10, 1), date(2026, 12, 31)):
            for _ in range(rnd.randint(0, 2)):
                opened = at(day, rnd.randint(0, 23), rnd.randint(0, 59))
                acc = rnd.choice([None, rnd.randint(20, 300)])
                ride = rnd.choice([None, rnd.randint(300, 1500)])
                arr = None if acc is None or ride is None else acc + ride
                s.calls.append(
                    dict(station_id=sid, elder_id=rnd.choice(eids), opened_at=opened,
                         kind=rnd.choice(["emergency", "health", "service"]),
                         resolution=rnd.choice(["resolved", "false_alarm", "test_press", None]),
                         accepted_at=None if acc is None else opened + timedelta(seconds=acc),
                         arrived_at=None if arr is None else opened + timedelta(seconds=arr))
                )  # fmt: skip
            for eid in eids:
                if rnd.random() < 0.4:
                    start = at(day, rnd.randint(8, 16))
                    price = rnd.choice([3000, 4500, 6000])
                    sub = rnd.choice([0, price // 2, price])
                    s.visits.append(
                        dict(station_id=sid, elder_id=eid, started_at=start,
                             ended_at=start + timedelta(minutes=rnd.choice([30, 45, 60, 90])),
                             price_fen=price, subsidy_fen=sub, self_pay_fen=price - sub,
                             reversed=rnd.random() < 0.1)
                    )  # fmt: skip
                if rnd.random() < 0.6:
                    s.meals.append(
                        dict(station_id=sid, elder_id=eid, day=day,
                             mode=rnd.choice(["delivery", "dine_in"]),
                             total_fen=rnd.choice([1200, 1500]),
                             status=rnd.choice(["ordered", "delivered", "cancelled"]))
                    )  # fmt: skip
                if rnd.random() < 0.15:
                    s.answers.append(
                        dict(station_id=sid, elder_id=eid, at=at(day, rnd.randint(9, 20)),
                             answer=rnd.choice(["satisfied", "basically_satisfied",
                                                "dissatisfied"]))
                    )  # fmt: skip
    # The edges of November: counted in November, though their UTC date is another month's.
    sid, eid = api.ids["station"], api.ids["elder"]
    for edge in (at(date(2026, 11, 1), 0, 10), at(date(2026, 11, 30), 23, 50)):
        s.calls.append(
            dict(station_id=sid, elder_id=eid, opened_at=edge, kind="emergency",
                 resolution="resolved", accepted_at=edge + timedelta(seconds=5),
                 arrived_at=edge + timedelta(seconds=7))
        )  # fmt: skip
        s.answers.append(dict(station_id=sid, elder_id=eid, at=edge, answer="dissatisfied"))
    await write(api, s)
    return s


async def write(api: Api, s: Seeded) -> None:
    now = api.clock.now()
    lat, lng = near(100)
    async with api.platform.store.begin() as conn:
        for key, street in STREETS.items():
            await conn.execute(
                update(stations).where(stations.c.id == api.ids[key]).values(street=street)
            )
        for c in s.calls:
            await conn.execute(
                insert(incidents).values(**c, status="resolved", source="button", lat=lat, lng=lng)
            )
        for v in s.visits:
            await conn.execute(
                insert(service_records).values(
                    **v, district=DISTRICT, item_code="cleaning", item_name="家庭保洁",
                    proofs=[], created_at=now,
                )
            )  # fmt: skip
        for m in s.meals:
            await conn.execute(
                insert(meal_orders).values(**m, dishes=[], diet_warnings=[], created_at=now)
            )
        for a in s.answers:
            await conn.execute(insert(satisfaction).values(**a, channel="phone"))


def rank(values: Sequence[int], p: float) -> int | None:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1] if ordered else None


def by_hand(s: Seeded, sids: set[int], first: date, last: date) -> dict[str, Any]:
    """The figures worked out from the seeded rows, the obvious way."""

    def local(t: datetime) -> date:
        return t.astimezone(SHANGHAI).date()

    calls = [
        c for c in s.calls if c["station_id"] in sids and first <= local(c["opened_at"]) <= last
    ]
    visits = [
        v for v in s.visits
        if v["station_id"] in sids and first <= local(v["started_at"]) <= last and not v["reversed"]
    ]  # fmt: skip
    meals = [
        m for m in s.meals
        if m["station_id"] in sids and first <= m["day"] <= last and m["status"] != "cancelled"
    ]  # fmt: skip
    answers = [a for a in s.answers if a["station_id"] in sids and first <= local(a["at"]) <= last]
    secs = [(c["arrived_at"] - c["opened_at"]).seconds for c in calls if c["arrived_at"]]
    acc = [(c["accepted_at"] - c["opened_at"]).seconds for c in calls if c["accepted_at"]]
    good = sum(a["answer"] != "dissatisfied" for a in answers)
    return {
        "calls": len(calls),
        "emergencies": sum(c["kind"] == "emergency" for c in calls),
        "false_alarms": sum(c["resolution"] in ("false_alarm", "test_press") for c in calls),
        "arrived": len(secs),
        "accept_median_s": rank(acc, 0.5),
        "response_median_s": rank(secs, 0.5),
        "response_p90_s": rank(secs, 0.9),
        "visits": len(visits),
        "elders_visited": len({v["elder_id"] for v in visits}),
        "visit_minutes": sum((v["ended_at"] - v["started_at"]).seconds // 60 for v in visits),
        "meals": len(meals),
        "meals_delivered": sum(m["mode"] == "delivery" for m in meals),
        "meal_fen": sum(m["total_fen"] for m in meals),
        "service_fen": sum(v["price_fen"] for v in visits),
        "subsidy_fen": sum(v["subsidy_fen"] for v in visits),
        "self_pay_fen": sum(v["self_pay_fen"] for v in visits),
        "answers": len(answers),
        "satisfied": good,
        "satisfaction": round(good / len(answers), 4) if answers else None,
    }


NOV = (date(2026, 11, 1), date(2026, 11, 30))
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


async def test_the_report_matches_the_raw_rows_per_station_street_and_district(
    api: Api,
) -> None:
    long_tokens(api)
    s = await seed(api)
    s1, s2 = api.ids["station"], api.ids["station2"]
    nov = await api.call("GET", "/api/v1/reports?period=2026-11", "admin", expect=200)
    assert (nov["from"], nov["to"], nov["months"]) == ("2026-11-01", "2026-11-30", ["2026-11"])
    rows = {(r["level"], r["name"]): r["kpis"] for r in nov["rows"]}
    assert list(rows) == [
        ("district", DISTRICT),
        ("street", "呼家楼街道"),
        ("street", "团结湖街道"),
        ("station", "仓红社区养老服务站"),
        ("station", "官长社区养老服务站"),
    ]
    assert rows[("station", "仓红社区养老服务站")] == by_hand(s, {s1}, *NOV)
    assert rows[("street", "团结湖街道")] == by_hand(s, {s2}, *NOV)
    assert rows[("district", DISTRICT)] == nov["total"] == by_hand(s, {s1, s2}, *NOV)
    assert nov["total"]["calls"] > 20 and nov["total"]["visits"] > 10  # a real month
    # The two edge calls (00:10 on the 1st, 23:50 on the 30th) are November's.
    october = await api.call("GET", "/api/v1/reports?period=2026-10", "admin", expect=200)
    assert october["total"] == by_hand(s, {s1, s2}, date(2026, 10, 1), date(2026, 10, 31))

    q4 = await api.call("GET", "/api/v1/reports?period=2026Q4", "admin", expect=200)
    assert q4["months"] == ["2026-10", "2026-11", "2026-12"]
    assert q4["total"] == by_hand(s, {s1, s2}, *Q4)
    assert [m["kpis"] for m in q4["by_month"]][1] == nov["total"]
    assert sum(m["kpis"]["meals"] for m in q4["by_month"]) == q4["total"]["meals"]

    # The XLSX: the same figures, Chinese headers, the total last.
    r = await api.client.get("/api/v1/reports.xlsx?period=2026-11", headers=api.h("admin"))
    assert r.status == 200 and "spreadsheetml" in r.headers["Content-Type"]
    ws = load_workbook(io.BytesIO(await r.read())).worksheets[0]
    table = [list(row) for row in ws.iter_rows(values_only=True)]
    assert table[0][0] == f"{DISTRICT}运营报表（2026-11）"
    head = table[1]
    assert head[:4] == ["层级", "区", "名称", "呼叫数"]
    last = dict(zip(head, table[-1], strict=True))
    assert last["层级"] == "合计" and last["呼叫数"] == nov["total"]["calls"]
    assert last["补贴金额（分）"] == nov["total"]["subsidy_fen"]
    assert last["满意率"] == f"{nov['total']['satisfaction'] * 100:.1f}%"
    station_row = dict(zip(head, table[5], strict=True))
    assert station_row["名称"] == "仓红社区养老服务站"
    assert (
        station_row["到达中位数（秒）"]
        == rows[("station", "仓红社区养老服务站")]["response_median_s"]
    )


async def test_each_reader_sees_only_their_own_stations(api: Api) -> None:
    long_tokens(api)
    s = await seed(api)
    s1, s2 = api.ids["station"], api.ids["station2"]
    mine = await api.call("GET", "/api/v1/reports?period=2026-11", "operator2", expect=200)
    assert [r["name"] for r in mine["rows"] if r["level"] == "station"] == ["官长社区养老服务站"]
    assert mine["total"] == by_hand(s, {s2}, *NOV)
    status, _ = await api.call("GET", f"/api/v1/reports?period=2026-11&station_id={s2}", "operator")
    assert status == 404
    for username, role, street in (
        ("street_hj", "street_officer", "呼家楼街道"),
        ("district_cy", "district_officer", None),
        ("district_hd", "district_officer", None),
    ):
        body: dict[str, Any] = {
            "username": username, "display_name": username, "password": PASSWORD, "role": role,
            "district": "海淀区" if username == "district_hd" else DISTRICT,
        }  # fmt: skip
        if street:
            body["street"] = street
        await api.call("POST", "/api/v1/welfare/officers", "admin", json=body, expect=201)
        await api.login(username)
    long_tokens(api)
    street = await api.call("GET", "/api/v1/reports?period=2026Q4", "street_hj", expect=200)
    assert street["total"] == by_hand(s, {s1}, *Q4)
    district = await api.call(
        "GET", "/api/v1/reports?period=2026Q4&street=团结湖街道", "district_cy", expect=200
    )
    assert district["total"] == by_hand(s, {s2}, *Q4)
    other = await api.call("GET", "/api/v1/reports?period=2026Q4", "district_hd", expect=200)
    assert other["rows"] == [] and other["total"]["calls"] == 0
    status, _ = await api.call(
        "GET", f"/api/v1/reports?period=2026Q4&district={DISTRICT}", "district_hd"
    )
    assert status == 404
    status, _ = await api.call("GET", "/api/v1/reports?period=2026-11", "cg_a")
    assert status == 403
    # Bad input names the field.
    for query in ("period=2026-13", "period=Q4", "", "period=2026-11&station_id=0"):
        status, problem = await api.call("GET", f"/api/v1/reports?{query}", "admin")
        assert (status, problem["code"]) == (422, "validation_error"), query
        field = "station_id" if "station_id" in query else "period"
        assert field in {e["loc"][-1] for e in problem["errors"]}, problem


async def test_the_audit_log_is_read_by_the_roles_that_may(api: Api) -> None:
    long_tokens(api)
    # Sign-outs are audited: one by each station's operator, one by a caregiver.
    for who in ("operator", "operator2", "cg_a"):
        await api.call("POST", "/api/v1/auth/logout", who, json={})
        await api.login(who)
    long_tokens(api)
    everyone = await api.call("GET", "/api/v1/audit-log?action=sign_out", "admin", expect=200)
    actors = [e["actor_user_id"] for e in everyone]
    assert set(actors) >= {api.ids["operator"], api.ids["operator2"], api.ids["cg_a_user"]}
    assert [e["id"] for e in everyone] == sorted((e["id"] for e in everyone), reverse=True)
    mine = await api.call("GET", "/api/v1/audit-log?action=sign_out", "operator", expect=200)
    assert {e["actor_user_id"] for e in mine} == {api.ids["operator"], api.ids["cg_a_user"]}
    assert all(e["actor_name"] for e in mine)
    for who in ("cg_a", "family", "elder"):
        status, _ = await api.call("GET", "/api/v1/audit-log", who)
        assert status == 403, who
    status, problem = await api.call("GET", "/api/v1/audit-log?limit=0", "admin")
    assert status == 422 and problem["errors"][0]["loc"][-1] == "limit"
    page = await api.call("GET", "/api/v1/audit-log?limit=1", "admin", expect=200)
    after = await api.call(
        "GET", f"/api/v1/audit-log?limit=1&before={page[0]['id']}", "admin", expect=200
    )
    assert after[0]["id"] < page[0]["id"]
