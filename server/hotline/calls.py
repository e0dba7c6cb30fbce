"""Phone calls in the store: the signed CTI webhook, the screen pop, the call record, turning a
call into an incident through the one intake path, and the name search for what callers say."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, or_, select, update

from hotline.cti import (
    CallEventType,
    CallState,
    CallStatus,
    WebhookRejected,
    apply_event,
    parse_event,
    refuse_replay,
    verify_signature,
)
from hotline.names import ElderRecord, NameIndex, normalize_phone
from schemas.incidents import CallType
from server.auth.tables import users
from server.clock import SHANGHAI
from server.errors import ApiError
from server.hotline.config import secrets_of
from server.hotline.tables import hotline_calls, webhook_nonces
from server.hotline.task_rows import insert_new, task_row
from server.incidents.intake import Intake, IntakeResult, open_or_join
from server.incidents.model import ACTIVE_STATES, timeline
from server.incidents.notify import to_operators
from server.incidents.tables import incidents
from server.platform import Platform, Tx
from server.registry.tables import elders, family_bindings, stations
from server.tasks.tables import tasks

RECENT_CALLS = 5


class StoreNonceCache:
    """The replay cache in the store, inside the webhook's transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def remember(self, key: str, *, expires_at: Any, now: Any) -> bool:
        """True when the key is new (and now remembered)."""
        conn = self.tx.conn
        await conn.execute(delete(webhook_nonces).where(webhook_nonces.c.expires_at <= now))
        seen = (
            await conn.execute(select(webhook_nonces.c.key).where(webhook_nonces.c.key == key))
        ).first()
        if seen is not None:
            return False
        await conn.execute(insert(webhook_nonces).values(key=key, expires_at=expires_at))
        return True


def _state_of(row: Any) -> CallState:
    return CallState(
        call_id=row.call_id,
        status=CallStatus(row.status),
        caller=row.caller,
        called=row.called,
        ringing_at=row.ringing_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        recording_url=row.recording_url,
        agent=row.agent,
        event_ids=frozenset(row.event_ids or ()),
    )


async def match_caller(tx: Tx, phone: str) -> list[dict[str, Any]]:
    """Elders this number belongs to: the elder's own phone, a contact, a neighbour, a bound family user."""
    number = normalize_phone(phone)
    if len(number) < 5:
        return []
    found: dict[int, dict[str, Any]] = {}
    pattern = f"%{number}%"
    rows = (
        await tx.conn.execute(
            select(elders)
            .where(
                elders.c.active.is_(True),
                or_(
                    elders.c.phone == number,
                    cast(elders.c.contacts, String).like(pattern),
                    cast(elders.c.neighbours, String).like(pattern),
                ),
            )
            .limit(20)
        )
    ).all()
    for e in rows:
        relation, who = "本人", e.name
        if e.phone != number:
            contact = next(
                (c for c in e.contacts or [] if normalize_phone(str(c.get("phone", ""))) == number),
                None,
            )
            neighbour = next(
                (
                    n
                    for n in e.neighbours or []
                    if normalize_phone(str(n.get("phone", ""))) == number
                ),
                None,
            )
            if contact is not None:
                relation, who = str(contact.get("relation", "家属")), str(contact.get("name", ""))
            elif neighbour is not None:
                relation, who = "邻居", str(neighbour.get("name", ""))
            else:
                continue
        found[e.id] = _match(e, relation, who)
    family = (
        await tx.conn.execute(
            select(
                elders, family_bindings.c.relation.label("binding_relation"), users.c.display_name
            )
            .join(family_bindings, family_bindings.c.elder_id == elders.c.id)
            .join(users, users.c.id == family_bindings.c.family_user_id)
            .where(users.c.phone == number, family_bindings.c.status == "confirmed")
        )
    ).all()
    for e in family:
        found.setdefault(e.id, _match(e, e.binding_relation, e.display_name))
    return list(found.values())


def _match(e: Any, relation: str, who: str) -> dict[str, Any]:
    return {
        "elder_id": e.id,
        "station_id": e.station_id,
        "name": e.name,
        "address": e.address,
        "relation": relation,
        "caller_name": who,
        "living": e.living,
        "care_level": e.care_level,
    }


async def _station_for(tx: Tx, called: str, matches: list[dict[str, Any]]) -> int | None:
    if called:
        sid = (
            await tx.conn.execute(
                select(stations.c.id).where(stations.c.phone == normalize_phone(called))
            )
        ).scalar()
        if sid is not None:
            return int(sid)
    return int(matches[0]["station_id"]) if matches else None


