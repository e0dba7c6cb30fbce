"""The hotline's tables: calls, webhook nonces, escalation chains and their history, alerts
sent through outside channels with their attempts and receipts, devices, follow-up."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from server.store.meta import metadata
from server.store.tables import id_column as _id
from server.store.types import UtcDateTime

hotline_calls = Table(
    "hotline_calls",
    metadata,
    _id(),
    Column("call_id", String(64), nullable=False, unique=True),
    Column("station_id", ForeignKey("stations.id"), nullable=True, index=True),
    Column("caller", String(32), nullable=False, server_default=""),
    Column("called", String(32), nullable=False, server_default=""),
    Column("status", String(10), nullable=False),  # CallStatus
    Column("ringing_at", UtcDateTime, nullable=True),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("recording_url", String(512), nullable=True),
    Column("agent", String(64), nullable=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=True, index=True),
    Column("matches", JSON, nullable=False),  # [{elder_id, name, relation}]
    Column("incident_id", ForeignKey("incidents.id"), nullable=True, index=True),
    Column("event_ids", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_hotline_calls_caller", hotline_calls.c.caller, hotline_calls.c.created_at)

webhook_nonces = Table(
    "hotline_webhook_nonces",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# A device's presses by the gateway's event id, kept as long as a gateway may re-deliver one
# (ANXIN_IDEMPOTENCY_TTL_S, at least 24 h), with the incident the press went to: a re-delivery
# answers the same incident. Pruned by the housekeeping job.
device_events = Table(
    "hotline_device_events",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("incident_id", ForeignKey("incidents.id"), nullable=True),
    Column("pressed_at", UtcDateTime, nullable=True),  # the device's time of the press
    Column("received_at", UtcDateTime, nullable=False, index=True),
)

escalation_chains = Table(
    "hotline_chains",
    metadata,
    _id(),
    Column("incident_id", ForeignKey("incidents.id"), nullable=False, unique=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("definition", JSON, nullable=False),  # snapshot of the steps at start
    Column("context", JSON, nullable=False),  # who each step reaches, resolved at start
    Column("status", String(10), nullable=False),  # ChainStatus
    Column("next_at", UtcDateTime, nullable=True),
    Column("timer_seq", Integer, nullable=False, server_default="0"),
)

chain_events = Table(
    "hotline_chain_events",
    metadata,
    _id(),
    Column("chain_id", ForeignKey("hotline_chains.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # started, fired, ack, withdrawn, escalated, closed
    Column("at", UtcDateTime, nullable=False),
    Column("firing", String(64), nullable=True),
    Column("person", String(64), nullable=True),
    Column("data", JSON, nullable=False),
)

chain_overrides = Table(
    "hotline_chain_overrides",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=True, unique=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=True, unique=True),
    Column("steps", JSON, nullable=True),  # a whole definition (station) or replacement steps
    Column("delays", JSON, nullable=False),  # {step_key: seconds}
    Column("disabled", JSON, nullable=False),  # [step_key]
    Column("updated_at", UtcDateTime, nullable=False),
)

alerts = Table(
    "hotline_alerts",
    metadata,
    _id(),
    Column("chain_id", ForeignKey("hotline_chains.id"), nullable=True, index=True),
    Column("incident_id", ForeignKey("incidents.id"), nullable=True, index=True),
    Column("firing", String(64), nullable=False),
    Column("person", String(64), nullable=False),  # neighbour:0, family:1, head:0 ...
    Column("name", String(50), nullable=False, server_default=""),
    Column("phone", String(20), nullable=True),
    Column("openid", String(64), nullable=True),
    Column("user_id", ForeignKey("users.id"), nullable=True),
    Column("channels", JSON, nullable=False),
    # What it says, as a text key and parameters (server.hotline.out.alert_text renders it).
    Column("text_key", String(40), nullable=False),
    Column("text_params", JSON, nullable=False),
    Column("status", String(10), nullable=False),  # AlertStatus
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    # The answer through the SMS link (accept / decline): given once, never changed there.
    Column("answer", String(10), nullable=True),
    Column("answered_at", UtcDateTime, nullable=True),
)
Index("uq_hotline_alerts_chain_firing", alerts.c.chain_id, alerts.c.firing, unique=True)

alert_attempts = Table(
    "hotline_alert_attempts",
    metadata,
    _id(),
    Column("alert_id", ForeignKey("hotline_alerts.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("send_id", String(64), nullable=True, unique=True),
    Column("error", String(200), nullable=True),
)
Index("uq_hotline_attempts_number", alert_attempts.c.alert_id, alert_attempts.c.number, unique=True)

receipts = Table(
    "hotline_receipts",
    metadata,
    _id(),
    Column("send_id", String(64), nullable=False, index=True),
    Column("status", String(12), nullable=False),  # ReceiptStatus as reported: never updated
    Column("digits", String(8), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

devices = Table(
    "hotline_devices",
    metadata,
    _id(),
    Column("device_id", String(64), nullable=False, unique=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False, index=True),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("model", String(40), nullable=False, server_default="button"),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("last_heartbeat_at", UtcDateTime, nullable=True),
    Column("battery_pct", Integer, nullable=True),
    Column("active", Boolean, nullable=False, server_default="1"),
)

satisfaction = Table(
    "hotline_satisfaction",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False),
    Column("provider_id", ForeignKey("caregivers.id"), nullable=True),
    # the caregiver's employer (服务组织) when this was given: it stays that provider's if she
    # moves (None: no caregiver named, or a row from before employers were kept)
    Column("employer_id", ForeignKey("providers.id"), nullable=True),
    Column("incident_id", ForeignKey("incidents.id"), nullable=True),
    Column("task_id", ForeignKey("tasks.id"), nullable=True),
    Column("answer", String(24), nullable=False),
    Column("channel", String(10), nullable=False),  # app, phone, visit
    Column("comment", Text, nullable=False, server_default=""),
    Column("recorded_by", ForeignKey("users.id"), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

complaints = Table(
    "hotline_complaints",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("elder_id", ForeignKey("elders.id"), nullable=False),
    Column("provider_id", ForeignKey("caregivers.id"), nullable=True),
    # the caregiver's employer (服务组织) when this was given: it stays that provider's if she
    # moves (None: no caregiver named, or a row from before employers were kept)
    Column("employer_id", ForeignKey("providers.id"), nullable=True),
    Column("text", Text, nullable=False),
    Column("status", String(10), nullable=False),  # ComplaintStatus
    Column("owner_user_id", ForeignKey("users.id"), nullable=True),
    Column("deadline", UtcDateTime, nullable=False),
    Column("outcome", Text, nullable=True),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

roster = Table(
    "hotline_roster",
    metadata,
    _id(),
    Column("station_id", ForeignKey("stations.id"), nullable=False, index=True),
    Column("role", String(10), nullable=False),  # operator (night duty), head
    Column("name", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=True),
    Column("weekdays", JSON, nullable=False),  # [0..6], 0 = Monday
    Column("start", String(5), nullable=False),  # HH:MM Asia/Shanghai
    Column("end", String(5), nullable=False),
)

# Per-station hotline settings; a station without a row uses the defaults (flows/settings.py).
station_settings = Table(
    "hotline_station_settings",
    metadata,
    Column("station_id", ForeignKey("stations.id"), primary_key=True),
    Column("welfare_not_seen_hours", Integer, nullable=False),
    Column("repeat_press_window_min", Integer, nullable=False),
    # Another station's operator who forwards this station's elder's emergency may see the
    # elder's name and address (audited); off by default, the file stays with its station.
    Column("share_in_emergency", Boolean, nullable=False, server_default="0"),
    Column("updated_at", UtcDateTime, nullable=False),
)
