"""Hotline HTTP routes and the handlers the platform runs for outbox events and timers."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from hotline.channels import Receipt, ReceiptStatus, parse_receipt
from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, verify_signature
from hotline.followup import ComplaintAction
from hotline.names import NameQuery
from schemas.hotline import (
    CallBackIn,
    Called120In,
    CallToIncidentIn,
    CareRecordIn,
    ComplaintActionIn,
    ComplaintIn,
    DeviceIn,
    DevicePressIn,
    EscalateIn,
    HeartbeatIn,
    NameSearchQuery,
    OverrideIn,
    RespondIn,
    ResponsibilityIn,
    RosterIn,
    SampleIn,
    SatisfactionIn,
    StationSettingsIn,
)
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.hotline import alarms as alarm_followup
from server.hotline import calls, chain, delivery, respond_page, service
from server.hotline import settings as hotline_settings
from server.hotline.config import secrets_of
from server.hotline.tables import (
    alert_attempts,
    alerts,
    hotline_calls,
)
from server.http import caller, int_param, ok, parse, parse_query, platform, require
from server.incidents import presses
from server.incidents.model import timeline
from server.incidents.tables import incidents
from server.platform import Platform
from server.registry.guards import elder_for

PREFIX = "/api/v1/hotline"


def _scope(p: Principal) -> tuple[int | None, bool]:
    return p.station_id, p.role is Role.ADMIN


def _signed(request: web.Request, body: bytes, secret: bytes) -> None:
    try:
        verify_signature(
            secrets=(secret,),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
            now=platform(request).clock.now(),
        )
    except WebhookRejected as exc:
        raise ApiError(401, exc.code, exc.message) from None


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "body must be a JSON object")
    return data


# --- telephony -------------------------------------------------------------------------------


async def cti_event(request: web.Request) -> web.Response:
    """The CTI/PBX webhook: signed, fresh, never replayed."""
    body = await request.read()
    answer = await calls.receive_cti(
        platform(request),
        body=body,
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature=request.headers.get(SIGNATURE_HEADER),
    )
    return ok(answer)


async def list_calls(request: web.Request) -> web.Response:
    """The station's recent calls."""
    p = require(request, Role.OPERATOR)
    async with platform(request).store.read() as conn:
        stmt = select(hotline_calls).order_by(hotline_calls.c.created_at.desc()).limit(50)
        if p.role is not Role.ADMIN:
            stmt = stmt.where(hotline_calls.c.station_id == p.station_id)
        rows = (await conn.execute(stmt)).all()
    return ok([_call_out(r) for r in rows])


def _call_out(r: Any) -> dict[str, Any]:
    return {
        "call_id": r.call_id,
        "station_id": r.station_id,
        "caller": r.caller,
        "called": r.called,
        "status": r.status,
        "ringing_at": r.ringing_at,
        "answered_at": r.answered_at,
        "ended_at": r.ended_at,
        "recording_url": r.recording_url,
        "elder_id": r.elder_id,
        "matches": r.matches,
        "incident_id": r.incident_id,
        "missed": r.status == "ended" and r.answered_at is None,
    }


