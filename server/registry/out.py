"""The registry's serialisers: rows to the schemas the API answers with, masking ID numbers
and phones unless a caller may see them (and has written the audit row saying so)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from schemas.common import Point
from schemas.registry import (
    BindingOut,
    CaregiverOut,
    CaregiverPage,
    ElderOut,
    ElderPage,
    OpeningHours,
    PageQuery,
    StationOut,
)
from server.clock import SHANGHAI
from server.identity import mask_id_number, mask_phone


def age_on(birth: str, today: date) -> int:
    """Whole years from a stored birth date (YYYY-MM-DD) to ``today``."""
    y, m, d = (int(x) for x in birth.split("-"))
    return today.year - y - ((today.month, today.day) < (m, d))


def skills_of(raw: Any) -> frozenset[str]:
    """Skills from a stored row, whatever shape an import or an old version left there."""
    if isinstance(raw, str):  # a single skill stored bare
        raw = [raw]
    if not isinstance(raw, list | tuple | set | frozenset):
        return frozenset()  # null, an object, a number: no known skills
    return frozenset(s for s in raw if isinstance(s, str))


def dicts_of(raw: Any) -> list[dict[str, object]]:
    """A stored list of objects (shifts, certificates), dropping what is not an object."""
    return [dict(x) for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []


def station_out(row: Any) -> StationOut:
    """A station as the API shows it."""
    return StationOut(
        id=row.id,
        name=row.name,
        district=row.district,
        street=row.street,
        address=row.address,
        location=Point(lat=row.lat, lng=row.lng),
        circle_minutes=row.circle_minutes,
        circle_radius_m=round(row.circle_radius_m, 1),
        opening_hours=OpeningHours.model_validate(row.opening_hours),
        kitchen=row.kitchen,
        phone=row.phone,
        active=row.active,
    )


def caregiver_out(row: Any, *, reveal: bool, status: str | None = None) -> CaregiverOut:
    """A caregiver; the phone masked unless ``reveal``."""
    loc = Point(lat=row.lat, lng=row.lng) if row.lat is not None and row.lng is not None else None
    return CaregiverOut(
        id=row.id,
        user_id=row.user_id,
        station_id=row.station_id,
        name=row.name,
        phone=row.phone if reveal else mask_phone(row.phone),
        skills=sorted(skills_of(row.skills)),
        certificates=dicts_of(row.certificates),
        travel_mode=row.travel_mode,
        shifts=dicts_of(row.shifts),
        on_call=dicts_of(row.on_call or []),
        on_duty=row.on_duty,
        location=loc,
        located_at=row.located_at,
        active=row.active,
        status=status or ("idle" if row.on_duty else "off_duty"),
    )


def _mask_people(people: list[dict[str, Any]], reveal: bool) -> list[dict[str, object]]:
    if reveal:
        return [dict(p) for p in people]
    return [{**p, "phone": mask_phone(p.get("phone"))} for p in people]


def elder_out(
    row: Any, *, reveal: bool, reveal_contact: bool = False, today: date | None = None
) -> ElderOut:
    """The elder's file. Masked (the default) shows the ID number as 110***********002X,
    phones as 138****8000, and the age but not the birth date: the birth date is 8 of the
    hidden digits. ``reveal`` shows everything; ``reveal_contact`` only the phones (what a
    caregiver on the way needs). Callers write the audit row for either."""
    today = today or datetime.now(SHANGHAI).date()
    phones = reveal or reveal_contact
    return ElderOut(
        id=row.id,
        station_id=row.station_id,
        name=row.name,
        sex=row.sex,
        birth_date=row.birth_date if reveal else None,
        age=age_on(row.birth_date, today),
        id_number=row.id_number if reveal else (mask_id_number(row.id_number) or ""),
        phone=row.phone if phones else mask_phone(row.phone),
        landline=row.landline if phones else mask_phone(row.landline),
        address=row.address,
        access_notes=row.access_notes,
        location=Point(lat=row.lat, lng=row.lng),
        location_pending=row.location_pending,
        living=row.living,
        categories=list(row.categories),
        care_level=row.care_level,
        household_id=row.household_id,
        contacts=_mask_people(row.contacts, phones),
        neighbours=_mask_people(row.neighbours, phones),
        health_notes=row.health_notes,
        medicines=row.medicines,
        diet_notes=row.diet_notes,
        key_holder=row.key_holder,
        preferred_caregiver_id=row.preferred_caregiver_id,
        high_risk=row.high_risk,
        active=row.active,
        masked=not reveal,
    )


def _paging(total: int, q: PageQuery) -> dict[str, int]:
    return {"total": total, "page": q.page, "page_size": q.page_size}


def caregiver_page(rows: Sequence[Any], total: int, q: PageQuery) -> CaregiverPage:
    """One page of caregivers, phones masked."""
    return CaregiverPage(items=[caregiver_out(r, reveal=False) for r in rows], **_paging(total, q))


def elder_page(rows: Sequence[Any], total: int, q: PageQuery) -> ElderPage:
    """One page of elders, masked."""
    return ElderPage(items=[elder_out(r, reveal=False) for r in rows], **_paging(total, q))


def binding_out(row: Any, elder_name: str) -> BindingOut:
    """A family binding, with the elder's name."""
    return BindingOut(
        id=row.id,
        family_user_id=row.family_user_id,
        elder_id=row.elder_id,
        elder_name=elder_name,
        relation=row.relation,
        status=row.status,
        requested_at=row.requested_at,
        confirmed_at=row.confirmed_at,
    )
