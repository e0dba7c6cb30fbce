"""What caregivers work on and the planner plans (visits, meal deliveries, call-backs, checks),
and what the caregiver's phone reported for each."""

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

task_visits = Table(  # what the caregiver's phone reported for one task: start, arrival, outcome
    "task_visits",
    metadata,
    Column("task_id", ForeignKey("tasks.id"), primary_key=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("arrived_at", UtcDateTime, nullable=True),
    Column("arrival_lat", Float, nullable=True),  # GCJ-02, as stored everywhere
    Column("arrival_lng", Float, nullable=True),
    Column("arrival_accuracy_m", Float, nullable=True),
    Column("arrival_distance_m", Float, nullable=True),
    Column("within_geofence", Boolean, nullable=True),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("completed_by", ForeignKey("users.id"), nullable=True),
    Column("on_behalf_reason", String(200), nullable=True),  # an operator completing for them
    Column("outcome", Text, nullable=False, server_default=""),
    Column("on_time", Boolean, nullable=True),  # meal deliveries: inside the lunch window
    Column("food_hot", Boolean, nullable=True),
    Column("record_id", ForeignKey("service_records.id"), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
