"""The period report against the raw rows of a seeded quarter: help calls and their response
times, visits, meals, subsidies and satisfaction per station, street and district, by month
and quarter, as JSON and XLSX; rows at the edges of a Shanghai month counted in the right
one; day care, assessments and volunteer hours (the enrolled, the waiting and the overdue as
of the period's last day); each reader sees only their own stations; the audit log read by the
roles that may."""

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

from server.assessments.tables import assessments, reassessments
from server.clock import SHANGHAI
from server.daycare.tables import daycare_attendance, daycare_enrolments
from server.hotline.tables import satisfaction
from server.incidents.tables import incidents
from server.registry.tables import stations
from server.services.tables import meal_orders
from server.volunteers.tables import timebank_entries, volunteer_tasks, volunteers
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
    enrolments: list[dict[str, Any]]
    attendance: list[dict[str, Any]]  # with the index of its enrolment
    assessed: list[dict[str, Any]]
    reassessments: list[dict[str, Any]]  # with the index of the assessment that did it
    tasks: list[dict[str, Any]]  # with the index of its volunteer
    entries: list[dict[str, Any]]


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
    s = Seeded([], [], [], [], [], [], [], [], [], [])
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
    seed_programmes(s, elders, rnd)
    await write(api, s)
    return s


def seed_programmes(s: Seeded, elders: dict[int, list[int]], rnd: random.Random) -> None:
    """Day care (an enrolment per elder, some ended, re-enrolled or waiting, and a quarter of
    attendance), assessments with re-assessments done, late or not yet, and two volunteers
    per station with confirmed tasks and time-bank entries."""
    for sid, eids in elders.items():
        for eid in eids:
            made = at(date(2026, 9, 20) + timedelta(rnd.randint(0, 60)), 10)
            ended = rnd.choice([None, made + timedelta(days=rnd.randint(10, 60))])
            first = len(s.enrolments)
            s.enrolments.append(
                dict(station_id=sid, elder_id=eid, created_at=made, ended_at=ended,
                     status="ended" if ended else "enrolled")
            )  # fmt: skip
            if ended:  # enrolled again three days later, or waiting for a place
                s.enrolments.append(
                    dict(station_id=sid, elder_id=eid, created_at=ended + timedelta(days=3),
                         ended_at=None, status=rnd.choice(["waiting", "enrolled"]))
                )  # fmt: skip
            for day in days(date(2026, 10, 1), date(2026, 12, 31)):
                if day.weekday() < 5 and rnd.random() < 0.7:
                    status = rnd.choice(["present", "left", "left", "absent", "excused"])
                    s.attendance.append(dict(enrolment=first, day=day, status=status))
            for _ in range(rnd.randint(1, 4)):
                scored = at(date(2026, 9, 25) + timedelta(rnd.randint(0, 95)), 14)
                s.assessed.append(dict(station_id=sid, elder_id=eid, scored_at=scored,
                                       level=rnd.randint(0, 4)))  # fmt: skip
                due = date(2026, 9, 25) + timedelta(rnd.randint(0, 100))
                done = rnd.choice([None, len(s.assessed) - 1])
                s.reassessments.append(
                    dict(station_id=sid, elder_id=eid, due_on=due, done_by=done,
                         status=rnd.choice(["done", "due", "cancelled"]) if done is None
                         else "done")
                )  # fmt: skip
        for v in range(2):
            for _ in range(rnd.randint(3, 8)):
                confirmed = rnd.choice(
                    [None, at(date(2026, 9, 28) + timedelta(rnd.randint(0, 95)), 16)]
                )
                s.tasks.append(
                    dict(station_id=sid, volunteer=(sid, v), elder_id=eids[0],
                         confirmed_at=confirmed, minutes=rnd.choice([30, 45, 60, 90]))
                )  # fmt: skip
                if confirmed:
                    s.entries.append(dict(volunteer=(sid, v), kind="earned", at=confirmed,
                                          minutes=s.tasks[-1]["minutes"]))  # fmt: skip
            for _ in range(2):
                spent = at(date(2026, 10, 1) + timedelta(rnd.randint(0, 91)), 11)
                s.entries.append(dict(volunteer=(sid, v), kind=rnd.choice(["spent", "transfer_out"]),
                                      at=spent, minutes=-rnd.choice([30, 60])))  # fmt: skip


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
        await write_programmes(conn, s, now)


