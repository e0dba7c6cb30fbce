"""Subsidy ledger math, pure: entries in, new entries out; money in integer fen.

Every quota account ("quota:elder:<id>" or "quota:household:<id>") is a list of signed entries:
a grant each month (+), the subsidy part of each service (-), the expiry of what is left when a
settlement period closes (-), and reversals (the exact negation of an earlier entry). The self-paid
part of a service goes to the elder's own account ("selfpay:elder:<id>", + means owed).
Entries are never edited: a correction is a reversal plus, where needed, a new charge.

Every entry carries the settlement period it belongs to ("2026-11" for monthly settlement,
"2026Q4" for quarterly). A service can draw only on its own period's balance, so a late quarter
close can never let an old quota leak into the next quarter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from server.welfare.rules import QuarterClose, Settlement


class EntryKind(StrEnum):
    """What an entry records."""

    GRANT = "grant"
    SPEND = "spend"
    SELF_PAY = "self_pay"
    EXPIRY = "expiry"
    CARRY_OUT = "carry_out"
    CARRY_IN = "carry_in"
    REVERSAL = "reversal"


class LedgerError(ValueError):
    """An operation that would break the ledger's invariants."""


@dataclass(frozen=True)
class Entry:
    """One immutable ledger line."""

    entry_id: str  # deterministic, so that a retried operation writes nothing new
    account: str
    kind: EntryKind
    amount_fen: int
    period: str
    at: datetime
    record_id: str | None = None
    reverses: str | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.amount_fen, int) or isinstance(self.amount_fen, bool):
            raise LedgerError("amounts are integers of fen")
        if self.at.tzinfo is None:
            raise LedgerError("entry time must be aware")


@dataclass(frozen=True)
class PriceSplit:
    """A price split into what the subsidy covers and what the elder pays."""

    price_fen: int
    subsidy_fen: int
    self_pay_fen: int


def quota_account(quota_key: str) -> str:
    """Ledger account of a quota ("elder:e1" or "household:h7")."""
    return f"quota:{quota_key}"


def selfpay_account(elder_id: str) -> str:
    """Ledger account of what an elder owes for services."""
    return f"selfpay:elder:{elder_id}"


# --- periods -------------------------------------------------------------------------------------


def month_label(d: date) -> str:
    """'2026-11'."""
    return f"{d.year:04d}-{d.month:02d}"


def quarter_label(d: date) -> str:
    """'2026Q4'."""
    return f"{d.year:04d}Q{(d.month - 1) // 3 + 1}"


def settlement_period(d: date, settlement: Settlement) -> str:
    """The settlement period that a (Shanghai) business date belongs to."""
    return quarter_label(d) if settlement is Settlement.QUARTERLY else month_label(d)


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a period label."""
    if "Q" in period:
        year, q = period.split("Q")
        first = date(int(year), 3 * (int(q) - 1) + 1, 1)
        months = 3
    else:
        year, m = period.split("-")
        first = date(int(year), int(m), 1)
        months = 1
    nxt = _add_months(first, months)
    return first, date.fromordinal(nxt.toordinal() - 1)


def next_period(period: str) -> str:
    """The period after this one."""
    _, last = period_bounds(period)
    d = date.fromordinal(last.toordinal() + 1)
    return quarter_label(d) if "Q" in period else month_label(d)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --- reading -------------------------------------------------------------------------------------


def balance(entries: Iterable[Entry], account: str) -> int:
    """An account's balance: the sum of its entries, by definition."""
    return sum(e.amount_fen for e in entries if e.account == account)


def period_balance(entries: Iterable[Entry], account: str, period: str) -> int:
    """What is left of one settlement period's quota."""
    return sum(e.amount_fen for e in entries if e.account == account and e.period == period)


def is_closed(entries: Iterable[Entry], account: str, period: str) -> bool:
    """Whether the period's close has been written for this account."""
    return any(e.entry_id == _close_id(account, period) for e in entries)


