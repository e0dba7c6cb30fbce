"""Ledger math: splits, monthly renewal, quarter close, reversals, and properties over random runs."""

import contextlib
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.welfare.ledger import (
    Entry,
    EntryKind,
    LedgerError,
    balance,
    charge,
    close_period,
    grant,
    next_period,
    period_balance,
    period_bounds,
    quarter_label,
    reverse,
    selfpay_account,
    settlement_period,
    split_price,
    summarise_period,
    used_in_period,
)
from server.welfare.rules import QuarterClose, Settlement

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ACC = "quota:household:h7"
Q = Settlement.QUARTERLY
M = Settlement.MONTHLY


@pytest.mark.parametrize(
    ("price", "available", "payable", "subsidy", "self_pay"),
    [
        (3000, 10000, True, 3000, 0),  # fully covered
        (3000, 1000, True, 1000, 2000),  # overflow self-paid
        (3000, 0, True, 0, 3000),
        (3000, 10000, False, 0, 3000),  # goods/medicine: never the subsidy
        (0, 10000, True, 0, 0),
    ],
)
def test_split_price(
    price: int, available: int, payable: bool, subsidy: int, self_pay: int
) -> None:
    split = split_price(price, available, subsidy_payable=payable)
    assert (split.subsidy_fen, split.self_pay_fen) == (subsidy, self_pay)


def rural_quarter() -> list[Entry]:
    """A rural household: 100 yuan a month, Q4 2026, three grants."""
    entries: list[Entry] = []
    for month in (10, 11, 12):
        entries += grant(
            account=ACC,
            month=date(2026, month, 1),
            amount_fen=10000,
            settlement=Q,
            at=AT,
            entries=entries,
        )
    return entries


def test_quarterly_grants_accumulate_in_the_quarter() -> None:
    entries = rural_quarter()
    assert period_balance(entries, ACC, "2026Q4") == 30000
    assert balance(entries, ACC) == 30000


def test_grant_is_idempotent_per_month() -> None:
    entries = rural_quarter()
    assert (
        grant(
            account=ACC,
            month=date(2026, 11, 15),
            amount_fen=10000,
            settlement=Q,
            at=AT,
            entries=entries,
        )
        == ()
    )


def test_monthly_settlement_keeps_months_apart() -> None:
    entries: list[Entry] = []
    entries += grant(account=ACC, month=date(2026, 10, 1), amount_fen=30000, settlement=M, at=AT)
    entries += grant(account=ACC, month=date(2026, 11, 1), amount_fen=30000, settlement=M, at=AT)
    c = charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=40000,
        subsidy_payable=True,
        service_date=date(2026, 11, 3),
        settlement=M,
        at=AT,
        entries=entries,
    )
    # October's unused 300 yuan cannot pay for a November service, even before October is closed
    assert (c.split.subsidy_fen, c.split.self_pay_fen) == (30000, 10000)


def test_charge_writes_subsidy_and_self_pay() -> None:
    entries = rural_quarter()
    c = charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=35000,
        subsidy_payable=True,
        service_date=date(2026, 12, 2),
        settlement=Q,
        at=AT,
        entries=entries,
    )
    entries += c.entries
    assert c.split.subsidy_fen == 30000
    assert c.split.self_pay_fen == 5000
    assert period_balance(entries, ACC, "2026Q4") == 0
    assert balance(entries, selfpay_account("e1")) == 5000


def test_charge_is_idempotent_per_record() -> None:
    entries = rural_quarter()
    first = charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=5000,
        subsidy_payable=True,
        service_date=date(2026, 12, 2),
        settlement=Q,
        at=AT,
        entries=entries,
    )
    entries += first.entries
    again = charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=5000,
        subsidy_payable=True,
        service_date=date(2026, 12, 2),
        settlement=Q,
        at=AT,
        entries=entries,
    )
    assert again.entries == ()
    assert again.split == first.split


def test_two_elders_of_one_household_draw_on_one_quota() -> None:
    entries = rural_quarter()
    for elder, record in (("husband", "r1"), ("wife", "r2")):
        entries += charge(
            account=ACC,
            elder_id=elder,
            record_id=record,
            price_fen=20000,
            subsidy_payable=True,
            service_date=date(2026, 11, 5),
            settlement=Q,
            at=AT,
            entries=entries,
        ).entries
    assert period_balance(entries, ACC, "2026Q4") == 0
    assert balance(entries, selfpay_account("wife")) == 10000


