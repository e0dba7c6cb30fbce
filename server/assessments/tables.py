"""Tables of the assessment domain: assessments item by item, the elder's capability changes
(the history), and the re-assessments due."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, ForeignKey, Integer, String, Table

from server.store.meta import metadata
from server.store.tables import id_column as _id
from server.store.types import UtcDateTime

assessments = Table(
    "assessments",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("scale", String(60), nullable=False),  # id@version of the scale file
    Column("kind", String(16), nullable=False),
    Column("status", String(8), nullable=False),  # draft, scored
    Column("answers", JSON, nullable=False),  # {item code: score}
    Column("flags", JSON, nullable=False),
    Column("missing", JSON, nullable=False),
    Column("sections", JSON, nullable=False),
    Column("total", Integer, nullable=True),
    Column("level", Integer, nullable=True),
    Column("care_level", String(16), nullable=True),
    Column("raised_by", JSON, nullable=False),
    Column("plan", JSON, nullable=False),  # suggested: [{item_code, per, times}]
    Column("plan_rules", JSON, nullable=True),  # accepted: recurring rule ids
    Column("notes", String(500), nullable=False, server_default=""),
    Column("assessor_id", ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("scored_at", UtcDateTime, nullable=True),
)

capability_history = Table(
    "capability_history",
    metadata,
    _id(),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("assessment_id", ForeignKey("assessments.id"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("care_level", String(16), nullable=False),
    Column("previous_level", Integer, nullable=True),
    Column("previous_care_level", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

reassessments = Table(
    "reassessments",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("due_on", Date, nullable=False),
    Column("reason", String(16), nullable=False),  # yearly, hospital_stay, fall
    Column("status", String(10), nullable=False),  # due, done, cancelled
    Column("task_id", ForeignKey("tasks.id"), nullable=True),
    Column("assessment_id", ForeignKey("assessments.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)
