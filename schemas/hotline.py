"""Request and response models of the hotline API (pydantic v2, strict: unknown fields refused)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

from schemas.common import Model, Push, StationPush
from schemas.incidents import CallType


class StepKind(StrEnum):
    """What a step does; the kind says whom it reaches."""

    OPERATOR_ALARM = "operator_alarm"
    NEIGHBOUR_CALL = "neighbour_call"
    FAMILY_CALL = "family_call"
    ADVISE_120 = "advise_120"
    HEAD_ALARM = "head_alarm"
    DOCTOR_CALL = "doctor_call"


class Channel(StrEnum):
    """How a step reaches a person."""

    CONSOLE = "console"
    APP_PUSH = "app_push"
    WECHAT = "wechat"
    SMS = "sms"
    VOICE = "voice"


class Anchor(StrEnum):
    """What a step's delay counts from."""

    START = "start"
    PREVIOUS = "previous"


class PressOutcome(StrEnum):
    """What the operator found after calling back; every press keeps one."""

    REAL = "real"  # a real need, handled as an incident
    TEST = "test"  # the elder or an installer testing the device
    ACCIDENTAL = "accidental"
    SOCIAL = "social"  # the elder wanted to talk: a comfort call is booked, no alarm


class CallStatus(StrEnum):
    """Where a phone call is; it only moves forward."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class ChainStatus(StrEnum):
    """Where an escalation chain stands."""

    RUNNING = "running"
    PAUSED = "paused"  # someone has taken responsibility
    FINISHED = "finished"  # every step has fired
    CLOSED = "closed"  # the incident is over


class AlertStatus(StrEnum):
    """Whether an alert has reached its person."""

    SENDING = "sending"
    DELIVERED = "delivered"  # a receipt proves it arrived
    EXHAUSTED = "exhausted"  # every channel tried, none reached the person


class ComplaintStatus(StrEnum):
    """Where a complaint ticket is."""

    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Answer(StrEnum):
    """The three answers of a satisfaction survey."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


# Delays of a chain are seconds within a day: anything longer is a mistake, and a huge number
# would overflow the clock.
Seconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]
StepKey = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]


class CallToIncidentIn(Model):
    """The operator turns a call into an incident."""

    elder_id: int = Field(gt=0)
    call_type: CallType
    note: str = Field(default="", max_length=500)
    medical: bool = False


class ForwardEmergencyIn(Model):
    """An emergency for an elder of another station, found by the caller's number: opened at
    the elder's own station, whose operator and caregivers take it."""

    match: int = Field(ge=0, le=50, description="the elder's position in the call's matches")
    note: str = Field(default="", max_length=500)
    medical: bool = False


class ForwardedEmergency(Model):
    """Where the emergency went, so the operator can tell the caller (and 120)."""

    incident_id: int
    joined: bool
    station_id: int
    station_name: str
    station_phone: str
    shared: bool = Field(description="the elder's station shares name and address in emergencies")
    elder_name: str = ""
    address: str = ""


class NameSearchQuery(Model):
    """What the caller said, and what the operator knows besides."""

    q: str = Field(min_length=1, max_length=40)
    address: str | None = Field(default=None, max_length=60)
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    limit: int = Field(default=10, ge=1, le=50)
    station_id: int | None = Field(
        default=None, gt=0, description="admins: one station; operators: their own only"
    )


class ResponsibilityIn(Model):
    """Take responsibility or withdraw; operators name the person they speak for."""

    action: Literal["accept", "withdraw"]
    person: str | None = Field(default=None, max_length=64, pattern=r"^[a-z_]+:[0-9]+$")
    note: str = Field(default="", max_length=200)


class RespondIn(Model):
    """The answer behind an SMS link."""

    answer: Literal["accept", "decline"]


class EscalateIn(Model):
    """Skip the wait."""

    reason: str = Field(min_length=1, max_length=200)


class CareRecordIn(Model):
    """A disclosure of the care record to emergency services."""

    recipient: str = Field(default="120", min_length=1, max_length=40)
    reason: str = Field(default="紧急救护 / emergency care", max_length=200)


class Called120In(Model):
    """The operator called 120."""

    note: str = Field(default="", max_length=300)