def test_quarter_close_clears_unused_no_carry_over() -> None:
    entries = rural_quarter()
    entries += charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=12000,
        subsidy_payable=True,
        service_date=date(2026, 10, 9),
        settlement=Q,
        at=AT,
        entries=entries,
    ).entries
    closed = close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CLEAR, at=AT, entries=entries
    )
    entries += closed.entries
    assert (closed.granted_fen, closed.used_fen, closed.expired_fen) == (30000, 12000, 18000)
    assert period_balance(entries, ACC, "2026Q4") == 0
    assert balance(entries, ACC) == 0
    # January starts from its own grant only
    entries += grant(
        account=ACC, month=date(2027, 1, 1), amount_fen=10000, settlement=Q, at=AT, entries=entries
    )
    assert balance(entries, ACC) == 10000


def test_close_is_idempotent() -> None:
    entries = rural_quarter()
    entries += close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CLEAR, at=AT, entries=entries
    ).entries
    again = close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CLEAR, at=AT, entries=entries
    )
    assert again.entries == ()


def test_actual_use_policy_advances_last_quarters_use() -> None:
    entries = rural_quarter()
    entries += charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=8000,
        subsidy_payable=True,
        service_date=date(2026, 10, 9),
        settlement=Q,
        at=AT,
        entries=entries,
    ).entries
    closed = close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.ACTUAL_USE, at=AT, entries=entries
    )
    assert closed.next_advance_fen == 8000
    assert closed.expired_fen == 22000


def test_carry_over_policy_moves_the_rest() -> None:
    entries = rural_quarter()
    closed = close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CARRY_OVER, at=AT, entries=entries
    )
    entries += closed.entries
    assert closed.carried_fen == 30000
    assert period_balance(entries, ACC, "2027Q1") == 30000
    assert balance(entries, ACC) == 30000


def test_no_grant_into_a_closed_period() -> None:
    entries = list(
        grant(account=ACC, month=date(2026, 10, 1), amount_fen=10000, settlement=Q, at=AT)
    )
    entries += close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CLEAR, at=AT, entries=entries
    ).entries
    with pytest.raises(LedgerError):
        grant(
            account=ACC,
            month=date(2026, 12, 1),
            amount_fen=10000,
            settlement=Q,
            at=AT,
            entries=entries,
        )


def test_reversal_restores_quota_and_self_pay() -> None:
    entries = rural_quarter()
    entries += charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=35000,
        subsidy_payable=True,
        service_date=date(2026, 11, 5),
        settlement=Q,
        at=AT,
        entries=entries,
    ).entries
    rev = reverse(record_id="r1", at=AT, entries=entries, memo="wrong item")
    entries += rev
    assert {e.kind for e in rev} == {EntryKind.REVERSAL}
    assert period_balance(entries, ACC, "2026Q4") == 30000
    assert balance(entries, selfpay_account("e1")) == 0
    assert reverse(record_id="r1", at=AT, entries=entries) == ()  # nothing left to reverse
    assert used_in_period(entries, ACC, "2026Q4") == 0


def test_reversal_in_a_closed_quarter_expires_again() -> None:
    entries = rural_quarter()
    entries += charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=10000,
        subsidy_payable=True,
        service_date=date(2026, 11, 5),
        settlement=Q,
        at=AT,
        entries=entries,
    ).entries
    entries += close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CLEAR, at=AT, entries=entries
    ).entries
    entries += reverse(record_id="r1", at=AT, entries=entries)
    assert period_balance(entries, ACC, "2026Q4") == 0
    assert used_in_period(entries, ACC, "2026Q4") == 0


def test_late_record_in_a_closed_quarter_is_self_paid() -> None:
    entries = rural_quarter()
    entries += close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.CLEAR, at=AT, entries=entries
    ).entries
    c = charge(
        account=ACC,
        elder_id="e1",
        record_id="late",
        price_fen=5000,
        subsidy_payable=True,
        service_date=date(2026, 12, 30),
        settlement=Q,
        at=AT,
        entries=entries,
    )
    assert c.split.subsidy_fen == 0


