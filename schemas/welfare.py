"""Request and response models of the welfare API: eligibility, applications, records, closes;
the statuses it exposes, the vocabulary of the rule sets it takes, and its pushed messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import ClassVar, Final, Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.common import Location, Model, Push, StationPush
from schemas.registry import CATEGORIES, Living

# ----- statuses -------------------------------------------------------------------------------


class ApplicationStatus(StrEnum):
    """Where a subsidy application is: at one of its three review steps (社区初审 → 街道复审 →
    区民政核准), or decided."""

    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"
    # 公示: between the street's pass and the district's step where the rule set says so
    PUBLIC_NOTICE = "public_notice"
    APPROVED = "approved"
    REFUSED = "refused"


class ApplicationAction(StrEnum):
    """What an application's history row records."""

    RECEIVED = "received"  # a step got the papers (its due day is on the row)
    PASSED = "passed"
    REFUSED = "refused"
    DOCUMENT = "document"
    OVERDUE = "overdue"
    DUE_RECOMPUTED = "due_recomputed"  # the year's official calendar moved the due day
    OBJECTION = "objection"  # an objection raised during the public notice (公示异议)
    NOTICE_ENDED = "notice_ended"  # the public notice ran its days without an objection


class ObjectionIn(Model):
    """An objection to an application raised during its public notice, as written down."""

    note: str = Field(min_length=1, max_length=500)


class RecordReview(StrEnum):
    """The station's review of a service record, the last step of the audit gate."""

    PENDING = "pending"
    PASSED = "passed"
    REJECTED = "rejected"


# ----- the vocabulary of the rule sets (data the district publishes, in its own words) ----------

# The registry's categories, and those only the welfare profile holds.
RULE_CATEGORIES: Final = frozenset(CATEGORIES) | {"低收入"}


class LivingWord(StrEnum):
    """A living situation as the rule sets name it (``living_any``)."""

    ALONE = "独居"
    EMPTY_NEST = "空巢"
    WITH_DISABLED_CHILD = "仅与残疾子女"
    WITH_FAMILY = "与家人同住"


# The registry's living codes → the words the rule sets use.
LIVING_WORDS: Final[Mapping[str, LivingWord]] = {
    Living.ALONE: LivingWord.ALONE,
    Living.EMPTY_NEST: LivingWord.EMPTY_NEST,
    Living.WITH_DISABLED_CHILD: LivingWord.WITH_DISABLED_CHILD,
    Living.WITH_FAMILY: LivingWord.WITH_FAMILY,
}


class WelfareProfileIn(Model):
    """Facts the rules need beyond the registry's file."""

    hukou: Literal["urban", "rural"] = "urban"
    hospital_certificate: bool = False
    monthly_pension_fen: int | None = Field(default=None, ge=0, le=100_000_000, strict=True)
    extra_categories: list[str] = Field(default_factory=list, max_length=10)


class EligibilityOut(Model):
    elder_id: int
    district: str
    ruleset_version: int | None
    funding_class: str
    funding: str
    monthly_quota_fen: int
    quota_account: str | None
    period: str | None
    quota_left_fen: int
    winning_rule: str | None
    matched_rules: list[str]
    pending_application: list[str]
    reasons: list[str]
    # 停发补贴: from this day every service is self-paid, until an officer lifts the stop.
    subsidy_stopped_since: date | None = None


class ApplicationIn(Model):
    rule_id: str = Field(min_length=1, max_length=60)
    note: str = Field(default="", max_length=1000)


class DecisionIn(Model):
    decision: Literal["pass", "refuse"]
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def refusal_needs_reason(self) -> DecisionIn:
        if self.decision == "refuse" and not self.reason.strip():
            raise ValueError("a refusal needs a written reason (书面说明理由)")
        return self


class ReviewIn(Model):
    decision: Literal["passed", "rejected"]
    note: str = Field(default="", max_length=500)


class ReverseIn(Model):
    reason: str = Field(min_length=2, max_length=500)


class CloseIn(Model):
    period: str = Field(pattern=r"^20\d{2}(Q[1-4]|-(0[1-9]|1[0-2]))$")  # 2000-2099


class StayIn(Model):
    admitted_at: AwareDatetime
    discharged_at: AwareDatetime | None = None
    hospital: str = Field(default="", max_length=100)


class CalendarIn(Model):
    """One year's official calendar from the State Council's notice (国务院办公厅关于…部分节假日
    安排的通知): the statutory days off that fall on weekdays, and the swapped weekend workdays."""

    holidays: list[date] = Field(min_length=1, max_length=60)
    workdays: list[date] = Field(default_factory=list, max_length=20)
    source: str = Field(default="", max_length=200)


