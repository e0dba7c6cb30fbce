"""Volunteer rows as the API shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.volunteers import (
    Availability,
    EntryKind,
    LedgerEntryOut,
    StatementOut,
    Training,
    VolunteerOut,
    VolunteerTaskKind,
    VolunteerTaskOut,
    VolunteerTaskStatus,
)


def volunteer_out(row: Any) -> VolunteerOut:
    return VolunteerOut(
        id=row.id,
        station_id=row.station_id,
        name=row.name,
        phone=row.phone,
        skills=list(row.skills),
        trainings=[Training(**t) for t in row.trainings],
        agreement_no=row.agreement_no,
        agreement_expires=row.agreement_expires,
        availability=[Availability(**a) for a in row.availability],
        active=bool(row.active),
    )


def task_out(row: Any, *, already: bool = False) -> VolunteerTaskOut:
    return VolunteerTaskOut(
        id=row.id,
        volunteer_id=row.volunteer_id,
        elder_id=row.elder_id,
        kind=VolunteerTaskKind(row.kind),
        day=row.day,
        status=VolunteerTaskStatus(row.status),
        minutes=row.minutes,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
        already_confirmed=already,
    )


def statement_out(account: str, rows: Sequence[Any]) -> StatementOut:
    def total(kind: EntryKind) -> int:
        return sum(abs(int(r.minutes)) for r in rows if r.kind == kind.value)

    return StatementOut(
        account=account,
        earned_min=total(EntryKind.EARNED),
        spent_min=total(EntryKind.SPENT),
        transferred_out_min=total(EntryKind.TRANSFER_OUT),
        received_min=total(EntryKind.TRANSFER_IN),
        balance_min=sum(int(r.minutes) for r in rows),
        entries=[
            LedgerEntryOut(
                id=r.id,
                account=r.account,
                kind=EntryKind(r.kind),
                minutes=int(r.minutes),
                memo=r.memo,
                at=r.at,
            )
            for r in rows
        ],
    )
