"""Tables of the volunteer domain: the registry, volunteers on an elder's escalation chain,
their simple tasks, and the time-bank ledger (minutes, signed, one row per movement)."""

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

volunteers = Table(
    "volunteers",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("name", String(50), nullable=False),
    Column("phone", String(11), nullable=False),
    Column("skills", JSON, nullable=False),
    Column("trainings", JSON, nullable=False),  # [{name, on}]
    Column("agreement_no", String(40), nullable=True),  # the watch agreement (看护协议)
    Column("agreement_expires", Date, nullable=True),
    Column("availability", JSON, nullable=False),  # [{weekday, start, end}]
    Column("notes", String(200), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "phone", name="uq_volunteers_station_phone"),
)

volunteer_links = Table(
    "volunteer_links",
    metadata,
    _id(),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("elder_id", "volunteer_id", name="uq_volunteer_links_elder_volunteer"),
)

volunteer_tasks = Table(
    "volunteer_tasks",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("volunteer_id", ForeignKey("volunteers.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),
    Column("day", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("minutes", Integer, nullable=True),
    Column("notes", String(200), nullable=False, server_default=""),
    Column("confirmed_by", ForeignKey("users.id"), nullable=True),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

timebank_entries = Table(
    "timebank_entries",
    metadata,
    _id(),
    Column("entry_key", String(80), nullable=False, unique=True),  # written once per movement
    Column("account", String(40), nullable=False, index=True),  # volunteer:{id} / elder:{id}
    Column("kind", String(14), nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("memo", String(200), nullable=False, server_default=""),
    Column("actor", ForeignKey("users.id"), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)
