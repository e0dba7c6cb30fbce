"""Fraud signals that wait for the officer rather than hold a record at once: a visit with no
arrival proof (neither a location fix in the fence nor a door code), and one printed door card
proving many visits with no location fix (a copied card). Each is listed with its evidence in
the district's review queue beside the holds; the officer holds the record from there
(``fraud.open_hold``) and decides. Records already held are not listed again (but still count
among their card's uses)."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select

from schemas.providers import SignalOut
from server.auth.principal import Principal
from server.platform import Platform
from server.providers import out
from server.providers.flows.common import officer_of
from server.providers.flows.money import span
from server.providers.rules import DOOR_CARD_DAYS, CardUse, card_reuse
from server.providers.tables import fraud_holds
from server.registry.tables import caregivers, elders
from server.welfare.fraud import Signal
from server.welfare.ledger import period_bounds
from server.welfare.proof import ProofKind
from server.welfare.tables import service_records
from server.welfare.workdays import business_date

DOOR_CARD_REUSE: Final = "fraud.door_code_reuse"
ARRIVAL: Final = {ProofKind.GEOFENCE.value, ProofKind.DOOR_CODE.value}


def _signal(r: Any, reuse: dict[int, int]) -> tuple[str, str] | None:
    """The signal a record raises (the card's reuse first: it is the stronger), or None."""
    if r.id in reuse:
        return (
            DOOR_CARD_REUSE,
            f"visits={reuse[r.id]} days={DOOR_CARD_DAYS} card=v{r.door_card_version}",
        )
    if not ARRIVAL & set(r.proofs or ()):
        confirmed = ProofKind.ELDER_CONFIRMED.value if r.elder_confirmed else "none"
        return Signal.NO_ARRIVAL_CHECK.value, f"proofs={confirmed}"
    return None


async def signals_of(
    plat: Platform, p: Principal, *, district: str, quarter: str
) -> list[SignalOut]:
    """The district's unheld records of the quarter that raise one of these signals."""
    start, end = span(*period_bounds(quarter))
    sr = service_records.c
    async with plat.store.read() as conn:
        await officer_of(conn, p, district)
        rows = (
            await conn.execute(
                select(service_records, *out.NAMES)
                .join(elders, elders.c.id == sr.elder_id)
                .outerjoin(caregivers, caregivers.c.id == sr.caregiver_id)
                .where(
                    sr.district == district,
                    sr.reversed.is_(False),
                    sr.started_at >= start,
                    sr.started_at < end,
                )
                .order_by(sr.started_at, sr.id)
            )
        ).all()
        held_here = (
            select(fraud_holds.c.record_id)
            .join(service_records, sr.id == fraud_holds.c.record_id)
            .where(sr.district == district, sr.started_at >= start, sr.started_at < end)
        )
        held = set((await conn.execute(held_here)).scalars())
    # a held visit still counts among its card's uses: the evidence is the card's
    uses = [
        CardUse(r.id, r.elder_id, int(r.door_card_version), business_date(r.started_at))
        for r in rows
        if r.door_card_version is not None and ProofKind.GEOFENCE.value not in (r.proofs or ())
    ]
    reuse = card_reuse(uses)
    found = []
    for r in rows:
        got = None if r.id in held else _signal(r, reuse)
        if got is not None:
            found.append(
                SignalOut(
                    record_id=r.id,
                    provider_id=r.provider_id,
                    signal=got[0],
                    detail=got[1],
                    record=out.held_record(r),
                )
            )
    return found
