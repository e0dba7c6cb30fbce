"""Statements: the elder's monthly service record book (服务记录本), the provider's quarterly
settlement (services, minutes, subsidy to pay), the district summary; as CSV and XLSX.

Money columns are integer fen (the header says so) and a last row repeats the totals in yuan as
text, so no spreadsheet ever holds a float of money. The documents are Chinese: titles, column
headers and fixed cells are rendered from the catalogue (server/texts/welfare.py) in Chinese.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from openpyxl import Workbook

from server.texts import render
from server.welfare.ledger import PeriodClose, month_label, period_bounds, quarter_label
from server.welfare.records import ServiceRecord
from server.welfare.workdays import SHANGHAI

Cell = str | int


def _cols(*names: str) -> tuple[str, ...]:
    """Column headers by their catalogue names (``welfare.col.<name>``)."""
    return tuple(render(f"welfare.col.{n}") for n in names)


@dataclass(frozen=True)
class Sheet:
    """One table: a title, headers, rows, and which columns are fen."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    money_columns: frozenset[int]
    sum_columns: frozenset[int]

    def totals(self) -> tuple[Cell, ...]:
        """The 合计 row: sums of the summed columns."""
        out: list[Cell] = [render("welfare.sheet.total"), *([""] * (len(self.headers) - 1))]
        for i in sorted(self.sum_columns):
            out[i] = sum(int(r[i]) for r in self.rows)
        return tuple(out)

    def totals_yuan(self) -> tuple[Cell, ...]:
        """The 合计 row with money shown in yuan (text, exact)."""
        t = self.totals()
        return tuple(
            render("welfare.sheet.total_yuan")
            if i == 0
            else (yuan(int(v)) if i in self.money_columns else "")
            for i, v in enumerate(t)
        )