def used_in_period(entries: Iterable[Entry], account: str, period: str) -> int:
    """Subsidy actually spent in a period, net of reversed spends (a positive number)."""
    items = [e for e in entries if e.account == account and e.period == period]
    spend_ids = {e.entry_id for e in items if e.kind is EntryKind.SPEND}
    spent = -sum(e.amount_fen for e in items if e.kind is EntryKind.SPEND)
    restored = sum(
        e.amount_fen for e in items if e.kind is EntryKind.REVERSAL and e.reverses in spend_ids
    )
    return spent - restored


# --- writing -------------------------------------------------------------------------------------


def split_price(price_fen: int, available_fen: int, *, subsidy_payable: bool) -> PriceSplit:
    """Split a price: the subsidy pays up to what is left, never more; the rest is self-paid."""
    if price_fen < 0 or available_fen < 0:
        raise LedgerError("price and available quota must not be negative")
    subsidy = min(price_fen, available_fen) if subsidy_payable else 0
    return PriceSplit(price_fen=price_fen, subsidy_fen=subsidy, self_pay_fen=price_fen - subsidy)


def grant(
    *,
    account: str,
    month: date,
    amount_fen: int,
    settlement: Settlement,
    at: datetime,
    entries: Sequence[Entry] = (),
) -> tuple[Entry, ...]:
    """The monthly quota grant for `month` (any day of it); nothing if already granted."""
    if amount_fen < 0:
        raise LedgerError("negative grant")
    entry_id = f"grant:{account}:{month_label(month)}"
    if amount_fen == 0 or any(e.entry_id == entry_id for e in entries):
        return ()
    period = settlement_period(month, settlement)
    if is_closed(entries, account, period):
        raise LedgerError(f"{period} is closed for {account}")
    return (
        Entry(
            entry_id=entry_id,
            account=account,
            kind=EntryKind.GRANT,
            amount_fen=amount_fen,
            period=period,
            at=at,
            memo=f"monthly quota {month_label(month)}",
        ),
    )


@dataclass(frozen=True)
class Charge:
    """The outcome of charging one service: the split and the entries to write."""

    split: PriceSplit
    entries: tuple[Entry, ...]


def charge(
    *,
    account: str,
    elder_id: str,
    record_id: str,
    price_fen: int,
    subsidy_payable: bool,
    service_date: date,
    settlement: Settlement,
    at: datetime,
    entries: Sequence[Entry],
) -> Charge:
    """Charge a completed service: subsidy from the quota of its period, the overflow self-paid.

    Idempotent per record: charging the same record again returns its first split and no entries.
    """
    spend_id, self_id = f"spend:{record_id}", f"selfpay:{record_id}"
    done = [e for e in entries if e.entry_id in (spend_id, self_id)]
    if done:
        subsidy = -sum(e.amount_fen for e in done if e.kind is EntryKind.SPEND)
        self_pay = sum(e.amount_fen for e in done if e.kind is EntryKind.SELF_PAY)
        return Charge(PriceSplit(subsidy + self_pay, subsidy, self_pay), ())
    period = settlement_period(service_date, settlement)
    available = max(0, period_balance(entries, account, period))
    split = split_price(price_fen, available, subsidy_payable=subsidy_payable)
    out: list[Entry] = []
    if split.subsidy_fen:
        out.append(
            Entry(spend_id, account, EntryKind.SPEND, -split.subsidy_fen, period, at, record_id)
        )
    if split.self_pay_fen:
        out.append(
            Entry(
                self_id,
                selfpay_account(elder_id),
                EntryKind.SELF_PAY,
                split.self_pay_fen,
                period,
                at,
                record_id,
            )
        )
    return Charge(split, tuple(out))