async def write_programmes(conn: Any, s: Seeded, now: datetime) -> None:
    enrolment_ids = []
    for e in s.enrolments:
        got = await conn.execute(
            insert(daycare_enrolments).values(
                **e, weekdays=[0, 1, 2, 3, 4], starts_on=e["created_at"].date(), full_days=[]
            )
        )
        enrolment_ids.append(got.inserted_primary_key[0])
    for a in s.attendance:
        e = s.enrolments[a["enrolment"]]
        await conn.execute(
            insert(daycare_attendance).values(
                station_id=e["station_id"], elder_id=e["elder_id"],
                enrolment_id=enrolment_ids[a["enrolment"]], day=a["day"], status=a["status"],
                created_at=now,
            )
        )  # fmt: skip
    assessment_ids = []
    for a in s.assessed:
        got = await conn.execute(
            insert(assessments).values(
                **a, scale="gbt42195-2022@1", kind="first", status="scored", answers={},
                flags=[], missing=[], sections={}, raised_by=[], plan=[], created_at=now,
                updated_at=now,
            )
        )  # fmt: skip
        assessment_ids.append(got.inserted_primary_key[0])
    for r in s.reassessments:
        done = None if r["done_by"] is None else assessment_ids[r["done_by"]]
        await conn.execute(
            insert(reassessments).values(
                station_id=r["station_id"], elder_id=r["elder_id"], due_on=r["due_on"],
                reason="yearly", status=r["status"], assessment_id=done, created_at=now,
            )
        )  # fmt: skip
    volunteer_ids: dict[tuple[int, int], int] = {}
    for sid, v in sorted({t["volunteer"] for t in s.tasks}):
        got = await conn.execute(
            insert(volunteers).values(
                station_id=sid, name=f"志愿者{v}", phone=f"1390000{sid:02d}{v:02d}", skills=[],
                trainings=[], availability=[], created_at=now,
            )
        )  # fmt: skip
        volunteer_ids[(sid, v)] = got.inserted_primary_key[0]
    for t in s.tasks:
        await conn.execute(
            insert(volunteer_tasks).values(
                station_id=t["station_id"], volunteer_id=volunteer_ids[t["volunteer"]],
                elder_id=t["elder_id"], kind="chat", day=date(2026, 10, 1),
                status="confirmed" if t["confirmed_at"] else "done", minutes=t["minutes"],
                confirmed_at=t["confirmed_at"], created_at=now,
            )
        )  # fmt: skip
    for n, m in enumerate(s.entries):
        await conn.execute(
            insert(timebank_entries).values(
                entry_key=f"seed:{n}", account=f"volunteer:{volunteer_ids[m['volunteer']]}",
                kind=m["kind"], minutes=m["minutes"], at=m["at"],
            )
        )  # fmt: skip


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
        **programmes_by_hand(s, sids, first, last),
    }


def programmes_by_hand(s: Seeded, sids: set[int], first: date, last: date) -> dict[str, Any]:
    """Day care, assessments and volunteers from the seeded rows; enrolled, waiting and
    overdue as they stood at the end of ``last``."""

    def local(t: datetime) -> date:
        return t.astimezone(SHANGHAI).date()

    def mine(when: date, sid: int) -> bool:
        return sid in sids and first <= when <= last

    days_ = [a for a in s.attendance if mine(a["day"], s.enrolments[a["enrolment"]]["station_id"])]
    open_at_end = [
        e for e in s.enrolments
        if e["station_id"] in sids and local(e["created_at"]) <= last
        and (e["ended_at"] is None or local(e["ended_at"]) > last)
    ]  # fmt: skip
    scored = [a for a in s.assessed if mine(local(a["scored_at"]), a["station_id"])]
    due = [
        r for r in s.reassessments
        if r["station_id"] in sids and r["status"] != "cancelled" and r["due_on"] <= last
    ]  # fmt: skip

    def done_by_end(r: dict[str, Any]) -> bool:
        return r["done_by"] is not None and local(s.assessed[r["done_by"]]["scored_at"]) <= last

    work = [
        t for t in s.tasks if t["confirmed_at"] and mine(local(t["confirmed_at"]), t["station_id"])
    ]
    moved = [m for m in s.entries if mine(local(m["at"]), m["volunteer"][0])]
    return {
        "daycare_days": sum(a["status"] in ("present", "left") for a in days_),
        "daycare_absences": sum(a["status"] == "absent" for a in days_),
        "daycare_enrolled": len({e["elder_id"] for e in open_at_end if e["status"] != "waiting"}),
        "daycare_waiting": len({e["elder_id"] for e in open_at_end if e["status"] == "waiting"}),
        "assessments": len(scored),
        **{f"assessed_l{n}": sum(a["level"] == n for a in scored) for n in range(5)},
        "reassessments_due": sum(r["due_on"] >= first for r in due),
        "reassessments_overdue": sum(not done_by_end(r) for r in due),
        "volunteer_minutes": sum(t["minutes"] for t in work),
        "volunteers_active": len({t["volunteer"] for t in work}),
        "timebank_earned_min": sum(m["minutes"] for m in moved if m["kind"] == "earned"),
        "timebank_spent_min": -sum(m["minutes"] for m in moved if m["kind"] == "spent"),
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
    assert nov["total"]["daycare_days"] > 20 and nov["total"]["assessments"] > 0
    assert nov["total"]["volunteer_minutes"] > 0 and nov["total"]["timebank_spent_min"] > 0
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
    for head_zh, key in (
        ("日间照料出勤人次", "daycare_days"),
        ("期末候补人数", "daycare_waiting"),
        ("评估：重度失能", "assessed_l3"),
        ("期末逾期未复评", "reassessments_overdue"),
        ("志愿服务确认时长（分钟）", "volunteer_minutes"),
        ("时间银行兑换（分钟）", "timebank_spent_min"),
    ):
        assert last[head_zh] == nov["total"][key], head_zh
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
