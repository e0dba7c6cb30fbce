"""Changes to a running chain from outside: a person takes responsibility ("I'm on my way") or
gives it back, an operator acknowledges, escalates or judges the call medical, the incident
ends. Each is recorded in the chain's history and the chain advanced in the same transaction.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from sqlalchemy import select, update

from schemas.hotline import (
    ChainStatus,
    EscalationAcknowledgedPush,
    EscalationWithdrawnPush,
)
from schemas.incidents import IncidentStatus
from server.auth.principal import Principal, Role
from server.errors import ApiError
from server.hotline.flows.chain import (
    advance,
    chain_of,
    name_of,
    record,
    responsible,
    start_chain,
)
from server.hotline.out import both, tell
from server.hotline.tables import chain_events, escalation_chains
from server.incidents.flows.alarms import raise_alarm
from server.incidents.model import timeline
from server.incidents.tables import alarms, incidents
from server.platform import Platform, Tx
from server.texts import Text

DUTY_PREFIX: Final = "duty:"
# Alarms that mean "nobody has taken this call": acknowledging one at the console shows an
# operator is on it, so the station head need not be woken.
HEAD_STOPPING_ALARMS: Final = frozenset({"not_accepted", "no_caregiver", "no_caregiver_in_time"})
# No caregiver can come in time: the chain skips the wait.
ESCALATING_ALARMS: Final = frozenset({"no_caregiver", "no_caregiver_in_time"})
# An incident in these is looking for a caregiver.
LOOKING: Final = (IncidentStatus.OPEN.value, IncidentStatus.OFFERED.value)


async def acknowledge(
    platform: Platform, tx: Tx, incident_id: int, person: str, *, actor: int | None, via: str
) -> bool:
    """`person` takes responsibility: the chain stops. False when there is no chain."""
    chain = await chain_of(tx, incident_id)
    if chain is None or chain.status == ChainStatus.CLOSED:
        return False
    if person.startswith(DUTY_PREFIX):
        # The operator on duty pressing 1 knows about the alarm: that stops the head alarm,
        # not the calls to the neighbour and family (nobody is on the way yet).
        await operator_acknowledged(platform, tx, chain, person, actor=actor, via=via)
        return True
    if person in await responsible(tx, chain.id):
        return True
    await _changed(
        platform,
        tx,
        chain,
        person,
        actor=actor,
        via=via,
        kind="ack",
        said="responsibility_taken",
        text="hotline.ack.going",
        push=EscalationAcknowledgedPush,
    )
    return True


async def operator_acknowledged(
    platform: Platform, tx: Tx, chain: Any, person: str, *, actor: int | None, via: str
) -> None:
    """An operator knows about this emergency: the head alarm is no longer needed."""
    done = (
        await tx.conn.execute(
            select(chain_events.c.id).where(
                chain_events.c.chain_id == chain.id, chain_events.c.kind == "operator_ack"
            )
        )
    ).first()
    if done is not None or chain.status == ChainStatus.CLOSED:
        return
    await _changed(
        platform,
        tx,
        chain,
        person,
        actor=actor,
        via=via,
        kind="operator_ack",
        said="operator_acknowledged",
        text="hotline.ack.operator",
        push=EscalationAcknowledgedPush,
    )


async def withdraw(
    platform: Platform, tx: Tx, incident_id: int, person: str, *, actor: int | None, via: str
) -> bool:
    """`person` cannot after all: the chain resumes with the next step. False if not
    responsible."""
    chain = await chain_of(tx, incident_id)
    if chain is None or person not in await responsible(tx, chain.id):
        return False
    await _changed(
        platform,
        tx,
        chain,
        person,
        actor=actor,
        via=via,
        kind="withdrawn",
        said="responsibility_withdrawn",
        text="hotline.withdrawn",
        push=EscalationWithdrawnPush,
    )
    after = await chain_of(tx, incident_id)
    if after.status == ChainStatus.FINISHED and not await responsible(tx, chain.id):
        # Every step has fired and the last person has dropped out: a person must decide now.
        await raise_alarm(tx, chain.station_id, incident_id, "escalation_exhausted")
    return True


async def _changed(
    platform: Platform,
    tx: Tx,
    chain: Any,
    person: str,
    *,
    actor: int | None,
    via: str,
    kind: str,
    said: str,
    text: str,
    push: type[EscalationAcknowledgedPush | EscalationWithdrawnPush],
) -> None:
    """Record a change of responsibility in the chain's history (``kind``) and on the
    incident's timeline (``said``), tell the console (``text``), and let the chain go on."""
    await record(tx, chain.id, kind, person=person, via=via)
    name = name_of(chain, person)
    await timeline(tx, chain.incident_id, said, actor, person=person, name=name, via=via)
    msg = push(
        station_id=chain.station_id,
        incident_id=chain.incident_id,
        person=person,
        name=name,
        via=via,
        text=both(Text(text, {"name": name})),
    )
    await tell(tx, msg)
    await advance(platform, tx, chain.id)


