"""Quota accounts and their ledger postings, inside the caller's transaction (keyword-only):
grants, charges, reversals, period closes; and the answers about them (the eligibility with
what is left, an elder's ledger, a district's close).

The pure ledger decides (server/welfare/ledger.py); this module loads its inputs and writes
its outputs. Charges against a quota take the account row's lock first (`lock_account`), so two
completions racing for the last fen of a quota run one after the other on PostgreSQL, and
SQLite's BEGIN IMMEDIATE serialises every writer anyway.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.providers import SubsidyStopStatus
from schemas.welfare import EligibilityOut, PeriodCloseOut
from server.auth.principal import Principal
from server.errors import ApiError
from server.platform import Platform, Tx, audit, dialect_insert
from server.providers.tables import subsidy_stops
from server.registry.guards import elder_for
from server.welfare import ledger, out
from server.welfare.flows.eligibility import (
    approved_rules,
    district_elders,
    eligibility_for,
    facts_for,
)
from server.welfare.flows.officers import district_scope
from server.welfare.flows.rulesets import district_of, ruleset_for, schedule_close
from server.welfare.ledger import Charge, Entry, EntryKind
from server.welfare.rules import Eligibility, RuleSet, Settlement, evaluate
from server.welfare.tables import ledger_entries, quota_accounts
from server.welfare.workdays import business_date

log = logging.getLogger("anxin.welfare")


def row_to_entry(r: Any) -> Entry:
    return Entry(
        entry_id=r.entry_id,
        account=r.account,
        kind=EntryKind(r.kind),
        amount_fen=int(r.amount_fen),
        period=r.period,
        at=r.at,
        record_id=r.record_id,
        reverses=r.reverses,
        memo=r.memo,
    )


async def entries_of(conn: AsyncConnection, *, account: str) -> list[Entry]:
    """Every entry of one account, in order."""
    rows = await conn.execute(
        select(ledger_entries)
        .where(ledger_entries.c.account == account)
        .order_by(ledger_entries.c.id)
    )
    return [row_to_entry(r) for r in rows]


async def entries_of_record(conn: AsyncConnection, *, record_id: str) -> list[Entry]:
    """Every entry written for one service record (on any account), plus their accounts' others."""
    rows = (
        await conn.execute(
            select(ledger_entries.c.account).where(ledger_entries.c.record_id == record_id)
        )
    ).all()
    out: list[Entry] = []
    for account in sorted({r.account for r in rows}):
        out += await entries_of(conn, account=account)
    return out


async def write_entries(conn: AsyncConnection, entries: tuple[Entry, ...] | list[Entry]) -> None:
    """Insert new entries; their deterministic ids make a retried write fail, never double."""
    if entries:
        await conn.execute(
            insert(ledger_entries),
            [{**asdict(e), "kind": e.kind.value} for e in entries],
        )


async def write_once(conn: AsyncConnection, entries: list[Entry]) -> None:
    """Insert entries whose deterministic ids another transaction may have written first
    (INSERT ... ON CONFLICT DO NOTHING on the id): grants, meal lines."""
    if entries:
        await conn.execute(
            dialect_insert(conn)(ledger_entries)
            .values([{**asdict(e), "kind": e.kind.value} for e in entries])
            .on_conflict_do_nothing(index_elements=[ledger_entries.c.entry_id])
        )


async def ensure_account(
    conn: AsyncConnection, *, account: str, district: str, now: datetime
) -> None:
    """The quota account's row (its lock, and the district's list of accounts to close)."""
    values = {"account": account, "district": district, "version": 0, "updated_at": now}
    await conn.execute(
        dialect_insert(conn)(quota_accounts)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[quota_accounts.c.account])
    )


