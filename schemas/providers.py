"""Service organisations (服务组织/服务商): providers, their contracts with streets, the red and
black lists, fraud holds and the annual rating, as the API speaks them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from schemas.common import Model


class ContractStatus(StrEnum):
    """A contract runs (``active``), may be told to end at its period's end (``ending``, after a
    不合格 rating), and ends."""

    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"


class ListKind(StrEnum):
    RED = "red"  # 红名单: preferred where the rules allow
    BLACK = "black"  # 黑名单: no new work, no new contracts, no pay for new work


class ListSubject(StrEnum):
    PROVIDER = "provider"
    CAREGIVER = "caregiver"


class ListingStatus(StrEnum):
    ACTIVE = "active"
    LIFTED = "lifted"


class HoldStatus(StrEnum):
    """A record under fraud review: held (not paid), then upheld (reversed and recovered) or
    dismissed (released to its ordinary review)."""

    HELD = "held"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class HoldDecision(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class SubsidyStopStatus(StrEnum):
    """An elder's subsidy stopped by an officer (a fraud decision) until it is lifted."""

    ACTIVE = "active"
    LIFTED = "lifted"


class Grade(StrEnum):
    EXCELLENT = "excellent"  # 优良
    QUALIFIED = "qualified"  # 合格
    UNQUALIFIED = "unqualified"  # 不合格


class RatingStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


class DocumentIn(Model):
    """A licence or qualification document: its kind, number and expiry."""

    kind: str = Field(min_length=1, max_length=40)
    number: str = Field(default="", max_length=60)
    expires: date


class ContactIn(Model):
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20)
    role: str = Field(default="", max_length=30)


class ProviderIn(Model):
    name: str = Field(min_length=1, max_length=100)
    credit_code: str = Field(min_length=1, max_length=30)
    district: str = Field(min_length=1, max_length=50)
    licence: DocumentIn
    documents: list[DocumentIn] = Field(default_factory=list, max_length=20)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)


class ProviderOut(Model):
    id: int
    name: str
    credit_code: str
    district: str
    licence: dict[str, Any]
    documents: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    red_listed: bool
    black_listed: bool
    created_at: datetime


class ContractItem(Model):
    item_code: str = Field(min_length=1, max_length=40)
    price_fen: int = Field(ge=0, le=10_000_000, strict=True)


class ContractIn(Model):
    provider_id: int
    district: str = Field(min_length=1, max_length=50)
    street: str = Field(min_length=1, max_length=50)
    starts_on: date
    ends_on: date
    items: list[ContractItem] = Field(min_length=1, max_length=60)


class ContractOut(Model):
    id: int
    provider_id: int
    district: str
    street: str
    starts_on: date
    ends_on: date
    items: list[dict[str, Any]]
    status: ContractStatus
    end_reason: str


class StreetProviderOut(Model):
    """A provider as a street sees it when contracting: red-listed first, black-listed marked."""

    provider_id: int
    name: str
    red_listed: bool
    black_listed: bool
    contracted: bool


class CaregiverProviderIn(Model):
    provider_id: int


class ListingIn(Model):
    subject: ListSubject
    subject_id: int
    kind: ListKind
    district: str = Field(min_length=1, max_length=50)
    reason: str = Field(min_length=1, max_length=500)
    evidence: list[str] = Field(min_length=1, max_length=20)
    starts_on: date
    ends_on: date | None = None


class ListingOut(Model):
    id: int
    subject: ListSubject
    subject_id: int
    subject_name: str
    kind: ListKind
    district: str
    reason: str
    evidence: list[str]
    starts_on: date
    ends_on: date | None
    status: ListingStatus
    replanned_tasks: list[int] = Field(default_factory=list)


class HoldIn(Model):
    """An officer puts a record on hold from a fraud signal's evidence."""

    record_id: int
    signal: str = Field(min_length=1, max_length=40)
    detail: str = Field(default="", max_length=300)


class HoldDecisionIn(Model):
    decision: HoldDecision
    note: str = Field(min_length=1, max_length=500)
    recover_fen: int | None = Field(default=None, ge=0, strict=True)


class HoldOut(Model):
    id: int
    record_id: int
    provider_id: int | None
    signal: str
    detail: str
    status: HoldStatus
    paid_fen: int
    recovered_fen: int
    note: str
    # the visit behind the hold (the review page): elder, caregiver, item, times, money, proofs
    record: dict[str, Any] = Field(default_factory=dict)


class SettlementOut(Model):
    """A provider's quarter: what its passed records earned, what fraud decisions took back."""

    provider_id: int
    quarter: str
    records: int
    held: int
    gross_fen: int
    recovered_fen: int
    net_fen: int
    satisfied: int
    satisfaction_answers: int
    complaints: int
    # the quarter's return-visit sample of its services (≥5 %, at least one): drawn, answered
    return_visits_sampled: int = 0
    return_visits_answered: int = 0


class RatingIn(Model):
    provider_id: int
    year: int = Field(ge=2000, le=2100)


class RatingSignIn(Model):
    grade: Grade | None = None  # None: the computed grade stands
    reason: str = Field(default="", max_length=500)


class RatingOut(Model):
    id: int
    provider_id: int
    year: int
    status: RatingStatus
    score: float
    computed_grade: Grade
    grade: Grade
    evidence: dict[str, Any]
    weights_version: int
    adjust_reason: str
    signed_by: int | None
    contracts_ending: list[int] = Field(default_factory=list)


class DistrictSettlementOut(Model):
    """Every provider of the district in one quarter, and the district's totals: what the
    district pays out, net of what fraud decisions recovered."""

    district: str
    quarter: str
    providers: list[SettlementOut]
    gross_fen: int
    recovered_fen: int
    net_fen: int


class ScopeOut(Model):
    """The districts (and their streets) the caller may open on the providers pages."""

    role: str
    districts: list[str]
    streets: dict[str, list[str]]
    today: date  # the business day by the server's clock (the pages' default quarter and year)


class ProviderCaregiverOut(Model):
    """A provider's caregiver with her certificates (each with ``valid`` today: 持证上岗)."""

    id: int
    name: str
    station_id: int
    certificates: list[dict[str, Any]]
    red_listed: bool
    black_listed: bool


class SignalOut(Model):
    """A fraud signal not yet held: the record, the signal and its evidence (``key=value``)."""

    record_id: int
    provider_id: int | None
    signal: str
    detail: str
    record: dict[str, Any]


class SubsidyStopIn(Model):
    """Stop an elder's subsidy from a day (today if none): her services are then all self-paid."""

    reason: str = Field(min_length=1, max_length=500)
    hold_id: int | None = Field(default=None, gt=0)  # the fraud case it was decided on
    starts_on: date | None = None


class SubsidyStopOut(Model):
    id: int
    elder_id: int
    district: str
    starts_on: date
    reason: str
    hold_id: int | None
    status: SubsidyStopStatus
