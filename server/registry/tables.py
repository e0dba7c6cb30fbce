"""The registry: stations, caregivers, elders and family bindings."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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

from schemas.registry import DEFAULT_DISTRICT, CareLevel
from server.store.meta import metadata
from server.store.tables import id_column
from server.store.types import UtcDateTime

_id = id_column


stations = Table(
    "stations",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("district", String(50), nullable=False, server_default=DEFAULT_DISTRICT),
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
caregivers = Table(
    "caregivers",
    metadata,
    _id(),
    Column("user_id", ForeignKey("users.id"), nullable=False, unique=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    # the service organisation employing her (server/providers); None: the station's own
    Column("provider_id", ForeignKey("providers.id"), nullable=True, index=True),
    Column("name", String(50), nullable=False),
    Column("phone", String(11), nullable=False),
    Column("skills", JSON, nullable=False),  # ["first_aid", "bathing", ...]
    Column("certificates", JSON, nullable=False),  # [{"name": ..., "number": ..., "expires": ...}]
    Column("travel_mode", String(8), nullable=False, server_default="ebike"),
    Column("shifts", JSON, nullable=False),  # [{"weekday": 0, "start": "08:00", "end": "17:00"}]
    # night on-call (夜间值班): [{"weekday": 0, "start": "22:00", "end": "08:00"}], overnight
    Column("on_call", JSON, nullable=True),
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
    # One file per ID number in a station. Another station's file for the same number is
    # not revealed to the operator (the answer would confirm an ID it only shows masked);
    # it is recorded in the audit log for the district to reconcile.
    Column("id_number", String(18), nullable=False, index=True),
    Column("phone", String(11), nullable=True, index=True),
    # A fixed line (座机), as many elders living alone have: the hotline knows them by it,
    # by its last seven digits (a suffix match no index serves, as for the contacts' numbers).
    Column("landline", String(20), nullable=True),
    Column("hukou_in_district", Boolean, nullable=False, server_default="1"),
    Column("residence_in_district", Boolean, nullable=False, server_default="1"),
    Column("address", String(200), nullable=False),
    Column("access_notes", String(200), nullable=False, server_default=""),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    # Imported without a point (the address could not be located): it stands at the station
    # until an operator sets its location (server/registry/flows/imports.py).
    Column("location_pending", Boolean, nullable=False, server_default="0"),
    Column("living", String(24), nullable=False, server_default="with_family"),
    Column("categories", JSON, nullable=False),
    Column("care_level", String(16), nullable=False, server_default=CareLevel.SELF_CARE.value),
    # 0 能力完好 ... 4 能力完全丧失, set by the last scored assessment (server/assessments)
    Column("capability_level", Integer, nullable=True),
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
    Column("link_code", String(16), nullable=True, unique=True),  # 64 bits, used once
    Column("link_code_expires_at", UtcDateTime, nullable=True),  # 24 hours after issue
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "id_number", name="uq_elders_station_id_number"),
)
family_bindings = Table(
    "family_bindings",
    metadata,
    _id(),
    Column("family_user_id", ForeignKey("users.id"), nullable=False),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("relation", String(20), nullable=False),
    Column("status", String(12), nullable=False),  # schemas.registry.BindingStatus
    Column("requested_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("confirmed_by", ForeignKey("users.id"), nullable=True),
    UniqueConstraint("family_user_id", "elder_id", name="uq_family_bindings_pair"),
)

Index("ix_elders_station_name", elders.c.station_id, elders.c.name)
