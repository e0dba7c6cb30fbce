"""Request and response models of the capability-assessment API (老年人能力评估)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field, StrictInt

from schemas.common import Model

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class AssessmentStatus(StrEnum):
    """A ``draft`` until every item of the scale is answered and it is submitted; then
    ``scored`` (final: a correction is a new assessment)."""

    DRAFT = "draft"
    SCORED = "scored"


class AssessmentKind(StrEnum):
    INITIAL = "initial"
    YEARLY = "yearly"
    AFTER_HOSPITAL = "after_hospital"
    AFTER_FALL = "after_fall"
    REVIEW = "review"


class ReassessmentStatus(StrEnum):
    DUE = "due"
    DONE = "done"
    CANCELLED = "cancelled"


class ReassessReason(StrEnum):
    YEARLY = "yearly"
    HOSPITAL_STAY = "hospital_stay"
    FALL = "fall"


class AssessmentIn(Model):
    scale: str = Field(default="GB/T 42195-2022", max_length=60)  # an id, or id@version
    kind: AssessmentKind = AssessmentKind.INITIAL
    answers: dict[str, StrictInt] = Field(default_factory=dict, max_length=200)
    flags: list[str] = Field(default_factory=list, max_length=10)  # dementia, psychiatric, ...
    submit: bool = False
    notes: str = Field(default="", max_length=500)


class AssessmentPatch(Model):
    answers: dict[str, StrictInt] = Field(default_factory=dict, max_length=200)  # merged in
    flags: list[str] | None = Field(default=None, max_length=10)
    submit: bool = False
    notes: str | None = Field(default=None, max_length=500)


class PlanLineOut(Model):
    item_code: str
    per: str
    times: int


class AssessmentOut(Model):
    id: int
    elder_id: int
    scale: str
    kind: AssessmentKind
    status: AssessmentStatus
    answers: dict[str, int]
    flags: list[str]
    missing: list[str]
    sections: dict[str, int]
    total: int | None
    level: int | None
    level_name: str | None
    care_level: str | None
    raised_by: list[str]
    plan: list[PlanLineOut]
    plan_accepted: bool
    scored_at: datetime | None


class PlanRuleIn(Model):
    """One line of the plan as the operator accepts it: a weekly or monthly recurring rule."""

    item_code: str = Field(min_length=1, max_length=40)
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM)
    starts_on: date
    every_weeks: int = Field(default=1, ge=1, le=8)
    frequency: str = Field(default="weekly", pattern=r"^(weekly|monthly|quarterly)$")
    month_day: int | None = Field(default=None, ge=1, le=31)


class PlanAcceptIn(Model):
    rules: list[PlanRuleIn] = Field(min_length=1, max_length=20)


class PlanAcceptOut(Model):
    assessment_id: int
    rule_ids: list[int]


class TriggerIn(Model):
    """A hospital stay ended or the elder fell: re-assess soon."""

    reason: ReassessReason
    on: date


class ReassessmentOut(Model):
    id: int
    elder_id: int
    due_on: date
    reason: ReassessReason
    status: ReassessmentStatus
    task_id: int | None


class CapabilityChange(Model):
    assessment_id: int
    level: int
    care_level: str
    previous_level: int | None
    previous_care_level: str
    at: datetime


class CapabilityOut(Model):
    elder_id: int
    level: int | None
    care_level: str
    history: list[CapabilityChange]
    reassessments: list[ReassessmentOut]
