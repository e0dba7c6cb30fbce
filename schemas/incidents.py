"""Help calls, offers, and the steps a caregiver reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from schemas.common import (
    I18nText,
    Location,
    Model,
    Point,
    Push,
    PushTime,
    StationPush,
    StepIn,
    StepMarks,
    TimelineEvent,
)


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


class OfferStatus(StrEnum):
    """An offer of an incident to one caregiver."""

    OFFERED = "offered"  # waiting for the caregiver's answer (a durable timeout runs)
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer in time
    WITHDRAWN = "withdrawn"  # the operator reassigned or closed the call


class AlarmStatus(StrEnum):
    """An operator alarm: raised, until someone takes it (``acknowledged_at``/``_by`` say
    who and when)."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"


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
    reason: str = Field(description="the dispatcher's reason, rendered in Chinese")
    reason_code: str | None = Field(
        default=None,
        description="the reason as data: idle, busy_can_break_off or busy_must_finish "
        "(null where the stored data does not read as a reason)",
    )
    reason_params: dict[str, Any] | None = Field(
        default=None,
        description="its parameters: mode, travel_min, busy_with, finish_min, first_aid",
    )
    lent: bool = Field(
        default=False,
        description="of a neighbouring station, asked because no caregiver of the call's "
        "own station could be on scene within the promise",
    )


class ElderContactOut(Model):
    """What the caregiver on the way needs to reach the elder; shown unmasked only to the
    caregiver assigned to an active incident (every read audited)."""

    phone: str | None
    landline: str | None = Field(default=None, description="the home's fixed line (座机)")
    contacts: list[dict[str, object]]
    neighbours: list[dict[str, object]]
    address: str
    access_notes: str
    key_holder: str
    care_level: str = ""
    health_notes: str = Field(default="", description="conditions, allergies")
    medicines: str = ""
    diet_notes: str = ""


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
    summary: str | None = Field(
        default=None, description="the caregiver's notes, once the call is resolved"
    )
    press_count: int
    pressed_at: datetime | None = Field(
        default=None, description="a press a device buffered: the device's time of the press"
    )
    late_s: int | None = Field(
        default=None, description="a press that arrived late: seconds after it was pressed"
    )
    status_text: str
    joined: bool = False
    candidates: list[CandidateOut] = Field(default_factory=list)
    timeline: list[TimelineEvent] | None = None
    elder_contact: ElderContactOut | None = Field(
        default=None,
        description="only for the assigned caregiver while accepted, en route or arrived",
    )


class IncidentQuery(Model):
    status: str | None = Field(
        default=None,
        pattern="^(active|open|offered|accepted|en_route|arrived|resolved|closed|all)$",
        description="active (the default) is open to arrived",
    )
    elder_id: int | None = None
    page: int = Field(default=1, ge=1, le=100000)
    page_size: int = Field(default=50, ge=1, le=200)


class IncidentPage(Model):
    items: list[IncidentOut]
    total: int
    page: int
    page_size: int


class OfferOut(Model):
    id: int
    incident_id: int
    caregiver_id: int
    status: OfferStatus
    offered_at: datetime
    expires_at: datetime
    eta_s: int
    nobody_else: bool = False  # asked again: nobody else can be there in time


class AcceptIn(StepIn):
    """Accepting an offer: an empty body, or the time it was accepted on the phone."""


class DeclineIn(StepIn):
    reason: str = Field(default="", max_length=200)


class EnRouteIn(StepIn):
    location: Location | None = None


class ArriveIn(StepIn):
    location: Location


class ResolveIn(StepIn):
    notes: str = Field(min_length=1, max_length=2000)
    outcome: str = Field(default="resolved", pattern="^(resolved|hospital|false_alarm|test_press)$")


class ArrivalOut(StepMarks):
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


class IncidentStepOut(StepMarks):
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
    status: AlarmStatus
    message: str  # Chinese, for clients that read one language
    message_i18n: I18nText
    raised_at: datetime
    acknowledged_at: datetime | None


# ----- pushed messages ----------------------------------------------------------------------
# One model per message type (``TYPE`` is its ``type`` on the wire), with the payload's field
# names as pages have always read them. Station-wide ones (``StationPush``) go to each of the
# station's operators; the others to one caregiver, or to the elder and bound family.


class RepeatOf(Model):
    """The test or accidental press a new press follows (server/incidents/flows/presses.py)."""

    incident_id: int
    resolution: str
    seconds_since_closed: int


class IncidentOpenedPush(StationPush):
    """A help call was opened (the console rings)."""

    TYPE: ClassVar[str] = "incident.opened"
    incident_id: int
    elder_id: int
    kind: CallType
    source: str
    elder_name: str
    title: str = Field(description="the kind of call, in Chinese")
    deadline_at: PushTime | None
    outside_circle: bool
    repeat_of: RepeatOf | None = None


class IncidentJoinedPush(StationPush):
    """The elder pressed again while the call was open (an emergency press upgrades it)."""

    TYPE: ClassVar[str] = "incident.joined"
    incident_id: int
    press_count: int
    upgraded: bool


class IncidentOfferedPush(StationPush):
    """The call was offered to a caregiver (by the dispatcher, or by hand)."""

    TYPE: ClassVar[str] = "incident.offered"
    incident_id: int
    offer_id: int
    caregiver_id: int
    caregiver_name: str
    eta_s: int
    manual: bool


