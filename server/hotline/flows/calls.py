"""Phone calls: the signed CTI webhook, the screen pop, the call record, and a call turned into
an incident through the one intake path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from sqlalchemy import String, cast, false, or_, select, update

from hotline.cti import (
    CallEvent,
    CallEventType,
    CallState,
    CallStatus,
    WebhookRejected,
    apply_event,
    parse_event,
    refuse_replay,
    verify_signature,
)
from hotline.names import normalize_phone
from schemas.hotline import (
    CallAnsweredPush,
    CallEndedPush,
    CallerMatch,
    CallRingingPush,
    OpenIncidentBrief,
    RecentCall,
)
from schemas.incidents import CallType
from server.auth.principal import Principal, Role
from server.auth.tables import users
from server.errors import ApiError
from server.hotline.config import secrets_of
from server.hotline.flows.common import StoreNonceCache, elder_in_scope
from server.hotline.flows.responsibility import mark_medical
from server.hotline.flows.tasks import insert_new, task_row
from server.hotline.model import TASK_NOT_STARTED, cancel_tasks, new_call, transition_call
from server.hotline.out import both, call_out, tell, zh
from server.hotline.tables import hotline_calls
from server.identity import mask_phone, same_line
from server.incidents.flows.intake import Intake, IntakeResult, open_or_join
from server.incidents.model import ACTIVE_STATES, timeline
from server.incidents.tables import incidents
from server.platform import Platform, Tx, audit
from server.registry.tables import elders, family_bindings, stations
from server.tasks.tables import tasks
from server.texts import Text

RECENT_CALLS: Final = 5
MISSED_CALL_BACK_WITHIN: Final = timedelta(minutes=15)


# --- who is calling -------------------------------------------------------------------------


async def match_caller(tx: Tx, phone: str) -> list[dict[str, Any]]:
    """Elders this number belongs to: the elder's own phone, a contact, a neighbour, a bound
    family user."""
    number = normalize_phone(phone)
    if len(number) < 5:
        return []
    found: dict[int, dict[str, Any]] = {}
    for e in await _elders_with_number(tx, number):
        said = _relation(e, number)
        if said is not None:
            found[e.id] = _match(e, *said)
    for e in await _bound_family_of(tx, number):
        found.setdefault(e.id, _match(e, e.binding_relation, e.display_name))
    return list(found.values())


async def _elders_with_number(tx: Tx, number: str) -> list[Any]:
    pattern = f"%{number}%"
    # A fixed line may be on file, or reported by the exchange, without its area code.
    line = elders.c.landline.like(f"%{number[-7:]}") if len(number) >= 7 else false()
    stmt = select(elders).where(
        elders.c.active.is_(True),
        or_(
            elders.c.phone == number,
            line,
            cast(elders.c.contacts, String).like(pattern),
            cast(elders.c.neighbours, String).like(pattern),
        ),
    )
    return list((await tx.conn.execute(stmt.limit(20))).all())


def _relation(e: Any, number: str) -> tuple[str, str] | None:
    """(who the caller is to the elder, the caller's name), or None when the number only
    looked like one of theirs."""
    if e.phone == number:
        return zh("hotline.relation.self"), e.name
    if e.landline and same_line(e.landline, number):
        return zh("hotline.relation.home_line"), ""
    for c in e.contacts or []:
        if normalize_phone(str(c.get("phone", ""))) == number:
            relation = c.get("relation", zh("hotline.relation.family"))
            return str(relation), str(c.get("name", ""))
    for n in e.neighbours or []:
        if normalize_phone(str(n.get("phone", ""))) == number:
            return zh("hotline.relation.neighbour"), str(n.get("name", ""))
    return None


async def _bound_family_of(tx: Tx, number: str) -> list[Any]:
    stmt = (
        select(elders, family_bindings.c.relation.label("binding_relation"), users.c.display_name)
        .join(family_bindings, family_bindings.c.elder_id == elders.c.id)
        .join(users, users.c.id == family_bindings.c.family_user_id)
        .where(users.c.phone == number, family_bindings.c.status == "confirmed")
    )
    return list((await tx.conn.execute(stmt)).all())


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
        number = normalize_phone(called)
        sid = (
            await tx.conn.execute(select(stations.c.id).where(stations.c.phone == number))
        ).scalar()
        if sid is not None:
            return int(sid)
    return int(matches[0]["station_id"]) if matches else None


# --- the webhook ----------------------------------------------------------------------------


def _verified(platform: Platform, body: bytes, timestamp: str | None, sig: str | None) -> CallEvent:
    """The event, when the PBX signed it freshly; 401 (422 for a malformed body) otherwise."""
    try:
        verify_signature(
            secrets=(secrets_of(platform).cti,),
            timestamp=timestamp,
            signature=sig,
            body=body,
            now=platform.clock.now(),
        )
        return parse_event(body)
    except WebhookRejected as exc:
        status = 422 if exc.code == "cti_bad_event" else 401
        raise ApiError(status, exc.code, exc.message) from None


async def receive_cti(
    platform: Platform, *, body: bytes, timestamp: str | None, signature: str | None
) -> dict[str, Any]:
    """Verify, de-duplicate and apply one CTI event; pop the screen on ringing."""
    event = _verified(platform, body, timestamp, signature)
    async with platform.tx() as tx:
        try:
            await refuse_replay(
                StoreNonceCache(tx), source="cti", event_id=event.event_id, now=tx.now
            )
        except WebhookRejected:
            # A provider retries what it thinks failed: answer 2xx, or it retries for ever.
            return {"call_id": event.call_id, "duplicate": True}
        stmt = select(hotline_calls).where(hotline_calls.c.call_id == event.call_id)
        row = (await tx.conn.execute(stmt.with_for_update())).first()
        before = _state_of(row) if row is not None else None
        state, changed = apply_event(before, event)
        if not changed:
            return {"call_id": event.call_id, "status": state.status.value, "duplicate": True}
        call = await _store(tx, row, state)
        await _tell(tx, event, before, state, call)
        return {"call_id": state.call_id, "status": state.status.value, "duplicate": False}


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


async def _store(tx: Tx, row: Any, state: CallState) -> Any:
    """Write the call as the events so far tell it; returns the stored row."""
    if row is None:
        matches = await match_caller(tx, state.caller) if state.caller else []
        station_id = await _station_for(tx, state.called, matches)
        elder_id = matches[0]["elder_id"] if len(matches) == 1 else None
        await new_call(tx, state, station_id=station_id, elder_id=elder_id, matches=matches)
    else:
        values: dict[str, Any] = {}
        if not row.caller and state.caller:
            # The first event lacked the caller (ended before ringing): match now.
            matches = await match_caller(tx, state.caller)
            station_id = row.station_id or await _station_for(tx, state.called, matches)
            values.update(matches=matches, station_id=station_id)
        await transition_call(tx, row, state, values)
    stmt = select(hotline_calls).where(hotline_calls.c.call_id == state.call_id)
    return (await tx.conn.execute(stmt)).one()


async def _tell(
    tx: Tx, event: CallEvent, before: CallState | None, state: CallState, call: Any
) -> None:
    """What the station hears of this event."""
    first_ring = before is None or before.ringing_at is None
    if event.type is CallEventType.RINGING and state.status is CallStatus.RINGING and first_ring:
        # A ringing event with a new id for the same call (a PBX re-sending) pops once.
        await _screen_pop(tx, call)
    elif state.status is CallStatus.ENDED and (
        before is None or before.status is not CallStatus.ENDED
    ):
        await _call_ended(tx, call, state)
    elif before is not None and before.missed and not state.missed:
        await _answered_after_all(tx, call, state)
    elif state.status is CallStatus.ANSWERED and call.station_id is not None:
        msg = CallAnsweredPush(station_id=call.station_id, call_id=call.call_id, agent=state.agent)
        await tell(tx, msg)


async def _screen_pop(tx: Tx, call: Any) -> None:
    """Everything the operator needs the moment the phone rings (unknown numbers pop too)."""
    matches = [CallerMatch.model_validate(m) for m in call.matches or []]
    opened = await _open_incidents(tx, [m.elder_id for m in matches])
    recent = await _recent_calls(tx, call)
    station_ids = {call.station_id} if call.station_id else {m.station_id for m in matches}
    for sid in station_ids:
        # Each station sees its own elders; another station's only as "registered at
        # another station" (no name, address or incident). The number is masked: the full
        # one is revealed on request, with an audit row (``reveal_caller``).
        own = {m.elder_id for m in matches if m.station_id == sid}
        msg = CallRingingPush(
            station_id=sid,
            call_id=call.call_id,
            caller=mask_phone(call.caller) or "",
            known=bool(matches),
            matches=[m if m.station_id == sid else _elsewhere(m) for m in matches],
            open_incidents=[i for i in opened if i.elder_id in own],
            recent_calls=recent,
        )
        await tell(tx, msg)


def _elsewhere(m: CallerMatch) -> CallerMatch:
    """Another station's elder on a screen pop: that there is one, nothing about them."""
    return CallerMatch(
        elder_id=0,
        station_id=0,
        name=zh("hotline.match.elsewhere"),
        address="",
        relation="",
        caller_name="",
        living="",
        care_level="",
        elsewhere=True,
    )


async def reveal_caller(
    platform: Platform, *, station_id: int | None, is_admin: bool, user_id: int, call_id: str
) -> str:
    """The caller's full number, for the call's own station (any for an admin), with an
    audit row; another station's call is 404 like a missing one."""
    async with platform.tx() as tx:
        row = (
            await tx.conn.execute(select(hotline_calls).where(hotline_calls.c.call_id == call_id))
        ).first()
        if row is None or (not is_admin and row.station_id != station_id):
            raise ApiError(404, "call_not_found", "call not found")
        await audit(
            tx, actor=user_id, action="reveal_caller", object_type="call", object_id=call_id
        )
        return str(row.caller or "")


async def _open_incidents(tx: Tx, elder_ids: list[int]) -> list[OpenIncidentBrief]:
    if not elder_ids:
        return []
    stmt = select(incidents).where(
        incidents.c.elder_id.in_(elder_ids), incidents.c.status.in_(ACTIVE_STATES)
    )
    return [
        OpenIncidentBrief(
            incident_id=r.id,
            elder_id=r.elder_id,
            kind=r.kind,
            status=r.status,
            opened_at=r.opened_at.isoformat(),
        )
        for r in (await tx.conn.execute(stmt)).all()
    ]


async def _recent_calls(tx: Tx, call: Any) -> list[RecentCall]:
    stmt = (
        select(hotline_calls)
        .where(hotline_calls.c.caller == call.caller, hotline_calls.c.call_id != call.call_id)
        .order_by(hotline_calls.c.created_at.desc(), hotline_calls.c.id.desc())
        .limit(RECENT_CALLS)
    )
    return [
        RecentCall(
            call_id=r.call_id,
            at=(r.ringing_at or r.created_at).isoformat(),
            status=r.status,
            missed=r.answered_at is None and r.status == CallStatus.ENDED,
            incident_id=r.incident_id,
        )
        for r in (await tx.conn.execute(stmt)).all()
    ]


async def _call_ended(tx: Tx, call: Any, state: CallState) -> None:
    if call.station_id is None:
        return
    msg = CallEndedPush(
        station_id=call.station_id,
        call_id=call.call_id,
        missed=state.missed,
        talk_seconds=state.talk_seconds,
    )
    await tell(tx, msg)
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
            title=both(Text("hotline.task.missed_call", {"caller": call.caller})),
            ref=f"missed_call:{call.call_id}",
            due=tx.now + MISSED_CALL_BACK_WITHIN,
            priority=3,
            duration_s=300,
        )
        await insert_new(tx, [row])