async def receive_cti(
    platform: Platform, *, body: bytes, timestamp: str | None, signature: str | None
) -> dict[str, Any]:
    """Verify, de-duplicate and apply one CTI event; pop the screen on ringing."""
    now = platform.clock.now()
    try:
        verify_signature(
            secrets=(secrets_of(platform).cti,),
            timestamp=timestamp,
            signature=signature,
            body=body,
            now=now,
        )
        event = parse_event(body)
    except WebhookRejected as exc:
        status = 422 if exc.code == "cti_bad_event" else 401
        raise ApiError(status, exc.code, exc.message) from None
    async with platform.tx() as tx:
        try:
            await refuse_replay(
                StoreNonceCache(tx), source="cti", event_id=event.event_id, now=tx.now
            )
        except WebhookRejected:
            # A provider retries what it thinks failed: answer 2xx, or it retries for ever.
            return {"call_id": event.call_id, "duplicate": True}
        row = (
            await tx.conn.execute(
                select(hotline_calls)
                .where(hotline_calls.c.call_id == event.call_id)
                .with_for_update()
            )
        ).first()
        before = _state_of(row) if row is not None else None
        state, changed = apply_event(before, event)
        if not changed:
            return {"call_id": event.call_id, "status": state.status.value, "duplicate": True}
        values: dict[str, Any] = {
            "status": state.status.value,
            "caller": state.caller,
            "called": state.called,
            "ringing_at": state.ringing_at,
            "answered_at": state.answered_at,
            "ended_at": state.ended_at,
            "recording_url": state.recording_url,
            "agent": state.agent,
            "event_ids": sorted(state.event_ids),
        }
        if row is None:
            matches = await match_caller(tx, state.caller) if state.caller else []
            station_id = await _station_for(tx, state.called, matches)
            elder_id = matches[0]["elder_id"] if len(matches) == 1 else None
            await tx.conn.execute(
                insert(hotline_calls).values(
                    call_id=state.call_id,
                    station_id=station_id,
                    elder_id=elder_id,
                    matches=matches,
                    created_at=tx.now,
                    **values,
                )
            )
        else:
            if not row.caller and state.caller:
                # The first event lacked the caller (ended before ringing): match now.
                matches = await match_caller(tx, state.caller)
                values.update(
                    matches=matches,
                    station_id=row.station_id or await _station_for(tx, state.called, matches),
                )
            await tx.conn.execute(
                update(hotline_calls)
                .where(hotline_calls.c.call_id == state.call_id)
                .values(**values)
            )
        call = (
            await tx.conn.execute(
                select(hotline_calls).where(hotline_calls.c.call_id == state.call_id)
            )
        ).one()
        first_ring = before is None or before.ringing_at is None
        if (
            event.type is CallEventType.RINGING
            and state.status is CallStatus.RINGING
            and first_ring
        ):
            # A ringing event with a new id for the same call (a PBX re-sending) pops once.
            await _screen_pop(tx, call)
        elif state.status is CallStatus.ENDED and (
            before is None or before.status is not CallStatus.ENDED
        ):
            await _call_ended(tx, call, state)
        elif before is not None and before.missed and not state.missed:
            await _missed_call_answered_after_all(tx, call, state)
        elif state.status is CallStatus.ANSWERED and call.station_id is not None:
            await to_operators(
                tx,
                call.station_id,
                "call.answered",
                {"call_id": call.call_id, "agent": state.agent},
            )
        return {"call_id": state.call_id, "status": state.status.value, "duplicate": False}


async def _screen_pop(tx: Tx, call: Any) -> None:
    """Everything the operator needs the moment the phone rings (unknown numbers pop too)."""
    matches = list(call.matches or [])
    elder_ids = [m["elder_id"] for m in matches]
    open_incidents = []
    if elder_ids:
        open_incidents = [
            {
                "incident_id": r.id,
                "elder_id": r.elder_id,
                "kind": r.kind,
                "status": r.status,
                "opened_at": r.opened_at.isoformat(),
            }
            for r in (
                await tx.conn.execute(
                    select(incidents).where(
                        incidents.c.elder_id.in_(elder_ids), incidents.c.status.in_(ACTIVE_STATES)
                    )
                )
            ).all()
        ]
    recent = [
        {
            "call_id": r.call_id,
            "at": (r.ringing_at or r.created_at).isoformat(),
            "status": r.status,
            "missed": r.answered_at is None and r.status == "ended",
            "incident_id": r.incident_id,
        }
        for r in (
            await tx.conn.execute(
                select(hotline_calls)
                .where(
                    hotline_calls.c.caller == call.caller, hotline_calls.c.call_id != call.call_id
                )
                .order_by(hotline_calls.c.created_at.desc(), hotline_calls.c.id.desc())
                .limit(RECENT_CALLS)
            )
        ).all()
    ]
    payload = {
        "call_id": call.call_id,
        "caller": call.caller,
        "known": bool(matches),
        "matches": matches,
        "open_incidents": open_incidents,
        "recent_calls": recent,
    }
    station_ids = {call.station_id} if call.station_id else {m["station_id"] for m in matches}
    for sid in station_ids:
        await to_operators(tx, sid, "call.ringing", payload)


