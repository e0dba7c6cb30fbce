"""The street office's elder list into the registry: `anxin import elders FILE.xlsx|csv`.

Each row is checked in full first (name; an 18-character ID number with its check character;
an 11-digit mobile; address; categories; contacts; optional coordinates), and every row's
errors are listed in Chinese with its row number as the spreadsheet shows it. A dry run
stops there. Otherwise the rows are written in one transaction, all or (with errors) none,
unless ``skip_bad``. An elder is found again by ID number, so a second import of a corrected
list updates the files it changed and adds no one twice.

Coordinates come from the list, else from a pluggable geocoder (none by default); an elder
still without them stands at the station with ``location_pending`` set, and is listed as
needing a location (set it on the elder's file; that clears the flag)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from schemas.registry import CATEGORIES
from server.identity import (
    birth_date_from_id,
    id_check_digit,
    normalize_id_number,
    normalize_landline,
    normalize_mobile,
    sex_from_id,
)
from server.platform import Platform, Tx, audit, dialect_insert
from server.registry.tables import elders, stations
from server.texts import Text
from server.texts.registry import DEFAULT_RELATION, IMPORT_COLUMNS, IMPORT_REQUIRED

_SPLIT = re.compile(r"[、,，;；/|\s]+")
_CONTACTS = re.compile(r"[;；\n]+")
# Mainland China, roughly: a coordinate outside it is a swapped or mistyped pair.
_LAT, _LNG = (3.0, 54.0), (73.0, 136.0)


class Geocoder(Protocol):
    """Finds an address's point (GCJ-02), or None; a real one calls a map service."""

    async def locate(self, address: str) -> tuple[float, float] | None: ...


class NoGeocoder:
    """The default: nothing is located automatically; the operator sets the location."""

    async def locate(self, address: str) -> tuple[float, float] | None:
        return None


@dataclass
class Row:
    """One data row: its number in the sheet, its values once checked, and what is wrong."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[Text] = field(default_factory=list)

    def wrong(self, key: str, **params: Any) -> None:
        self.errors.append(Text(key, params))


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: list[Row] = field(default_factory=list)
    needs_location: list[Row] = field(default_factory=list)
    problems: list[Text] = field(default_factory=list)  # the file itself (no rows read)
    written: bool = False


class ImportFailed(Exception):
    """The file cannot be read at all (its type, its header): one line says why."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.key)
        self.text = text


# ----- reading ------------------------------------------------------------------------------


