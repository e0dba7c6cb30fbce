"""Who hears about an incident: the station's operators, the elder, bound family.

Every pushed text is rendered here for its reader (server/texts.py): the elder and the
family get their own wording, both in Chinese (``text``) and as ``text_i18n``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal, select

from server.auth.tables import users
from server.clock import as_utc
from server.incidents.tables import incidents
from server.platform import Tx, queue_push
from server.registry.tables import caregivers, elders, family_bindings
from server.texts import alarm_text, with_text


async def to_operators(tx: Tx, station_id: int, type_: str, payload: dict[str, Any]) -> None:
    """Fan a station-wide message out into each operator's own numbered stream."""
    ops = (
        (
            await tx.conn.execute(
                select(users.c.id).where(
                    users.c.role.in_(("operator", "admin")),
                    users.c.active.is_(True),
                    (users.c.station_id == station_id) | (users.c.role == "admin"),
                )
            )
        )
        .scalars()
        .all()
    )
    # Every station-wide message names its station: an admin gets all stations' messages,
    # and a console shows only those of the station on its board.
    payload = {"station_id": station_id, **payload}
    if type_ == "alarm.raised":
        said = alarm_text(str(payload.get("kind", "")), payload.get("params"))
        payload = {**payload, "message": said.render("zh"), "message_i18n": said.out()}
    for uid in ops:
        queue_push(tx, f"user:{uid}", type_, payload)


async def watchers(tx: Tx, elder_id: int) -> list[int]:
    """The elder's own account and every confirmed family member."""
    return [uid for uid, _ in await _watchers(tx, elder_id)]


async def _watchers(tx: Tx, elder_id: int) -> list[tuple[int, str]]:
    family = select(
        family_bindings.c.family_user_id.label("uid"), literal("family").label("who")
    ).where(family_bindings.c.elder_id == elder_id, family_bindings.c.status == "confirmed")
    own = select(elders.c.user_id.label("uid"), literal("elder").label("who")).where(
        elders.c.id == elder_id, elders.c.user_id.is_not(None)
    )
    return [(int(r.uid), str(r.who)) for r in await tx.conn.execute(own.union_all(family))]


async def _with_caregiver(tx: Tx, payload: dict[str, Any]) -> dict[str, Any]:
    """A status push names who is coming and when, even where the sender left it out."""
    if payload.get("caregiver_name") or payload.get("status") not in (
        "accepted",
        "en_route",
        "arrived",
    ):
        return payload
    row = (
        await tx.conn.execute(
            select(caregivers.c.name, incidents.c.eta_at)
            .join(caregivers, caregivers.c.id == incidents.c.caregiver_id)
            .where(incidents.c.id == payload.get("incident_id"))
        )
    ).first()
    if row is None:
        return payload
    out = {**payload, "caregiver_name": row.name}
    if row.eta_at is not None and payload.get("status") != "arrived" and "eta_minutes" not in out:
        out["eta_minutes"] = max(1, round((as_utc(row.eta_at) - tx.now).total_seconds() / 60))
    return out


async def to_watchers(tx: Tx, elder_id: int, type_: str, payload: dict[str, Any]) -> None:
    if type_ == "incident.status":
        payload = await _with_caregiver(tx, payload)
    for uid, who in await _watchers(tx, elder_id):
        queue_push(
            tx,
            f"user:{uid}",
            type_,
            with_text(type_, payload, "elder" if who == "elder" else "family"),
        )
