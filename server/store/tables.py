"""Core tables: identity, registry, incidents, tasks, outbox, timers, pushes, audit.

Domain packages (hotline, welfare, services) keep their own tables beside their code and
register them on the same ``metadata``; ``server.domains`` imports them all, so migrations and
``create_all`` see everything.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.store.meta import metadata
from server.store.types import UtcDateTime

# SQLite only makes INTEGER PRIMARY KEY an alias of rowid; BigInteger elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Money in integer fen (分), never floats.
Fen = BigInteger().with_variant(Integer(), "sqlite")


def id_column() -> Column[int]:
    """The surrogate primary key every table starts with."""
    return Column("id", Id, primary_key=True, autoincrement=True)


_id = id_column


stations = Table(
    "stations",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("district", String(50), nullable=False, server_default="朝阳区"),
    Column("street", String(50), nullable=False, server_default=""),
    Column("address", String(200), nullable=False, server_default=""),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("circle_minutes", Integer, nullable=False, server_default="15"),
    Column("circle_radius_m", Float, nullable=False),
    Column("opening_hours", JSON, nullable=False),
    Column("kitchen", JSON, nullable=True),
    Column("phone", String(20), nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("role", String(16), nullable=False),  # operator, caregiver, elder, family, admin
    Column("username", String(64), nullable=True, unique=True),
    Column("phone", String(11), nullable=True, unique=True),
    Column("display_name", String(50), nullable=False),
    Column("password_hash", String(200), nullable=True),
    Column("wechat_openid", String(64), nullable=True, unique=True),
    Column("station_id", ForeignKey("stations.id"), nullable=True),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    _id(),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

caregivers = Table(
    "caregivers",
    metadata,
    _id(),
    Column("user_id", ForeignKey("users.id"), nullable=False, unique=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("phone", String(11), nullable=False),
    Column("skills", JSON, nullable=False),  # ["first_aid", "bathing", ...]
    Column("certificates", JSON, nullable=False),  # [{"name": ..., "number": ..., "expires": ...}]
    Column("travel_mode", String(8), nullable=False, server_default="ebike"),
    Column("shifts", JSON, nullable=False),  # [{"weekday": 0, "start": "08:00", "end": "17:00"}]
    Column("on_duty", Boolean, nullable=False, server_default="0"),
    Column("lat", Float, nullable=True),
    Column("lng", Float, nullable=True),
    Column("located_at", UtcDateTime, nullable=True),
    Column("home_lat", Float, nullable=True),
    Column("home_lng", Float, nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
)

elders = Table(
    "elders",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("user_id", ForeignKey("users.id"), nullable=True, unique=True),
    Column("name", String(50), nullable=False),
    Column("sex", String(1), nullable=False),  # M / F
    Column("birth_date", String(10), nullable=False),
    Column("id_number", String(18), nullable=False, unique=True),
    Column("phone", String(11), nullable=True, index=True),
    Column("hukou_in_district", Boolean, nullable=False, server_default="1"),
    Column("residence_in_district", Boolean, nullable=False, server_default="1"),
    Column("address", String(200), nullable=False),
    Column("access_notes", String(200), nullable=False, server_default=""),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("living", String(24), nullable=False, server_default="with_family"),
    Column("categories", JSON, nullable=False),
    Column("care_level", String(16), nullable=False, server_default="自理"),
    Column("household_id", String(40), nullable=True, index=True),
    Column("contacts", JSON, nullable=False),  # ordered: [{name, relation, phone, order}]
    Column("neighbours", JSON, nullable=False),  # watch agreements: [{name, phone, agreement_no}]
    Column("health_notes", Text, nullable=False, server_default=""),
    Column("medicines", Text, nullable=False, server_default=""),
    Column("diet_notes", String(200), nullable=False, server_default=""),
    Column("key_holder", String(100), nullable=False, server_default=""),
    Column("preferred_caregiver_id", ForeignKey("caregivers.id"), nullable=True),
    Column("family_doctor", JSON, nullable=True),
    Column("high_risk", Boolean, nullable=False, server_default="0"),
    Column("link_code", String(16), nullable=True, unique=True),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_elders_station_name", elders.c.station_id, elders.c.name)

family_bindings = Table(
    "family_bindings",
    metadata,
    _id(),
    Column("family_user_id", ForeignKey("users.id"), nullable=False),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("relation", String(20), nullable=False),
    Column("status", String(12), nullable=False),  # pending, confirmed, revoked
    Column("requested_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("confirmed_by", ForeignKey("users.id"), nullable=True),
    UniqueConstraint("family_user_id", "elder_id", name="uq_family_bindings_pair"),
)

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
    Column("reason", String(200), nullable=False, server_default=""),
)

alarms = Table(
    "alarms",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("incident_id", ForeignKey("incidents.id"), nullable=True, index=True),
    Column("kind", String(32), nullable=False),
    Column("message", String(300), nullable=False),
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
    Column("created_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("topic", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", String(300), nullable=True),
)
Index("ix_outbox_pending", outbox.c.published_at, outbox.c.id)

timers = Table(
    "timers",
    metadata,
    _id(),
    Column("kind", String(40), nullable=False),
    Column(
        "ref", String(120), nullable=False, unique=True
    ),  # one timer per (purpose, object, step)
    Column("due_at", UtcDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(10), nullable=False),  # pending, fired, cancelled
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("fired_at", UtcDateTime, nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_timers_due", timers.c.state, timers.c.due_at)

push_cursors = Table(
    "push_cursors",
    metadata,
    Column("recipient", String(40), primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

push_messages = Table(
    "push_messages",
    metadata,
    _id(),
    Column("recipient", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("recipient", "seq", name="uq_push_messages_recipient_seq"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_user_id", ForeignKey("users.id"), nullable=True),
    Column("action", String(40), nullable=False),  # reveal, disclose_120, login, ...
    Column("object_type", String(30), nullable=False),
    Column("object_id", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
)
