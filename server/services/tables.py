"""Tables of the services domain: the menu, bookings, recurring rules, meal menus and orders.

``task_visits`` is the tasks domain's (``server.tasks.tables``), named here for old imports.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
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
from server.tasks.tables import task_visits as task_visits

service_items = Table(
    "service_items",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("code", String(40), nullable=False),
    Column("name_zh", String(60), nullable=False),
    Column("name_en", String(80), nullable=False),
    Column("category", String(16), nullable=False),
    Column("price_fen", Fen, nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("skill", String(40), nullable=True),
    Column("certificate", String(40), nullable=True),
    Column("subsidy_payable", Boolean, nullable=False),
    Column("hours", JSON, nullable=False),  # {"days": [0..6], "opens": "08:00", "closes": "18:00"}
    Column("allowed_classes", JSON, nullable=False),  # [] = every class
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "code", name="uq_service_items_station_code"),
)

recurrence_rules = Table(
    "recurrence_rules",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("item_code", String(40), nullable=False),
    Column("weekdays", JSON, nullable=False),
    Column("start", String(5), nullable=False),
    Column("end", String(5), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("until", Date, nullable=True),
    Column("every_weeks", Integer, nullable=False, server_default="1"),
    Column("frequency", String(10), nullable=False, server_default="weekly"),
    Column("month_day", Integer, nullable=True),
    Column("skip_non_workdays", Boolean, nullable=False, server_default="0"),
    Column("notes", String(200), nullable=False, server_default=""),
    Column("active", Boolean, nullable=False, server_default="1"),
    # bumped by each change, so a changed rule's occurrences get new keys (the old version's
    # future bookings are cancelled, and a cancelled key must not block the new one)
    Column("version", Integer, nullable=False, server_default="1"),
    Column("created_by", ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

bookings = Table(
    "bookings",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("item_id", ForeignKey("service_items.id"), nullable=False),
    Column("item_code", String(40), nullable=False),
    Column("booked_by", ForeignKey("users.id"), nullable=True),
    Column("window_start", UtcDateTime, nullable=False),
    Column("window_end", UtcDateTime, nullable=False),
    Column("asap", Boolean, nullable=False, server_default="0"),
    Column("notes", String(500), nullable=False, server_default=""),
    Column("status", String(12), nullable=False),  # requested, planned, completed, cancelled
    Column("price_fen", Fen, nullable=False),
    Column("quoted_subsidy_fen", Fen, nullable=False),
    Column("quoted_self_pay_fen", Fen, nullable=False),
    Column("task_id", ForeignKey("tasks.id"), nullable=True),
    Column("occurrence_key", String(80), nullable=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime, nullable=True),
)
Index("ix_bookings_elder_window", bookings.c.elder_id, bookings.c.window_start)

meal_menus = Table(
    "meal_menus",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("dishes", JSON, nullable=False),  # [{code, name_zh, price_fen, tags}]
    Column("cutoff", String(5), nullable=False),
    Column("lunch_opens", String(5), nullable=False),
    Column("lunch_closes", String(5), nullable=False),
    Column("closed", Boolean, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("station_id", "day", name="uq_meal_menus_station_day"),
)

meal_orders = Table(
    "meal_orders",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("mode", String(10), nullable=False),
    Column("dishes", JSON, nullable=False),
    Column("total_fen", Fen, nullable=False),
    Column("diet_warnings", JSON, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("status", String(12), nullable=False),  # ordered, cancelled, delivering, delivered
    Column("task_id", ForeignKey("tasks.id"), nullable=True),
    Column("ordered_by", ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime, nullable=True),
)
# one live order per elder and day; a cancelled order frees the day for a new one
Index(
    "uq_meal_orders_live_elder_day",
    meal_orders.c.elder_id,
    meal_orders.c.day,
    unique=True,
    sqlite_where=meal_orders.c.status != "cancelled",
    postgresql_where=meal_orders.c.status != "cancelled",
)