async def _call_ended(tx: Tx, call: Any, state: CallState) -> None:
    if call.station_id is None:
        return
    await to_operators(
        tx,
        call.station_id,
        "call.ended",
        {"call_id": call.call_id, "missed": state.missed, "talk_seconds": state.talk_seconds},
    )
    if call.incident_id is not None:
        await timeline(
            tx,
            call.incident_id,
            "call_ended",
            None,
            call_id=call.call_id,
            talk_seconds=state.talk_seconds,
            recording_url=state.recording_url,
        )
    if state.missed:
        # A missed call is a call back, never silence: a task for the station.
        row = task_row(
            tx,
            station_id=call.station_id,
            elder_id=call.elder_id,
            kind="return_call",
            title=f"未接来电回拨 {call.caller} / call back a missed call",
            ref=f"missed_call:{call.call_id}",
            due=tx.now + timedelta(minutes=15),
            priority=3,
            duration_s=300,
        )
        await insert_new(tx, [row])


async def _missed_call_answered_after_all(tx: Tx, call: Any, state: CallState) -> None:
    """The answered event arrived after the ended one: the call was not missed after all.

    The call-back task was created at once (a real missed call is never lost waiting for a
    grace period); it is cancelled now if nobody has started on it, and the console is told.
    """
    if call.station_id is None:
        return
    cancelled = await tx.conn.execute(
        update(tasks)
        .where(
            tasks.c.source_ref == f"missed_call:{call.call_id}",
            tasks.c.status.in_(("open", "planned")),
        )
        .values(status="cancelled", notes="来电已接听（事件迟到）/ the call was answered after all")
    )
    await to_operators(
        tx,
        call.station_id,
        "call.ended",
        {
            "call_id": call.call_id,
            "missed": False,
            "talk_seconds": state.talk_seconds,
            "corrected": True,
            "task_cancelled": bool(cancelled.rowcount),
        },
    )


async def call_to_incident(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    call_id: str,
    elder_id: int,
    kind: CallType,
    note: str,
    medical: bool = False,
) -> IntakeResult:
    """The operator turns a call into an incident through the one intake path."""
    async with platform.tx() as tx:
        call = (
            await tx.conn.execute(
                select(hotline_calls).where(hotline_calls.c.call_id == call_id).with_for_update()
            )
        ).first()
        if call is None or (not is_admin and call.station_id not in (None, station_id)):
            raise ApiError(404, "call_not_found", "call not found")
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == elder_id))).first()
        if elder is None or (not is_admin and elder.station_id != station_id):
            raise ApiError(404, "elder_not_found", "elder not found")
        result = await open_or_join(
            platform,
            tx,
            Intake(
                elder_id=elder_id,
                kind=kind,
                source="phone",
                reporter_user_id=user_id,
                note=note,
                call_id=call_id,
            ),
        )
        await tx.conn.execute(
            update(hotline_calls)
            .where(hotline_calls.c.id == call.id)
            .values(
                incident_id=result.incident_id,
                elder_id=elder_id,
                station_id=call.station_id or elder.station_id,
            )
        )
        await timeline(
            tx,
            result.incident_id,
            "call_linked",
            user_id,
            call_id=call_id,
            caller=call.caller,
            recording_url=call.recording_url,
        )
        if medical:
            from server.hotline.chain import mark_medical

            await mark_medical(platform, tx, result.incident_id, user_id)
        return result


# --- name search -------------------------------------------------------------------------

INDEX_CACHE = "hotline.name_index"


async def station_index(platform: Platform, station_id: int | None) -> NameIndex:
    """The name index of a station's elders (all stations for None), rebuilt when they change."""
    async with platform.store.read() as conn:
        cond: Any = elders.c.active.is_(True)
        if station_id is not None:
            cond = cond & (elders.c.station_id == station_id)
        fingerprint = tuple(
            (
                await conn.execute(select(func.count(), func.max(elders.c.updated_at)).where(cond))
            ).one()
        )
        cache: dict[Any, tuple[Any, NameIndex]] = platform.extras.setdefault(INDEX_CACHE, {})
        hit = cache.get(station_id)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        rows = (
            await conn.execute(
                select(
                    elders.c.id,
                    elders.c.name,
                    elders.c.address,
                    elders.c.birth_date,
                    elders.c.station_id,
                    elders.c.phone,
                ).where(cond)
            )
        ).all()
    records = [
        ElderRecord(
            str(r.id), r.name, r.address, int(r.birth_date[:4]), str(r.station_id), r.phone or ""
        )
        for r in rows
    ]
    # Building is CPU work (about 0.1 s per 1,000 elders): keep it off the event loop.
    index = await asyncio.to_thread(NameIndex, records)
    cache[station_id] = (fingerprint, index)
    return index


def today_in_shanghai(platform: Platform) -> date:
    """The business date."""
    return platform.clock.now().astimezone(SHANGHAI).date()
