"""Offers: the dispatcher's (or the operator's) offer of a call to one caregiver, and what
becomes of it: accepted, declined, expired, or withdrawn when the call moves on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Row

from schemas.incidents import (
    IncidentAcceptedPush,
    IncidentOfferedPush,
    IncidentStatusPush,
    OfferDeclinedPush,
    OfferExpiredPush,
    OfferStatus,
    TaskOfferedPush,
    TaskWithdrawnPush,
)
from schemas.incidents import IncidentStatus as S
from server.auth.principal import Principal
from server.errors import ApiError
from server.incidents.flows.alarms import raise_alarm
from server.incidents.flows.plain_offer import NewOffer, plain_offer
from server.incidents.flows.snapshot import eta_from
from server.incidents.model import (
    ASSIGNABLE,
    COMING,
    PENDING_OFFERS,
    load,
    lock_offer,
    offer_transition,
    timeline,
    transition,
)
from server.incidents.notify import to_operators, to_watchers
from server.incidents.out import nobody_else
from server.incidents.tables import incidents, offers
from server.metrics import observe_press_to_offer
from server.platform import URGENT, Platform, Tx, cancel_timer, emit, queue_push, schedule
from server.providers.flows.listed import blocked_caregivers
from server.registry.tables import caregivers, elders
from server.texts import zh_en
from server.welfare.workdays import business_date

# The offer's common case in plain SQL (plain_offer.py); tests turn it off to compare the rows.
PLAIN = True
MANUAL = "manual"  # the reason code of an operator's assignment; its params: {"reason"}
NO_ANSWER = "no_answer"  # the reason an offer expired with


async def make_offer(
    platform: Platform,
    tx: Tx,
    inc: Any,
    *,
    caregiver_id: int,
    eta_s: int,
    reason_code: str,
    reason_params: dict[str, Any],
    actor: int | None,
    ranking: dict[str, Any] | None = None,
) -> int:
    """Offer the incident to one caregiver: offer row, timeout timer, timeline (with the
    reason as data), and the pushes to the caregiver, the station and the family; the
    dispatcher's ``ranking`` is stored on the incident with the same update."""
    expires = tx.now + timedelta(seconds=platform.settings.offer_timeout_s)
    manual = reason_code == MANUAL
    first = not manual and inc.status == S.OPEN.value  # the press → offer metric's first offer
    if PLAIN:
        asked = NewOffer(caregiver_id, eta_s, expires, reason_code, reason_params, actor,
                         ranking, manual)  # fmt: skip
        made = await plain_offer(tx, inc, asked)
        if made is not None:
            if first and not made[1]:
                observe_press_to_offer(platform, inc.kind, (tx.now - inc.opened_at).total_seconds())
            return made[0]
    if first and not await _offered_before(tx, inc.id):
        observe_press_to_offer(platform, inc.kind, (tx.now - inc.opened_at).total_seconds())
    oid = int(
        (
            await tx.conn.execute(
                insert(offers)
                .values(
                    incident_id=inc.id,
                    caregiver_id=caregiver_id,
                    status=OfferStatus.OFFERED.value,
                    offered_at=tx.now,
                    expires_at=expires,
                    eta_s=eta_s,
                    manual=manual,
                    reason_code=reason_code,
                    reason_params=reason_params,
                )
                .returning(offers.c.id)
            )
        ).scalar_one()
    )
    await transition(
        tx,
        inc,
        S.OFFERED,
        "offered",
        actor,
        values={"caregiver_id": None, **({"last_ranking": ranking} if ranking else {})},
        offer_id=oid,
        caregiver_id=caregiver_id,
        eta_s=eta_s,
        manual=manual,
        reason_code=reason_code,
        reason_params=reason_params,
    )
    await schedule(tx, "offer.expire", f"offer:{oid}:expire", expires, {"offer_id": oid})
    alone = nobody_else(reason_params)
    await _tell_offered(tx, inc, oid, caregiver_id, eta_s, expires, manual=manual, alone=alone)
    return oid