def yuan(fen: int) -> str:
    """Exact yuan text for integer fen: 12345 -> '123.45'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def _live(records: Iterable[ServiceRecord]) -> list[ServiceRecord]:
    return sorted((r for r in records if not r.reversed), key=lambda r: (r.started_at, r.record_id))


@dataclass(frozen=True)
class MealLine:
    """A meal the elder paid for (food is never subsidised: "服务补助只能用于购买居家养老服务")."""

    day: date
    label: str  # e.g. "米饭套餐（送餐）"
    price_fen: int


def elder_month_book(
    records: Iterable[ServiceRecord],
    *,
    elder_id: str,
    month: date,
    meals: Iterable[MealLine] = (),
) -> Sheet:
    """One elder's services (and self-paid meals) in one month, as the paper 服务记录本 lists
    them."""
    label = month_label(month)
    self_paid, yes, no = (render(f"welfare.cell.{k}") for k in ("self_paid", "yes", "no"))
    meal_rows: list[tuple[Cell, ...]] = [
        (
            m.day.isoformat(),
            "",
            "",
            render("welfare.cell.meal", label=m.label),
            "-",
            0,
            m.price_fen,
            0,
            m.price_fen,
            self_paid,
        )
        for m in sorted(meals, key=lambda m: (m.day, m.label))
        if month_label(m.day) == label
    ]
    rows: list[tuple[Cell, ...]] = [
        (
            r.day.isoformat(),
            r.started_at.astimezone(SHANGHAI).strftime("%H:%M"),
            r.ended_at.astimezone(SHANGHAI).strftime("%H:%M"),
            r.item_name,
            r.caregiver_label,
            r.minutes,
            r.price_fen,
            r.subsidy_fen,
            r.self_pay_fen,
            yes if r.payable else no,
        )
        for r in _live(records)
        if r.elder_id == elder_id and month_label(r.day) == label
    ]
    rows = sorted(rows + meal_rows, key=lambda r: (str(r[0]), str(r[1])))
    return Sheet(
        title=render("welfare.sheet.elder_month", elder_id=elder_id, month=label),
        headers=_cols(
            "date",
            "start",
            "end",
            "item",
            "caregiver",
            "minutes",
            "price_fen",
            "subsidy_fen",
            "self_pay_fen",
            "verified",
        ),
        rows=tuple(rows),
        money_columns=frozenset({6, 7, 8}),
        sum_columns=frozenset({5, 6, 7, 8}),
    )


def provider_quarter(
    records: Iterable[ServiceRecord], *, provider_id: str, quarter: str
) -> tuple[Sheet, Sheet, Sheet]:
    """The quarterly settlement of one provider (paid records only), its unproven list, and the
    work-hour sheet per caregiver (工时记录表)."""
    first, last = period_bounds(quarter)
    mine = [r for r in _live(records) if r.provider_id == provider_id and first <= r.day <= last]
    per_elder: dict[tuple[str, str], list[ServiceRecord]] = defaultdict(list)
    for r in mine:
        if r.payable:
            per_elder[(r.elder_id, r.elder_name)].append(r)
    rows = [
        (
            elder_id,
            name,
            len(items),
            sum(r.minutes for r in items),
            sum(r.subsidy_fen for r in items),
            sum(r.self_pay_fen for r in items),
        )
        for (elder_id, name), items in sorted(per_elder.items())
    ]
    settlement = Sheet(
        title=render("welfare.sheet.provider_quarter", provider_id=provider_id, quarter=quarter),
        headers=_cols(
            "elder_id", "name", "services", "service_minutes", "subsidy_due_fen", "self_pay_fen"
        ),
        rows=tuple(rows),
        money_columns=frozenset({4, 5}),
        sum_columns=frozenset({2, 3, 4, 5}),
    )
    unproven = Sheet(
        title=render("welfare.sheet.unproven", provider_id=provider_id, quarter=quarter),
        headers=_cols(
            "record_id", "date", "elder_id", "item", "caregiver", "minutes", "subsidy_fen"
        ),
        rows=tuple(
            (
                r.record_id,
                r.day.isoformat(),
                r.elder_id,
                r.item_name,
                r.caregiver_label,
                r.minutes,
                r.subsidy_fen,
            )
            for r in mine
            if not r.payable
        ),
        money_columns=frozenset({6}),
        sum_columns=frozenset({5, 6}),
    )
    per_cg: dict[str, list[ServiceRecord]] = defaultdict(list)
    for r in mine:
        per_cg[r.caregiver_label].append(r)
    hours = Sheet(
        title=render("welfare.sheet.hours", provider_id=provider_id, quarter=quarter),
        headers=_cols(
            "caregiver", "services", "service_minutes", "verified_services", "verified_minutes"
        ),
        rows=tuple(
            (
                cg,
                len(items),
                sum(r.minutes for r in items),
                sum(1 for r in items if r.payable),
                sum(r.minutes for r in items if r.payable),
            )
            for cg, items in sorted(per_cg.items())
        ),
        money_columns=frozenset(),
        sum_columns=frozenset({1, 2, 3, 4}),
    )
    return settlement, unproven, hours


def district_summary(
    records: Iterable[ServiceRecord],
    closes: Sequence[PeriodClose],
    *,
    district: str,
    quarter: str,
) -> tuple[Sheet, Sheet]:
    """Per provider: services, minutes, subsidy to pay, unproven; and the quota close totals."""
    first, last = period_bounds(quarter)
    per_provider: dict[str, list[ServiceRecord]] = defaultdict(list)
    for r in _live(records):
        if r.district == district and first <= r.day <= last:
            per_provider[r.provider_id].append(r)
    rows = []
    for provider, items in sorted(per_provider.items()):
        paid = [r for r in items if r.payable]
        unpaid = [r for r in items if not r.payable]
        rows.append(
            (
                provider,
                len({r.elder_id for r in paid}),
                len(paid),
                sum(r.minutes for r in paid),
                sum(r.subsidy_fen for r in paid),
                len(unpaid),
                sum(r.subsidy_fen for r in unpaid),
            )
        )
    providers = Sheet(
        title=render("welfare.sheet.district", district=district, quarter=quarter),
        headers=_cols(
            "provider",
            "elders_served",
            "paid_services",
            "service_minutes",
            "subsidy_due_fen",
            "unproven_services",
            "unproven_subsidy_fen",
        ),
        rows=tuple(rows),
        money_columns=frozenset({4, 6}),
        sum_columns=frozenset({1, 2, 3, 4, 5, 6}),
    )
    q_closes = [
        c
        for c in closes
        if c.period == quarter
        or ("Q" not in c.period and quarter_label(period_bounds(c.period)[0]) == quarter)
    ]
    quotas = Sheet(
        title=render("welfare.sheet.quotas", district=district, quarter=quarter),
        headers=_cols(
            "account",
            "period",
            "granted_fen",
            "used_fen",
            "expired_fen",
            "carried_fen",
            "next_advance_fen",
        ),
        rows=tuple(
            (
                c.account,
                c.period,
                c.granted_fen,
                c.used_fen,
                c.expired_fen,
                c.carried_fen,
                c.next_advance_fen,
            )
            for c in sorted(q_closes, key=lambda c: (c.account, c.period))
        ),
        money_columns=frozenset({2, 3, 4, 5, 6}),
        sum_columns=frozenset({2, 3, 4, 5, 6}),
    )
    return providers, quotas


# --- export --------------------------------------------------------------------------------------


FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: Cell) -> Cell:
    """A text cell a spreadsheet will not run: names and notes come from people, and a cell
    starting with = + - @ (or a tab or CR) is a formula to Excel and LibreOffice (CSV formula
    injection). Such text gets a leading apostrophe; plain numbers such as "-12.50" stay."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _safe(row: Sequence[Cell]) -> list[Cell]:
    return [safe_cell(c) for c in row]


def to_csv(sheets: Sequence[Sheet]) -> bytes:
    """CSV in UTF-8 with a byte-order mark (so Excel on Chinese Windows reads it right)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for n, sheet in enumerate(sheets):
        if n:
            w.writerow([])
        w.writerow(_safe([sheet.title]))
        w.writerow(_safe(sheet.headers))
        w.writerows(_safe(r) for r in sheet.rows)
        w.writerow(sheet.totals())
        w.writerow(sheet.totals_yuan())
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX workbook, one worksheet per sheet; fen as integer cells."""
    wb = Workbook()
    default = wb.active
    if default is not None:
        wb.remove(default)
    for n, sheet in enumerate(sheets):
        ws = wb.create_sheet(title=f"{n + 1}")
        ws.append(_safe([sheet.title]))
        ws.append(_safe(sheet.headers))
        for row in sheet.rows:
            ws.append(_safe(row))
        ws.append(list(sheet.totals()))
        ws.append(list(sheet.totals_yuan()))
        for col in sheet.money_columns:
            letter = ws.cell(row=2, column=col + 1).column_letter
            for cell in ws[letter][2:]:
                if isinstance(cell.value, int):
                    cell.number_format = "0"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