@pytest.mark.parametrize(
    ("d", "settlement", "label"),
    [
        (date(2026, 1, 1), Q, "2026Q1"),
        (date(2026, 3, 31), Q, "2026Q1"),
        (date(2026, 4, 1), Q, "2026Q2"),
        (date(2026, 12, 31), Q, "2026Q4"),
        (date(2026, 12, 31), M, "2026-12"),
    ],
)
def test_periods(d: date, settlement: Settlement, label: str) -> None:
    assert settlement_period(d, settlement) == label


def test_period_arithmetic() -> None:
    assert period_bounds("2026Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert next_period("2026Q4") == "2027Q1"
    assert next_period("2026-12") == "2027-01"
    assert quarter_label(date(2026, 8, 15)) == "2026Q3"


def test_money_is_never_a_float() -> None:
    with pytest.raises(LedgerError):
        Entry("x", ACC, EntryKind.GRANT, 1.5, "2026Q4", AT)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.integers(1, 12), st.integers(0, 50000)),
        st.tuples(st.just("charge"), st.integers(1, 12), st.integers(0, 60000), st.booleans()),
        st.tuples(st.just("reverse"), st.integers(0, 40)),
        st.tuples(st.just("close"), st.integers(1, 4), st.sampled_from(list(QuarterClose))),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, settlement=st.sampled_from(list(Settlement)))
def test_ledger_invariants(ops: list[tuple[object, ...]], settlement: Settlement) -> None:
    entries: list[Entry] = []
    prices: dict[str, int] = {}
    n = 0
    for op in ops:
        match op:
            case ("grant", int(month), int(amount)):
                with contextlib.suppress(LedgerError):  # the period may be closed already
                    entries += grant(
                        account=ACC,
                        month=date(2026, month, 1),
                        amount_fen=amount,
                        settlement=settlement,
                        at=AT,
                        entries=entries,
                    )
            case ("charge", int(month), int(price), bool(payable)):
                n += 1
                rid = f"r{n}"
                before = period_balance(
                    entries, ACC, settlement_period(date(2026, month, 1), settlement)
                )
                c = charge(
                    account=ACC,
                    elder_id="e1",
                    record_id=rid,
                    price_fen=price,
                    subsidy_payable=payable,
                    service_date=date(2026, month, 10),
                    settlement=settlement,
                    at=AT,
                    entries=entries,
                )
                entries += c.entries
                assert c.split.subsidy_fen + c.split.self_pay_fen == price
                assert 0 <= c.split.subsidy_fen <= max(before, 0)
                if not payable:
                    assert c.split.subsidy_fen == 0
                prices[rid] = price
            case ("reverse", int(i)):
                rid = f"r{i}"
                if rid in prices:
                    entries += reverse(record_id=rid, at=AT, entries=entries)
                    del prices[rid]
            case ("close", int(q), QuarterClose() as policy):
                period = f"2026Q{q}" if settlement is Settlement.QUARTERLY else f"2026-{3 * q:02d}"
                entries += close_period(
                    account=ACC, period=period, policy=policy, at=AT, entries=entries
                ).entries
        # every period's quota is never overdrawn
        for period in {e.period for e in entries if e.account == ACC}:
            assert period_balance(entries, ACC, period) >= 0
        # entry ids are unique: retries and reversals never double-write
        assert len({e.entry_id for e in entries}) == len(entries)
    # what live records cost equals the subsidy spent plus what the elder owes
    spent = sum(used_in_period(entries, ACC, p) for p in {e.period for e in entries})
    assert spent + balance(entries, selfpay_account("e1")) == sum(prices.values())
    # the balance is the sum of the entries, and the sum of the period balances
    assert balance(entries, ACC) == sum(
        period_balance(entries, ACC, p) for p in {e.period for e in entries if e.account == ACC}
    )


def test_summarise_period_matches_the_close() -> None:
    entries = rural_quarter()
    entries += charge(
        account=ACC,
        elder_id="e1",
        record_id="r1",
        price_fen=8000,
        subsidy_payable=True,
        service_date=date(2026, 10, 9),
        settlement=Q,
        at=AT,
        entries=entries,
    ).entries
    closed = close_period(
        account=ACC, period="2026Q4", policy=QuarterClose.ACTUAL_USE, at=AT, entries=entries
    )
    entries += closed.entries
    s = summarise_period(
        account=ACC, period="2026Q4", policy=QuarterClose.ACTUAL_USE, entries=entries
    )
    assert (s.granted_fen, s.used_fen, s.expired_fen, s.next_advance_fen) == (
        30000,
        8000,
        22000,
        8000,
    )