async def call_to_incident(request: web.Request) -> web.Response:
    """The operator turns a call into an incident through the one intake path."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, CallToIncidentIn)
    station_id, is_admin = _scope(p)
    result = await calls.call_to_incident(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        call_id=request.match_info["call_id"],
        elder_id=body.elder_id,
        kind=body.call_type,
        note=body.note,
        medical=body.medical,
    )
    return ok(
        {"incident_id": result.incident_id, "joined": result.joined}, 200 if result.joined else 201
    )


async def medical(request: web.Request) -> web.Response:
    """The operator judges the incident a medical emergency: advise 120 at once."""
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    inc = await _incident_for(pf, p, int_param(request, "incident_id"))
    async with pf.tx() as tx:
        await chain.mark_medical(pf, tx, inc.id, p.user_id)
    return ok({"incident_id": inc.id, "medical": True})


async def search_elders(request: web.Request) -> web.Response:
    """Find the elder by what the caller says (characters, pinyin, initials, homophones, typos)."""
    p = require(request, Role.OPERATOR)
    q = parse_query(request, NameSearchQuery)
    pf = platform(request)
    station_id = q.station_id if p.role is Role.ADMIN else p.station_id
    if p.role is not Role.ADMIN and q.station_id not in (None, p.station_id):
        raise ApiError(404, "station_not_found", "station not found")
    index = await calls.station_index(pf, station_id)
    try:
        query = NameQuery(
            q.q,
            address=q.address,
            min_age=q.min_age,
            max_age=q.max_age,
            today=calls.today_in_shanghai(pf),
            limit=q.limit,
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    return ok(
        [
            {
                "elder_id": int(m.elder.id),
                "name": m.elder.name,
                "address": m.elder.address,
                "birth_year": m.elder.birth_year,
                "score": m.score,
                "reason": m.reason,
            }
            for m in index.search(query)
        ]
    )


# --- the escalation chain --------------------------------------------------------------------


async def _incident_for(pf: Platform, p: Principal, incident_id: int) -> Any:
    async with pf.store.read() as conn:
        inc = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
        if inc is None:
            raise ApiError(404, "incident_not_found", "incident not found")
        if p.role is Role.OPERATOR and inc.station_id != p.station_id:
            raise ApiError(404, "incident_not_found", "incident not found")
        if p.role in (Role.FAMILY, Role.ELDER):
            await elder_for(conn, p, inc.elder_id)  # 404 for another family's elder
        return inc


async def get_chain(request: web.Request) -> web.Response:
    """The chain of an incident: status, next step, history, alerts and their delivery."""
    p = require(request, Role.OPERATOR)
    pf = platform(request)
    inc = await _incident_for(pf, p, int_param(request, "incident_id"))
    return ok(await chain.describe(pf, inc.id))


async def responsibility(request: web.Request) -> web.Response:
    """Take responsibility ("I'm on my way") or withdraw ("I cannot after all")."""
    p = require(request, Role.OPERATOR, Role.FAMILY)
    body = await parse(request, ResponsibilityIn)
    pf = platform(request)
    inc = await _incident_for(pf, p, int_param(request, "incident_id"))
    async with pf.tx() as tx:
        if p.role is Role.FAMILY:
            row = await chain.chain_of(tx, inc.id)
            people = row.context.get("people", {}) if row is not None else {}
            person = next(
                (k for k, v in people.items() if v.get("user_id") == p.user_id), f"user:{p.user_id}"
            )
        else:
            if body.person is None:
                raise ApiError(422, "person_required", "say whom you speak for", field="person")
            person = body.person
        via = "app" if p.role is Role.FAMILY else "operator"
        if body.action == "accept":
            done = await chain.acknowledge(pf, tx, inc.id, person, actor=p.user_id, via=via)
        else:
            done = await chain.withdraw(pf, tx, inc.id, person, actor=p.user_id, via=via)
        if not done:
            raise ApiError(
                409,
                "chain_not_changed",
                "no running chain, or this person had not taken responsibility",
            )
    return ok({"incident_id": inc.id, "person": person, "action": body.action})


async def escalate(request: web.Request) -> web.Response:
    """The operator skips the wait: the next step fires now."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, EscalateIn)
    pf = platform(request)
    inc = await _incident_for(pf, p, int_param(request, "incident_id"))
    async with pf.tx() as tx:
        await chain.escalate_now(pf, tx, inc.id, body.reason)
    return ok({"incident_id": inc.id, "escalated": True})


async def respond_link(request: web.Request) -> web.Response:
    """The neighbour's SMS link: accept or decline, no sign-in (the token is the proof).

    A phone's form posts `answer=...` and is sent back to the page (303, so a reload does not
    post again); an app or the IVR bridge may post JSON and gets JSON.
    """
    pf = platform(request)
    alert_id = delivery.alert_of_token(pf, request.match_info["token"])
    form = request.content_type == "application/x-www-form-urlencoded"
    if form:
        _same_site_only(request)
        if alert_id is None:
            return _page(respond_page.RespondPage(respond_page.PageState.INVALID), 404)
        answer = str((await request.post()).get("answer", ""))
        if answer not in ("accept", "decline"):
            raise ApiError(422, "validation_error", "answer must be accept or decline")
    else:
        if alert_id is None:
            raise ApiError(404, "link_not_found", "this link is not valid")
        answer = (await parse(request, RespondIn)).answer
    async with pf.tx() as tx:
        alert = (await tx.conn.execute(select(alerts).where(alerts.c.id == alert_id))).one()
        await _answer(pf, tx, alert, answer == "accept", via="sms_link")
    if form:
        raise web.HTTPSeeOther(location=f"{request.path}?answered={answer}")
    return ok({"alert_id": alert_id, "answer": answer})


