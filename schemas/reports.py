"""Request models of the period reports (KPIs by month or quarter per station, street and
district) and of the audit log's reader."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from schemas.common import Model

# A month ("2026-11") or a quarter ("2026Q4"), the labels the welfare ledger uses.
PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$|^\d{4}Q[1-4]$"


class ReportQuery(Model):
    """Which period, and which stations: one station, a street, a district, or everything the
    caller may read (an operator: their station; an officer: their street or district)."""

    period: str = Field(pattern=PERIOD)
    station_id: int | None = Field(default=None, gt=0)
    district: str | None = Field(default=None, min_length=1, max_length=50)
    street: str | None = Field(default=None, min_length=1, max_length=50)


class AuditQuery(Model):
    """A page of the audit log, newest first: ``before`` is the last id of the previous page."""

    on_from: date | None = Field(default=None, alias="from")
    on_to: date | None = Field(default=None, alias="to")
    action: str | None = Field(default=None, min_length=1, max_length=40)
    object_type: str | None = Field(default=None, min_length=1, max_length=30)
    actor_user_id: int | None = Field(default=None, gt=0)
    before: int | None = Field(default=None, gt=0)
    limit: int = Field(default=100, ge=1, le=500)
