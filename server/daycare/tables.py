"""Tables of the day-care domain: each station's programme (opening days and hours, capacity),
enrolments for days of the week, and one attendance row per enrolled elder and day."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from server.store.meta import metadata
from server.store.tables import id_column as _id
from server.store.types import UtcDateTime

daycare_programmes = Table(
    "daycare_programmes",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, unique=True),
    Column("days", JSON, nullable=False),  # [0..6], 0 = Monday
    Column("opens", String(5), nullable=False),
    Column("closes", String(5), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("lunch_dish", String(40), nullable=True),
    Column("roll_call_min", Integer, nullable=False, server_default="60"),
    Column("updated_at", UtcDateTime, nullable=False),
)

daycare_enrolments = Table(
    "daycare_enrolments",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("weekdays", JSON, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("lunch", Boolean, nullable=False, server_default="1"),
    Column("status", String(10), nullable=False),  # waiting, enrolled, ended
    Column("full_days", JSON, nullable=False),
    Column("notes", String(200), nullable=False, server_default=""),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
)

daycare_attendance = Table(
    "daycare_attendance",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("enrolment_id", ForeignKey("daycare_enrolments.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("checked_in_at", UtcDateTime, nullable=True),
    Column("checked_in_by", ForeignKey("users.id"), nullable=True),
    Column("checked_out_at", UtcDateTime, nullable=True),
    Column("meal_order_id", ForeignKey("meal_orders.id"), nullable=True),
    Column("lunch", String(10), nullable=False, server_default="none"),
    Column("task_id", ForeignKey("tasks.id"), nullable=True),
    Column("absence_reason", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("enrolment_id", "day", name="uq_daycare_attendance_enrolment_day"),
)