def _same_site_only(request: web.Request) -> None:
    """Refuse a form posted from another site (the token alone would do; this is the belt).

    Browsers say where a post comes from in Sec-Fetch-Site; older ones only send Origin,
    which is compared with this host and with ANXIN_PUBLIC_URL (behind a proxy the Host the
    server sees is not the one on the phone).
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site == "cross-site":
            raise _cross_site()
        return
    origin = request.headers.get("Origin")
    if origin in (None, "null"):
        return
    public = os.environ.get("ANXIN_PUBLIC_URL", "")
    allowed = {request.host, urlsplit(public).netloc} - {""}
    if urlsplit(origin).netloc not in allowed:
        raise _cross_site()


def _cross_site() -> ApiError:
    return ApiError(403, "cross_site_post", "this form can only be sent from its own page")


def _page(page: respond_page.RespondPage, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=respond_page.render(page),
        content_type="text/html",
        charset="utf-8",
        headers=respond_page.PAGE_HEADERS,
    )


async def respond_link_page(request: web.Request) -> web.Response:
    """The page the SMS link opens: what happened and two large buttons. Opening it answers
    nothing (SMS apps and WeChat fetch links to preview them)."""
    pf = platform(request)
    alert_id = delivery.alert_of_token(pf, request.match_info["token"])
    if alert_id is None:
        return _page(respond_page.RespondPage(respond_page.PageState.INVALID), 404)
    async with pf.store.read() as conn:
        alert = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).one()
        state = respond_page.PageState.ASK
        over = False
        if alert.incident_id is not None:
            status = (
                await conn.execute(
                    select(incidents.c.status).where(incidents.c.id == alert.incident_id)
                )
            ).scalar()
            over = status in ("resolved", "closed")
        if alarm_followup.is_alarm_alert(alert):
            over = over or await alarm_followup.acknowledged(conn, alert)
        elif alert.chain_id is not None and alert.person in await chain.responsible_in(
            conn, int(alert.chain_id)
        ):
            state = respond_page.PageState.GOING
    if over:
        state = respond_page.PageState.OVER
    elif request.query.get("answered") == "decline" and state is respond_page.PageState.ASK:
        state = respond_page.PageState.DECLINED
    return _page(respond_page.RespondPage(state, text=alert.text, action=request.path))


async def _answer(pf: Platform, tx: Any, alert: Any, accept: bool, *, via: str) -> None:
    if alarm_followup.is_alarm_alert(alert):
        if accept:
            await alarm_followup.acknowledge_by_phone(tx, alert, via=via)
        return
    if alert.incident_id is None:
        return
    if accept:
        await chain.acknowledge(pf, tx, alert.incident_id, alert.person, actor=None, via=via)
    elif not await chain.withdraw(pf, tx, alert.incident_id, alert.person, actor=None, via=via):
        await timeline(
            tx,
            alert.incident_id,
            "responsibility_declined",
            None,
            person=alert.person,
            name=alert.name,
            via=via,
        )


async def provider_receipt(request: web.Request) -> web.Response:
    """Delivery receipts from the SMS/voice/WeChat provider (signed); IVR digits answer the alert."""
    body = await request.read()
    pf = platform(request)
    _signed(request, body, delivery.receipt_secret(pf))
    try:
        receipt = parse_receipt(_json(body), at=pf.clock.now())
    except ValueError as exc:
        raise ApiError(422, "bad_receipt", str(exc)) from None
    async with pf.tx() as tx:
        alert = await delivery.record_receipt(pf, tx, receipt)
        if (
            alert is not None
            and receipt.status is ReceiptStatus.PRESSED
            and receipt.digits in ("1", "2")
        ):
            await _answer(pf, tx, alert, receipt.digits == "1", via="ivr")
    return ok({"send_id": receipt.send_id, "known": alert is not None})


async def alert_seen(request: web.Request) -> web.Response:
    """The recipient's app confirms it showed an alert: the push receipt.

    Only the person the alert was for can confirm it: an operator tapping "seen" on a
    daughter's alert proves nothing about the daughter (403 at their own station, 404
    elsewhere, as for anything of another station).
    """
    p = caller(request)
    pf = platform(request)
    alert_id = int_param(request, "alert_id")
    async with pf.tx() as tx:
        alert = (await tx.conn.execute(select(alerts).where(alerts.c.id == alert_id))).first()
        if alert is None:
            raise ApiError(404, "alert_not_found", "alert not found")
        if alert.user_id is None or alert.user_id != p.user_id:
            station = await delivery.station_of(tx, alert)
            if p.role is Role.ADMIN or (p.role is Role.OPERATOR and station == p.station_id):
                raise ApiError(
                    403, "not_recipient", "only the person the alert was for can confirm it"
                )
            raise ApiError(404, "alert_not_found", "alert not found")
        send_ids = (
            (
                await tx.conn.execute(
                    select(alert_attempts.c.send_id).where(
                        alert_attempts.c.alert_id == alert_id,
                        alert_attempts.c.channel == "app_push",
                        alert_attempts.c.send_id.is_not(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        for sid in send_ids:
            await delivery.record_receipt(pf, tx, Receipt(sid, ReceiptStatus.READ, tx.now))
    return ok({"alert_id": alert_id, "seen": bool(send_ids)})


async def put_override(request: web.Request) -> web.Response:
    """Retime or drop steps of the chain for the operator's station or one elder."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, OverrideIn)
    elder_id = int_param(request, "elder_id") if "elder_id" in request.match_info else None
    out = await chain.set_override(
        platform(request),
        p,
        elder_id=elder_id,
        delays_s=body.delays_s,
        disabled=body.disabled,
        steps=[s.stored() for s in body.steps] if body.steps is not None else None,
    )
    return ok(out)