async def _offered_before(tx: Tx, incident_id: int) -> bool:
    found = await tx.conn.execute(
        select(offers.c.id).where(offers.c.incident_id == incident_id).limit(1)
    )
    return found.first() is not None


async def _tell_offered(
    tx: Tx,
    inc: Any,
    oid: int,
    caregiver_id: int,
    eta_s: int,
    expires: Any,
    *,
    manual: bool,
    alone: bool = False,
) -> None:
    cg = (
        await tx.conn.execute(
            select(caregivers.c.user_id, caregivers.c.name, caregivers.c.station_id).where(
                caregivers.c.id == caregiver_id
            )
        )
    ).one()
    # A neighbour's caregiver (dispatch.neighbours) learns how to get in once the call is
    # hers (the elder's contact card): her pushes are replayed on any reconnect, long after
    # she said no to a station that is not hers.
    lent = cg.station_id != inc.station_id
    elder = (
        await tx.conn.execute(
            select(elders.c.name, elders.c.address, elders.c.access_notes).where(
                elders.c.id == inc.elder_id
            )
        )
    ).one()
    queue_push(
        tx,
        f"user:{cg.user_id}",
        TaskOfferedPush(
            offer_id=oid,
            incident_id=inc.id,
            kind=inc.kind,
            elder_name=elder.name,
            address=elder.address,
            access_notes="" if lent else elder.access_notes,
            lat=inc.lat,
            lng=inc.lng,
            eta_s=eta_s,
            expires_at=expires,
            deadline_at=inc.deadline_at,
            nobody_else=alone,
        ),
    )
    await to_operators(
        tx,
        IncidentOfferedPush(
            station_id=inc.station_id,
            incident_id=inc.id,
            offer_id=oid,
            caregiver_id=caregiver_id,
            caregiver_name=cg.name,
            eta_s=eta_s,
            manual=manual,
        ),
    )
    await to_watchers(tx, inc.elder_id, IncidentStatusPush(incident_id=inc.id, status=S.OFFERED))


async def _offer_for(tx: Tx, p: Principal, offer_id: int) -> tuple[Row[Any], Row[Any]]:
    """The caller's own offer, still waiting for their answer, and its incident (both
    locked, in the house order: elder, incident, offer)."""
    found = await lock_offer(tx, offer_id)
    if found is None or found[0].caregiver_id != p.caregiver_id:
        raise ApiError(404, "offer_not_found", "offer not found")
    row, inc = found
    if row.status != OfferStatus.OFFERED.value:
        raise ApiError(
            409, "offer_gone", f"this offer is already {row.status}", offer_status=row.status
        )
    return row, inc


async def accept(platform: Platform, p: Principal, offer_id: int) -> int:
    """The caregiver takes the call: the incident is theirs, the family and station told."""
    async with platform.tx() as tx:
        offer, inc = await _offer_for(tx, p, offer_id)
        if inc.status != S.OFFERED.value:
            raise ApiError(409, "offer_gone", "the incident has moved on")
        await offer_transition(tx, offer, OfferStatus.ACCEPTED)
        await withdraw_pending(tx, inc, only_offered=True)  # the other offers of the batch
        await cancel_timer(tx, f"incident:{inc.id}:ack_alarm")
        eta_at = tx.now + timedelta(seconds=offer.eta_s)
        await transition(
            tx,
            inc,
            S.ACCEPTED,
            "accepted",
            p.user_id,
            values={"caregiver_id": offer.caregiver_id, "accepted_at": tx.now, "eta_at": eta_at},
            caregiver_id=offer.caregiver_id,
            eta_s=offer.eta_s,
        )
        name = (
            await tx.conn.execute(
                select(caregivers.c.name).where(caregivers.c.id == offer.caregiver_id)
            )
        ).scalar()
        status = IncidentStatusPush(
            incident_id=inc.id,
            status=S.ACCEPTED,
            caregiver_name=name,
            eta_at=eta_at,
            eta_minutes=max(1, round(offer.eta_s / 60)),
        )
        await to_watchers(tx, inc.elder_id, status)
        await to_operators(
            tx,
            IncidentAcceptedPush(
                station_id=inc.station_id,
                incident_id=inc.id,
                caregiver_id=offer.caregiver_id,
                caregiver_name=name,
                eta_at=eta_at,
            ),
        )
        await emit(
            tx, "incident.accepted", {"incident_id": inc.id, "caregiver_id": offer.caregiver_id}
        )
        return int(inc.id)