class OfficerIn(Model):
    """A street office (街道办) or district civil-affairs (区民政) reviewer account."""

    username: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{2,63}$")
    display_name: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=10, max_length=200)
    role: Literal["street_officer", "district_officer"]
    district: str = Field(min_length=1, max_length=50)
    street: str | None = Field(default=None, min_length=1, max_length=50)

    @model_validator(mode="after")
    def street_for_street_officers(self) -> OfficerIn:
        if (self.role == "street_officer") != (self.street is not None):
            raise ValueError("a street officer has a street; a district officer has none")
        return self


class ServiceAddressIn(Model):
    """The elder's new service address (and, if known, its map point)."""

    address: str = Field(min_length=4, max_length=200)
    location: Location | None = None


# ----- answers ----------------------------------------------------------------------------------
# Instants go out as the store gives them (``datetime.isoformat()``, "+00:00"), so they are
# strings here; days are ISO dates.


class RulesetOut(Model):
    """A rule set version: stored (published through the API) or packaged (an example)."""

    district: str
    version: int
    effective_from: date
    source: Literal["stored", "packaged"]
    name: str | None = Field(default=None, exclude_if=lambda v: v is None)  # packaged only


class RulesetPublishedOut(Model):
    district: str
    version: int
    effective_from: date
    rules: int


class WelfareProfileOut(Model):
    """The welfare profile as stored."""

    elder_id: int
    hukou: Literal["urban", "rural"]
    hospital_certificate: bool
    monthly_pension_fen: int | None
    extra_categories: list[str]


class VisitCodeOut(Model):
    """Today's code on the elder's phone."""

    elder_id: int
    day: date
    code: str


class DoorCardOut(Model):
    """The fixed code printed on the elder's door card."""

    elder_id: int
    code: str
    version: int
    rotated_at: str


class RecordOut(Model):
    """A service record with the audit gate's verdict (``payable``, ``proofs``, ``reason``)."""

    id: int
    booking_id: int | None
    elder_id: int
    caregiver_id: int | None
    item_code: str
    item_name: str
    started_at: str
    ended_at: str
    price_fen: int
    subsidy_fen: int
    self_pay_fen: int
    review: RecordReview
    reversed: bool
    payable: bool
    proofs: list[str]
    reason: str | None


class EntryOut(Model):
    """One immutable ledger line (integer fen, signed)."""

    entry_id: str
    account: str
    kind: str
    amount_fen: int
    period: str
    at: str
    record_id: str | None
    reverses: str | None
    memo: str


class LedgerOut(Model):
    elder_id: int
    quota_left_fen: int
    balances: dict[str, int]
    entries: list[EntryOut]


class PeriodCloseOut(Model):
    """What closing one settlement period did to one quota account."""

    account: str
    period: str
    granted_fen: int
    used_fen: int
    expired_fen: int
    carried_fen: int
    next_advance_fen: int


class StayOut(Model):
    id: int


class ApplicationEventOut(Model):
    at: str
    step: ApplicationStatus
    action: ApplicationAction
    note: str
    actor_user_id: int | None
    due_on: date | None


class DocumentOut(Model):
    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str


class DocumentStoredOut(Model):
    id: int
    kind: str
    filename: str
    size: int
    sha256: str


class ApplicationOut(Model):
    """An application, its current step's deadline and its whole history."""

    id: int
    elder_id: int
    district: str
    rule_id: str
    status: ApplicationStatus
    step_received_on: date | None
    step_due_on: date | None
    provisional: bool
    overdue: bool
    refusal_reason: str | None
    events: list[ApplicationEventOut]
    documents: list[DocumentOut]


class OfficerOut(Model):
    user_id: int
    role: str
    username: str
    district: str
    street: str | None


class CalendarOut(Model):
    """One published version of a year's official calendar."""

    year: int
    version: int
    holidays: list[date]
    workdays: list[date]
    recomputed: list[int]  # applications whose due day moved


class CalendarYearOut(Model):
    year: int
    official: bool
    source: Literal["published", "package", "provisional"]


class ServiceAddressOut(Model):
    address: str
    since: date
    elder_id: int


class AddressHistoryOut(Model):
    elder_id: int
    history: list[ServiceAddressOut]


class FraudSignalOut(Model):
    signal: str
    record_ids: list[str]
    detail: str


class FraudSignalsOut(Model):
    quarter: str
    signals: list[FraudSignalOut]


# ----- pushed messages --------------------------------------------------------------------------


class ApplicationOverdue(StationPush):
    """To the station's operators: an application's step has passed its due day undecided."""

    TYPE: ClassVar[str] = "welfare.application_overdue"
    application_id: int
    step: ApplicationStatus
    due_on: date


# Every push this module defines (schemas/pushes.py lists them all).
PUSHES: tuple[type[Push], ...] = (ApplicationOverdue,)
