"""Tables of the providers domain: the organisations, their contracts with streets, the red and
black lists, the fraud holds on service records, and the annual ratings."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.store.meta import metadata
from server.store.tables import Fen
from server.store.tables import id_column as _id
from server.store.types import UtcDateTime

providers = Table(
    "providers",
    metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("district", String(50), nullable=False, index=True),
    Column("licence", JSON, nullable=False),  # {"kind", "number", "expires": "YYYY-MM-DD"}
    Column("documents", JSON, nullable=False),  # [{"kind", "number", "expires"}]
    Column("contacts", JSON, nullable=False),  # [{"name", "phone", "role"}]
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
)

provider_contracts = Table(
    "provider_contracts",
    metadata,
    _id(),
    Column("provider_id", ForeignKey("providers.id"), nullable=False, index=True),
    Column("district", String(50), nullable=False),
    Column("street", String(50), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("items", JSON, nullable=False),  # [{"item_code", "price_fen"}]
    Column("status", String(10), nullable=False),  # schemas.providers.ContractStatus
    Column("end_reason", String(200), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
)

provider_listings = Table(  # 红黑名单
    "provider_listings",
    metadata,
    _id(),
    Column("subject", String(10), nullable=False),  # provider / caregiver
    Column("subject_id", Integer, nullable=False),
    Column("kind", String(6), nullable=False),  # red / black
    Column("district", String(50), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=True),
    Column("status", String(8), nullable=False),  # schemas.providers.ListingStatus
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
)

fraud_holds = Table(  # a service record under an officer's fraud review
    "fraud_holds",
    metadata,
    _id(),
    Column("record_id", ForeignKey("service_records.id"), nullable=False, unique=True),
    Column("provider_id", ForeignKey("providers.id"), nullable=True, index=True),
    Column("signal", String(40), nullable=False),
    Column("detail", String(300), nullable=False, server_default=""),
    Column("status", String(10), nullable=False),  # schemas.providers.HoldStatus
    Column("paid_fen", Fen, nullable=False, server_default="0"),  # subsidy paid when decided
    Column("recovered_fen", Fen, nullable=False, server_default="0"),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", ForeignKey("users.id"), nullable=True),
)

provider_ratings = Table(  # 年度评估: 优良 / 合格 / 不合格
    "provider_ratings",
    metadata,
    _id(),
    Column("provider_id", ForeignKey("providers.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("status", String(8), nullable=False),  # schemas.providers.RatingStatus
    Column("score", Float, nullable=False),
    Column("computed_grade", String(12), nullable=False),
    Column("grade", String(12), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("weights_version", Integer, nullable=False),
    Column("adjust_reason", Text, nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("signed_by", ForeignKey("users.id"), nullable=True),
    Column("signed_at", UtcDateTime, nullable=True),
    UniqueConstraint("provider_id", "year", name="uq_provider_ratings_provider_year"),
)

subsidy_stops = Table(  # 停发补贴: an officer's fraud decision; the charge reads it
    "subsidy_stops",
    metadata,
    _id(),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("district", String(50), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("hold_id", ForeignKey("fraud_holds.id"), nullable=True),
    Column("status", String(8), nullable=False),  # schemas.providers.SubsidyStopStatus
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", ForeignKey("users.id"), nullable=True),
)
