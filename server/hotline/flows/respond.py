"""The answers of the people an alert reached: the SMS link ("I'm going / I can't"), the IVR
digits in a voice receipt, and the app's "seen"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.channels import Receipt, ReceiptStatus
from schemas.hotline import Channel
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.hotline.flows import alarms as alarm_followup
from server.hotline.flows.chain import OVER, responsible_in
from server.hotline.flows.delivery import record_receipt, station_of
from server.hotline.flows.responsibility import acknowledge, withdraw
from server.hotline.out import alert_text
from server.hotline.respond_page import PageState
from server.hotline.tables import alert_attempts, alerts
from server.incidents.model import timeline
from server.incidents.tables import incidents
from server.platform import Platform, Tx

LINK_TTL: Final = timedelta(hours=24)


async def answer(platform: Platform, alert_id: int, *, accept: bool, via: str) -> None:
    """The person behind a valid link answered: once. The same answer again changes nothing;
    a different one is refused (409, the first answer named); once the alert is over (the
    call handled or closed, the alarm acknowledged, or a day old) the link is expired (410)."""
    said = "accept" if accept else "decline"
    async with platform.tx() as tx:
        alert = (
            await tx.conn.execute(select(alerts).where(alerts.c.id == alert_id).with_for_update())
        ).first()
        if alert is None:
            raise ApiError(404, "link_not_found", "this link is not valid")
        if alert.answer is not None:
            if alert.answer == said:
                return
            raise ApiError(
                409,
                "already_answered",
                "this link was already answered; phone the station to change it",
                answer=alert.answer,
            )
        if await _over(tx.conn, alert, tx.now):
            raise ApiError(410, "link_expired", "this call is over; the link no longer answers")
        await tx.conn.execute(
            update(alerts).where(alerts.c.id == alert_id).values(answer=said, answered_at=tx.now)
        )
        await _answer(platform, tx, alert, accept, via=via)


async def _over(conn: AsyncConnection, alert: Any, now: datetime) -> bool:
    """Whether the alert's link no longer answers: its call is handled or closed, its alarm
    acknowledged, or it is older than ``LINK_TTL``."""
    if now - alert.created_at > LINK_TTL:
        return True
    if alert.incident_id is not None:
        stmt = select(incidents.c.status).where(incidents.c.id == alert.incident_id)
        if (await conn.execute(stmt)).scalar() in OVER:
            return True
    return alarm_followup.is_alarm_alert(alert) and await alarm_followup.acknowledged(conn, alert)


async def _answer(platform: Platform, tx: Tx, alert: Any, accept: bool, *, via: str) -> None:
    if alarm_followup.is_alarm_alert(alert):
        if accept:
            await alarm_followup.acknowledge_by_phone(tx, alert, via=via)
        return
    if alert.incident_id is None:
        return
    iid, person = alert.incident_id, alert.person
    if accept:
        await acknowledge(platform, tx, iid, person, actor=None, via=via)
    elif not await withdraw(platform, tx, iid, person, actor=None, via=via):
        await timeline(
            tx,
            iid,
            "responsibility_declined",
            None,
            person=person,
            name=alert.name,
            via=via,
        )


async def page_of(platform: Platform, alert_id: int, answered: str | None) -> tuple[PageState, str]:
    """What the link's page shows now (and the alert's text: the elder's address only once
    the person said they are going). Reading never answers."""
    async with platform.store.read() as conn:
        alert = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).first()
        if alert is None:
            return PageState.INVALID, ""
        over = await _over(conn, alert, platform.clock.now())
        going = alert.answer == "accept" or (
            not alarm_followup.is_alarm_alert(alert)
            and alert.chain_id is not None
            and alert.person in await responsible_in(conn, int(alert.chain_id))
        )
    if going and not over:
        state = PageState.GOING
    elif over:
        state = PageState.OVER
    elif alert.answer == "decline":
        state = PageState.DECLINED
    elif answered is not None and alert.answer is not None and answered != alert.answer:
        state = PageState.ALREADY
    else:
        state = PageState.ASK
    return state, alert_text(alert, address=going and not over)


async def receipt(platform: Platform, got: Receipt) -> bool:
    """A provider's receipt; IVR digits answer the alert (1 going, 2 cannot). Returns whether
    it names a send of ours."""
    async with platform.tx() as tx:
        alert = await record_receipt(platform, tx, got)
        if alert is not None and got.status is ReceiptStatus.PRESSED and got.digits in ("1", "2"):
            await _answer(platform, tx, alert, got.digits == "1", via="ivr")
    return alert is not None


async def seen(platform: Platform, p: Principal, alert_id: int) -> bool:
    """The recipient's app showed the alert: a read receipt for its pushes. Only the person
    the alert was for can say so (403 at the operator's own station, 404 elsewhere)."""
    async with platform.tx() as tx:
        alert = (await tx.conn.execute(select(alerts).where(alerts.c.id == alert_id))).first()
        if alert is None:
            raise ApiError(404, "alert_not_found", "alert not found")
        if alert.user_id is None or alert.user_id != p.user_id:
            station = await station_of(tx, alert)
            if p.role is Role.ADMIN or (p.role is Role.OPERATOR and station == p.station_id):
                raise ApiError(
                    403, "not_recipient", "only the person the alert was for can confirm it"
                )
            raise ApiError(404, "alert_not_found", "alert not found")
        stmt = select(alert_attempts.c.send_id).where(
            alert_attempts.c.alert_id == alert_id,
            alert_attempts.c.channel == Channel.APP_PUSH.value,
            alert_attempts.c.send_id.is_not(None),
        )
        send_ids = (await tx.conn.execute(stmt)).scalars().all()
        for sid in send_ids:
            await record_receipt(platform, tx, Receipt(sid, ReceiptStatus.READ, tx.now))
    return bool(send_ids)