async def get_override(request: web.Request) -> web.Response:
    """The chain of the operator's station or of one elder: the override and its effect."""
    p = require(request, Role.OPERATOR)
    elder_id = int_param(request, "elder_id") if "elder_id" in request.match_info else None
    return ok(await chain.get_override(platform(request), p, elder_id=elder_id))


# --- 120, devices, follow-up -------------------------------------------------------------------


async def care_record(request: web.Request) -> web.Response:
    """The care record for 120, as short text; every disclosure is logged."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, CareRecordIn)
    station_id, is_admin = _scope(p)
    text = await service.disclose_care_record(
        platform(request),
        incident_id=int_param(request, "incident_id"),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        recipient=body.recipient,
        reason=body.reason,
    )
    return ok({"text": text, "recipient": body.recipient})


async def call_back(request: web.Request) -> web.Response:
    """Record the call-back after a press (who, when, what was found); a test or accidental
    press is closed with it."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, CallBackIn)
    out = await presses.record_call_back(
        platform(request),
        p,
        incident_id=int_param(request, "incident_id"),
        outcome=body.outcome,
        reached=body.reached,
        called_at=body.called_at,
        note=body.note,
    )
    return ok(out, 201)


async def called_120(request: web.Request) -> web.Response:
    """Record that the operator called 120."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, Called120In)
    station_id, is_admin = _scope(p)
    await service.record_called_120(
        platform(request),
        incident_id=int_param(request, "incident_id"),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        note=body.note,
    )
    return ok({"recorded": True})


async def register_device(request: web.Request) -> web.Response:
    """Register a one-button terminal or pendant to an elder."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, DeviceIn)
    station_id, is_admin = _scope(p)
    out = await service.register_device(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        device_id=body.device_id,
        elder_id=body.elder_id,
        model=body.model,
    )
    return ok(out, 201)


