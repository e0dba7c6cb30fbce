"""Test and accidental presses: the operator's call-back, and presses soon after one.

Every press keeps an outcome, found by calling the elder back (PressOutcome): a real need, a
test, an accidental press, or an elder who wanted to talk. The operator records the call-back
(who, when, whether the elder was reached, what they found) and a test or accidental press is
closed with it, never silently dropped. An incident closed as a test or accidental press
without a recorded call-back gets a call-back task, so the call is made anyway.

A press within the station's window (`repeat_press_window_min`, default 10 minutes) after an
incident was closed as a test, accidental press or false alarm is linked to that incident: both
timelines say so and the console is told "pressed again 30 s after being closed as accidental".
It still opens a *new* incident with the full response, for a reason: the closed incident's
20-minute clock, its once-per-incident alarms (the 90-second one is raised once per incident
and kind), its escalation chain and its caregivers' offers are all spent, and re-opening it
would have to revive each of them; any one missed would silently delay what may now be a real
emergency (the elder who pressed by accident at 10:00 can fall at 10:05). A press after a
resolved real emergency is not linked: it is a new emergency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select

from schemas.hotline import PressOutcome
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.hotline.flows.settings import settings_for
from server.hotline.flows.tasks import insert_new, task_row
from server.incidents.flows.steps import close
from server.incidents.model import ACTIVE_STATES, timeline
from server.incidents.tables import incident_events, incidents
from server.platform import Platform, Tx
from server.texts import render, zh_en

FALSE_ALARMS: Final = ("test_press", "accidental", "false_alarm")
NEEDS_CALL_BACK: Final = ("test_press", "accidental")
MAX_WINDOW: Final = timedelta(minutes=60)  # the largest window a station may set
CLOSES_AS: Final = {
    PressOutcome.TEST: "test_press",
    PressOutcome.ACCIDENTAL: "accidental",
    PressOutcome.SOCIAL: "handled_by_phone",
}


async def recent_false_alarm(tx: Tx, elder_id: int, station_id: int) -> dict[str, Any] | None:
    """The elder's incident closed as a test/accidental/false alarm within the station's
    window, or None. One indexed query in the common case (nothing recent)."""
    row = (
        await tx.conn.execute(
            select(incidents.c.id, incidents.c.resolution, incidents.c.resolved_at)
            .where(
                incidents.c.elder_id == elder_id,
                incidents.c.resolution.in_(FALSE_ALARMS),
                incidents.c.resolved_at >= tx.now - MAX_WINDOW,
            )
            .order_by(incidents.c.resolved_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    window = timedelta(minutes=(await settings_for(tx.conn, station_id)).repeat_press_window_min)
    since = tx.now - row.resolved_at
    if since > window:
        return None
    return {
        "incident_id": int(row.id),
        "resolution": str(row.resolution),
        "seconds_since_closed": int(since.total_seconds()),
    }


async def link_repeat(tx: Tx, incident_id: int, repeat: dict[str, Any]) -> None:
    """Both timelines say the new press follows the closed one."""
    await timeline(
        tx,
        incident_id,
        "repeat_press",
        None,
        previous_incident_id=repeat["incident_id"],
        resolution=repeat["resolution"],
        seconds_since_closed=repeat["seconds_since_closed"],
    )
    await timeline(
        tx,
        repeat["incident_id"],
        "pressed_again",
        None,
        new_incident_id=incident_id,
        seconds_since_closed=repeat["seconds_since_closed"],
    )


async def record_call_back(
    platform: Platform,
    p: Principal,
    *,
    incident_id: int,
    outcome: PressOutcome,
    reached: bool,
    called_at: datetime | None,
    note: str,
) -> dict[str, Any]:
    """The operator called the elder back: record who, when and what they found; a test,
    accidental or social press is then closed with it (a real one stays open)."""
    closes = CLOSES_AS.get(outcome)
    if closes is not None and not reached:
        raise ApiError(
            422,
            "call_back_not_reached",
            zh_en("press.call_back_not_reached"),
        )
    async with platform.tx() as tx:
        inc = (
            await tx.conn.execute(select(incidents).where(incidents.c.id == incident_id))
        ).first()
        if inc is None or (p.role is not Role.ADMIN and inc.station_id != p.station_id):
            raise ApiError(404, "incident_not_found", "incident not found")
        if closes is not None and inc.status not in ACTIVE_STATES:
            raise ApiError(409, "incident_state_conflict", f"incident is {inc.status}")
        at = called_at or tx.now
        if at > tx.now + timedelta(minutes=1) or at < inc.opened_at - timedelta(minutes=1):
            raise ApiError(
                422,
                "bad_call_back_time",
                "the call-back is between the press and now",
                field="called_at",
            )
        record = {
            "by_user_id": p.user_id,
            "called_at": at.isoformat(),
            "reached": reached,
            "outcome": outcome.value,
            "note": note,
        }
        await timeline(tx, incident_id, "called_back", p.user_id, **record)
    if closes is not None:
        said = note or render("press.called_back", outcome=outcome.value)
        await close(platform, p, incident_id, resolution=closes, notes=said)
    return {"incident_id": incident_id, **record, "closed_as": closes}


async def on_incident_closed(platform: Platform, payload: dict[str, Any]) -> None:
    """Outbox: a test or accidental closure without a recorded call-back gets a call-back task."""
    if payload.get("resolution") not in NEEDS_CALL_BACK:
        return
    iid = int(payload["incident_id"])
    async with platform.tx() as tx:
        called = (
            await tx.conn.execute(
                select(incident_events.c.id).where(
                    incident_events.c.incident_id == iid, incident_events.c.kind == "called_back"
                )
            )
        ).first()
        inc = (await tx.conn.execute(select(incidents).where(incidents.c.id == iid))).first()
        if called is not None or inc is None:
            return
        ref = f"press_call_back:{iid}"
        row = task_row(
            tx,
            station_id=inc.station_id,
            elder_id=inc.elder_id,
            kind="return_call",
            title=zh_en("press.task"),
            ref=ref,
            due=tx.now + timedelta(hours=1),
            priority=3,
            duration_s=300,
            notes=zh_en("press.task_notes"),
        )
        if await insert_new(tx, [row]):
            await timeline(tx, iid, "call_back_missing", None, task_ref=ref)
