"""Tables of the welfare domain: rule sets, welfare facts, quota accounts and the ledger, service
records with their proof, applications with documents and audit, hospital stays."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from server.store.meta import metadata
from server.store.tables import Fen
from server.store.tables import id_column as _id
from server.store.types import UtcDateTime

welfare_rulesets = Table(
    "welfare_rulesets",
    metadata,
    _id(),
    Column("district", String(50), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("body", JSON, nullable=False),  # the rule set's JSON, as in server/welfare/rulesets/
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    UniqueConstraint("district", "version", name="uq_welfare_rulesets_district_version"),
)

welfare_profiles = Table(  # facts the rules need that the registry's file does not hold
    "welfare_profiles",
    metadata,
    Column("elder_id", ForeignKey("elders.id"), primary_key=True),
    Column("hukou", String(8), nullable=False, server_default="urban"),
    Column("hospital_certificate", Boolean, nullable=False, server_default="0"),
    Column("monthly_pension_fen", Fen, nullable=True),
    Column("extra_categories", JSON, nullable=False),  # e.g. 低收入
    Column("updated_at", UtcDateTime, nullable=False),
)

quota_accounts = Table(  # one row per quota: the lock that serialises charges against it
    "quota_accounts",
    metadata,
    Column("account", String(80), primary_key=True),
    Column("district", String(50), nullable=False),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    _id(),
    Column("entry_id", String(160), nullable=False, unique=True),
    Column("account", String(80), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("amount_fen", Fen, nullable=False),
    Column("period", String(8), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("record_id", String(40), nullable=True, index=True),
    Column("reverses", String(160), nullable=True),
    Column("memo", String(200), nullable=False, server_default=""),
)
Index("ix_ledger_account_period", ledger_entries.c.account, ledger_entries.c.period)

service_records = Table(
    "service_records",
    metadata,
    _id(),
    Column("booking_id", ForeignKey("bookings.id"), nullable=True, index=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("district", String(50), nullable=False),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("caregiver_id", ForeignKey("caregivers.id"), nullable=True, index=True),
    # the caregiver's provider when the visit was recorded: her records stay with it
    Column("provider_id", ForeignKey("providers.id"), nullable=True, index=True),
    Column("item_code", String(40), nullable=False),
    Column("item_name", String(60), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("price_fen", Fen, nullable=False),
    Column("subsidy_fen", Fen, nullable=False),
    Column("self_pay_fen", Fen, nullable=False),
    Column("quota_account", String(80), nullable=True),
    Column("arrival_lat", Float, nullable=True),
    Column("arrival_lng", Float, nullable=True),
    Column("arrival_accuracy_m", Float, nullable=True),
    Column("door_code_ok", Boolean, nullable=False, server_default="0"),
    # the elder's printed door card (its version) whose fixed code proved the visit; None for
    # the phone's daily code. Many visits by one card with no location fix is a fraud signal.
    Column("door_card_version", Integer, nullable=True),
    Column("elder_confirmed", Boolean, nullable=False, server_default="0"),
    Column("proofs", JSON, nullable=False),
    Column("review", String(10), nullable=False, server_default="pending"),
    Column("reviewed_by", ForeignKey("users.id"), nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("reversed", Boolean, nullable=False, server_default="0"),
    Column("notes", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

# One live record per booking; a reversed (or rejected) record frees its booking for the
# corrected visit, which gets a new record and new ledger entries.
Index(
    "uq_service_records_live_booking",
    service_records.c.booking_id,
    unique=True,
    # Written out: the expression form renders as "IS 0" in a migration made on SQLite,
    # which PostgreSQL refuses.
    sqlite_where=text("NOT reversed"),
    postgresql_where=text("NOT reversed"),
)

applications = Table(
    "welfare_applications",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("district", String(50), nullable=False),
    Column("rule_id", String(60), nullable=False),
    Column("status", String(20), nullable=False),  # community, street, district, approved, refused
    Column("step_received_on", Date, nullable=True),
    Column("step_due_on", Date, nullable=True),
    # the due day leans on the fallback calendar (the year's notice is not published yet)
    Column("step_due_provisional", Boolean, nullable=False, server_default="0"),
    Column("submitted_by", ForeignKey("users.id"), nullable=True),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("refusal_reason", Text, nullable=True),
    Column("note", Text, nullable=False, server_default=""),
)

application_events = Table(
    "welfare_application_events",
    metadata,
    _id(),
    Column("application_id", ForeignKey("welfare_applications.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_user_id", ForeignKey("users.id"), nullable=True),
    Column("step", String(20), nullable=False),
    Column("action", String(20), nullable=False),  # submitted, passed, refused, document
    Column("note", Text, nullable=False, server_default=""),
    Column("due_on", Date, nullable=True),
)

application_documents = Table(
    "welfare_application_documents",
    metadata,
    _id(),
    Column("application_id", ForeignKey("welfare_applications.id"), nullable=False, index=True),
    Column("kind", String(30), nullable=False),  # id_card, hukou_book, dibao_cert, hospital_cert
    Column("filename", String(120), nullable=False),
    Column("content_type", String(60), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_by", ForeignKey("users.id"), nullable=True),
    Column("uploaded_at", UtcDateTime, nullable=False),
)

hospital_stays = Table(
    "hospital_stays",
    metadata,
    _id(),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("admitted_at", UtcDateTime, nullable=False),
    Column("discharged_at", UtcDateTime, nullable=True),
    Column("hospital", String(100), nullable=False, server_default=""),
)

door_cards = Table(  # the fixed code printed on the elder's door card; the operator rotates it
    "door_cards",
    metadata,
    Column("elder_id", ForeignKey("elders.id"), primary_key=True),
    Column("code", String(12), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("rotated_at", UtcDateTime, nullable=False),
    Column("rotated_by", ForeignKey("users.id"), nullable=True),
)

welfare_calendars = Table(  # each year's official holidays and swapped workdays, as published
    "welfare_calendars",
    metadata,
    _id(),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("holidays", JSON, nullable=False),  # ["2027-01-01", ...]
    Column("workdays", JSON, nullable=False),  # swapped weekend workdays
    Column("source", String(200), nullable=False, server_default=""),
    Column("published_at", UtcDateTime, nullable=False),
    Column("published_by", ForeignKey("users.id"), nullable=True),
    UniqueConstraint("year", "version", name="uq_welfare_calendars_year_version"),
)

welfare_officers = Table(  # street and district reviewers: where their authority runs
    "welfare_officers",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("district", String(50), nullable=False),
    Column("street", String(50), nullable=True),  # street officers only
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
)

service_addresses = Table(  # where a household is served, from when (the first is not a change)
    "service_addresses",
    metadata,
    _id(),
    Column("household_key", String(60), nullable=False, index=True),  # household id or elder:<id>
    Column("elder_id", ForeignKey("elders.id"), nullable=False),
    Column("address", String(200), nullable=False),
    Column("since", Date, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
)