class IncidentAcceptedPush(StationPush):
    TYPE: ClassVar[str] = "incident.accepted"
    incident_id: int
    caregiver_id: int
    caregiver_name: str | None
    eta_at: PushTime


class IncidentEnRoutePush(StationPush):
    TYPE: ClassVar[str] = "incident.en_route"
    incident_id: int


class IncidentArrivedPush(StationPush):
    """The caregiver counts as on scene (checked in nearby, or the operator confirmed)."""

    TYPE: ClassVar[str] = "incident.arrived"
    incident_id: int
    flagged: bool
    distance_m: float | None
    confirmed_by: int | None


class IncidentArrivalFlaggedPush(StationPush):
    """A check-in farther from the elder than the tolerance: it waits for confirmation."""

    TYPE: ClassVar[str] = "incident.arrival_flagged"
    incident_id: int
    distance_m: float
    tolerance_m: float


class IncidentResolvedPush(StationPush):
    TYPE: ClassVar[str] = "incident.resolved"
    incident_id: int


class IncidentClosedPush(StationPush):
    TYPE: ClassVar[str] = "incident.closed"
    incident_id: int
    resolution: str


class IncidentEtaPush(StationPush):
    """The caregiver on the way reported where they are: a new ETA."""

    TYPE: ClassVar[str] = "incident.eta"
    incident_id: int
    caregiver_id: int
    eta_at: PushTime
    lat: float
    lng: float


class OfferLapsedPush(StationPush):
    """An offer came to nothing: the call is offered again."""

    incident_id: int
    offer_id: int
    caregiver_id: int
    reason: str = Field(
        description="what the caregiver typed when declining; 无应答 / no answer in time"
    )


class OfferDeclinedPush(OfferLapsedPush):
    TYPE: ClassVar[str] = "offer.declined"


class OfferExpiredPush(OfferLapsedPush):
    TYPE: ClassVar[str] = "offer.expired"


class AlarmRaisedPush(StationPush):
    """An operator alarm (the console sounds it until someone acknowledges it)."""

    TYPE: ClassVar[str] = "alarm.raised"
    alarm_id: int
    incident_id: int | None
    kind: str
    params: dict[str, Any] = Field(description="the parameters of the alarm's text")
    sound: bool
    message: str = Field(description="the alarm in Chinese")
    message_i18n: I18nText


class AlarmAcknowledgedPush(StationPush):
    TYPE: ClassVar[str] = "alarm.acknowledged"
    alarm_id: int
    by: int | None = Field(description="the user who took it")
    person: str | None = Field(
        default=None, description="who took it, by phone or SMS link (the chain's person key)"
    )
    via: str | None = Field(default=None, description="how: a channel, when not the console")


class TaskOfferedPush(Push):
    """To the caregiver: an emergency is offered to you (answer before ``expires_at``)."""

    TYPE: ClassVar[str] = "task.offered"
    offer_id: int
    incident_id: int
    kind: CallType
    elder_name: str
    address: str
    access_notes: str
    lat: float
    lng: float
    eta_s: int
    expires_at: PushTime
    deadline_at: PushTime | None
    # asked again though she did not take it a moment ago: nobody else can be there in time
    nobody_else: bool = False


class TaskWithdrawnPush(Push):
    """To the caregiver: the offer (or the accepted call) was given to someone else."""

    TYPE: ClassVar[str] = "task.withdrawn"
    offer_id: int
    incident_id: int


class IncidentArrivalConfirmedPush(Push):
    """To the caregiver: the station confirmed the flagged check-in; go on to resolve."""

    TYPE: ClassVar[str] = "incident.arrival_confirmed"
    incident_id: int
    distance_m: float | None


class IncidentStatusPush(Push):
    """To the elder and bound family: where their help call is, in their own wording
    (``text`` in Chinese, ``text_i18n`` in both; filled in for each reader)."""

    TYPE: ClassVar[str] = "incident.status"
    incident_id: int
    status: IncidentStatus
    kind: str | None = Field(default=None, description="the call type, on the first status")
    caregiver_name: str | None = None
    eta_at: PushTime | None = None
    eta_minutes: int | None = None
    text: str = ""
    text_i18n: I18nText | None = None


class FamilyCallRequestedPush(Push):
    """To bound family: the elder asked to be called back (a family call)."""

    TYPE: ClassVar[str] = "family.call_requested"
    incident_id: int
    elder_name: str
    text: str = ""
    text_i18n: I18nText | None = None


PUSHES: tuple[type[Push], ...] = (
    IncidentOpenedPush,
    IncidentJoinedPush,
    IncidentOfferedPush,
    IncidentAcceptedPush,
    IncidentEnRoutePush,
    IncidentArrivedPush,
    IncidentArrivalFlaggedPush,
    IncidentResolvedPush,
    IncidentClosedPush,
    IncidentEtaPush,
    OfferDeclinedPush,
    OfferExpiredPush,
    AlarmRaisedPush,
    AlarmAcknowledgedPush,
    TaskOfferedPush,
    TaskWithdrawnPush,
    IncidentArrivalConfirmedPush,
    IncidentStatusPush,
    FamilyCallRequestedPush,
)
