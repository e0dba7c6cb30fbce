"""The answers of the people an alert reached: the SMS link ("I'm going / I can't"), the IVR
digits in a voice receipt, and the app's "seen"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

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


async def answer(platform: Platform, alert_id: int, *, accept: bool, via: str) -> None:
    """The person behind a valid link answered."""
    async with platform.tx() as tx:
        alert = (await tx.conn.execute(select(alerts).where(alerts.c.id == alert_id))).one()
        await _answer(platform, tx, alert, accept, via=via)


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
    """What the link's page shows now (and the alert's text). Reading never answers."""
    async with platform.store.read() as conn:
        alert = (await conn.execute(select(alerts).where(alerts.c.id == alert_id))).one()
        state = PageState.ASK
        over = False
        if alert.incident_id is not None:
            stmt = select(incidents.c.status).where(incidents.c.id == alert.incident_id)
            over = (await conn.execute(stmt)).scalar() in OVER
        if alarm_followup.is_alarm_alert(alert):
            over = over or await alarm_followup.acknowledged(conn, alert)
        elif alert.chain_id is not None and alert.person in await responsible_in(
            conn, int(alert.chain_id)
        ):
            state = PageState.GOING
    if over:
        state = PageState.OVER
    elif answered == "decline" and state is PageState.ASK:
        state = PageState.DECLINED
    return state, alert_text(alert)


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
