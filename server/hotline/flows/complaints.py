"""Complaints as tickets with an owner, a deadline and an outcome, moved through the
transition table; a ticket still open at its deadline alarms the station."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from sqlalchemy import select

from hotline.followup import (
    Complaint,
    ComplaintAction,
    ComplaintStatus,
    TransitionError,
    transition,
)
from server.auth.tables import users
from server.errors import ApiError
from server.hotline.flows.common import elder_in_scope
from server.hotline.flows.followup import provider_of_station
from server.hotline.model import new_complaint, transition_complaint
from server.hotline.out import complaint_out
from server.hotline.tables import complaints
from server.incidents.flows.alarms import raise_alarm
from server.platform import Platform, Tx, schedule

DEADLINE_TIMER: Final = "hotline.complaint_deadline"
STAFF: Final = ("operator", "caregiver")


def _complaint_of(row: Any) -> Complaint:
    return Complaint(
        row.id,
        row.elder_id,
        row.station_id,
        row.text,
        row.opened_at,
        row.deadline,
        ComplaintStatus(row.status),
        row.owner_user_id,
        row.outcome,
        row.provider_id,
    )


async def _staff_of_station(tx: Tx, user_id: int, station_id: int) -> None:
    """A complaint's owner is staff of the complaint's station (an operator or caregiver)."""
    stmt = select(users.c.role, users.c.station_id, users.c.active).where(users.c.id == user_id)
    row = (await tx.conn.execute(stmt)).first()
    if row is None or not row.active or row.role not in STAFF or row.station_id != station_id:
        raise ApiError(
            422,
            "owner_not_staff",
            "the owner must be an active operator or caregiver of this station",
            field="owner_user_id",
        )


async def open_complaint(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    elder_id: int,
    text: str,
    provider_id: int | None,
    deadline_hours: int,
) -> dict[str, Any]:
    """Open a ticket with a deadline; a timer alarms the station if it is still open then."""
    async with platform.tx() as tx:
        e = await elder_in_scope(tx, elder_id, station_id, is_admin)
        employer = None
        if provider_id is not None:
            employer = await provider_of_station(tx, provider_id, int(e.station_id))
        deadline = tx.now + timedelta(hours=deadline_hours)
        cid = await new_complaint(
            tx,
            station_id=e.station_id,
            elder_id=elder_id,
            provider_id=provider_id,
            employer_id=employer,
            text=text,
            deadline=deadline,
        )
        ref = f"complaint:{cid}:deadline:0"
        await schedule(tx, DEADLINE_TIMER, ref, deadline, {"complaint_id": cid})
        row = (await tx.conn.execute(select(complaints).where(complaints.c.id == cid))).one()
        return complaint_out(_complaint_of(row), tx.now)


async def move_complaint(
    platform: Platform,
    *,
    complaint_id: int,
    station_id: int | None,
    is_admin: bool,
    action: ComplaintAction,
    owner: int | None,
    outcome: str | None,
    deadline_hours: int | None,
) -> dict[str, Any]:
    """Apply one action to a ticket through the transition table."""
    async with platform.tx() as tx:
        by_id = complaints.c.id == complaint_id
        row = (await tx.conn.execute(select(complaints).where(by_id).with_for_update())).first()
        if row is None or (not is_admin and row.station_id != station_id):
            raise ApiError(404, "complaint_not_found", "complaint not found")
        deadline = tx.now + timedelta(hours=deadline_hours) if deadline_hours else None
        if action is ComplaintAction.ASSIGN and owner is not None:
            await _staff_of_station(tx, owner, int(row.station_id))
        try:
            new = transition(
                _complaint_of(row), action, owner=owner, outcome=outcome, deadline=deadline
            )
        except TransitionError as exc:
            raise ApiError(409, "complaint_state_conflict", str(exc)) from None
        await transition_complaint(tx, row, new)
        if action is ComplaintAction.REOPEN:
            ref = f"complaint:{complaint_id}:deadline:{new.deadline.isoformat()}"
            await schedule(tx, DEADLINE_TIMER, ref, new.deadline, {"complaint_id": complaint_id})
        return complaint_out(new, tx.now)


async def check_deadline(tx: Tx, complaint_id: Any) -> None:
    """A complaint still open at its deadline alarms the station."""
    by_id = complaints.c.id == complaint_id
    row = (await tx.conn.execute(select(complaints).where(by_id))).first()
    if row is not None and _complaint_of(row).overdue(tx.now + timedelta(seconds=1)):
        await raise_alarm(tx, row.station_id, None, "complaint_overdue", {"complaint_id": row.id})