async def lock_account(
    conn: AsyncConnection, *, account: str, district: str, now: datetime
) -> None:
    """Create the quota account row if needed, then lock it for the rest of the transaction."""
    await ensure_account(conn, account=account, district=district, now=now)
    # an UPDATE takes the row lock on PostgreSQL until commit: concurrent charges queue here
    await conn.execute(
        update(quota_accounts)
        .where(quota_accounts.c.account == account)
        .values(version=quota_accounts.c.version + 1, updated_at=now)
    )


def _months_so_far(on: date, rs: RuleSet) -> list[date]:
    first, _ = ledger.period_bounds(ledger.settlement_period(on, rs.settlement))
    months = []
    m = first
    while m <= on:
        months.append(m)
        m = date(m.year + (m.month // 12), m.month % 12 + 1, 1)
    return months


async def _members(
    conn: AsyncConnection, *, elder: Any, elig: Eligibility, district: str
) -> list[Any]:
    """Whose eligibility decides an account's grant: the elder, or every member of the household
    (the highest member's amount is the household's, whoever reads first)."""
    if not elig.quota_account.startswith("household:") or elder.household_id is None:
        return [elder]
    members = await district_elders(conn, district=district, household_id=elder.household_id)
    return members if any(m.id == elder.id for m in members) else [elder, *members]


async def ensure_grants(
    conn: AsyncConnection, *, elder: Any, elig: Eligibility, rs: RuleSet, on: date, now: datetime
) -> list[Entry]:
    """Monthly renewal, lazily: grant each month of the current period up to `on` once, by
    eligibility in that month (a birthday or an approval mid-quarter counts from its own month,
    not retroactively for the whole quarter); a household gets its highest member's amount."""
    account = ledger.quota_account(elig.quota_account)
    entries = await entries_of(conn, account=account)
    members = await _members(conn, elder=elder, elig=elig, district=rs.district)
    known = [
        (await facts_for(conn, elder=m), await approved_rules(conn, elder_id=m.id)) for m in members
    ]
    new: list[Entry] = []
    for month in _months_so_far(on, rs):
        _, month_end = ledger.period_bounds(ledger.month_label(month))
        amount = 0
        for facts, approved in known:
            then = evaluate(rs, facts, min(month_end, on), approved_rules=approved)
            if then.quota_account == elig.quota_account:
                amount = max(amount, then.monthly_quota_fen)
        if not amount:
            continue
        try:
            new += ledger.grant(
                account=account,
                month=month,
                amount_fen=amount,
                settlement=rs.settlement,
                at=now,
                entries=entries + new,
            )
        except ledger.LedgerError:
            continue  # the period is closed: no late grants
    if new:
        await ensure_account(conn, account=account, district=rs.district, now=now)
        # Grants are written without the account lock (a read of the quota grants the month),
        # so two first reads of a month race; the grant's id is deterministic
        # (`grant:{account}:{month}`) and its amount a function of the elder files, so ON
        # CONFLICT DO NOTHING on that id leaves exactly the one grant both saw (PostgreSQL
        # makes the loser wait for the winner's commit and then skips).
        await write_once(conn, new)
        entries = await entries_of(conn, account=account)  # what is stored, whoever wrote it
    return entries


async def quota_left(
    conn: AsyncConnection, *, elder: Any, now: datetime, lock: bool = False
) -> tuple[Eligibility | None, RuleSet | None, int, list[Entry]]:
    """Eligibility, what is left of the quota this period, and the account's entries."""
    on = business_date(now)
    elig, rs = await eligibility_for(conn, elder=elder, on=on)
    if elig is None or rs is None or elig.monthly_quota_fen == 0:
        return elig, rs, 0, []
    account = ledger.quota_account(elig.quota_account)
    if lock:
        await lock_account(conn, account=account, district=rs.district, now=now)
    entries = await ensure_grants(conn, elder=elder, elig=elig, rs=rs, on=on, now=now)
    left = ledger.period_balance(entries, account, ledger.settlement_period(on, rs.settlement))
    return elig, rs, max(0, left), entries


async def subsidy_stopped_since(conn: AsyncConnection, *, elder_id: int, on: date) -> date | None:
    """The first day of an officer's stop of the elder's subsidy in force on ``on``, if any."""
    s = subsidy_stops.c
    got = await conn.execute(
        select(s.starts_on).where(
            s.elder_id == elder_id, s.status == SubsidyStopStatus.ACTIVE.value, s.starts_on <= on
        )
    )
    return got.scalar()


async def charge_record(
    conn: AsyncConnection,
    *,
    elder: Any,
    record_id: str,
    price_fen: int,
    subsidy_payable: bool,
    service_day: date,
    now: datetime,
) -> tuple[Charge, str | None]:
    """Split a completed service into subsidy and self-pay and write its entries (locked)."""
    elig, rs = await eligibility_for(conn, elder=elder, on=service_day)
    stopped = await subsidy_stopped_since(conn, elder_id=elder.id, on=service_day)
    if elig is not None and stopped is not None:
        elig = None  # 停发补贴 (an officer's fraud decision): all of it is self-pay
    entries: list[Entry] = []
    account: str | None = None
    settlement = rs.settlement if rs is not None else Settlement.MONTHLY
    if elig is not None and rs is not None and elig.monthly_quota_fen > 0:
        account = ledger.quota_account(elig.quota_account)
        await lock_account(conn, account=account, district=rs.district, now=now)
        entries = await ensure_grants(conn, elder=elder, elig=elig, rs=rs, on=service_day, now=now)
    c = ledger.charge(
        account=account or f"quota:none:{elder.id}",
        elder_id=str(elder.id),
        record_id=record_id,
        price_fen=price_fen,
        subsidy_payable=subsidy_payable and account is not None,
        service_date=service_day,
        settlement=settlement,
        at=now,
        entries=entries,
    )
    await write_entries(conn, c.entries)
    return c, account


async def reverse_record(
    conn: AsyncConnection,
    *,
    record_id: str,
    account: str | None,
    district: str,
    now: datetime,
    memo: str,
) -> tuple[Entry, ...]:
    """Reversing entries for a record (locks its quota account first)."""
    if account is not None:
        await lock_account(conn, account=account, district=district, now=now)
    entries = await entries_of_record(conn, record_id=record_id)
    reversing = ledger.reverse(record_id=record_id, at=now, entries=entries, memo=memo)
    await write_entries(conn, reversing)
    return reversing


class CloseRefused(ValueError):
    """A period close that must not run; `code` is the API's machine code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_closable(period: str, today: date, rs: RuleSet | None) -> None:
    """Only a period that has ended may be closed, from the day after its last day (Asia/
    Shanghai): closing mid-period would expire quota the elders may still use. The period must
    be of the district's settlement kind (a month for monthly, a quarter for quarterly)."""
    _, last = ledger.period_bounds(period)
    if last >= today:
        raise CloseRefused(
            "close.period_not_over",
            f"{period} ends on {last.isoformat()}; it can be closed from the next day",
        )
    quarterly = rs is not None and rs.settlement is Settlement.QUARTERLY
    if rs is not None and ("Q" in period) != quarterly:
        example = "a quarter such as 2026Q4" if quarterly else "a month such as 2026-11"
        raise CloseRefused(
            "close.wrong_period", f"{rs.district} settles {rs.settlement.value}: close {example}"
        )


async def grant_district(
    conn: AsyncConnection, *, district: str, rs: RuleSet, upto: date, now: datetime
) -> list[str]:
    """Write the grants of the settlement period holding `upto` for every eligible elder of the
    district, so accounts that never had a service are granted, closed and reported too."""
    accounts: set[str] = set()
    for elder in await district_elders(conn, district=district):
        facts = await facts_for(conn, elder=elder)
        elig = evaluate(
            rs, facts, upto, approved_rules=await approved_rules(conn, elder_id=elder.id)
        )
        if not elig.monthly_quota_fen:
            continue
        await ensure_grants(conn, elder=elder, elig=elig, rs=rs, on=upto, now=now)
        accounts.add(ledger.quota_account(elig.quota_account))
    return sorted(accounts)


async def close_accounts(
    conn: AsyncConnection, *, district: str, period: str, now: datetime
) -> list[ledger.PeriodClose]:
    """Close one settlement period (it must be over) for every quota account of a district: every
    eligible elder's, granted first if nobody read it yet, and any account with entries."""
    first, last = ledger.period_bounds(period)
    rs = await ruleset_for(conn, district=district, on=first)
    check_closable(period, business_date(now), rs)
    if rs is None:
        return []
    granted = await grant_district(conn, district=district, rs=rs, upto=last, now=now)
    stored = (
        (
            await conn.execute(
                select(quota_accounts.c.account).where(quota_accounts.c.district == district)
            )
        )
        .scalars()
        .all()
    )
    closes = []
    for account in sorted(set(granted) | set(stored)):  # one order: no lock cycles
        await lock_account(conn, account=account, district=district, now=now)
        entries = await entries_of(conn, account=account)
        closed = ledger.close_period(
            account=account, period=period, policy=rs.quarter_close, at=now, entries=entries
        )
        await write_entries(conn, closed.entries)
        closes.append(closed)
    return closes


async def grant_quarter(
    conn: AsyncConnection, *, district: str, rs: RuleSet, quarter: str, now: datetime
) -> None:
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
            await grant_district(conn, district=district, rs=rs, upto=min(end, today), now=now)


# ----- the answers ------------------------------------------------------------------------


async def eligibility(plat: Platform, p: Principal, *, elder_id: int) -> EligibilityOut:
    """An elder's class, quota and what is left of it this period, with the rules' reasons."""
    async with plat.tx() as tx:
        elder = await elder_for(tx.conn, p, elder_id)
        elig, rs, left, _ = await quota_left(tx.conn, elder=elder, now=tx.now)
        district = await district_of(tx.conn, station_id=elder.station_id)
        today = business_date(tx.now)
        stopped = await subsidy_stopped_since(tx.conn, elder_id=elder_id, on=today)
    if elig is None or rs is None:
        return out.no_eligibility(elder_id, district)
    # The officer's stop (停发补贴) is shown where the class is: the charge already honours it.
    return out.eligibility(
        elig, rs, district=district, left=left, today=today, stopped_since=stopped
    )


async def close(
    plat: Platform, p: Principal, *, district: str, period: str
) -> list[PeriodCloseOut]:
    """Close a settlement period for a district (district staff, audited); idempotent."""
    async with plat.tx() as tx:
        await district_scope(tx.conn, p, district)
        try:
            closes = await close_accounts(tx.conn, district=district, period=period, now=tx.now)
        except CloseRefused as exc:
            raise ApiError(422, exc.code, str(exc), field="period") from exc
        await audit(
            tx,
            actor=p.user_id,
            action="close_period",
            object_type="district",
            object_id=district,
            detail={"period": period, "accounts": len(closes)},
        )
    return [out.period_close(c) for c in closes]


async def on_period_close(plat: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Timer: close a district's settlement period (expire or carry what is left), then schedule
    the next period's close, so every district closes every period whether or not anybody was
    served in it."""
    district, period = payload["district"], payload["period"]
    try:
        closes = await close_accounts(tx.conn, district=district, period=period, now=tx.now)
    except CloseRefused as exc:  # e.g. the rule set's settlement changed meanwhile
        closes = []
        log.warning(
            "period close skipped", extra={"district": district, "period": period, "why": str(exc)}
        )
    await audit(
        tx,
        actor=None,
        action="close_period",
        object_type="district",
        object_id=district,
        detail={"period": period, "accounts": len(closes), "by": "timer"},
    )
    _, last = ledger.period_bounds(period)
    await schedule_close(tx, district=district, day=last + timedelta(days=1))
