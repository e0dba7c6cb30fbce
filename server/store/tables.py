"""The platform's tables (outbox, timers, pushes, audit) and the column types all share.

Every domain keeps its own tables in its ``tables.py`` on the same ``metadata``;
``server.domains`` imports them all, so migrations and ``create_all`` see everything.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
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


outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("topic", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # 0 goes first: an emergency's dispatch never waits behind a statement's consumers.
    Column("priority", SmallInteger, nullable=False, server_default="1"),
    Column("published_at", UtcDateTime, nullable=True),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", String(300), nullable=True),
)
Index("ix_outbox_pending", outbox.c.published_at, outbox.c.priority, outbox.c.id)

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

# Fixed-window counters for actions that could be used to uncover masked data or flood
# someone (a full-number search, a binding request): one row per key and window.
rate_counters = Table(
    "rate_counters",
    metadata,
    id_column(),
    Column("key", String(120), nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("count", Integer, nullable=False, server_default="0"),
    UniqueConstraint("key", "window_start"),
)
