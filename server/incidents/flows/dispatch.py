"""The dispatcher's I/O edge: build a snapshot, ask dispatch/ for a ranking, and act on the
answer: an offer to the best caregiver, or an alarm. The snapshot and ranking are made
outside the write transaction, except on PostgreSQL with in-process travel times (see
``rank``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.emergency import (
    WHY_DECLINED,
    Candidate,
    EmergencyRanking,
    EmergencyRequest,
    ask_again,
    in_time,
    offer_batch,
    rank_for_emergency,
)
from dispatch.geo import GeoPoint
from dispatch.greedy import rank_nearest
from dispatch.neighbours import with_neighbours
from schemas.incidents import CallType, OfferStatus
from schemas.incidents import IncidentStatus as S
from server.clock import as_utc
from server.incidents.flows.alarms import raise_alarm
from server.incidents.flows.offers import make_offer
from server.incidents.flows.snapshot import caregiver_states, lender_states, travel_model
from server.incidents.model import load
from server.incidents.tables import incidents, offers
from server.platform import Platform, Tx, schedule
from server.registry.tables import elders
from server.travel import does_io

RETRY_S = 30
REASK_AFTER_S = 300
REASK_ALONE_S = 90  # see _rank: asking again a sole caregiver who did not take the call


def ranking_json(r: EmergencyRanking) -> dict[str, Any]:
    """The ranking as stored on the incident: each reason as data only (``reason_code`` and
    ``reason_params``, rendered per reader by server/texts), each exclusion as its code."""
    return {
        "can_meet_target": r.can_meet_target,
        "target_s": r.target_s,
        "candidates": [_candidate_json(c) for c in r.candidates],
        "excluded": [
            {"caregiver_id": cid, "why": why.code, **why.params()} for cid, why in r.excluded
        ],
    }


def _candidate_json(c: Candidate) -> dict[str, Any]:
    return {
        "caregiver_id": c.caregiver_id,
        "name": c.name,
        "eta_s": c.eta_s,
        "travel_s": c.travel_s,
        "finish_s": c.finish_s,
        "meets_target": c.meets_target,
        **({"lent": True} if c.lent else {}),
        "reason_code": c.why.code,
        "reason_params": c.why.params(),
    }


async def _rank(platform: Platform, incident_id: int) -> EmergencyRanking | None:
    """Rank from a read snapshot, outside the write transaction: a road-time service may
    take a moment, and nothing should hold the store's write lock meanwhile. The snapshot's
    few short reads are a glance (on SQLite in place on the loop, one snapshot)."""

    async def read(conn: AsyncConnection) -> Callable[[], EmergencyRanking] | None:
        t = Tx(conn=conn, now=platform.clock.now())
        inc = await load(t, incident_id, lock=False)
        if inc.kind != CallType.EMERGENCY.value or inc.status != S.OPEN.value:
            return None
        return await _ranker(platform, t, inc)

    rank = await platform.store.glance(read)
    if rank is None:
        return None
    return await asyncio.to_thread(rank) if does_io(travel_model(platform)) else rank()


async def _ranker(platform: Platform, t: Tx, inc: Any) -> Callable[[], EmergencyRanking]:
    """Read what the ranking needs on ``t``; the ranking itself, to run where it may."""
    # Who said no (or did not answer) in the last few minutes is not asked again yet;
    # after that they are, since a caregiver's situation changes and the call still waits.
    recent = t.now - timedelta(seconds=REASK_AFTER_S)
    asked = (
        await t.conn.execute(
            select(offers.c.caregiver_id, offers.c.status, offers.c.decided_at).where(
                offers.c.incident_id == inc.id,
                (offers.c.decided_at.is_(None)) | (offers.c.decided_at > recent),
            )
        )
    ).all()
    states = await caregiver_states(t, inc.station_id, t.now)
    # The phone baseline calls round its own station only (docs/dispatch.md).
    greedy = platform.settings.dispatch_policy == "greedy"
    tried = frozenset(int(a.caregiver_id) for a in asked)
    held = _held(asked, as_utc(t.now))
    elapsed_s = int((as_utc(t.now) - as_utc(inc.opened_at)).total_seconds())
    s = platform.settings
    request = EmergencyRequest(incident_id=inc.id, location=GeoPoint(inc.lat, inc.lng))
    model = travel_model(platform)
    own: dict[frozenset[int], EmergencyRanking] = {}

    def own_without(exclude: frozenset[int]) -> EmergencyRanking:
        if exclude not in own:
            own[exclude] = rank_for_emergency(
                request, states, model, target_s=s.sla_s, plan_s=s.plan_eta_s, exclude=exclude
            )
        return own[exclude]

    # The neighbours' caregivers are read only when the own station cannot make the promise;
    # with a road-time service the ranking runs later in a thread, so they are read up front.
    needed = not greedy and (does_io(model) or not own_without(tried).can_meet_target)
    lenders = await lender_states(t, inc.station_id, t.now) if needed else []

    def rank_without(exclude: frozenset[int]) -> EmergencyRanking:
        if greedy:
            return rank_nearest(request, states, model, target_s=s.sla_s, exclude=exclude)
        mine = own_without(exclude)
        if mine.can_meet_target or not lenders:
            return mine  # the neighbours' travel times are asked for only when needed
        lent = rank_for_emergency(
            request, lenders, model, target_s=s.sla_s, plan_s=s.plan_eta_s, exclude=exclude
        )
        return with_neighbours(mine, lent)

    def rank() -> EmergencyRanking:
        first = rank_without(tried)
        if greedy or in_time(first, elapsed_s=elapsed_s):
            return first
        hold = held[0] if first.best is None else held[1]
        if hold == tried:
            return first  # nobody to ask again yet
        return ask_again(first, rank_without(hold), elapsed_s=elapsed_s)

    return rank


def _held(asked: Sequence[Any], now: datetime) -> tuple[frozenset[int], frozenset[int]]:
    """Who of those asked a moment ago may not be asked again yet, while nobody who can make
    the promise is left to ask: with nobody else at all, and beside a late runner-up.

    Whoever has the offer now is not asked twice. Whoever let it ring out (asleep on night
    call, phone in a pocket) or said no (in the middle of something) is asked again after
    REASK_ALONE_S, not after five minutes: her situation may have changed, and nobody else
    who can be there in time is coming. Beside a runner-up who is late, one who let it ring
    out is rung again at once, in the same batch (dispatch.emergency.ask_again): ringing
    again is what a station head would do, and the runner-up stays asked; one who said no is
    given her REASK_ALONE_S. The five-minute wait holds while someone can make the promise.
    """
    ring_again = now - timedelta(seconds=REASK_ALONE_S)
    pending = frozenset(int(a.caregiver_id) for a in asked if a.decided_at is None)
    recent = [a for a in asked if a.decided_at is not None and as_utc(a.decided_at) > ring_again]
    said_no = frozenset(
        int(a.caregiver_id) for a in recent if a.status != OfferStatus.EXPIRED.value
    )
    alone = pending | {int(a.caregiver_id) for a in recent}
    return alone, pending | said_no


async def dispatch_incident(platform: Platform, incident_id: int) -> None:
    """Offer an open emergency to the best caregiver; idempotent, safe to repeat."""
    ranking = await rank(platform, incident_id)
    if ranking is None:
        return
    async with platform.tx() as tx:
        await offer_by_ranking(platform, tx, incident_id, ranking)


# The ranking is read and made inside the offer's transaction (see ``rank``).
IN_TX: Final = "in_tx"
Ranked = EmergencyRanking | Literal["in_tx"] | None


async def rank(platform: Platform, incident_id: int) -> Ranked:
    """Before the offer's transaction: the ranking (None: nothing to dispatch), or ``IN_TX``
    on PostgreSQL with in-process travel times: there the snapshot is read on the offer's own
    connection after its row locks and the ranking made there, so an offer costs no read
    transaction of its own. Not with a road service (never asked under the store's locks),
    and not on SQLite, whose one writer would wait for the ranking: every press stalled
    behind it (docs/figures.md: intake fell from ~110 to ~20 presses/s in the burst)."""
    if platform.store.is_postgres and not does_io(travel_model(platform)):
        return IN_TX
    return await _rank(platform, incident_id)


async def offer_by_ranking(platform: Platform, tx: Tx, incident_id: int, ranking: Ranked) -> None:
    """Act on a ranking in the caller's transaction: the offer (and an alarm when nobody can
    come in time), or the alarm and a durable retry when nobody can come at all."""
    if ranking is None:
        return
    inc = await load(tx, incident_id)
    if inc.kind != CallType.EMERGENCY.value or inc.status != S.OPEN.value:
        return  # someone else moved it on meanwhile
    if not isinstance(ranking, EmergencyRanking):  # IN_TX: read and rank here
        ranking = (await _ranker(platform, tx, inc))()
    if ranking.best is None:
        await tx.conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(last_ranking=ranking_json(ranking))
        )
        await _nobody(tx, inc, ranking, await _elder_name(tx, inc))
        return
    best = ranking.best
    await _offer_batch(platform, tx, inc, ranking, best)
    if not ranking.can_meet_target:
        await raise_alarm(
            tx,
            inc.station_id,
            incident_id,
            "no_caregiver_in_time",
            {"name": await _elder_name(tx, inc), "minutes": best.eta_s // 60},
        )


async def _offer_batch(
    platform: Platform, tx: Tx, inc: Any, ranking: EmergencyRanking, best: Candidate
) -> None:
    """Offer the call to the first choice and, under production's policy, at the same time to
    the runners-up who could not wait a timeout for her answer (dispatch.emergency.offer_batch):
    the first to accept goes. The phone baseline (greedy) asks one person at a time."""
    s = platform.settings
    batch = (
        offer_batch(ranking, offer_timeout_s=s.offer_timeout_s)
        if s.dispatch_policy != "greedy"
        else (best,)
    )
    for i, c in enumerate(batch):
        if i:
            inc = await load(tx, inc.id)  # the offer moved it on (its version)
        await make_offer(
            platform,
            tx,
            inc,
            caregiver_id=c.caregiver_id,
            eta_s=c.eta_s,
            reason_code=c.why.code,
            reason_params=c.why.params(),
            actor=None,
            # the ranking is stored with the first move to offered: one update
            ranking=ranking_json(ranking) if i == 0 else None,
        )


async def _elder_name(tx: Tx, inc: Any) -> str | None:
    """Only an alarm names the elder; an offer reads the name with the address."""
    q = select(elders.c.name).where(elders.c.id == inc.elder_id)
    return (await tx.conn.execute(q)).scalar()


async def _nobody(tx: Tx, inc: Any, ranking: EmergencyRanking, elder_name: str | None) -> None:
    """No candidate at all: the operator is alarmed, and dispatch goes on looking while people
    act (a durable retry)."""
    tried = any(why == WHY_DECLINED for _, why in ranking.excluded)
    await raise_alarm(
        tx,
        inc.station_id,
        inc.id,
        "no_caregiver",
        {"name": elder_name, **({"variant": "tried"} if tried else {})},
    )
    await schedule(
        tx,
        "incident.retry",
        f"incident:{inc.id}:retry:{tx.now.timestamp():.0f}",
        tx.now + timedelta(seconds=RETRY_S),
        {"incident_id": inc.id},
    )
