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
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import insert, select, update

from hotline.channels import (
    Attempt,
    ChannelAdapter,
    ChannelError,
    DecisionKind,
    FallbackPolicy,
    HttpSmsAdapter,
    HttpVoiceAdapter,
    HttpWeChatAdapter,
    OutboundMessage,
    Receipt,
    ReceiptStatus,
    WeChatAccessToken,
    decide,
)
from schemas.hotline import Channel
from server.hotline.alarms import alarm_id_of, is_alarm_alert
from server.hotline.config import secrets_of
from server.hotline.tables import alert_attempts, alerts, escalation_chains, receipts
from server.incidents.alarms import raise_alarm
from server.incidents.model import timeline
from server.incidents.tables import alarms, incidents
from server.platform import Platform, Tx, emit, push, schedule

log = logging.getLogger("anxin.hotline.delivery")

_REFERENCE = re.compile(r"^alert:([0-9]+):([0-9]+)$")
ADAPTERS = "hotline.adapters"  # platform.extras key: dict[Channel, ChannelAdapter]
CHECK_TIMER = "hotline.alert_check"


def receipt_secret(platform: Platform) -> bytes:
    """The secret providers sign receipts with (see server.hotline.config)."""
    return secrets_of(platform).provider


def adapters(platform: Platform) -> Mapping[Channel, ChannelAdapter]:
    """The configured outbound channels; tests and deployments set platform.extras[ADAPTERS].

    Without configuration, SMS and voice go to ANXIN_HOTLINE_PROVIDER_URL when it is set.
    """
    configured = platform.extras.get(ADAPTERS)
    if configured is not None:
        return dict(configured)
    out: dict[Channel, ChannelAdapter] = {}
    base = os.environ.get("ANXIN_HOTLINE_PROVIDER_URL")
    if base:
        session = platform.extras.get("hotline.http")
        if session is None:
            session = platform.extras["hotline.http"] = aiohttp.ClientSession()
        key = os.environ.get("ANXIN_HOTLINE_PROVIDER_KEY", "")
        callback = os.environ.get("ANXIN_HOTLINE_CALLBACK_URL", "")
        out[Channel.SMS] = HttpSmsAdapter(session, base, key, callback)
        out[Channel.VOICE] = HttpVoiceAdapter(session, base, key, callback)
    template = os.environ.get("ANXIN_WECHAT_TEMPLATE_ID")
    if template:
        session = platform.extras.get("hotline.http")
        if session is None:
            session = platform.extras["hotline.http"] = aiohttp.ClientSession()
        s = platform.settings
        token = platform.extras.get("hotline.wechat_token")
        if token is None:
            token = platform.extras["hotline.wechat_token"] = WeChatAccessToken(
                session,
                s.wechat_base_url,
                s.wechat_appid,
                s.wechat_secret,
                lambda: platform.clock.now().timestamp(),
            )
        out[Channel.WECHAT] = HttpWeChatAdapter(session, s.wechat_base_url, template, token)
    return out


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


def respond_token(platform: Platform, alert_id: int) -> str:
    """A token for the "I'm going / I can't" link sent by SMS."""
    mac = hmac.new(receipt_secret(platform), f"alert:{alert_id}".encode(), hashlib.sha256)
    return f"{alert_id}.{mac.hexdigest()[:20]}"


def alert_of_token(platform: Platform, token: str) -> int | None:
    """The alert id a respond token names, or None when the token is forged."""
    head, _, _ = token.partition(".")
    if not head.isdigit():
        return None
    return int(head) if hmac.compare_digest(respond_token(platform, int(head)), token) else None


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
        sid = (
            await tx.conn.execute(
                select(escalation_chains.c.station_id).where(
                    escalation_chains.c.id == alert.chain_id
                )
            )
        ).scalar()
        return int(sid) if sid is not None else None
    if alert.incident_id is not None:
        sid = (
            await tx.conn.execute(
                select(incidents.c.station_id).where(incidents.c.id == alert.incident_id)
            )
        ).scalar()
        return int(sid) if sid is not None else None
    if not is_alarm_alert(alert):
        return None
    sid = (
        await tx.conn.execute(select(alarms.c.station_id).where(alarms.c.id == alarm_id_of(alert)))
    ).scalar()
    return int(sid) if sid is not None else None


