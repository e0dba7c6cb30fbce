"""Statements as CSV/XLSX downloads (elder, provider, district) and fraud signals."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.auth.principal import Role
from server.errors import ApiError
from server.http import int_param, ok, platform, require
from server.registry.guards import elder_for, station_scope
from server.registry.tables import elders
from server.services.meal_orders import settle_meals
from server.welfare import ledger, service
from server.welfare.flows import (
    WATCHERS,
    as_record,
)
from server.welfare.fraud import Stay, all_signals
from server.welfare.officers import district_scope
from server.welfare.rules import Settlement
from server.welfare.statements import (
    district_summary,
    elder_month_book,
    provider_quarter,
    to_csv,
    to_xlsx,
)
from server.welfare.tables import (
    hospital_stays,
    ledger_entries,
    quota_accounts,
    service_records,
)
from server.welfare.workdays import (
    business_date,
)

# ----- statements and fraud signals -------------------------------------------------------


def _download(sheets: Any, fmt: str, name: str) -> web.Response:
    if fmt == "csv":
        body, ctype = to_csv(sheets), "text/csv"
    else:
        body = to_xlsx(sheets)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return web.Response(
        body=body,
        content_type=ctype,
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


async def _records(conn: Any, *where: Any) -> list[Any]:
    rows = (
        await conn.execute(
            select(service_records, elders.c.name.label("elder_name"))
            .join(elders, elders.c.id == service_records.c.elder_id)
            .where(*where)
        )
    ).all()
    return [as_record(r, r.elder_name) for r in rows]


def _quarter(request: web.Request) -> str:
    q = request.match_info["quarter"]
    if not re.fullmatch(r"\d{4}Q[1-4]", q):
        raise ApiError(404, "not_found", "quarters look like 2026Q4")
    return q


async def elder_statement(request: web.Request) -> web.Response:
    p = require(request, *WATCHERS)
    eid = int_param(request, "elder_id")
    month = request.match_info["month"]
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ApiError(404, "not_found", "months look like 2026-11") from exc
    async with platform(request).tx() as tx:
        elder = await elder_for(tx.conn, p, eid)
        records = await _records(tx.conn, service_records.c.elder_id == eid)
        meals = await settle_meals(tx.conn, elder=elder, now=tx.now)  # self-paid food
    book = elder_month_book(records, elder_id=str(eid), month=first, meals=meals)
    return _download([book], request.match_info["fmt"], f"service-record-book-{eid}-{month}")


async def station_settlement(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    quarter = _quarter(request)
    async with platform(request).store.read() as conn:
        records = await _records(conn, service_records.c.station_id == sid)
    sheets = provider_quarter(records, provider_id=f"station-{sid}", quarter=quarter)
    return _download(sheets, request.match_info["fmt"], f"settlement-station-{sid}-{quarter}")


async def district_statement(request: web.Request) -> web.Response:
    """For district staff: the district's own officers and admins (404 for other districts)."""
    p = require(request, Role.DISTRICT_OFFICER)
    district = request.match_info["district"]
    quarter = _quarter(request)
    first, _ = ledger.period_bounds(quarter)
    async with platform(request).tx() as tx:
        conn = tx.conn
        await district_scope(conn, p, district)
        rs = await service.ruleset_for(conn, district=district, on=first)
        if rs is not None:
            # every eligible elder is on the summary, served or not: grant what is due so far
            await grant_quarter(conn, district=district, rs=rs, quarter=quarter, now=tx.now)
        records = await _records(conn, service_records.c.district == district)
        accounts = (
            (
                await conn.execute(
                    select(quota_accounts.c.account).where(quota_accounts.c.district == district)
                )
            )
            .scalars()
            .all()
        )
        rows = (
            (
                await conn.execute(
                    select(ledger_entries).where(ledger_entries.c.account.in_(accounts))
                )
            ).all()
            if accounts
            else []
        )
    entries = [service.row_to_entry(r) for r in rows]
    periods = sorted(
        {
            e.period
            for e in entries
            if e.period == quarter
            or (
                "Q" not in e.period
                and ledger.quarter_label(ledger.period_bounds(e.period)[0]) == quarter
            )
        }
    )
    closes = (
        [
            ledger.summarise_period(account=a, period=per, policy=rs.quarter_close, entries=entries)
            for a in sorted(accounts)
            for per in periods
            if any(e.account == a and e.period == per for e in entries)
        ]
        if rs is not None
        else []
    )
    sheets = district_summary(records, closes, district=district, quarter=quarter)
    return _download(sheets, request.match_info["fmt"], f"district-summary-{quarter}")


async def grant_quarter(conn: Any, *, district: str, rs: Any, quarter: str, now: datetime) -> None:
    """Grants of every eligible elder for each settlement period of the quarter that has begun
    (closed periods are already granted and take no late grants)."""
    today = business_date(now)
    first, last = ledger.period_bounds(quarter)
    if rs.settlement is Settlement.QUARTERLY:
        ends = [last]
    else:
        ends = [
            ledger.period_bounds(ledger.month_label(date(first.year, first.month + i, 1)))[1]
            for i in range(3)
        ]
    for end in ends:
        start, _ = ledger.period_bounds(ledger.settlement_period(end, rs.settlement))
        if start <= today:
            await service.grant_district(
                conn, district=district, rs=rs, upto=min(end, today), now=now
            )


async def fraud_signals(request: web.Request) -> web.Response:
    p = require(request, Role.OPERATOR)
    sid = int_param(request, "station_id")
    station_scope(p, sid)
    quarter = request.query.get("quarter") or ledger.quarter_label(
        business_date(platform(request).clock.now())
    )
    if not re.fullmatch(r"\d{4}Q[1-4]", quarter):
        raise ApiError(422, "bad_quarter", "quarters look like 2026Q4")
    first, last = ledger.period_bounds(quarter)
    async with platform(request).store.read() as conn:
        records = [
            r
            for r in await _records(conn, service_records.c.station_id == sid)
            if first <= r.day <= last
        ]
        elder_ids = [int(r.elder_id) for r in records]
        stays = (
            (
                await conn.execute(
                    select(hospital_stays).where(hospital_stays.c.elder_id.in_(elder_ids))
                )
            ).all()
            if elder_ids
            else []
        )
    signals = all_signals(
        records, [Stay(str(s.elder_id), s.admitted_at, s.discharged_at) for s in stays]
    )
    return ok(
        {
            "quarter": quarter,
            "signals": [
                {"signal": k.value, "record_ids": list(f.record_ids), "detail": f.detail}
                for k, flags in signals.items()
                for f in flags
            ],
        }
    )
