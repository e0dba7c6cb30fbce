"""Who is on the red or black list on a day: read by the planner and the dispatcher before
they give anyone work, so this module imports only tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.providers import Grade, ListingStatus, ListKind, ListSubject, RatingStatus
from server.providers.rules import valid_certificate
from server.providers.tables import provider_listings, provider_ratings
from server.registry.tables import caregivers


def in_force(day: date) -> ColumnElement[bool]:
    pl = provider_listings.c
    return and_(
        pl.status == ListingStatus.ACTIVE.value,
        pl.starts_on <= day,
        or_(pl.ends_on.is_(None), pl.ends_on >= day),
    )


async def listed(
    conn: AsyncConnection, subject: ListSubject, kind: ListKind, day: date
) -> set[int]:
    """Ids of the providers (or caregivers) on the red (or black) list on ``day``."""
    pl = provider_listings.c
    rows = await conn.execute(
        select(pl.subject_id).where(
            pl.subject == subject.value, pl.kind == kind.value, in_force(day)
        )
    )
    return set(rows.scalars())


async def blocked_caregivers(conn: AsyncConnection, day: date) -> set[int]:
    """Caregivers who may take no new work on ``day``: black-listed themselves, or employed by a
    black-listed provider (the rule is ``blocked``; one read)."""
    c = caregivers.c
    rows = await conn.execute(select(c.id).where(blocked(c.id, c.provider_id, day)))
    return {int(i) for i in rows.scalars()}


def blocked(caregiver_id: Any, provider_id: Any, day: date) -> ColumnElement[bool]:
    """Whether a caregiver may take no new work on ``day``, as a condition on her id and
    provider columns (for a read that wants it on each row, such as the dispatcher's
    snapshot): true when black-listed, or employed by a black-listed provider; NULL (not
    true) where neither."""
    pl = provider_listings.c

    def black(subject: ListSubject) -> Any:
        return select(pl.subject_id).where(
            pl.subject == subject.value, pl.kind == ListKind.BLACK.value, in_force(day)
        )

    by_caregiver = caregiver_id.in_(black(ListSubject.CAREGIVER))
    return or_(by_caregiver, provider_id.in_(black(ListSubject.PROVIDER)))


def cert_skill(name: str) -> str:
    """A certificate as the planner's skill: an item that needs it requires this skill."""
    return f"cert:{name}"


def certificate_skills(certs: Any, day: date) -> frozenset[str]:
    """The caregiver's certificates valid on ``day``, as planner skills (持证上岗)."""
    names = {str(c.get("name")) for c in certs or () if isinstance(c, dict) and c.get("name")}
    return frozenset(cert_skill(n) for n in names if valid_certificate(certs, n, day))


# A 不合格 rating stops new bookings going to the provider: a task booked after the first signed
# 不合格 requires this planner skill, which every caregiver has except those of such providers.
NEW_WORK = "standing:new_work"


async def unqualified_since(conn: AsyncConnection) -> dict[int, datetime]:
    """Providers with a signed 不合格 rating, and when it was signed."""
    r = provider_ratings.c
    rows = await conn.execute(
        select(r.provider_id, r.signed_at).where(
            r.status == RatingStatus.SIGNED.value, r.grade == Grade.UNQUALIFIED.value
        )
    )
    found: dict[int, datetime] = {}
    for pid, at in rows.all():
        if at is not None and (pid not in found or at < found[pid]):
            found[pid] = at
    return found
