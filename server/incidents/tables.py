"""Help calls: incidents and their timeline, offers, operator alarms, idempotency keys."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table, Text

from server.store.meta import metadata
from server.store.tables import id_column
from server.store.types import UtcDateTime

_id = id_column


incidents = Table(
    "incidents",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # emergency, health, service, family
    Column("status", String(12), nullable=False, index=True),
    Column("source", String(12), nullable=False),  # button, app, phone, operator, device
    Column("reporter_user_id", ForeignKey("users.id"), nullable=True),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("outside_circle", Boolean, nullable=False, server_default="0"),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("deadline_at", UtcDateTime, nullable=True),
    Column("caregiver_id", ForeignKey("caregivers.id"), nullable=True),
    Column("eta_at", UtcDateTime, nullable=True),
    Column("accepted_at", UtcDateTime, nullable=True),
    Column("arrived_at", UtcDateTime, nullable=True),
    Column("arrival_distance_m", Float, nullable=True),
    Column("arrival_flagged", Boolean, nullable=False, server_default="0"),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolution", String(24), nullable=True),  # resolved, false_alarm, test_press, cancelled
    Column("notes", Text, nullable=False, server_default=""),
    Column("last_ranking", JSON, nullable=True),
    Column("call_id", String(64), nullable=True),
    Column("press_count", Integer, nullable=False, server_default="1"),
    # A press a device buffered (no network) and sent later: the device's time of the press
    # and how late it came; None when it came at once.
    Column("pressed_at", UtcDateTime, nullable=True),
    Column("late_s", Integer, nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
)
incident_events = Table(
    "incident_events",
    metadata,
    _id(),
    Column("incident_id", ForeignKey("incidents.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor_user_id", ForeignKey("users.id"), nullable=True),
    Column("data", JSON, nullable=False),
)
offers = Table(
    "offers",
    metadata,
    _id(),
    Column("incident_id", ForeignKey("incidents.id"), nullable=False, index=True),
    Column("caregiver_id", ForeignKey("caregivers.id"), nullable=False, index=True),
    Column("status", String(10), nullable=False),  # offered, accepted, declined, expired, withdrawn
    Column("offered_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("eta_s", Integer, nullable=False),
    Column("manual", Boolean, nullable=False, server_default="0"),
    # Why this caregiver, as data only: the dispatcher's reason (idle, busy_can_break_off,
    # busy_must_finish) or "manual" with the operator's {reason}; rendered per reader.
    Column("reason_code", String(24), nullable=False),
    Column("reason_params", JSON, nullable=False),
)
alarms = Table(
    "alarms",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("incident_id", ForeignKey("incidents.id"), nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("params", JSON, nullable=False),  # the text's parameters: rendered per reader
    Column("status", String(12), nullable=False, server_default="raised", index=True),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", ForeignKey("users.id"), nullable=True),
)
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(40), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(10), nullable=False),  # running, done
    Column("response_status", Integer, nullable=True),
    Column("response_body", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)