@dataclass(frozen=True, slots=True)
class _Send:
    """A send committed as an attempt (with its check timer) and not yet handed over."""

    alert_id: int
    attempt_id: int
    adapter: ChannelAdapter
    message: OutboundMessage


async def deliver(platform: Platform, alert_id: int) -> None:
    """Take the next step for one alert and wait for the provider; safe to call any number of
    times."""
    send = await _prepare(platform, alert_id)
    if send is not None:
        await _hand_over(platform, send)


MAX_CONCURRENT_SENDS = 8
_SENDING = "hotline.sending"  # platform.extras: the sends in flight
_SEND_SLOTS = "hotline.send_slots"


def _in_background(platform: Platform, send: _Send) -> None:
    """Hand a send to the provider without holding up the relay: a stuck provider (5 s, and
    a retry) must not make the alerts behind it late. At most MAX_CONCURRENT_SENDS at once.

    Nothing is lost if the process dies meanwhile: the attempt and its check timer are already
    committed, and the check sends again when no send id was recorded.
    """
    tasks: set[asyncio.Task[None]] = platform.extras.setdefault(_SENDING, set())
    slots: asyncio.Semaphore = platform.extras.setdefault(
        _SEND_SLOTS, asyncio.Semaphore(MAX_CONCURRENT_SENDS)
    )

    async def run() -> None:
        async with slots:
            try:
                await _hand_over(platform, send)
            except Exception:
                log.exception("alert send failed", extra={"alert_id": send.alert_id})

    task = asyncio.create_task(run(), name=f"alert-{send.alert_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def drain(platform: Platform) -> None:
    """Wait until every send in flight has been handed over (tests, shutdown)."""
    tasks: set[asyncio.Task[None]] = platform.extras.get(_SENDING, set())
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)