def read_table(path: Path) -> list[list[Any]]:
    """The first sheet of an .xlsx, or a .csv (UTF-8, with or without BOM, or GB18030 as
    Excel saves it in China), as rows of cells."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            try:
                ws = wb.worksheets[0]
                return [list(r) for r in ws.iter_rows(values_only=True)]
            finally:
                wb.close()
        if suffix == ".csv":
            raw = path.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    return [list(r) for r in csv.reader(raw.decode(enc).splitlines())]
                except UnicodeDecodeError:
                    continue
    except (OSError, ValueError, KeyError) as exc:
        raise ImportFailed(
            Text("import.unreadable", {"path": str(path), "reason": str(exc)[:200]})
        ) from exc
    raise ImportFailed(Text("import.file_type", {"path": str(path)}))


def _header(cells: Sequence[Any]) -> dict[str, int]:
    names = [str(c).strip() if c is not None else "" for c in cells]
    found: dict[str, int] = {}
    for col, aliases in IMPORT_COLUMNS.items():
        for i, n in enumerate(names):
            if n in aliases or n.lower() in aliases:
                found.setdefault(col, i)
    missing = [IMPORT_COLUMNS[c][0] for c in IMPORT_REQUIRED if c not in found]
    if len(found) < 2:
        raise ImportFailed(Text("import.no_header", {}))
    if missing:
        raise ImportFailed(Text("import.missing_column", {"column": "、".join(missing)}))
    return found


def _cell(cells: Sequence[Any], cols: dict[str, int], col: str) -> Any:
    i = cols.get(col)
    if i is None or i >= len(cells):
        return None
    v = cells[i]
    return v.strip() if isinstance(v, str) else v


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


# ----- checking -----------------------------------------------------------------------------


def _id_number(row: Row, raw: Any) -> None:
    if raw is None or raw == "":
        return row.wrong("import.id_missing")
    if isinstance(raw, float | bool):
        return row.wrong("import.id_as_number")
    value = _text(raw).upper().replace(" ", "")
    if isinstance(raw, int) and (len(value) != 18 or id_check_digit(value[:17]) != value[17]):
        return row.wrong("import.id_as_number")  # Excel keeps 15 digits of a number
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return row.wrong("import.id_format", value=value)
    if id_check_digit(value[:17]) != value[17]:
        return row.wrong("import.id_check", value=value, expected=id_check_digit(value[:17]))
    try:
        row.values["id_number"] = normalize_id_number(value)
    except ValueError:
        row.wrong("import.id_birth", value=value)


def _mobile(raw: Any) -> str | None:
    try:
        return normalize_mobile(_text(raw))
    except ValueError:
        return None


def _landline(raw: Any) -> str | None:
    try:
        return normalize_landline(_text(raw))
    except ValueError:
        return None


def _phones(row: Row, cells: Sequence[Any], cols: dict[str, int]) -> None:
    """The mobile and the fixed line: rosters often put a 座机 in their one phone column."""
    phone = _text(_cell(cells, cols, "phone"))
    line = _text(_cell(cells, cols, "landline"))
    row.values["phone"] = _mobile(phone) if phone else None
    row.values["landline"] = _landline(line) if line else None
    if phone and row.values["phone"] is None:
        if line or _landline(phone) is None:
            row.wrong("import.mobile", value=phone)
        else:
            row.values["landline"] = _landline(phone)
    if line and row.values["landline"] is None:
        row.wrong("import.landline", value=line)


def _contacts(row: Row, cells: Sequence[Any], cols: dict[str, int]) -> None:
    raw = _text(_cell(cells, cols, "contacts"))
    out: list[dict[str, Any]] = []
    phone_col = _text(_cell(cells, cols, "contact_phone"))
    if raw and phone_col:  # three columns: one contact
        phone = _mobile(phone_col)
        if phone is None:
            row.wrong("import.contact_phone", name=raw, value=phone_col)
        relation = _text(_cell(cells, cols, "contact_relation")) or DEFAULT_RELATION
        out.append({"name": raw[:50], "relation": relation[:20], "phone": phone, "order": 1})
    elif raw:
        for n, item in enumerate(p for p in _CONTACTS.split(raw) if p.strip()):
            parts = [p for p in _SPLIT.split(item.strip()) if p]
            digits = [p for p in parts if re.fullmatch(r"[+\d()-]{7,}", p)]
            words = [p for p in parts if p not in digits]
            if len(digits) != 1 or not words:
                row.wrong("import.contact_bad", value=item.strip())
                continue
            phone = _mobile(digits[0])
            if phone is None:
                row.wrong("import.contact_phone", name=words[0], value=digits[0])
            relation = words[1] if len(words) > 1 else DEFAULT_RELATION
            out.append(
                {"name": words[0][:50], "relation": relation[:20], "phone": phone, "order": n + 1}
            )
    row.values["contacts"] = out


def _coords(row: Row, cells: Sequence[Any], cols: dict[str, int]) -> None:
    lat, lng = _cell(cells, cols, "lat"), _cell(cells, cols, "lng")
    if lat in (None, "") and lng in (None, ""):
        return
    try:
        la, ln = float(lat), float(lng)
    except (TypeError, ValueError):
        return row.wrong("import.coords", value=f"{_text(lat)}, {_text(lng)}")
    if not (_LAT[0] <= la <= _LAT[1] and _LNG[0] <= ln <= _LNG[1]):
        return row.wrong("import.coords", value=f"{_text(lat)}, {_text(lng)}")
    row.values["lat"], row.values["lng"] = la, ln


def check_row(number: int, cells: Sequence[Any], cols: dict[str, int]) -> Row:
    """Every mistake in one row (not only the first), with the row's values."""
    row = Row(number)
    name = _text(_cell(cells, cols, "name"))
    if not name:
        row.wrong("import.name_missing")
    elif len(name) > 50:
        row.wrong("import.name_too_long")
    row.values["name"] = name
    _id_number(row, _cell(cells, cols, "id_number"))
    _phones(row, cells, cols)
    address = _text(_cell(cells, cols, "address"))
    if not address:
        row.wrong("import.address_missing")
    elif len(address) > 200:
        row.wrong("import.address_too_long")
    row.values["address"] = address
    cats = [c for c in _SPLIT.split(_text(_cell(cells, cols, "category"))) if c]
    for c in cats:
        if c not in CATEGORIES:
            row.wrong("import.category_unknown", value=c, known="、".join(CATEGORIES))
    row.values["categories"] = sorted(set(cats) & set(CATEGORIES))
    _contacts(row, cells, cols)
    _coords(row, cells, cols)
    return row


