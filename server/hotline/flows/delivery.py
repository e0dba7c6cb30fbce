"""Getting an alert to a person through outside channels, with proof.

An alert row is written with the chain step that fired it, and an outbox event `hotline.alert`
asks for delivery. The handler decides with the pure fallback policy
(`hotline.channels.decide`): send on the next channel, wait for a receipt, or stop. The attempt
row and the timer that checks on it commit *before* the provider is called, so a crash mid-send
is noticed when the check fires; the provider's answer is recorded after. Receipts arrive on a
signed callback; an IVR "1" is an acknowledgement, a "2" a refusal.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import insert, select, update

from hotline.channels import (
    Attempt,
    ChannelAdapter,
    ChannelError,
    Decision,
    DecisionKind,
    FallbackPolicy,
    OutboundMessage,
    Receipt,
    ReceiptStatus,
    decide,
)
from schemas.hotline import AlertStatus, Channel, EscalationAlertPush
from server.hotline.adapters import channels, outbound
from server.hotline.config import secrets_of
from server.hotline.flows.alarms import alarm_id_of, is_alarm_alert
from server.hotline.model import transition_alert
from server.hotline.out import alert_text, zh
from server.hotline.tables import alert_attempts, alerts, escalation_chains, receipts
from server.incidents.flows.alarms import raise_alarm
from server.incidents.tables import alarms, incidents
from server.platform import Platform, Tx, emit, push, schedule

log = logging.getLogger("anxin.hotline.delivery")

_REFERENCE: Final = re.compile(r"^alert:([0-9]+):([0-9]+)$")
CHECK_TIMER: Final = "hotline.alert_check"
DEFAULT_PUBLIC_URL: Final = "http://127.0.0.1:8080"


# --- tokens for the SMS link ------------------------------------------------------------------


def receipt_secret(platform: Platform) -> bytes:
    """The secret providers sign receipts with (see server.hotline.config)."""
    return secrets_of(platform).provider


def respond_token(platform: Platform, alert_id: int) -> str:
    """A token for the "I'm going / I can't" link sent by SMS."""
    mac = hmac.new(receipt_secret(platform), f"alert:{alert_id}".encode(), hashlib.sha256)
    return f"{alert_id}.{mac.hexdigest()[:20]}"


def alert_of_token(platform: Platform, token: str) -> int | None:
    """The alert id a respond token names, or None when the token is forged (or is not an
    id at all: other scripts' digits, or longer than any id)."""
    head, _, _ = token.partition(".")
    if not (head.isascii() and head.isdigit() and len(head) <= 18) or len(token) > 64:
        return None
    return int(head) if hmac.compare_digest(respond_token(platform, int(head)), token) else None


# --- what to send where -----------------------------------------------------------------------


def _reachable(alert: Any, channel: Channel, available: Mapping[Channel, ChannelAdapter]) -> bool:
    if channel is Channel.APP_PUSH:
        return alert.user_id is not None
    if channel not in available:
        return False
    if channel is Channel.WECHAT:
        return alert.openid is not None
    return bool(alert.phone)


def policy_for(alert: Any, available: Mapping[Channel, ChannelAdapter]) -> FallbackPolicy | None:
    """The alert's channels that can reach this person, in order; None when none can."""
    order = tuple(
        c for c in (Channel(x) for x in alert.channels) if _reachable(alert, c, available)
    )
    return FallbackPolicy(order=order) if order else None


def _address(alert: Any, channel: Channel) -> str:
    if channel is Channel.WECHAT:
        return str(alert.openid)
    if channel is Channel.APP_PUSH:
        return str(alert.user_id)
    return str(alert.phone)


def _text_for(platform: Platform, alert: Any, channel: Channel) -> str:
    text = alert_text(alert, address=channel is not Channel.SMS)
    if channel is Channel.SMS:
        base = platform.settings.public_url or DEFAULT_PUBLIC_URL
        link = f"{base}/api/v1/hotline/respond/{respond_token(platform, alert.id)}"
        return zh("hotline.sms.link", text=text, link=link)
    return text


async def _attempts(tx: Tx, alert_id: int) -> list[Attempt]:
    rows = (
        await tx.conn.execute(
            select(alert_attempts)
            .where(alert_attempts.c.alert_id == alert_id)
            .order_by(alert_attempts.c.number)
        )
    ).all()
    ids = [r.send_id for r in rows if r.send_id]
    got: dict[str, list[Receipt]] = {}
    if ids:
        for r in (await tx.conn.execute(select(receipts).where(receipts.c.send_id.in_(ids)))).all():
            got.setdefault(r.send_id, []).append(
                Receipt(r.send_id, ReceiptStatus(r.status), r.at, r.digits)
            )
    return [
        Attempt(Channel(r.channel), r.sent_at, r.send_id, tuple(got.get(r.send_id or "", ())))
        for r in rows
    ]


async def station_of(tx: Tx, alert: Any) -> int | None:
    """The station an alert belongs to: its chain's, its incident's, or its alarm's."""
    if alert.chain_id is not None:
        stmt = select(escalation_chains.c.station_id).where(
            escalation_chains.c.id == alert.chain_id
        )
    elif alert.incident_id is not None:
        stmt = select(incidents.c.station_id).where(incidents.c.id == alert.incident_id)
    elif is_alarm_alert(alert):
        stmt = select(alarms.c.station_id).where(alarms.c.id == alarm_id_of(alert))
    else:
        return None
    sid = (await tx.conn.execute(stmt)).scalar()
    return int(sid) if sid is not None else None


# --- deciding and sending ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """A send committed as an attempt (with its check timer) and not yet handed over."""

    alert_id: int
    attempt_id: int
    adapter: ChannelAdapter
    message: OutboundMessage


async def deliver(platform: Platform, alert_id: int) -> None:
    """Take the next step for one alert and wait for the provider; safe to call any number of
    times."""
    send = await prepare(platform, alert_id)
    if send is not None:
        await _hand_over(platform, send)


STOP_WAIT_S: Final = 3.0


def in_background(platform: Platform, send: Send) -> None:
    """Hand a send to the provider without holding up the relay: a stuck provider (5 s, and
    a retry) must not make the alerts behind it late. At most MAX_CONCURRENT_SENDS at once.

    Nothing is lost if the process dies meanwhile: the attempt and its check timer are already
    committed, and the check sends again when no send id was recorded.
    """
    state = outbound(platform)

    async def run() -> None:
        async with state.slots:
            try:
                await _hand_over(platform, send)
            except Exception:
                log.exception("alert send failed", extra={"alert_id": send.alert_id})

    task = asyncio.create_task(run(), name=f"alert-{send.alert_id}")
    state.sending.add(task)
    task.add_done_callback(state.sending.discard)


async def drain(platform: Platform) -> None:
    """Wait until every send in flight has been handed over (tests)."""
    tasks = outbound(platform).sending
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)