class StepIn(Model):
    """One step of a chain given as data."""

    key: StepKey
    kind: StepKind
    delay_s: Seconds
    channels: list[Channel] = Field(min_length=1, max_length=5)
    anchor: Anchor = Anchor.START
    target_interval_s: Seconds = 0
    medical_only: bool = False

    def stored(self) -> dict[str, Any]:
        """As the chain stores it (server.hotline.flows.definitions.step_to_json): the fields are the stored keys."""
        return self.model_dump(mode="json")


class OverrideIn(Model):
    """The chain for a station or an elder: retime or drop steps of the chain it applies to
    (the default for a station, the station's for an elder), or give the steps themselves."""

    delays_s: dict[StepKey, Seconds] = Field(default_factory=dict, max_length=20)
    disabled: list[StepKey] = Field(default_factory=list, max_length=20)
    steps: list[StepIn] | None = Field(default=None, min_length=1, max_length=20)


class DeviceIn(Model):
    """Register a button or pendant to an elder."""

    device_id: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    elder_id: int = Field(gt=0)
    model: str = Field(default="button", max_length=40)


EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


DeviceId = Annotated[
    str,
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the device this is from; must be the one in the path (the signature "
        "covers the body, so bytes signed for one device cannot be posted for another)",
    ),
]


class HeartbeatIn(Model):
    """A device's periodic sign of life."""

    device_id: DeviceId
    battery_pct: int | None = Field(default=None, ge=0, le=100)
    event_id: EventId | None = Field(
        default=None, description="the gateway's id of this request; a repeat is ignored"
    )


MAX_BEATS_PER_REQUEST = 500


class HeartbeatsIn(Model):
    """Many devices' heartbeats in one signed request: a gateway forwards what it gathered
    since its last post, so the HTTP round trip is paid once per batch, not per device."""

    beats: list[HeartbeatIn] = Field(min_length=1, max_length=MAX_BEATS_PER_REQUEST)


class DevicePressIn(Model):
    """A press on the device (sent by the device gateway)."""

    device_id: DeviceId
    call_type: CallType = CallType.EMERGENCY
    event_id: EventId | None = Field(
        default=None,
        description="the gateway's id of this press; a re-delivery within "
        "ANXIN_IDEMPOTENCY_TTL_S (48 h) answers the same incident and changes nothing",
    )
    pressed_at: AwareDatetime | None = Field(
        default=None,
        description="the device's time of the press; a press buffered while the device had no "
        "network is accepted late with it and flagged, never refused as stale",
    )


class SampleIn(Model):
    """Draw the quarter's return-visit sample; the quarter's name is the seed."""

    quarter: str | None = Field(default=None, pattern=r"^[0-9]{4}Q[1-4]$")


class SatisfactionIn(Model):
    """One satisfaction answer (app or phone)."""

    elder_id: int = Field(gt=0)
    answer: Answer
    provider_id: int | None = Field(default=None, gt=0)
    incident_id: int | None = Field(default=None, gt=0)
    # the return-visit task the answer comes from (a sampled service's: the answer is about
    # that service and its caregiver, so it counts for her provider)
    task_id: int | None = Field(default=None, gt=0)
    channel: Literal["app", "phone", "visit"] = "phone"
    comment: str = Field(default="", max_length=500)


class ComplaintIn(Model):
    """A complaint ticket."""

    elder_id: int = Field(gt=0)
    text: str = Field(min_length=1, max_length=1000)
    provider_id: int | None = Field(default=None, gt=0)
    deadline_hours: int = Field(default=72, ge=1, le=24 * 30)


class ComplaintActionIn(Model):
    """Move a complaint ticket."""

    action: Literal["assign", "resolve", "reopen", "close"]
    owner_user_id: int | None = Field(default=None, gt=0)
    outcome: str | None = Field(default=None, max_length=1000)
    deadline_hours: int | None = Field(default=None, ge=1, le=24 * 30)


class DutySlotIn(Model):
    """One weekly roster slot (Asia/Shanghai); an end not after the start runs overnight."""

    role: Literal["operator", "head"]
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^1[3-9][0-9]{9}$")
    user_id: int | None = Field(default=None, gt=0)
    weekdays: list[int] = Field(min_length=1, max_length=7)
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class RosterIn(Model):
    """The station's whole roster, replaced at once."""

    slots: list[DutySlotIn] = Field(max_length=200)