def _device_nonce(request: web.Request, event_id: str | None) -> str:
    """What makes a device request unique: the gateway's event id, else its signature (which
    covers the timestamp and the body, so only a byte-for-byte replay repeats it)."""
    return event_id or str(request.headers.get(SIGNATURE_HEADER, ""))


async def device_heartbeat(request: web.Request) -> web.Response:
    """A device's heartbeat, from the device gateway (signed with the device secret)."""
    body = await request.read()
    pf = platform(request)
    _signed(request, body, secrets_of(pf).device)
    data = HeartbeatIn.model_validate(_json(body))
    fresh = await service.heartbeat(
        pf,
        device_id=request.match_info["device_id"],
        battery_pct=data.battery_pct,
        nonce=_device_nonce(request, data.event_id),
    )
    return ok({"ok": True, "duplicate": not fresh})


async def device_press(request: web.Request) -> web.Response:
    """A press on a device, from the device gateway (signed): the one intake path.

    A replayed request (the same event id or the same signed bytes within the replay window)
    is answered 200 and changes nothing: gateways retry what they think failed.
    """
    body = await request.read()
    pf = platform(request)
    _signed(request, body, secrets_of(pf).device)
    data = DevicePressIn.model_validate(_json(body))
    result = await service.device_press(
        pf,
        device_id=request.match_info["device_id"],
        kind=data.call_type,
        nonce=_device_nonce(request, data.event_id),
    )
    if result is None:
        return ok({"duplicate": True})
    return ok(
        {"incident_id": result.incident_id, "joined": result.joined}, 200 if result.joined else 201
    )


async def run_sweep(request: web.Request) -> web.Response:
    """Silent devices, low batteries and unseen elders living alone → tasks."""
    p = require(request, Role.OPERATOR)
    out = await service.sweep(
        platform(request), station_id=None if p.role is Role.ADMIN else p.station_id
    )
    return ok(out)


async def sample(request: web.Request) -> web.Response:
    """Draw the quarter's ≥5% return-visit sample (stratified by station) as visit tasks."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, SampleIn)
    out = await service.draw_sample(
        platform(request),
        station_id=None if p.role is Role.ADMIN else p.station_id,
        quarter=body.quarter,
    )
    return ok(out, 201)


async def post_satisfaction(request: web.Request) -> web.Response:
    """Record one satisfaction answer: the operator by phone, or the elder or family in the app."""
    p = require(request, Role.OPERATOR, Role.FAMILY, Role.ELDER)
    body = await parse(request, SatisfactionIn)
    station_id, is_admin = _scope(p)
    if p.role in (Role.FAMILY, Role.ELDER):
        async with platform(request).store.read() as conn:
            await elder_for(conn, p, body.elder_id)  # 404 for anyone else's elder
        is_admin, body = True, body.model_copy(update={"channel": "app"})
    sid = await service.record_satisfaction(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        user_id=p.user_id,
        elder_id=body.elder_id,
        answer=body.answer,
        provider_id=body.provider_id,
        incident_id=body.incident_id,
        channel=body.channel,
        comment=body.comment,
    )
    return ok({"id": sid}, 201)


async def get_satisfaction(request: web.Request) -> web.Response:
    """Satisfaction per provider and station against the 95% target."""
    p = require(request, Role.OPERATOR)
    return ok(
        await service.satisfaction_report(
            platform(request), station_id=None if p.role is Role.ADMIN else p.station_id
        )
    )


async def post_complaint(request: web.Request) -> web.Response:
    """Open a complaint ticket."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, ComplaintIn)
    station_id, is_admin = _scope(p)
    out = await service.open_complaint(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        elder_id=body.elder_id,
        text=body.text,
        provider_id=body.provider_id,
        deadline_hours=body.deadline_hours,
    )
    return ok(out, 201)