async def _prepare(platform: Platform, alert_id: int) -> _Send | None:
    """Decide for one alert in a transaction; a send on an outside channel is returned to be
    handed over after the commit."""
    available = adapters(platform)
    async with platform.tx() as tx:
        alert = (
            await tx.conn.execute(select(alerts).where(alerts.c.id == alert_id).with_for_update())
        ).first()
        if alert is None or alert.status != "sending":
            return None
        attempts = await _attempts(tx, alert_id)
        policy = policy_for(alert, available)
        decision = decide(policy, attempts, tx.now) if policy is not None else None
        if decision is None or decision.kind is DecisionKind.EXHAUSTED:
            await tx.conn.execute(
                update(alerts).where(alerts.c.id == alert_id).values(status="exhausted")
            )
            station = await station_of(tx, alert)
            # An alarm's own call (server.hotline.alarms) is covered by the head's call after it.
            if alert.incident_id is not None and station is not None and not is_alarm_alert(alert):
                await timeline(
                    tx,
                    alert.incident_id,
                    "alert_unreachable",
                    None,
                    alert_id=alert_id,
                    person=alert.person,
                    name=alert.name,
                )
                await raise_alarm(
                    tx,
                    station,
                    alert.incident_id,
                    f"unreachable:{alert.person}",
                    {"name": alert.name},
                )
            return None
        if decision.kind is DecisionKind.DELIVERED:
            await tx.conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(status="delivered", delivered_at=tx.now)
            )
            if alert.incident_id is not None:
                proof = decision.proof
                await timeline(
                    tx,
                    alert.incident_id,
                    "alert_delivered",
                    None,
                    alert_id=alert_id,
                    person=alert.person,
                    channel=decision.channel.value if decision.channel else None,
                    receipt=proof.status.value if proof else None,
                )
            return None
        if decision.kind is DecisionKind.WAIT:
            assert decision.at is not None
            await schedule(
                tx,
                CHECK_TIMER,
                f"alert:{alert_id}:wait:{len(attempts)}",
                decision.at,
                {"alert_id": alert_id},
            )
            return None
        channel = decision.channel
        assert channel is not None and policy is not None
        number = len(attempts) + 1
        attempt_id = int(
            (
                await tx.conn.execute(
                    insert(alert_attempts)
                    .values(alert_id=alert_id, number=number, channel=channel.value, sent_at=tx.now)
                    .returning(alert_attempts.c.id)
                )
            ).scalar_one()
        )
        # The check is committed with the attempt: a crash during the send is seen when it fires.
        await schedule(
            tx,
            CHECK_TIMER,
            f"alert:{alert_id}:attempt:{number}",
            tx.now + policy.receipt_timeout[channel],
            {"alert_id": alert_id},
        )
        message = OutboundMessage(
            channel=channel,
            to=_address(alert, channel),
            text=_text_for(platform, alert, channel),
            reference=f"alert:{alert_id}:{number}",
        )
        if channel is Channel.APP_PUSH:
            # App pushes go through the platform's numbered stream in this same transaction.
            seq = await push(
                tx,
                f"user:{alert.user_id}",
                "escalation.alert",
                {
                    "alert_id": alert_id,
                    "incident_id": alert.incident_id,
                    "text": alert.text,
                    "respond_token": respond_token(platform, alert_id),
                },
            )
            await tx.conn.execute(
                update(alert_attempts)
                .where(alert_attempts.c.id == attempt_id)
                .values(send_id=f"push:{alert.user_id}:{seq}")
            )
            return None
    return _Send(alert_id, attempt_id, available[channel], message)


async def _hand_over(platform: Platform, send: _Send) -> None:
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
        early = (
            send_id is not None
            and (
                await tx.conn.execute(
                    select(receipts.c.id).where(receipts.c.send_id == send_id).limit(1)
                )
            ).first()
        )
        if error is not None or early:
            # A send error, or a receipt that arrived before this row knew its send id.
            await emit(tx, "hotline.alert", {"alert_id": alert_id})


def _address(alert: Any, channel: Channel) -> str:
    if channel is Channel.WECHAT:
        return str(alert.openid)
    if channel is Channel.APP_PUSH:
        return str(alert.user_id)
    return str(alert.phone)


def _text_for(platform: Platform, alert: Any, channel: Channel) -> str:
    if channel is Channel.SMS:
        base = os.environ.get("ANXIN_PUBLIC_URL", "http://127.0.0.1:8080")
        link = f"{base}/api/v1/hotline/respond/{respond_token(platform, alert.id)}"
        return f"{alert.text} 能去请点：{link}"
    return str(alert.text)


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
    attempt = (
        await tx.conn.execute(
            select(alert_attempts).where(alert_attempts.c.send_id == receipt.send_id)
        )
    ).first()
    if attempt is None and receipt.reference:
        match = _REFERENCE.match(receipt.reference)
        if match is not None:
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
                attempt = None  # the reference names another send: not ours to trust
    if attempt is None:
        return None
    await emit(tx, "hotline.alert", {"alert_id": attempt.alert_id})
    return (await tx.conn.execute(select(alerts).where(alerts.c.id == attempt.alert_id))).first()


async def on_alert(platform: Platform, payload: dict[str, Any]) -> None:
    """Outbox: re-decide one alert; an outside send goes on in the background."""
    send = await _prepare(platform, int(payload["alert_id"]))
    if send is not None:
        _in_background(platform, send)


async def on_check(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """Timer: a receipt was due; decide again outside this transaction."""
    await emit(tx, "hotline.alert", {"alert_id": int(payload["alert_id"])})