def reverse(
    *, record_id: str, at: datetime, entries: Sequence[Entry], memo: str = ""
) -> tuple[Entry, ...]:
    """Reversing entries for every live entry of a record; in a closed period the restored
    subsidy expires again at once (the period's balance stays 0, nothing leaks forward)."""
    reversed_ids = {e.reverses for e in entries if e.kind is EntryKind.REVERSAL}
    live = [
        e
        for e in entries
        if e.record_id == record_id
        and e.kind is not EntryKind.REVERSAL
        and e.entry_id not in reversed_ids
        and e.kind in (EntryKind.SPEND, EntryKind.SELF_PAY)
    ]
    out: list[Entry] = []
    for e in live:
        out.append(
            Entry(
                entry_id=f"rev:{e.entry_id}",
                account=e.account,
                kind=EntryKind.REVERSAL,
                amount_fen=-e.amount_fen,
                period=e.period,
                at=at,
                record_id=record_id,
                reverses=e.entry_id,
                memo=memo,
            )
        )
        if e.kind is EntryKind.SPEND and is_closed(entries, e.account, e.period):
            out.append(
                Entry(
                    entry_id=f"reexpire:{e.entry_id}",
                    account=e.account,
                    kind=EntryKind.EXPIRY,
                    amount_fen=e.amount_fen,
                    period=e.period,
                    at=at,
                    record_id=record_id,
                    memo="restored in a closed period: expires again",
                )
            )
    return tuple(out)


def _close_id(account: str, period: str) -> str:
    return f"close:{account}:{period}"


@dataclass(frozen=True)
class PeriodClose:
    """What a period close did, for the district summary."""

    account: str
    period: str
    granted_fen: int
    used_fen: int
    expired_fen: int
    carried_fen: int
    next_advance_fen: int  # ACTUAL_USE: the next period's advance equals this period's use
    entries: tuple[Entry, ...]


def close_period(
    *,
    account: str,
    period: str,
    policy: QuarterClose,
    at: datetime,
    entries: Sequence[Entry],
) -> PeriodClose:
    """Close a settlement period: expire (or carry) what is left; idempotent."""
    items = [e for e in entries if e.account == account and e.period == period]
    granted = sum(e.amount_fen for e in items if e.kind in (EntryKind.GRANT, EntryKind.CARRY_IN))
    used = used_in_period(entries, account, period)
    if is_closed(entries, account, period):
        return PeriodClose(account, period, granted, used, 0, 0, 0, ())
    remaining = period_balance(entries, account, period)
    if remaining < 0:
        raise LedgerError(f"{account} {period} is overdrawn by {-remaining} fen")
    close_id = _close_id(account, period)
    out: list[Entry]
    if policy is QuarterClose.CARRY_OVER:
        nxt = next_period(period)
        out = [
            Entry(close_id, account, EntryKind.CARRY_OUT, -remaining, period, at),
            Entry(f"carry:{account}:{nxt}", account, EntryKind.CARRY_IN, remaining, nxt, at),
        ]
        expired, carried = 0, remaining
    else:
        # the close entry is written even for 0 so that the period is visibly closed
        out = [Entry(close_id, account, EntryKind.EXPIRY, -remaining, period, at)]
        expired, carried = remaining, 0
    advance = used if policy is QuarterClose.ACTUAL_USE else 0
    return PeriodClose(account, period, granted, used, expired, carried, advance, tuple(out))


def summarise_period(
    *, account: str, period: str, policy: QuarterClose, entries: Sequence[Entry]
) -> PeriodClose:
    """What a period did so far (closed or not), from its entries alone; writes nothing."""
    items = [e for e in entries if e.account == account and e.period == period]
    granted = sum(e.amount_fen for e in items if e.kind in (EntryKind.GRANT, EntryKind.CARRY_IN))
    used = used_in_period(entries, account, period)
    expired = -sum(e.amount_fen for e in items if e.kind is EntryKind.EXPIRY)
    carried = -sum(e.amount_fen for e in items if e.kind is EntryKind.CARRY_OUT)
    advance = used if policy is QuarterClose.ACTUAL_USE else 0
    return PeriodClose(account, period, granted, used, expired, carried, advance, ())
