"""Rows of the providers domain as the API answers them, and the texts it speaks."""

from __future__ import annotations

from typing import Any, Final

from schemas.providers import (
    ContractOut,
    ContractStatus,
    Grade,
    HoldOut,
    HoldStatus,
    ListingOut,
    ListingStatus,
    ListKind,
    ListSubject,
    ProviderOut,
    RatingOut,
    RatingStatus,
    SubsidyStopOut,
    SubsidyStopStatus,
)
from server.registry.tables import caregivers, elders


def _dicts(raw: Any) -> list[dict[str, Any]]:
    return [dict(x) for x in raw or () if isinstance(x, dict)]


def provider(row: Any, *, red: bool, black: bool) -> ProviderOut:
    return ProviderOut(
        id=row.id,
        name=row.name,
        credit_code=row.credit_code,
        district=row.district,
        licence=dict(row.licence or {}),
        documents=_dicts(row.documents),
        contacts=_dicts(row.contacts),
        red_listed=red,
        black_listed=black,
        created_at=row.created_at,
    )


def contract(row: Any) -> ContractOut:
    return ContractOut(
        id=row.id,
        provider_id=row.provider_id,
        district=row.district,
        street=row.street,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        items=_dicts(row.items),
        status=ContractStatus(row.status),
        end_reason=row.end_reason,
    )


def listing(row: Any, name: str, replanned: list[int] | None = None) -> ListingOut:
    return ListingOut(
        id=row.id,
        subject=ListSubject(row.subject),
        subject_id=row.subject_id,
        subject_name=name,
        kind=ListKind(row.kind),
        district=row.district,
        reason=row.reason,
        evidence=[str(e) for e in row.evidence or ()],
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        status=ListingStatus(row.status),
        replanned_tasks=replanned or [],
    )


# the names the review page shows beside a held or signalled record (select them with it)
NAMES: Final = (elders.c.name.label("elder_name"), caregivers.c.name.label("caregiver_name"))


def held_record(r: Any) -> dict[str, Any]:
    """The visit behind a hold, as the review page shows it."""
    return {
        "elder_id": r.elder_id,
        "elder_name": getattr(r, "elder_name", None),
        "caregiver_id": r.caregiver_id,
        "caregiver_name": getattr(r, "caregiver_name", None),
        "item_name": r.item_name,
        "started_at": r.started_at.isoformat(),
        "ended_at": r.ended_at.isoformat(),
        "minutes": round((r.ended_at - r.started_at).total_seconds() / 60, 1),
        "price_fen": int(r.price_fen),
        "subsidy_fen": int(r.subsidy_fen),
        "proofs": [str(x) for x in r.proofs or ()],
        "review": r.review,
        "reversed": bool(r.reversed),
    }


def hold(row: Any, record: dict[str, Any] | None = None) -> HoldOut:
    return HoldOut(
        id=row.id,
        record_id=row.record_id,
        provider_id=row.provider_id,
        signal=row.signal,
        detail=row.detail,
        status=HoldStatus(row.status),
        paid_fen=int(row.paid_fen),
        recovered_fen=int(row.recovered_fen),
        note=row.note,
        record=record or {},
    )


def rating(row: Any, ending: list[int] | None = None) -> RatingOut:
    return RatingOut(
        id=row.id,
        provider_id=row.provider_id,
        year=row.year,
        status=RatingStatus(row.status),
        score=float(row.score),
        computed_grade=Grade(row.computed_grade),
        grade=Grade(row.grade),
        evidence=dict(row.evidence or {}),
        weights_version=row.weights_version,
        adjust_reason=row.adjust_reason,
        signed_by=row.signed_by,
        contracts_ending=ending or [],
    )


def subsidy_stop(row: Any) -> SubsidyStopOut:
    return SubsidyStopOut(
        id=row.id,
        elder_id=row.elder_id,
        district=row.district,
        starts_on=row.starts_on,
        reason=row.reason,
        hold_id=row.hold_id,
        status=SubsidyStopStatus(row.status),
    )