async def _answered_after_all(tx: Tx, call: Any, state: CallState) -> None:
    """The answered event arrived after the ended one: the call was not missed after all.

    The call-back task was created at once (a real missed call is never lost waiting for a
    grace period); it is cancelled now if nobody has started on it, and the console is told.
    """
    if call.station_id is None:
        return
    cancelled = await cancel_tasks(
        tx,
        tasks.c.source_ref == f"missed_call:{call.call_id}",
        tasks.c.status.in_(TASK_NOT_STARTED),
        notes=both(Text("hotline.task.answered_after_all")),
    )
    msg = CallEndedPush(
        station_id=call.station_id,
        call_id=call.call_id,
        missed=False,
        talk_seconds=state.talk_seconds,
        corrected=True,
        task_cancelled=bool(cancelled),
    )
    await tell(tx, msg)


# --- the operator's side --------------------------------------------------------------------


async def list_calls(platform: Platform, p: Principal) -> list[dict[str, Any]]:
    """The station's recent calls (every station's for an admin)."""
    stmt = select(hotline_calls).order_by(hotline_calls.c.created_at.desc()).limit(50)
    if p.role is not Role.ADMIN:
        stmt = stmt.where(hotline_calls.c.station_id == p.station_id)
    async with platform.store.read() as conn:
        return [call_out(r) for r in (await conn.execute(stmt)).all()]


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
        call = await own_call(tx, call_id, station_id, is_admin)
        elder = await elder_in_scope(tx, elder_id, station_id, is_admin)
        intake = Intake(
            elder_id=elder_id,
            kind=kind,
            source="phone",
            reporter_user_id=user_id,
            note=note,
            call_id=call_id,
        )
        result = await open_or_join(platform, tx, intake)
        await link_call(tx, call, result.incident_id, elder, user_id)
        if medical:
            await mark_medical(platform, tx, result.incident_id, user_id)
        return result


async def own_call(tx: Tx, call_id: str, station_id: int | None, is_admin: bool) -> Any:
    """The call, locked, if it rang at this operator's station or none (any for an admin),
    else 404 like a missing one."""
    stmt = select(hotline_calls).where(hotline_calls.c.call_id == call_id)
    call = (await tx.conn.execute(stmt.with_for_update())).first()
    if call is None or (not is_admin and call.station_id not in (None, station_id)):
        raise ApiError(404, "call_not_found", "call not found")
    return call


async def link_call(tx: Tx, call: Any, incident_id: int, elder: Any, user_id: int) -> None:
    """The call belongs to this incident and this elder now; the timeline says so."""
    await tx.conn.execute(
        update(hotline_calls)
        .where(hotline_calls.c.id == call.id)
        .values(
            incident_id=incident_id,
            elder_id=elder.id,
            station_id=call.station_id or elder.station_id,
        )
    )
    await timeline(
        tx,
        incident_id,
        "call_linked",
        user_id,
        call_id=call.call_id,
        caller=call.caller,
        recording_url=call.recording_url,
    )