def check_table(table: list[list[Any]]) -> list[Row]:
    """Every data row checked; blank rows skipped; an ID number repeated in the file is an
    error on its second row."""
    if not table:
        raise ImportFailed(Text("import.empty_file", {}))
    cols = _header(table[0])
    rows: list[Row] = []
    first_seen: dict[str, int] = {}
    for i, cells in enumerate(table[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        row = check_row(i, cells, cols)
        idn = row.values.get("id_number")
        if idn is not None:
            if idn in first_seen:
                row.wrong("import.id_repeated", first=first_seen[idn])
            else:
                first_seen[idn] = i
        rows.append(row)
    if not rows:
        raise ImportFailed(Text("import.empty_file", {}))
    return rows


# ----- writing ------------------------------------------------------------------------------

_KEPT = ("name", "phone", "landline", "address", "categories", "contacts")


async def import_elders(
    platform: Platform,
    path: Path,
    *,
    station_id: int,
    dry_run: bool = False,
    skip_bad: bool = False,
    geocoder: Geocoder | None = None,
) -> ImportReport:
    """Check the file, then (unless a dry run, or errors without ``skip_bad``) write it."""
    rows = check_table(read_table(path))
    report = ImportReport(rows=len(rows))
    geocoder = geocoder or NoGeocoder()
    async with platform.tx() as tx:
        station = (
            await tx.conn.execute(select(stations).where(stations.c.id == station_id))
        ).first()
        if station is None:
            raise ImportFailed(Text("import.station_missing", {"station": station_id}))
        existing = await _existing(tx, [r.values["id_number"] for r in rows if not r.errors])
        for r in rows:
            found = existing.get(r.values.get("id_number", ""))
            if found is not None and found.station_id != station_id:
                r.wrong("import.id_other_station", station=found.station_name)
        report.bad = [r for r in rows if r.errors]
        if dry_run or (report.bad and not skip_bad):
            for r in rows:
                if not r.errors:
                    _count(report, r, existing.get(r.values["id_number"]), dry=True)
            return report
        for r in rows:
            if r.errors:
                continue
            if "lat" not in r.values:
                point = await geocoder.locate(r.values["address"])
                if point is not None:
                    r.values["lat"], r.values["lng"] = point
            await _write(tx, r, existing.get(r.values["id_number"]), station)
            _count(report, r, existing.get(r.values["id_number"]), dry=False)
        await audit(
            tx,
            actor=None,
            action="import",
            object_type="elders",
            object_id=station_id,
            detail={
                "file": path.name,
                "created": report.created,
                "updated": report.updated,
                "skipped": len(report.bad),
            },
        )
        report.written = True
    return report


async def _existing(tx: Tx, id_numbers: Iterable[str]) -> dict[str, Any]:
    ids = sorted(set(id_numbers))
    found: dict[str, Any] = {}
    for n in range(0, len(ids), 500):
        rows = await tx.conn.execute(
            select(elders, stations.c.name.label("station_name"))
            .join(stations, stations.c.id == elders.c.station_id)
            .where(elders.c.id_number.in_(ids[n : n + 500]))
        )
        found.update({r.id_number: r for r in rows})
    return found


def _changes(r: Row, old: Any) -> dict[str, Any]:
    changed = {k: r.values[k] for k in _KEPT if getattr(old, k) != r.values[k]}
    if "lat" in r.values and (old.lat, old.lng, old.location_pending) != (
        r.values["lat"],
        r.values["lng"],
        False,
    ):
        changed.update(lat=r.values["lat"], lng=r.values["lng"], location_pending=False)
    return changed


def _count(report: ImportReport, r: Row, old: Any, *, dry: bool) -> None:
    if old is None:
        report.created += 1
    elif _changes(r, old):
        report.updated += 1
    else:
        report.unchanged += 1
    pending = "lat" not in r.values and (old is None or old.location_pending)
    if pending:
        report.needs_location.append(r)


async def _write(tx: Tx, r: Row, old: Any, station: Any) -> None:
    now: datetime = tx.now
    if old is not None:
        changed = _changes(r, old)
        if changed:
            await tx.conn.execute(
                update(elders).where(elders.c.id == old.id).values(**changed, updated_at=now)
            )
        return
    idn = r.values["id_number"]
    located = "lat" in r.values
    await tx.conn.execute(
        dialect_insert(tx.conn)(elders).values(
            station_id=station.id,
            name=r.values["name"],
            sex=sex_from_id(idn),
            birth_date=birth_date_from_id(idn),
            id_number=idn,
            phone=r.values["phone"],
            landline=r.values["landline"],
            address=r.values["address"],
            lat=r.values["lat"] if located else station.lat,
            lng=r.values["lng"] if located else station.lng,
            location_pending=not located,
            categories=r.values["categories"],
            contacts=r.values["contacts"],
            neighbours=[],
            created_at=now,
            updated_at=now,
        )
    )
