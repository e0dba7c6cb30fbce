"""Day-care rows as the API shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.daycare import (
    AttendanceOut,
    AttendanceStatus,
    EnrolmentOut,
    EnrolmentStatus,
    ProgrammeOut,
)
from server.daycare.tables import daycare_enrolments


def programme_out(row: Any) -> ProgrammeOut:
    return ProgrammeOut(
        station_id=row.station_id,
        days=list(row.days),
        opens=row.opens,
        closes=row.closes,
        capacity=row.capacity,
        lunch_dish=row.lunch_dish,
        roll_call_min=row.roll_call_min,
    )


async def enrolment_out(conn: AsyncConnection, row: Any) -> EnrolmentOut:
    """An enrolment; a waiting one with its place in the queue (1 = next)."""
    position = None
    if row.status == EnrolmentStatus.WAITING:
        ahead = (
            await conn.execute(
                select(func.count()).where(
                    daycare_enrolments.c.station_id == row.station_id,
                    daycare_enrolments.c.status == EnrolmentStatus.WAITING.value,
                    daycare_enrolments.c.id < row.id,
                )
            )
        ).scalar_one()
        position = int(ahead) + 1
    return EnrolmentOut(
        id=row.id,
        station_id=row.station_id,
        elder_id=row.elder_id,
        weekdays=list(row.weekdays),
        starts_on=row.starts_on,
        lunch=bool(row.lunch),
        status=EnrolmentStatus(row.status),
        full_days=list(row.full_days),
        waiting_position=position,
        notes=row.notes,
    )


def attendance_out(row: Any) -> AttendanceOut:
    return AttendanceOut(
        id=row.id,
        elder_id=row.elder_id,
        elder_name=row.elder_name,
        day=row.day,
        status=AttendanceStatus(row.status),
        checked_in_at=row.checked_in_at,
        checked_out_at=row.checked_out_at,
        meal_order_id=row.meal_order_id,
        lunch=row.lunch,
        task_id=row.task_id,
    )