async def decline(platform: Platform, p: Principal, offer_id: int, *, reason: str) -> None:
    """The caregiver cannot go (``reason`` is what they typed): the call is offered again."""
    async with platform.tx() as tx:
        offer, inc = await _offer_for(tx, p, offer_id)
        await offer_lapsed(tx, offer, inc, OfferStatus.DECLINED, p.user_id, reason=reason)


async def expire(tx: Tx, offer_id: int) -> None:
    """The offer's timer: no answer in time, the call is offered again."""
    found = await lock_offer(tx, offer_id)
    if found is not None and found[0].status == OfferStatus.OFFERED.value:
        await offer_lapsed(tx, found[0], found[1], OfferStatus.EXPIRED, None)


async def offer_lapsed(
    tx: Tx,
    offer: Row[Any],
    inc: Row[Any],
    status: OfferStatus,
    actor: int | None,
    *,
    reason: str = "",
) -> None:
    """A declined or expired offer (both locked, with the incident): the incident opens
    again and is dispatched anew."""
    await offer_transition(tx, offer, status)
    # A decline carries what the caregiver typed; an expiry, its reason as data.
    why: dict[str, Any] = {"reason": reason} if status is OfferStatus.DECLINED else {}
    if status is OfferStatus.EXPIRED:
        why = {"reason_code": NO_ANSWER, "reason_params": {}}
    if inc.status == S.OFFERED.value and await _still_offered(tx, inc.id):
        # another offer of the same batch still waits for its answer: the call stays offered
        await timeline(
            tx,
            inc.id,
            f"offer_{status.value}",
            actor,
            offer_id=offer.id,
            caregiver_id=offer.caregiver_id,
            **why,
        )
    elif inc.status == S.OFFERED.value:
        await transition(
            tx,
            inc,
            S.OPEN,
            f"offer_{status.value}",
            actor,
            offer_id=offer.id,
            caregiver_id=offer.caregiver_id,
            **why,
        )
        await emit(tx, "incident.redispatch", {"incident_id": inc.id}, priority=URGENT)
    lapsed = OfferDeclinedPush if status is OfferStatus.DECLINED else OfferExpiredPush
    await to_operators(
        tx,
        lapsed(
            station_id=inc.station_id,
            incident_id=inc.id,
            offer_id=offer.id,
            caregiver_id=offer.caregiver_id,
            reason=zh_en("offer.no_answer") if status is OfferStatus.EXPIRED else reason,
        ),
    )


async def _still_offered(tx: Tx, incident_id: int) -> bool:
    """Whether an offer of the incident still waits for its answer (a batch of offers)."""
    q = select(offers.c.id).where(
        offers.c.incident_id == incident_id, offers.c.status == OfferStatus.OFFERED.value
    )
    return (await tx.conn.execute(q.limit(1))).first() is not None


async def withdraw_pending(tx: Tx, inc: Any, *, only_offered: bool = False) -> None:
    """Withdraw the incident's open and accepted offers (the call is reassigned or closed),
    or with ``only_offered`` those still waiting for an answer (another caregiver of the
    batch accepted), telling each caregiver."""
    wanted = (OfferStatus.OFFERED.value,) if only_offered else PENDING_OFFERS
    pending = (
        await tx.conn.execute(
            select(offers, caregivers.c.user_id)
            .join(caregivers, caregivers.c.id == offers.c.caregiver_id)
            .where(offers.c.incident_id == inc.id, offers.c.status.in_(wanted))
            .order_by(offers.c.id)
        )
    ).all()
    for o in pending:
        await offer_transition(tx, o, OfferStatus.WITHDRAWN)
        queue_push(tx, f"user:{o.user_id}", TaskWithdrawnPush(offer_id=o.id, incident_id=inc.id))


