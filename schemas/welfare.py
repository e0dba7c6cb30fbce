"""Request and response models of the welfare API: eligibility, applications, records, closes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.common import Location, Model


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
    period: str = Field(pattern=r"^\d{4}(Q[1-4]|-(0[1-9]|1[0-2]))$")


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
