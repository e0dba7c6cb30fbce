"""What caregivers work on and the planner plans: visits, meal deliveries, call-backs, checks."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table, Text

from server.store.meta import metadata
from server.store.tables import id_column
from server.store.types import UtcDateTime

_id = id_column


tasks = Table(
    "tasks",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=True, index=True),
    Column("caregiver_id", ForeignKey("caregivers.id"), nullable=True, index=True),
    Column(
        "kind", String(24), nullable=False
    ),  # service, meal_delivery, visit, check, return_call, emergency, device
    Column("title", String(100), nullable=False),
    Column(
        "status", String(12), nullable=False
    ),  # open, planned, en_route, in_progress, done, cancelled
    Column("priority", Integer, nullable=False, server_default="1"),
    Column("interruptible", Boolean, nullable=False, server_default="1"),
    Column("required_skills", JSON, nullable=False),
    Column("window_start", UtcDateTime, nullable=True),
    Column("window_end", UtcDateTime, nullable=True),
    Column("duration_s", Integer, nullable=False, server_default="1800"),
    Column("planned_start", UtcDateTime, nullable=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("lat", Float, nullable=True),
    Column("lng", Float, nullable=True),
    Column("source", String(24), nullable=False, server_default="manual"),
    Column("source_ref", String(64), nullable=True, unique=True),
    Column("notes", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
)