async def stop_sends(platform: Platform) -> None:
    """At shutdown: sends with the provider get STOP_WAIT_S to finish; the rest are cancelled.
    Each one's attempt and check timer are committed, so the check sends again after the
    restart. Waiting for all of them held a SIGTERM for minutes behind a backlog of alerts to
    a slow provider (5 s and a retry each, a few at a time)."""
    tasks = set(outbound(platform).sending)
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if pending:
        log.warning("alert sends left to their checks at shutdown", extra={"count": len(pending)})


async def prepare(platform: Platform, alert_id: int) -> Send | None:
    """Decide for one alert in a transaction; a send on an outside channel is returned to be
    handed over after the commit."""
    available = channels(platform)
    async with platform.tx() as tx:
        by_id = alerts.c.id == alert_id
        alert = (await tx.conn.execute(select(alerts).where(by_id).with_for_update())).first()
        if alert is None or alert.status != AlertStatus.SENDING:
            return None
        attempts = await _attempts(tx, alert_id)
        policy = policy_for(alert, available)
        decision = decide(policy, attempts, tx.now) if policy is not None else None
        if decision is None or decision.kind is DecisionKind.EXHAUSTED:
            await _exhausted(tx, alert)
        elif decision.kind is DecisionKind.DELIVERED:
            await _delivered(tx, alert, decision)
        elif decision.kind is DecisionKind.WAIT:
            assert decision.at is not None
            ref = f"alert:{alert_id}:wait:{len(attempts)}"
            await schedule(tx, CHECK_TIMER, ref, decision.at, {"alert_id": alert_id})
        else:
            assert policy is not None
            return await _send(platform, tx, alert, decision, policy, available, len(attempts))
    return None


async def _exhausted(tx: Tx, alert: Any) -> None:
    """No channel reached the person: the station must act (an alarm's own call is covered
    by the head's call after it, see flows/alarms.py)."""
    station = await station_of(tx, alert)
    if alert.incident_id is None or station is None or is_alarm_alert(alert):
        await transition_alert(tx, alert, AlertStatus.EXHAUSTED)
        return
    await transition_alert(tx, alert, AlertStatus.EXHAUSTED, "alert_unreachable", name=alert.name)
    params = {"name": alert.name}
    await raise_alarm(tx, station, alert.incident_id, f"unreachable:{alert.person}", params)


async def _delivered(tx: Tx, alert: Any, decision: Decision) -> None:
    proof = decision.proof
    await transition_alert(
        tx,
        alert,
        AlertStatus.DELIVERED,
        "alert_delivered",
        channel=decision.channel.value if decision.channel else None,
        receipt=proof.status.value if proof else None,
    )