async def escalate_now(platform: Platform, tx: Tx, incident_id: int, reason: str) -> None:
    """Skip the wait (no caregiver can arrive in time, or the operator says so)."""
    chain = await chain_of(tx, incident_id)
    if chain is None:
        await start_chain(platform, tx, incident_id)
        chain = await chain_of(tx, incident_id)
        if chain is None:
            return
    await record(tx, chain.id, "escalated", reason=reason)
    await advance(platform, tx, chain.id)


async def mark_medical(platform: Platform, tx: Tx, incident_id: int, actor: int | None) -> None:
    """The operator judges this a medical emergency: 120 is advised at once."""
    chain = await chain_of(tx, incident_id)
    if chain is None:
        await start_chain(platform, tx, incident_id, medical=True)
    elif not chain.context.get("medical"):
        await tx.conn.execute(
            update(escalation_chains)
            .where(escalation_chains.c.id == chain.id)
            .values(context={**chain.context, "medical": True})
        )
        await advance(platform, tx, chain.id)
    await timeline(tx, incident_id, "marked_medical", actor)


async def close_chain(platform: Platform, tx: Tx, incident_id: int) -> None:
    """The incident is over: nothing more fires."""
    chain = await chain_of(tx, incident_id)
    if chain is None or chain.status == ChainStatus.CLOSED:
        return
    await record(tx, chain.id, "closed")
    await advance(platform, tx, chain.id)


# --- commands from the outside: the console, the app, other domains' events --------------------


async def answer_for(
    platform: Platform,
    p: Principal,
    *,
    incident_id: int,
    action: Literal["accept", "withdraw"],
    person: str | None,
) -> str:
    """Take responsibility or give it back: a family member for themselves, an operator for
    the person they name. Returns whom it was for; 409 when nothing changed."""
    async with platform.tx() as tx:
        if p.role is Role.FAMILY:
            person = await _person_of_user(tx, incident_id, p.user_id)
        elif person is None:
            raise ApiError(422, "person_required", "say whom you speak for", field="person")
        via = "app" if p.role is Role.FAMILY else "operator"
        change = acknowledge if action == "accept" else withdraw
        if not await change(platform, tx, incident_id, person, actor=p.user_id, via=via):
            raise ApiError(
                409,
                "chain_not_changed",
                "no running chain, or this person had not taken responsibility",
            )
    return person


async def _person_of_user(tx: Tx, incident_id: int, user_id: int) -> str:
    row = await chain_of(tx, incident_id)
    people = row.context.get("people", {}) if row is not None else {}
    found = (k for k, v in people.items() if v.get("user_id") == user_id)
    return next(found, f"user:{user_id}")


async def escalate(platform: Platform, incident_id: int, reason: str) -> None:
    """The operator skips the wait: the next step fires now."""
    async with platform.tx() as tx:
        await escalate_now(platform, tx, incident_id, reason)


async def judge_medical(platform: Platform, incident_id: int, actor: int) -> None:
    """The operator judges the incident a medical emergency."""
    async with platform.tx() as tx:
        await mark_medical(platform, tx, incident_id, actor)


async def alarm_acknowledged(
    platform: Platform, *, incident_id: int, alarm_id: int, user_id: int | None
) -> None:
    """An operator acknowledged an alarm at the console: if it said "nobody has taken this
    call", an operator is on it and the head need not be called."""
    async with platform.tx() as tx:
        by_id = alarms.c.id == alarm_id
        kind = (await tx.conn.execute(select(alarms.c.kind).where(by_id))).scalar()
        chain = await chain_of(tx, incident_id)
        if kind not in HEAD_STOPPING_ALARMS or chain is None:
            return
        await operator_acknowledged(
            platform,
            tx,
            chain,
            f"operator:{user_id}" if user_id else "operator",
            actor=int(user_id) if user_id else None,
            via="console",
        )


async def caregiver_withdrew(platform: Platform, incident_id: int) -> None:
    """The incident is looking for a caregiver again: the caregiver who had it withdrew."""
    async with platform.tx() as tx:
        by_id = incidents.c.id == incident_id
        inc = (await tx.conn.execute(select(incidents).where(by_id))).first()
        chain = await chain_of(tx, incident_id)
        if inc is None or chain is None or inc.status not in LOOKING:
            return
        for person in sorted(await responsible(tx, chain.id)):
            if person.startswith("caregiver:"):
                await withdraw(platform, tx, incident_id, person, actor=None, via="offer")
