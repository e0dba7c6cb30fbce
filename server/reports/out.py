"""A period report as JSON and as an XLSX workbook (Chinese headers from server/texts)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from server.reports.model import KPI_KEYS, Period, Place, Rows, groups, kpis
from server.texts import render
from server.welfare.rules import Targets
from server.welfare.statements import Cell, safe_cell


def report(
    period: Period, places: list[Place], rows: Rows, targets: dict[str, Targets]
) -> dict[str, Any]:
    """Every district, street and station of the report with its figures, the total, and
    the total by month (a quarter's three months, for the chart). A district's row carries
    its targets (the return-visit share, the satisfaction rate) and whether the period's
    satisfaction met its target (None without answers)."""
    ids = {p.station_id for p in places}
    by_id = {p.station_id: p for p in places}
    out_rows = []
    for level, district, name, members in groups(places):
        row: dict[str, Any] = {"level": level, "district": district, "name": name}
        if level == "station":
            (sid,) = members
            row.update(station_id=sid, street=by_id[sid].street)
        elif level == "street":
            row["street"] = name
        row["kpis"] = kpis(rows.where(members))
        if level == "district":
            row["name"] = district
            t = targets[district]
            rate = row["kpis"]["satisfaction"]
            row["targets"] = {
                "return_visit_share": t.return_visit_share,
                "satisfaction": t.satisfaction,
            }
            row["satisfaction_met"] = None if rate is None else rate >= t.satisfaction
        out_rows.append(row)
    return {
        "period": period.label,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "months": list(period.months),
        "kpi_keys": list(KPI_KEYS),
        "rows": out_rows,
        "total": kpis(rows.where(ids)),
        "by_month": [{"month": m, "kpis": kpis(rows.where(ids, m))} for m in period.months],
    }


def _cells(k: dict[str, Any]) -> list[Cell]:
    # A rate is written as a percentage text with one decimal; a missing figure is blank.
    return [
        "" if k[key] is None else (f"{k[key] * 100:.1f}%" if key == "satisfaction" else k[key])
        for key in KPI_KEYS
    ]


def xlsx(body: dict[str, Any]) -> bytes:
    """The report as a workbook: the districts, streets and stations with the total last,
    then the total by month. Figures are number cells; names from people are made safe."""
    heads = [render(f"report.col.{k}") for k in KPI_KEYS]
    title = render("report.title", scope=_scope(body), period=body["period"])
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "1"
    ws.append([safe_cell(title)])
    ws.append([render(f"report.col.{c}") for c in ("level", "district", "name")] + heads)
    for r in body["rows"]:
        level = render(f"report.level.{r['level']}")
        ws.append([level, safe_cell(r["district"]), safe_cell(r["name"]), *_cells(r["kpis"])])
    ws.append([render("welfare.sheet.total"), "", "", *_cells(body["total"])])
    months = wb.create_sheet("2")
    months.append([render("report.sheet.by_month", period=body["period"])])
    months.append([render("report.col.month"), *heads])
    for m in body["by_month"]:
        months.append([m["month"], *_cells(m["kpis"])])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _scope(body: dict[str, Any]) -> str:
    """The report's scope in its title: the one district's (or station's) name, else all."""
    top = [r for r in body["rows"] if r["level"] == "district"]
    stations = [r for r in body["rows"] if r["level"] == "station"]
    if len(stations) == 1:
        return str(stations[0]["name"])
    return str(top[0]["name"]) if len(top) == 1 else render("report.all")
