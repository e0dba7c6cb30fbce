"""What the accounts show: an elder's ledger, the elder's monthly service record book, a
station's quarterly settlement, a district's summary (as sheets for CSV/XLSX), and a station's
fraud signals. Reading the ledger writes what is due first: the month's grants and the
self-paid meal lines."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.welfare import FraudSignalsOut, LedgerOut
from server.auth.principal import Principal
from server.errors import ApiError
from server.platform import Platform
from server.registry.guards import elder_for, station_scope
from server.registry.tables import elders
from server.services.flows.meals import settle_meals
from server.welfare import ledger, out
from server.welfare.flows.officers import district_scope
from server.welfare.flows.quota import entries_of, grant_quarter, quota_left, row_to_entry
from server.welfare.flows.rulesets import ruleset_for
from server.welfare.fraud import Stay, all_signals
from server.welfare.ledger import Entry, PeriodClose
from server.welfare.records import ServiceRecord
from server.welfare.rules import RuleSet
from server.welfare.statements import (
    Sheet,
    district_summary,
    elder_month_book,
    provider_quarter,
)
from server.welfare.tables import hospital_stays, ledger_entries, quota_accounts, service_records
from server.welfare.workdays import business_date

QUARTER: Final = re.compile(r"20\d{2}Q[1-4]")  # a year the calendars can hold


def quarter_in_path(quarter: str) -> str:
    """A quarter named in a statement's URL (404 if it is none)."""
    if not QUARTER.fullmatch(quarter):
        raise ApiError(404, "not_found", "quarters look like 2026Q4")
    return quarter


async def _records(conn: AsyncConnection, *where: Any) -> list[ServiceRecord]:
    rows = (
        await conn.execute(
            select(service_records, elders.c.name.label("elder_name"))
            .join(elders, elders.c.id == service_records.c.elder_id)
            .where(*where)
        )
    ).all()
    return [out.as_record(r, r.elder_name) for r in rows]


async def elder_ledger(plat: Platform, p: Principal, *, elder_id: int) -> LedgerOut:
    """An elder's quota account (granted up to today) and own account (with the self-paid
    meals written first)."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        _, _, left, entries = await quota_left(tx.conn, elder=elder, now=tx.now)
        await settle_meals(tx.conn, elder=elder, now=tx.now)  # self-paid food lines
        own = await entries_of(tx.conn, account=ledger.selfpay_account(str(elder_id)))
    return out.elder_ledger(elder_id, left=left, entries=entries + own)


async def elder_month(plat: Platform, p: Principal, *, elder_id: int, month: date) -> Sheet:
    """The elder's service record book of one month (服务记录本), self-paid meals included."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        records = await _records(tx.conn, service_records.c.elder_id == elder_id)
        meals = await settle_meals(tx.conn, elder=elder, now=tx.now)  # self-paid food
    return elder_month_book(records, elder_id=str(elder_id), month=month, meals=meals)


async def station_quarter(
    plat: Platform, p: Principal, *, station_id: int, quarter: str
) -> tuple[Sheet, ...]:
    """A station's quarterly settlement, its unproven services and its work-hour sheet."""
    station_scope(p, station_id)
    quarter_in_path(quarter)
    async with plat.store.read() as conn:
        records = await _records(conn, service_records.c.station_id == station_id)
    return provider_quarter(records, provider_id=f"station-{station_id}", quarter=quarter)


async def district_quarter(
    plat: Platform, p: Principal, *, district: str, quarter: str
) -> tuple[Sheet, ...]:
    """For district staff: per provider, and every eligible elder's quota account (granted so
    far, used, expired, carried, next advance), served or not."""
    first, _ = ledger.period_bounds(quarter)
    async with plat.tx() as tx:
        await district_scope(tx.conn, p, district)
        rs = await ruleset_for(tx.conn, district=district, on=first)
        if rs is not None:
            # every eligible elder is on the summary, served or not: grant what is due so far
            await grant_quarter(tx.conn, district=district, rs=rs, quarter=quarter, now=tx.now)
        records = await _records(tx.conn, service_records.c.district == district)
        accounts, entries = await _district_entries(tx.conn, district=district)
    closes = _closes(rs, accounts, entries, quarter) if rs is not None else []
    return district_summary(records, closes, district=district, quarter=quarter)


async def _district_entries(
    conn: AsyncConnection, *, district: str
) -> tuple[list[str], list[Entry]]:
    """The district's quota accounts and all their entries."""
    accounts = list(
        (
            await conn.execute(
                select(quota_accounts.c.account).where(quota_accounts.c.district == district)
            )
        )
        .scalars()
        .all()
    )
    if not accounts:
        return [], []
    rows = await conn.execute(select(ledger_entries).where(ledger_entries.c.account.in_(accounts)))
    return accounts, [row_to_entry(r) for r in rows]


def _closes(
    rs: RuleSet, accounts: list[str], entries: list[Entry], quarter: str
) -> list[PeriodClose]:
    """What each account's periods of the quarter did so far (a quarter, or its months)."""
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
    return [
        ledger.summarise_period(account=a, period=per, policy=rs.quarter_close, entries=entries)
        for a in sorted(accounts)
        for per in periods
        if any(e.account == a and e.period == per for e in entries)
    ]


async def fraud(
    plat: Platform, p: Principal, *, station_id: int, quarter: str | None
) -> FraudSignalsOut:
    """The patterns a reviewer should look at in a station's quarter (this one by default);
    they flag, never decide."""
    station_scope(p, station_id)
    quarter = quarter or ledger.quarter_label(business_date(plat.clock.now()))
    if not QUARTER.fullmatch(quarter):
        raise ApiError(422, "bad_quarter", "quarters look like 2026Q4")
    first, last = ledger.period_bounds(quarter)
    async with plat.store.read() as conn:
        records = [
            r
            for r in await _records(conn, service_records.c.station_id == station_id)
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
    found = all_signals(
        records, [Stay(str(s.elder_id), s.admitted_at, s.discharged_at) for s in stays]
    )
    return out.fraud_signals(quarter, found)
