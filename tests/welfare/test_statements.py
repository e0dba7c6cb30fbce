"""Statements, opened and checked to the fen; fraud signals; the proof gate."""

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from dispatch.geo import GeoPoint
from server.welfare.fraud import (
    Signal,
    Stay,
    all_signals,
    caregiver_overlaps,
    unusual_volumes,
    while_in_hospital,
)
from server.welfare.ledger import PeriodClose
from server.welfare.proof import (
    Evidence,
    NotPayable,
    ProofKind,
    Review,
    arrival_checked,
    gate,
    proofs,
    visit_code,
)
from server.welfare.records import ServiceRecord
from server.welfare.statements import (
    Sheet,
    district_summary,
    elder_month_book,
    provider_quarter,
    to_csv,
    to_xlsx,
    yuan,
)


def rec(
    rid: str, day: int, hour: int, minutes: int, price: int, subsidy: int, **kw: object
) -> ServiceRecord:
    start = datetime(2026, 11, day, hour, 0, tzinfo=UTC)  # hour in UTC; +8 in Shanghai
    base = ServiceRecord(
        record_id=rid,
        elder_id="e1",
        elder_name="王秀英",
        provider_id="station-1",
        caregiver_id="cg-li",
        item_code="bath-help",
        item_name="助浴",
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        price_fen=price,
        subsidy_fen=subsidy,
        self_pay_fen=price - subsidy,
        district="chaoyang",
        arrival_checked=True,
        payable=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture
def quarter_of_records() -> list[ServiceRecord]:
    """Two elders at one station and one at another; one record unproven, one reversed."""
    return [
        rec("r1", 3, 1, 90, 6000, 6000),
        rec("r2", 10, 1, 90, 6000, 4001),
        rec("r3", 12, 2, 60, 4000, 0, item_name="家庭保洁", caregiver_id="cg-wang"),
        rec(
            "r4",
            12,
            6,
            30,
            1000,
            1000,
            elder_id="e2",
            elder_name="张建国",
            payable=False,
            arrival_checked=False,
        ),
        rec("r5", 13, 6, 30, 1000, 1000, elder_id="e2", elder_name="张建国"),
        rec("r6", 14, 6, 30, 1000, 1000, reversed=True),
        rec(
            "r7",
            14,
            1,
            45,
            3333,
            3333,
            provider_id="station-2",
            elder_id="e3",
            elder_name="李梅",
            caregiver_id="cg-zhao",
        ),
        replace(
            rec("r8", 1, 1, 30, 999, 999),
            started_at=datetime(2026, 12, 2, 1, tzinfo=UTC),
            ended_at=datetime(2026, 12, 2, 1, 30, tzinfo=UTC),
        ),
    ]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_elder_month_book(quarter_of_records: list[ServiceRecord]) -> None:
    book = elder_month_book(quarter_of_records, elder_id="e1", month=date(2026, 11, 1))
    assert [r[3] for r in book.rows] == ["助浴", "助浴", "家庭保洁"]  # r6 reversed, r8 December
    assert book.rows[0][:3] == ("2026-11-03", "09:00", "10:30")  # Shanghai time
    totals = book.totals()
    assert totals[5:9] == (240, 16000, 10001, 5999)
    rows = read_csv(to_csv([book]))
    assert rows[-2][6:9] == ["16000", "10001", "5999"]
    assert rows[-1][6:9] == ["160.00", "100.01", "59.99"]


def test_provider_quarter_pays_only_proven(quarter_of_records: list[ServiceRecord]) -> None:
    settlement, unproven, hours = provider_quarter(
        quarter_of_records, provider_id="station-1", quarter="2026Q4"
    )
    assert [(r[0], r[2], r[4]) for r in settlement.rows] == [("e1", 4, 11000), ("e2", 1, 1000)]
    assert settlement.totals()[4] == 12000
    assert [r[0] for r in unproven.rows] == ["r4"]
    assert [(r[0], r[1], r[2], r[3]) for r in hours.rows] == [
        ("cg-li", 5, 270, 4),  # r8 on 2 December is in the quarter too
        ("cg-wang", 1, 60, 1),
    ]
    wb = load_workbook(io.BytesIO(to_xlsx([settlement, unproven, hours])))
    ws = wb.worksheets[0]
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == "服务机构季度结算 station-1 2026Q4"
    assert values[1][4] == "应拨补贴(分)"
    body = values[2:-2]
    assert sum(int(r[4]) for r in body) == 12000
    assert values[-2][4] == 12000
    assert values[-1][4] == "120.00"
    assert all(isinstance(r[4], int) for r in body)  # fen, never a float
    assert wb.worksheets[1].cell(row=3, column=1).value == "r4"


def test_district_summary(quarter_of_records: list[ServiceRecord]) -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    closes = [
        PeriodClose("quota:elder:e1", "2026Q4", 90000, 11000, 79000, 0, 0, ()),
        PeriodClose("quota:elder:e3", "2026Q4", 30000, 3333, 26667, 0, 0, ()),
        PeriodClose("quota:elder:e9", "2026Q3", 30000, 0, 30000, 0, 0, ()),
    ]
    assert at  # closes are plain values here
    providers, quotas = district_summary(
        quarter_of_records, closes, district="chaoyang", quarter="2026Q4"
    )
    assert [r[0] for r in providers.rows] == ["station-1", "station-2"]
    assert providers.totals()[4] == 12000 + 3333
    assert providers.rows[0][5:] == (1, 1000)
    assert quotas.totals()[2:5] == (120000, 14333, 105667)
    rows = read_csv(to_csv([providers, quotas]))
    assert rows[0] == ["区汇总 chaoyang 2026Q4"]
    assert ["合计（元）", "", "", "", "153.33", "", "10.00"] in rows


def test_monthly_closes_count_in_their_quarter() -> None:
    closes = [
        PeriodClose("quota:elder:e1", m, 100, 10, 90, 0, 0, ())
        for m in ("2026-10", "2026-11", "2026-12", "2027-01")
    ]
    _, quotas = district_summary([], closes, district="d", quarter="2026Q4")
    assert quotas.totals()[2] == 300


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (12345, "123.45"), (-150, "-1.50")]
)
def test_yuan(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_empty_sheet_totals_are_zero() -> None:
    s = Sheet("t", ("a", "b"), (), frozenset({1}), frozenset({1}))
    assert s.totals() == ("合计", 0)


# --- fraud ---------------------------------------------------------------------------------------


def test_overlapping_records_of_one_caregiver() -> None:
    a = rec("a", 3, 1, 60, 100, 0)
    b = rec("b", 3, 1, 30, 100, 0, elder_id="e2")
    b = replace(
        b,
        started_at=a.started_at + timedelta(minutes=30),
        ended_at=a.started_at + timedelta(minutes=60),
    )
    c = rec("c", 3, 2, 30, 100, 0, elder_id="e3")  # starts when a ends: fine
    flags = caregiver_overlaps([a, b, c])
    assert [f.record_ids for f in flags] == [("a", "b")]


def test_records_while_in_hospital() -> None:
    stay = Stay(
        "e1",
        admitted=datetime(2026, 11, 9, tzinfo=UTC),
        discharged=datetime(2026, 11, 11, tzinfo=UTC),
    )
    still_in = Stay("e2", admitted=datetime(2026, 11, 12, tzinfo=UTC))
    records = [
        rec("r1", 3, 1, 60, 1, 0),
        rec("r2", 10, 1, 60, 1, 0),
        rec("r3", 13, 1, 60, 1, 0, elder_id="e2"),
    ]
    assert [f.record_ids for f in while_in_hospital(records, [stay, still_in])] == [
        ("r2",),
        ("r3",),
    ]


def test_unusual_volumes() -> None:
    normal = [
        rec(f"n{i}-{e}", 1 + i, 1, 30, 1, 0, elder_id=e, caregiver_id=f"cg{i}")
        for e in ("e1", "e2", "e3")
        for i in range(5)
    ]
    heavy = [
        rec(f"h{i}", 1 + i % 28, 3, 30, 1, 0, elder_id="e9", caregiver_id=f"cgh{i}")
        for i in range(25)
    ]
    long_day = [
        rec(f"l{i}", 20, i, 60, 1, 0, caregiver_id="cg-tired", elder_id=f"x{i}") for i in range(11)
    ]
    flags = unusual_volumes(normal + heavy + long_day)
    kinds = {(f.signal, f.detail.split(":")[0]) for f in flags}
    assert (Signal.ELDER_VOLUME, "e9") in kinds
    assert (Signal.CAREGIVER_DAY_TOO_LONG, "cg-tired on 2026-11-20") in kinds
    assert len(flags) == 2


def test_all_signals_groups_and_skips_reversed(quarter_of_records: list[ServiceRecord]) -> None:
    signals = all_signals(quarter_of_records)
    assert [f.record_ids for f in signals[Signal.NO_ARRIVAL_CHECK]] == [("r4",)]
    assert Signal.CAREGIVER_OVERLAP not in signals


# --- proof ---------------------------------------------------------------------------------------

HOME = GeoPoint(39.9219, 116.4436)


@pytest.mark.parametrize(
    ("ev", "expected"),
    [
        (Evidence(HOME, GeoPoint(39.9225, 116.4440)), {ProofKind.GEOFENCE}),  # ~75 m
        (Evidence(HOME, GeoPoint(39.9300, 116.4436)), set()),  # ~900 m
        (Evidence(HOME, GeoPoint(39.9220, 116.4436), arrival_accuracy_m=500), set()),
        (
            Evidence(HOME, door_code_expected="123456", door_code_entered=" 123456"),
            {ProofKind.DOOR_CODE},
        ),
        (Evidence(HOME, door_code_expected="123456", door_code_entered="654321"), set()),
        (Evidence(None, GeoPoint(39.9219, 116.4436)), set()),
        (Evidence(HOME, elder_confirmed=True), {ProofKind.ELDER_CONFIRMED}),
    ],
)
def test_proofs(ev: Evidence, expected: set[ProofKind]) -> None:
    assert proofs(ev) == expected


@pytest.mark.parametrize(
    ("ev", "review", "payable", "reason"),
    [
        (Evidence(HOME, HOME), Review.PASSED, True, None),
        (Evidence(HOME, HOME), Review.PENDING, False, NotPayable.REVIEW_PENDING),
        (Evidence(HOME), Review.PASSED, False, NotPayable.UNPROVEN),
        (Evidence(HOME, elder_confirmed=True), Review.PASSED, True, None),
        (Evidence(HOME, HOME), Review.REJECTED, False, NotPayable.REJECTED),
    ],
)
def test_gate(ev: Evidence, review: Review, payable: bool, reason: NotPayable | None) -> None:
    g = gate(ev, review)
    assert (g.payable, g.reason) == (payable, reason)


def test_confirmation_alone_is_not_an_arrival_check() -> None:
    assert not arrival_checked(Evidence(HOME, elder_confirmed=True))


def test_visit_code_is_stable_per_day_and_elder() -> None:
    code = visit_code(b"secret", "e1", date(2026, 11, 23))
    assert len(code) == 6 and code.isdigit()
    assert code == visit_code(b"secret", "e1", date(2026, 11, 23))
    assert code != visit_code(b"secret", "e1", date(2026, 11, 24))
    assert code != visit_code(b"other", "e1", date(2026, 11, 23))


def test_operator_recorded_visits_never_overlap_each_other() -> None:
    """Two visits the operator entered at the same hour have no caregiver: not one person in
    two places, so no overlap signal (a real caregiver's overlap still is one)."""
    a = rec("op1", 24, 1, 90, 6000, 6000, caregiver_id=None, elder_id="e1")
    b = rec("op2", 24, 1, 90, 6000, 6000, caregiver_id=None, elder_id="e2")
    assert caregiver_overlaps([a, b]) == []
    assert unusual_volumes([replace(a, record_id=f"x{i}") for i in range(12)]) == []
    c = rec("cg1", 24, 1, 90, 6000, 6000, elder_id="e3")
    d = rec("cg2", 24, 1, 90, 6000, 6000, elder_id="e4")
    assert [f.record_ids for f in caregiver_overlaps([a, b, c, d])] == [("cg1", "cg2")]
    book = elder_month_book([a], elder_id="e1", month=date(2026, 11, 1))
    assert book.rows[0][4] == "-"


def test_exports_escape_formula_cells() -> None:
    evil = rec(
        "f1",
        24,
        1,
        90,
        6000,
        6000,
        elder_name='=HYPERLINK("http://x","点我")',
        item_name="+1+1",
        caregiver_id="@SUM(A1)",
    )
    sheets = provider_quarter(
        [evil, replace(evil, record_id="f2", payable=False)],
        provider_id="station-1",
        quarter="2026Q4",
    )
    rows = list(csv.reader(io.StringIO(to_csv(sheets).decode("utf-8-sig"))))
    cells = [c for r in rows for c in r]
    assert '\'=HYPERLINK("http://x","点我")' in cells and "'+1+1" in cells
    assert "'@SUM(A1)" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    wb = load_workbook(io.BytesIO(to_xlsx(sheets)))
    values = [c for ws in wb.worksheets for r in ws.iter_rows() for c in r]
    assert not any(c.data_type == "f" for c in values)
    assert '\'=HYPERLINK("http://x","点我")' in [c.value for c in values]
