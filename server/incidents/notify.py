"""Who hears about an incident: the station's operators, the elder, bound family.

Every pushed text is rendered here for its reader (server/texts): the elder and the family
get their own wording, both in Chinese (``text``) and as ``text_i18n``. A message is a typed
model (``schemas.common.Push``); the untyped ``(type, payload)`` form still works for the
domains that have not moved to models yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal, select

from schemas.common import I18nText, Push, StationPush
from server.auth.tables import users
from server.clock import as_utc
from server.incidents.model import WITH_CAREGIVER
from server.incidents.tables import incidents
from server.platform import Tx, queue_push
from server.registry.tables import caregivers, elders, family_bindings
from server.texts import Audience, push_text


async def to_operators(tx: Tx, msg: StationPush) -> None:
    """Fan a station-wide message out into each operator's own numbered stream. It names its
    station: an admin gets every station's messages, a console shows only its own."""
    for uid in await _operators(tx, msg.station_id):
        queue_push(tx, f"user:{uid}", msg)


async def _operators(tx: Tx, station_id: int) -> list[int]:
    """The station's active operators, and every admin."""
    return list(
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


async def watchers(tx: Tx, elder_id: int) -> list[int]:
    """The elder's own account and every confirmed family member."""
    return [uid for uid, _ in await _watchers(tx, elder_id)]


async def _watchers(tx: Tx, elder_id: int) -> list[tuple[int, Audience]]:
    family = select(
        family_bindings.c.family_user_id.label("uid"), literal("family").label("who")
    ).where(family_bindings.c.elder_id == elder_id, family_bindings.c.status == "confirmed")
    own = select(elders.c.user_id.label("uid"), literal("elder").label("who")).where(
        elders.c.id == elder_id, elders.c.user_id.is_not(None)
    )
    return [
        (int(r.uid), "elder" if r.who == "elder" else "family")
        for r in await tx.conn.execute(own.union_all(family))
    ]


async def _with_caregiver(tx: Tx, payload: dict[str, Any]) -> dict[str, Any]:
    """A status push names who is coming and when, even where the sender left it out."""
    if payload.get("caregiver_name") or payload.get("status") not in WITH_CAREGIVER:
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
    if row.eta_at is not None and payload.get("status") != "arrived" and not out.get("eta_minutes"):
        out["eta_minutes"] = max(1, round((as_utc(row.eta_at) - tx.now).total_seconds() / 60))
    return out


async def to_watchers(tx: Tx, elder_id: int, msg: Push) -> None:
    """A message for the elder and bound family, each with the text in their own wording."""
    if msg.TYPE == "incident.status":
        known = await _with_caregiver(tx, msg.model_dump())
        msg = msg.model_copy(
            update={k: known[k] for k in ("caregiver_name", "eta_minutes") if k in known}
        )
    for recipient, mine in in_their_words(msg, await _watchers(tx, elder_id)):
        queue_push(tx, recipient, mine)


def in_their_words(msg: Push, readers: list[tuple[int, Audience]]) -> list[tuple[str, Push]]:
    """The message for each reader, with the text in their own wording."""
    out: list[tuple[str, Push]] = []
    for uid, who in readers:
        said = push_text(msg.TYPE, msg.model_dump(), who)
        mine = msg
        if said is not None:
            mine = msg.model_copy(
                update={"text": said.render("zh"), "text_i18n": I18nText.model_validate(said.out())}
            )
        out.append((f"user:{uid}", mine))
    return out