async def complaint_action(request: web.Request) -> web.Response:
    """Assign, resolve, reopen or close a ticket."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, ComplaintActionIn)
    station_id, is_admin = _scope(p)
    out = await service.move_complaint(
        platform(request),
        complaint_id=int_param(request, "complaint_id"),
        station_id=station_id,
        is_admin=is_admin,
        action=ComplaintAction(body.action),
        owner=body.owner_user_id,
        outcome=body.outcome,
        deadline_hours=body.deadline_hours,
    )
    return ok(out)


async def put_roster(request: web.Request) -> web.Response:
    """Replace the station's duty roster (night operators and the station head)."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, RosterIn)
    if p.station_id is None:
        raise ApiError(
            422, "station_required", "a roster belongs to a station; sign in as its operator"
        )
    for slot in body.slots:
        if not set(slot.weekdays) <= set(range(7)):
            raise ApiError(422, "validation_error", "weekdays are 0 (Monday) to 6")
    await service.replace_roster(
        platform(request), station_id=p.station_id, slots=[s.model_dump() for s in body.slots]
    )
    return ok(await service.get_roster(platform(request), station_id=p.station_id))


async def get_roster(request: web.Request) -> web.Response:
    """The station's duty roster and who is on duty now."""
    p = require(request, Role.OPERATOR)
    if p.station_id is None:
        raise ApiError(
            422, "station_required", "a roster belongs to a station; sign in as its operator"
        )
    return ok(await service.get_roster(platform(request), station_id=p.station_id))


def _own_station(p: Principal) -> int:
    if p.station_id is None:
        raise ApiError(
            422, "station_required", "settings belong to a station; sign in as its operator"
        )
    return p.station_id


async def get_settings(request: web.Request) -> web.Response:
    """The station's hotline settings."""
    p = require(request, Role.OPERATOR)
    sid = _own_station(p)
    async with platform(request).store.read() as conn:
        return ok((await hotline_settings.settings_for(conn, sid)).as_json())


async def put_settings(request: web.Request) -> web.Response:
    """Replace the station's hotline settings."""
    p = require(request, Role.OPERATOR)
    sid = _own_station(p)
    body = await parse(request, StationSettingsIn)
    pf = platform(request)
    new = await hotline_settings.put_settings(
        pf,
        station_id=sid,
        new=hotline_settings.StationSettings(**body.model_dump()),
        now=pf.clock.now(),
    )
    return ok(new.as_json())


def routes() -> list[web.RouteDef]:
    """The hotline's URL table."""
    return [
        web.post(f"{PREFIX}/cti/events", cti_event),
        web.post(f"{PREFIX}/receipts", provider_receipt),
        web.post(f"{PREFIX}/respond/{{token}}", respond_link),
        web.get(f"{PREFIX}/respond/{{token}}", respond_link_page),
        web.get(f"{PREFIX}/calls", list_calls),
        web.post(f"{PREFIX}/calls/{{call_id}}/incident", call_to_incident),
        web.get(f"{PREFIX}/elders/search", search_elders),
        web.get(f"{PREFIX}/incidents/{{incident_id}}/chain", get_chain),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/responsibility", responsibility),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/escalate", escalate),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/medical", medical),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/care-record", care_record),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/called-120", called_120),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/call-back", call_back),
        web.post(f"{PREFIX}/alerts/{{alert_id}}/seen", alert_seen),
        web.put(f"{PREFIX}/chain", put_override),
        web.get(f"{PREFIX}/chain", get_override),
        web.put(f"{PREFIX}/chain/elders/{{elder_id}}", put_override),
        web.get(f"{PREFIX}/chain/elders/{{elder_id}}", get_override),
        web.post(f"{PREFIX}/devices", register_device),
        web.post(f"{PREFIX}/devices/{{device_id}}/heartbeat", device_heartbeat),
        web.post(f"{PREFIX}/devices/{{device_id}}/press", device_press),
        web.post(f"{PREFIX}/sweep", run_sweep),
        web.put(f"{PREFIX}/roster", put_roster),
        web.get(f"{PREFIX}/roster", get_roster),
        web.get(f"{PREFIX}/settings", get_settings),
        web.put(f"{PREFIX}/settings", put_settings),
        web.post(f"{PREFIX}/return-visits/sample", sample),
        web.post(f"{PREFIX}/satisfaction", post_satisfaction),
        web.get(f"{PREFIX}/satisfaction", get_satisfaction),
        web.post(f"{PREFIX}/complaints", post_complaint),
        web.post(f"{PREFIX}/complaints/{{complaint_id}}/actions", complaint_action),
    ]
