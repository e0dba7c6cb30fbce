"""What leaves the hotline: rows as the API answers them (and the reads behind the larger
answers), pushed messages, and texts.

Answers are plain JSON shapes (dicts) as the console and the apps have always read them;
pushes are the models of ``schemas.hotline``; every sentence is rendered here from the
catalogue (server/texts/hotline.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from hotline.followup import Complaint, SatisfactionRate
from hotline.names import Match
from hotline.roster import DutySlot
from schemas.hotline import (
    CallAnsweredPush,
    CallEndedPush,
    CallRingingPush,
    CallStatus,
    EscalationAcknowledgedPush,
    EscalationStatusPush,
    EscalationStepPush,
    EscalationWithdrawnPush,
    StepKind,
)
from server.errors import ApiError
from server.hotline.tables import alert_attempts, alerts, chain_events, escalation_chains
from server.identity import mask_phone
from server.incidents.notify import to_operators
from server.platform import Platform, Tx
from server.texts import Text, alarm_text

# --- texts ------------------------------------------------------------------------------------

ALERT_TEXT_MAX: Final = 300
EMERGENCY_SMS: Final = "hotline.sms.emergency"
ALARM_SMS: Final = "sms.station_alarm"


def both(t: Text) -> str:
    """A text as stored for every reader: "中文 / English"."""
    return f"{t.render('zh')} / {t.render('en')}"


def zh(key: str, **params: Any) -> str:
    """A text in Chinese, as it is stored or sent to a phone."""
    return Text(key, params).render("zh")


def alert_message(key: str, params: Mapping[str, Any]) -> Text:
    """An alert's text from its stored key and parameters."""
    if key == ALARM_SMS:
        return Text(key, {"alarm": alarm_text(str(params.get("kind", "")), params.get("params"))})
    if key == EMERGENCY_SMS:
        return Text(key, {**params, "phone": params.get("phone") or Text("hotline.the_station")})
    return Text(key, params)


def alert_text(alert: Any, *, address: bool = True) -> str:
    """What an alert says (SMS, voice, app), in Chinese, cut to what one alert may carry.
    Without ``address``, the elder's address is left out (an SMS: the link's page shows it
    once the person says they are going)."""
    params = dict(alert.text_params or {})
    if not address and "address" in params:
        params["address"] = zh("hotline.address_after_accept")
    return alert_message(alert.text_key, params).render("zh")[:ALERT_TEXT_MAX]


def step_line(kind: StepKind, step: str, detail: str) -> str:
    """The console's line for a step: "联系签约邻居 / calling the neighbour：王阿姨"."""
    key = f"hotline.step.{kind.value}"
    title = both(Text(key)) if kind is not StepKind.ADVISE_120 else step
    return zh("hotline.step.line", title=title, detail=detail)


# --- pushes -----------------------------------------------------------------------------------

ToOperators = (
    CallRingingPush
    | CallAnsweredPush
    | CallEndedPush
    | EscalationStepPush
    | EscalationAcknowledgedPush
    | EscalationWithdrawnPush
    | EscalationStatusPush
)


async def tell(tx: Tx, msg: ToOperators) -> None:
    """Push a message to every operator of its station."""
    await to_operators(tx, msg)


# --- answers ----------------------------------------------------------------------------------


def call_out(r: Any) -> dict[str, Any]:
    """A call as the station's call list shows it."""
    return {
        "call_id": r.call_id,
        "station_id": r.station_id,
        "caller": mask_phone(r.caller) or "",  # the full number: reveal_caller (audited)
        "called": r.called,
        "status": r.status,
        "ringing_at": r.ringing_at,
        "answered_at": r.answered_at,
        "ended_at": r.ended_at,
        "recording_url": r.recording_url,
        "elder_id": r.elder_id,
        "matches": r.matches,
        "incident_id": r.incident_id,
        "missed": r.status == CallStatus.ENDED and r.answered_at is None,
    }


def name_match_out(m: Match) -> dict[str, Any]:
    """One elder found by what the caller said."""
    return {
        "elder_id": int(m.elder.id),
        "name": m.elder.name,
        "address": m.elder.address,
        "birth_year": m.elder.birth_year,
        "score": m.score,
        "reason": m.reason,
    }


async def describe_chain(platform: Platform, incident_id: int) -> dict[str, Any]:
    """The chain of an incident for the console: status, steps, history, alerts, attempts."""
    async with platform.store.read() as conn:
        by_incident = escalation_chains.c.incident_id == incident_id
        row = (await conn.execute(select(escalation_chains).where(by_incident))).first()
        if row is None:
            raise ApiError(404, "chain_not_found", "no escalation chain for this incident")
        by_chain = chain_events.c.chain_id == row.id
        events = (
            await conn.execute(select(chain_events).where(by_chain).order_by(chain_events.c.id))
        ).all()
        stmt = select(alerts).where(alerts.c.chain_id == row.id).order_by(alerts.c.id)
        sent = (await conn.execute(stmt)).all()
        ids = [a.id for a in sent] or [0]
        stmt = select(alert_attempts).where(alert_attempts.c.alert_id.in_(ids))
        tries = (await conn.execute(stmt.order_by(alert_attempts.c.id))).all()
    return chain_out(incident_id, row, events, sent, tries)


def chain_out(
    incident_id: int, row: Any, events: Sequence[Any], sent: Sequence[Any], tries: Sequence[Any]
) -> dict[str, Any]:
    """The chain of an incident for the console: status, steps, history, alerts, attempts."""
    return {
        "incident_id": incident_id,
        "status": row.status,
        "next_at": row.next_at,
        "steps": row.definition,
        "history": [
            {"kind": e.kind, "at": e.at, "firing": e.firing, "person": e.person} for e in events
        ],
        "alerts": [_alert_out(a, [t for t in tries if t.alert_id == a.id]) for a in sent],
    }


def _alert_out(a: Any, tries: Iterable[Any]) -> dict[str, Any]:
    return {
        "alert_id": a.id,
        "person": a.person,
        "name": a.name,
        "status": a.status,
        "attempts": [
            {"channel": t.channel, "sent_at": t.sent_at, "send_id": t.send_id, "error": t.error}
            for t in tries
        ],
    }


def roster_out(slots: Sequence[DutySlot], on_duty_now: set[str]) -> dict[str, Any]:
    """The roster, and who is on duty at this moment."""
    return {
        "slots": [
            {
                "person": s.person,
                "role": s.role.value,
                "name": s.name,
                "phone": s.phone,
                "weekdays": sorted(s.weekdays),
                "start": s.start.isoformat("minutes"),
                "end": s.end.isoformat("minutes"),
                "on_duty_now": s.person in on_duty_now,
            }
            for s in slots
        ]
    }


def complaint_out(c: Complaint, now: datetime) -> dict[str, Any]:
    """A ticket as JSON."""
    return {
        "id": c.id,
        "elder_id": c.elder_id,
        "station_id": c.station_id,
        "text": c.text,
        "status": c.status.value,
        "owner_user_id": c.owner,
        "deadline": c.deadline.isoformat(),
        "outcome": c.outcome,
        "provider_id": c.provider_id,
        "overdue": c.overdue(now),
    }


def rate_out(r: SatisfactionRate) -> dict[str, Any]:
    """A satisfaction rate as JSON."""
    return {
        "key": r.key,
        "answers": r.answers,
        "satisfied": r.satisfied,
        "rate": r.rate,
        "meets_target": r.meets_target,
    }