async def _send(
    platform: Platform,
    tx: Tx,
    alert: Any,
    decision: Decision,
    policy: FallbackPolicy,
    available: Mapping[Channel, ChannelAdapter],
    sent_before: int,
) -> Send | None:
    """Record the attempt and its check; an app push goes out in this transaction, any other
    channel is returned to be handed over after the commit."""
    channel = decision.channel
    assert channel is not None
    number = sent_before + 1
    attempt_id = int(
        (
            await tx.conn.execute(
                insert(alert_attempts)
                .values(alert_id=alert.id, number=number, channel=channel.value, sent_at=tx.now)
                .returning(alert_attempts.c.id)
            )
        ).scalar_one()
    )
    # The check is committed with the attempt: a crash during the send is seen when it fires.
    due = tx.now + policy.receipt_timeout[channel]
    ref = f"alert:{alert.id}:attempt:{number}"
    await schedule(tx, CHECK_TIMER, ref, due, {"alert_id": alert.id})
    if channel is Channel.APP_PUSH:
        await _push_to_app(platform, tx, alert, attempt_id)
        return None
    message = OutboundMessage(
        channel=channel,
        to=_address(alert, channel),
        text=_text_for(platform, alert, channel),
        reference=f"alert:{alert.id}:{number}",
    )
    return Send(alert.id, attempt_id, available[channel], message)


async def _push_to_app(platform: Platform, tx: Tx, alert: Any, attempt_id: int) -> None:
    """App pushes go through the platform's numbered stream in the same transaction."""
    msg = EscalationAlertPush(
        alert_id=alert.id,
        incident_id=alert.incident_id,
        text=alert_text(alert),
        respond_token=respond_token(platform, alert.id),
    )
    seq = await push(tx, f"user:{alert.user_id}", msg)
    await tx.conn.execute(
        update(alert_attempts)
        .where(alert_attempts.c.id == attempt_id)
        .values(send_id=f"push:{alert.user_id}:{seq}")
    )


async def _hand_over(platform: Platform, send: Send) -> None:
    """Call the provider, then record its send id (or the error) on the attempt."""
    alert_id = send.alert_id
    send_id: str | None = None
    error: str | None = None
    try:
        send_id = (await send.adapter.send(send.message)).send_id
    except ChannelError as exc:
        error = str(exc)[:200]
        log.warning(
            "alert send failed", extra={"alert_id": alert_id, "channel": send.message.channel}
        )
    async with platform.tx() as tx:
        await tx.conn.execute(
            update(alert_attempts)
            .where(alert_attempts.c.id == send.attempt_id, alert_attempts.c.send_id.is_(None))
            .values(send_id=send_id, error=error)
        )
        early = send_id is not None and await _has_receipt(tx, send_id)
        if error is not None or early:
            # A send error, or a receipt that arrived before this row knew its send id.
            await emit(tx, "hotline.alert", {"alert_id": alert_id})


async def _has_receipt(tx: Tx, send_id: str) -> bool:
    stmt = select(receipts.c.id).where(receipts.c.send_id == send_id).limit(1)
    return (await tx.conn.execute(stmt)).first() is not None


# --- receipts --------------------------------------------------------------------------------


async def record_receipt(platform: Platform, tx: Tx, receipt: Receipt) -> Any:
    """Store a receipt; returns the alert it belongs to (or None when it names no known send).

    A fast provider can post the receipt before our own transaction has recorded the send id;
    the receipt's echoed reference ("alert:{id}:{attempt}") still finds the attempt.
    """
    await tx.conn.execute(
        insert(receipts).values(
            send_id=receipt.send_id,
            status=receipt.status.value,
            digits=receipt.digits,
            at=receipt.at,
        )
    )
    by_send = alert_attempts.c.send_id == receipt.send_id
    attempt = (await tx.conn.execute(select(alert_attempts).where(by_send))).first()
    if attempt is None and receipt.reference:
        attempt = await _attempt_by_reference(tx, receipt)
    if attempt is None:
        return None
    await emit(tx, "hotline.alert", {"alert_id": attempt.alert_id})
    return (await tx.conn.execute(select(alerts).where(alerts.c.id == attempt.alert_id))).first()


async def _attempt_by_reference(tx: Tx, receipt: Receipt) -> Any:
    """The attempt a receipt's echoed reference names, now knowing its send id; None when
    the reference names another send (not ours to trust) or nothing."""
    match = _REFERENCE.match(receipt.reference or "")
    if match is None:
        return None
    attempt = (
        await tx.conn.execute(
            select(alert_attempts).where(
                alert_attempts.c.alert_id == int(match[1]),
                alert_attempts.c.number == int(match[2]),
            )
        )
    ).first()
    if attempt is not None and attempt.send_id is None:
        await tx.conn.execute(
            update(alert_attempts)
            .where(alert_attempts.c.id == attempt.id, alert_attempts.c.send_id.is_(None))
            .values(send_id=receipt.send_id)
        )
    elif attempt is not None and attempt.send_id != receipt.send_id:
        return None
    return attempt
