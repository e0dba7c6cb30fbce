"""An emergency for another station's elder.

An elder (or a neighbour) in trouble rings whichever station's number they have. The screen
pop shows an elder of another station only as "registered at another station"; a lost help
call is worse than any disclosure, so the operator who answered can still open the emergency
with one click. It is opened at the elder's own station, through the one intake path, where
that station's operator and caregivers take it and the escalation chain runs as for any
emergency. The operator who forwarded it learns where it went (station, its phone, the
incident's number) to tell the caller and 120; the elder's name and address only when the
elder's station allows sharing in an emergency. Both are audit rows.

Only an elder the call itself matched (by the caller's number) can be forwarded: the request
names a position in the call's matches, never an elder id, so this opens nothing that the
screen pop did not already show exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from schemas.hotline import CallerMatch, ForwardedEmergency
from schemas.incidents import CallType
from server.errors import ApiError
from server.hotline.flows.calls import link_call, own_call
from server.hotline.flows.responsibility import mark_medical
from server.hotline.flows.settings import settings_for
from server.incidents.flows.intake import Intake, open_or_join
from server.incidents.model import timeline
from server.platform import Platform, Tx, audit
from server.registry.tables import elders, stations


async def forward_emergency(
    platform: Platform,
    *,
    station_id: int | None,
    is_admin: bool,
    user_id: int,
    call_id: str,
    match: int,
    note: str,
    medical: bool,
) -> ForwardedEmergency:
    """Open the emergency at the matched elder's own station; say where it went."""
    async with platform.tx() as tx:
        call = await own_call(tx, call_id, station_id, is_admin)
        m = _match_of(call, match)
        if not is_admin and m.station_id == station_id:
            raise ApiError(
                409, "elder_at_this_station", "this elder is your station's: open the call here"
            )
        intake = Intake(
            elder_id=m.elder_id,
            kind=CallType.EMERGENCY,
            source="phone",
            reporter_user_id=user_id,
            note=note,
            call_id=call_id,
        )
        result = await open_or_join(platform, tx, intake)
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == m.elder_id))).one()
        await link_call(tx, call, result.incident_id, elder, user_id)
        await timeline(
            tx, result.incident_id, "forwarded", user_id, from_station_id=call.station_id
        )
        if medical:
            await mark_medical(platform, tx, result.incident_id, user_id)
        await audit(
            tx,
            actor=user_id,
            action="emergency_forwarded",
            object_type="elder",
            object_id=elder.id,
            detail={"call_id": call_id, "incident_id": result.incident_id},
        )
        return await _answer(tx, result.incident_id, result.joined, elder, user_id)


def _match_of(call: Any, index: int) -> CallerMatch:
    """The elder at this position of the call's matches (as the screen pop listed them)."""
    matches = list(call.matches or [])
    if index >= len(matches):
        raise ApiError(
            422,
            "match_not_found",
            f"the call matched {len(matches)} elder(s)",
            field="match",
        )
    return CallerMatch.model_validate(matches[index])


async def _answer(
    tx: Tx, incident_id: int, joined: bool, elder: Any, user_id: int
) -> ForwardedEmergency:
    """Where it went; the elder's name and address only if their station shares them."""
    station = (
        await tx.conn.execute(select(stations).where(stations.c.id == elder.station_id))
    ).one()
    shared = (await settings_for(tx.conn, elder.station_id)).share_in_emergency
    if shared:
        await audit(
            tx,
            actor=user_id,
            action="emergency_shared",
            object_type="elder",
            object_id=elder.id,
            detail={"incident_id": incident_id},
        )
    return ForwardedEmergency(
        incident_id=incident_id,
        joined=joined,
        station_id=station.id,
        station_name=station.name,
        station_phone=station.phone or "",
        shared=shared,
        elder_name=elder.name if shared else "",
        address=elder.address if shared else "",
    )