class StationSettingsIn(Model):
    """A station's hotline settings (all of them; a missing field takes its default)."""

    welfare_not_seen_hours: int = Field(
        default=48, ge=1, le=24 * 30, description="an elder living alone unseen this long: a check"
    )
    repeat_press_window_min: int = Field(
        default=10,
        ge=0,
        le=60,
        description="a press this soon after a test/accidental closure is linked to it",
    )
    share_in_emergency: bool = Field(
        default=False,
        description=(
            "another station's operator who forwards an emergency of this station's elder sees "
            "the elder's name and address (audited); off: only that the call was forwarded"
        ),
    )


class CallBackIn(Model):
    """The operator called the elder back after a press: what they found.

    test / accidental / social close the incident (as test_press / accidental /
    handled_by_phone); real keeps it open.
    """

    outcome: PressOutcome
    reached: bool = Field(description="the elder (or someone with them) answered")
    called_at: AwareDatetime | None = Field(default=None, description="default: now")
    note: str = Field(default="", max_length=500)


# --- pushed messages ---------------------------------------------------------------------------
# Times inside pushes are ISO 8601 strings, as the console has always read them.


class CallerMatch(Model):
    """An elder a calling number belongs to, and who the caller is to them."""

    elder_id: int
    station_id: int
    name: str
    address: str
    relation: str  # 本人, 女儿, 邻居 ...
    caller_name: str
    living: str
    care_level: str
    elsewhere: bool = Field(
        default=False,
        description="registered at another station: the other fields are blank (elder_id 0)",
    )


class OpenIncidentBrief(Model):
    """An open incident of a matched elder, on the screen pop."""

    incident_id: int
    elder_id: int
    kind: str
    status: str
    opened_at: str


class RecentCall(Model):
    """An earlier call from the same number, on the screen pop."""

    call_id: str
    at: str
    status: CallStatus
    missed: bool
    incident_id: int | None


class CallRingingPush(StationPush):
    """The screen pop: the phone rings, and this is who may be calling."""

    TYPE: ClassVar[str] = "call.ringing"
    call_id: str
    caller: str
    known: bool
    matches: list[CallerMatch]
    open_incidents: list[OpenIncidentBrief]
    recent_calls: list[RecentCall]


class CallAnsweredPush(StationPush):
    """An operator picked up."""

    TYPE: ClassVar[str] = "call.answered"
    call_id: str
    agent: str | None


class CallEndedPush(StationPush):
    """The call ended; a missed one has become a call-back task. ``corrected`` (with
    ``task_cancelled``) comes when a late answered event shows it was not missed after all."""

    TYPE: ClassVar[str] = "call.ended"
    call_id: str
    missed: bool
    talk_seconds: int | None
    corrected: bool = False
    task_cancelled: bool = False


class EscalationStepPush(StationPush):
    """A step of the chain fired: whom it is calling, or that nobody is on file
    (``skipped``)."""

    TYPE: ClassVar[str] = "escalation.step"
    incident_id: int
    step: str
    skipped: bool = False
    person: str | None = None
    name: str | None = None
    relation: str | None = None
    alert_id: int | None = None
    text: str


class EscalationAcknowledgedPush(StationPush):
    """Someone took responsibility (the chain pauses), or the operator on duty acknowledged
    (the head is not called)."""

    TYPE: ClassVar[str] = "escalation.acknowledged"
    incident_id: int
    person: str
    name: str
    via: str
    text: str


class EscalationWithdrawnPush(StationPush):
    """The person who had taken responsibility cannot after all: the chain goes on."""

    TYPE: ClassVar[str] = "escalation.withdrawn"
    incident_id: int
    person: str
    name: str
    via: str
    text: str


class EscalationStatusPush(StationPush):
    """The chain's status changed."""

    TYPE: ClassVar[str] = "escalation.status"
    incident_id: int
    status: ChainStatus
    responsible: list[str]
    next_at: str | None


class EscalationAlertPush(Push):
    """An alert for the person themselves (family, neighbour, duty operator) in the app; the
    token answers it like the SMS link."""

    TYPE: ClassVar[str] = "escalation.alert"
    alert_id: int
    incident_id: int | None
    text: str
    respond_token: str


# Every push this module defines (schemas/pushes.py lists them all).
PUSHES: tuple[type[Push], ...] = (
    CallRingingPush,
    CallAnsweredPush,
    CallEndedPush,
    EscalationStepPush,
    EscalationAcknowledgedPush,
    EscalationWithdrawnPush,
    EscalationStatusPush,
    EscalationAlertPush,
)
