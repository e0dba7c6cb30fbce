"""The elder's care record for 120, and the operator's record of calling 120."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from hotline.care_record import CareProfile, Contact, access_of, lines_of, render_for_120, sex_label
from server.clock import SHANGHAI
from server.hotline.flows.common import incident_in_scope
from server.incidents.model import acknowledge_alarms, timeline
from server.incidents.tables import alarms
from server.platform import Platform, audit
from server.registry.tables import elders


def _birth(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def profile_of(e: Any) -> CareProfile:
    """What the elder's file says that 120 needs."""
    return CareProfile(
        name=e.name,
        sex=sex_label(e.sex),
        birth_date=_birth(e.birth_date),
        address=e.address,
        access=access_of(e.access_notes, e.key_holder),
        conditions=lines_of(e.health_notes),
        medicines=lines_of(e.medicines),
        care_level=e.care_level,
        contacts=tuple(
            Contact(str(c.get("name", "")), str(c.get("relation", "")), str(c.get("phone", "")))
            for c in sorted(e.contacts or [], key=lambda c: c.get("order", 99))
        ),
        lives_alone=e.living == "alone",
    )


async def disclose_care_record(
    platform: Platform,
    *,
    incident_id: int,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    recipient: str,
    reason: str,
) -> str:
    """The care record as text for 120; the disclosure is audited and on the timeline."""
    async with platform.tx() as tx:
        inc = await incident_in_scope(tx, incident_id, station_id, is_admin)
        e = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
        text = render_for_120(profile_of(e), today=tx.now.astimezone(SHANGHAI).date())
        # PIPL art. 13(1)4 allows this without consent; the log records who, to whom and why.
        await audit(
            tx,
            actor=user_id,
            action="disclose_120",
            object_type="elder",
            object_id=e.id,
            detail={
                "incident_id": incident_id,
                "recipient": recipient,
                "reason": reason,
                "legal_basis": "PIPL 13(1)4",
                "chars": len(text),
            },
        )
        await timeline(
            tx, incident_id, "care_record_disclosed", user_id, recipient=recipient, reason=reason
        )
        return text


async def record_called_120(
    platform: Platform,
    *,
    incident_id: int,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    note: str,
) -> None:
    """The operator called 120: on the timeline, and the advice alarm is settled."""
    async with platform.tx() as tx:
        inc = await incident_in_scope(tx, incident_id, station_id, is_admin)
        await timeline(tx, inc.id, "called_120", user_id, note=note)
        await acknowledge_alarms(
            tx, alarms.c.incident_id == inc.id, alarms.c.kind == "advise_120", by=user_id
        )