async def assign(
    platform: Platform, p: Principal, incident_id: int, *, caregiver_id: int, reason: str
) -> int:
    """The operator's choice goes through the same offer path as the dispatcher's. The travel
    time is computed before the transaction: nothing waits on a road service holding locks."""
    async with platform.store.read() as conn:
        inc = await load(Tx(conn=conn, now=platform.clock.now()), incident_id, lock=False)
        cg = (await conn.execute(select(caregivers).where(caregivers.c.id == caregiver_id))).first()
        blocked = await blocked_caregivers(conn, business_date(platform.clock.now()))
    if p.role.value != "admin" and inc.station_id != p.station_id:
        raise ApiError(404, "incident_not_found", "incident not found")
    if cg is None or cg.station_id != inc.station_id or not cg.active:
        raise ApiError(422, "caregiver_not_available", "no such active caregiver at this station")
    if caregiver_id in blocked:
        message = zh_en("providers.problem.black_listed", name=cg.name)
        raise ApiError(409, "caregiver.black_listed", message, caregiver_id=caregiver_id)
    eta_s = await eta_from(platform, cg, inc)
    async with platform.tx() as tx:
        inc = await load(tx, incident_id)
        if inc.status not in ASSIGNABLE:
            raise ApiError(409, "incident_state_conflict", f"incident is {inc.status}")
        await withdraw_pending(tx, inc)
        inc = await load(tx, incident_id)
        return await make_offer(
            platform,
            tx,
            inc,
            caregiver_id=caregiver_id,
            eta_s=eta_s,
            reason_code=MANUAL,
            reason_params={"reason": reason},
            actor=p.user_id,
        )


async def release_caregiver(platform: Platform, payload: dict[str, Any]) -> None:
    """A deactivated caregiver's calls go back: offers waiting for her answer are withdrawn
    and the call offered again; calls she accepted (not yet on scene) open again, are
    dispatched anew and the operator gets an alarm; one she is on scene for keeps her, with
    an alarm so the operator can check on it."""
    cid = int(payload["caregiver_id"])
    async with platform.tx() as tx:
        theirs = select(incidents.c.id).where(
            incidents.c.caregiver_id == cid,
            incidents.c.status.in_((S.ACCEPTED.value, S.EN_ROUTE.value, S.ARRIVED.value)),
        )
        offered = select(offers.c.incident_id).where(
            offers.c.caregiver_id == cid, offers.c.status.in_(PENDING_OFFERS)
        )
        ids = sorted(
            {int(i) for i in (await tx.conn.execute(theirs)).scalars()}
            | {int(i) for i in (await tx.conn.execute(offered)).scalars()}
        )
        name = (
            await tx.conn.execute(select(caregivers.c.name).where(caregivers.c.id == cid))
        ).scalar()
        for iid in ids:
            inc = await load(tx, iid)  # elder, then incident
            pending = (
                await tx.conn.execute(
                    select(offers)
                    .where(
                        offers.c.incident_id == iid,
                        offers.c.caregiver_id == cid,
                        offers.c.status.in_(PENDING_OFFERS),
                    )
                    .order_by(offers.c.id)
                    .with_for_update()
                )
            ).all()
            for o in pending:
                await offer_transition(tx, o, OfferStatus.WITHDRAWN)
            hers = inc.caregiver_id == cid and inc.status != S.OFFERED.value
            if inc.status == S.ARRIVED.value:
                await raise_alarm(
                    tx, inc.station_id, iid, "caregiver_deactivated", {"caregiver": name or ""}
                )
                continue
            batch_waits = inc.status == S.OFFERED.value and await _still_offered(tx, iid)
            if not batch_waits and inc.status in COMING + (S.OFFERED.value,):
                await transition(
                    tx,
                    inc,
                    S.OPEN,
                    "caregiver_deactivated",
                    None,
                    caregiver_id=cid,
                )
                await emit(tx, "incident.redispatch", {"incident_id": iid}, priority=URGENT)
            if hers:
                await raise_alarm(
                    tx, inc.station_id, iid, "caregiver_deactivated", {"caregiver": name or ""}
                )
