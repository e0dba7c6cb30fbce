"""The planner's tables: each day plan and lunch routing as made, the latest in force."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table

from server.store.meta import metadata
from server.store.tables import Id
from server.store.types import UtcDateTime

day_plans = Table(
    "day_plans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("day", String(10), nullable=False),
    Column("trigger", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("travel_s", Integer, nullable=False),
    Column("summary", JSON, nullable=False),
)

# Lunch routes made at the meal cut-off: one row per routing, the latest is in force.
meal_plans = Table(
    "meal_plans",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("day", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("summary", JSON, nullable=False),
)
