"""Help calls, offers, and the steps a caregiver reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from schemas.common import I18nText, Location, Model, Point, TimelineEvent


class CallType(StrEnum):
    EMERGENCY = "emergency"  # 急救
    HEALTH = "health"  # 健康咨询
    SERVICE = "service"  # 为老服务
    FAMILY = "family"  # 亲情


class IncidentStatus(StrEnum):
    OPEN = "open"  # waiting for a caregiver to be offered
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    RESOLVED = "resolved"
    CLOSED = "closed"  # non-emergency calls handled, false alarms


class HelpCallIn(Model):
    elder_id: int | None = Field(
        default=None, description="required for family members; elders call for themselves"
    )
    call_type: CallType
    location: Location | None = Field(
        default=None, description="where the caller is; the elder's home if absent"
    )
    note: str = Field(default="", max_length=500)


class OperatorIncidentIn(Model):
    elder_id: int
    call_type: CallType
    location: Location | None = None
    note: str = Field(default="", max_length=500)
    call_id: str | None = Field(default=None, max_length=64)


class CandidateOut(Model):
    caregiver_id: int
    name: str
    eta_s: int
    meets_target: bool
    reason: str = Field(description="the dispatcher's reason in Chinese, as stored")
    reason_code: str | None = Field(
        default=None,
        description="the reason as data: idle, busy_can_break_off or busy_must_finish "
        "(null for rankings stored before reasons were data)",
    )
    reason_params: dict[str, Any] | None = Field(
        default=None,
        description="its parameters: mode, travel_min, busy_with, finish_min, first_aid",
    )


class ElderContactOut(Model):
    """What the caregiver on the way needs to reach the elder; shown unmasked only to the
    caregiver assigned to an active incident (every read audited)."""

    phone: str | None
    contacts: list[dict[str, object]]
    neighbours: list[dict[str, object]]
    address: str
    access_notes: str
    key_holder: str


class IncidentOut(Model):
    id: int
    station_id: int
    elder_id: int
    elder_name: str
    kind: CallType
    status: IncidentStatus
    source: str
    location: Point
    outside_circle: bool
    opened_at: datetime
    deadline_at: datetime | None
    caregiver_id: int | None
    caregiver_name: str | None
    eta_at: datetime | None
    eta_minutes: int | None
    accepted_at: datetime | None
    arrived_at: datetime | None
    arrival_flagged: bool
    arrival_distance_m: float | None = Field(
        default=None, description="how far from the elder the caregiver checked in (metres)"
    )
    resolved_at: datetime | None
    resolution: str | None
    press_count: int
    status_text: str
    joined: bool = False
    candidates: list[CandidateOut] = Field(default_factory=list)
    timeline: list[TimelineEvent] | None = None
    elder_contact: ElderContactOut | None = Field(
        default=None,
        description="only for the assigned caregiver while accepted, en route or arrived",
    )


class IncidentPage(Model):
    items: list[IncidentOut]
    total: int
    page: int
    page_size: int


class OfferOut(Model):
    id: int
    incident_id: int
    caregiver_id: int
    status: str
    offered_at: datetime
    expires_at: datetime
    eta_s: int


class DeclineIn(Model):
    reason: str = Field(default="", max_length=200)


class EnRouteIn(Model):
    location: Location | None = None


class ArriveIn(Model):
    location: Location


class ResolveIn(Model):
    notes: str = Field(min_length=1, max_length=2000)
    outcome: str = Field(default="resolved", pattern="^(resolved|hospital|false_alarm|test_press)$")


class ArrivalOut(Model):
    incident_id: int
    distance_m: float
    flagged: bool = Field(description="farther than the tolerance from where the elder called")
    status: IncidentStatus
    needs_confirmation: bool = Field(
        description="a flagged check-in does not count as on scene "
        "until the operator confirms it or the caregiver "
        "checks in again nearby"
    )


class ConfirmArrivalIn(Model):
    note: str = Field(
        default="", max_length=500, description="how the operator checked, e.g. 电话确认"
    )


class AssignIn(Model):
    caregiver_id: int
    reason: str = Field(min_length=1, max_length=200)


class CloseIn(Model):
    resolution: str = Field(
        pattern="^(false_alarm|test_press|accidental|handled_by_phone|duplicate)$"
    )
    notes: str = Field(default="", max_length=2000)


class IncidentStepOut(Model):
    """The answer to a step the caller took on an incident."""

    status: str
    incident_id: int | None = None
    offer_id: int | None = None
    resolution: str | None = None


class AlarmAckOut(Model):
    alarm_id: int
    acknowledged: bool


class AlarmOut(Model):
    id: int
    station_id: int
    incident_id: int | None
    kind: str
    message: str  # Chinese, for clients that read one language
    message_i18n: I18nText
    raised_at: datetime
    acknowledged_at: datetime | None


class Envelope(Model):
    """Every message pushed on the WebSocket."""

    seq: int
    type: str
    at: datetime
    payload: dict[str, object]
