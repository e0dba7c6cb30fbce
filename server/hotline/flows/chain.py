"""The escalation chain in the store: started on an emergency, advanced by one durable timer,
paused by whoever takes responsibility, resumed when they withdraw, closed with the incident.

The history lives in `hotline_chain_events`; every advance re-runs the pure planner
(`hotline.escalation.plan`) over it, fires what is due in the same transaction as its timeline
and outbox rows, and keeps exactly one pending timer at the planner's `next_at`. A restart
loses nothing: the timer is in the store and the planner continues from the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.escalation import ChainEvent, ChainStarted, Firing, Plan, StepFired, plan
from hotline.roster import DutyRole, DutySlot
from schemas.hotline import ChainStatus, EscalationStepPush, StepKind
from schemas.incidents import IncidentStatus
from server.auth.tables import users
from server.clock import SHANGHAI
from server.hotline.flows.definitions import (
    context_from_json,
    definition_for,
    definition_from_json,
    definition_to_json,
    effective_definition,
    event_from_row,
)
from server.hotline.flows.plain_chain import Start, read_start, write_chain
from server.hotline.flows.roster import roster_now
from server.hotline.model import new_alert, new_chain, tell_status, transition_chain
from server.hotline.out import EMERGENCY_SMS, both, step_line, tell, zh
from server.hotline.tables import chain_events, escalation_chains
from server.incidents.flows.alarms import raise_alarm
from server.incidents.model import timeline
from server.incidents.tables import alarms, incident_events, incidents
from server.platform import Platform, Tx, cancel_timer, emit, schedule
from server.registry.tables import elders, family_bindings, stations
from server.texts import Text
from server.volunteers.flows import CHAIN_PREFIX, chain_volunteers

# The common start in plain SQL (plain_chain.py); tests turn it off to compare the rows.
PLAIN = True
TIMER_KIND: Final = "hotline.chain"  # stored on timer rows: a name, not a module path
STATION: Final = "station"  # the console target of operator alarms and the 120 advice
ACTIVE: Final = (ChainStatus.RUNNING.value, ChainStatus.PAUSED.value)
# An incident in these has nothing left for a chain to do.
OVER: Final = (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value)

People = dict[str, dict[str, Any]]


# --- reading -------------------------------------------------------------------------------


async def chain_of(tx: Tx, incident_id: int) -> Any:
    """The chain row of an incident, or None."""
    by_incident = escalation_chains.c.incident_id == incident_id
    return (await tx.conn.execute(select(escalation_chains).where(by_incident))).first()


async def responsible(tx: Tx, chain_id: int) -> set[str]:
    """People who have taken responsibility and not withdrawn."""
    return await responsible_in(tx.conn, chain_id)


async def responsible_in(conn: AsyncConnection, chain_id: int) -> set[str]:
    """`responsible` on any connection (the SMS page reads it outside a transaction)."""
    rows = (
        await conn.execute(
            select(chain_events.c.kind, chain_events.c.person)
            .where(
                chain_events.c.chain_id == chain_id, chain_events.c.kind.in_(("ack", "withdrawn"))
            )
            .order_by(chain_events.c.at, chain_events.c.id)
        )
    ).all()
    out: set[str] = set()
    for r in rows:
        if r.kind == "ack":
            out.add(r.person)
        else:
            out.discard(r.person)
    return out


def name_of(chain: Any, person: str) -> str:
    """A person's name as the chain knows it (the key itself when it does not)."""
    return str(chain.context.get("people", {}).get(person, {}).get("name", person))


async def record(
    tx: Tx,
    chain_id: int,
    kind: str,
    *,
    firing: str | None = None,
    person: str | None = None,
    at: datetime | None = None,
    **data: Any,
) -> None:
    """Add an event to the chain's history."""
    await tx.conn.execute(
        insert(chain_events).values(
            chain_id=chain_id, kind=kind, at=at or tx.now, firing=firing, person=person, data=data
        )
    )


# --- starting ----------------------------------------------------------------------------


def _family(elder: Any, bound: list[Any], people: People) -> list[str]:
    """The contacts in their order, then bound family members with the app not listed."""
    by_phone = {u.phone: u for u in bound if u.phone}
    family: list[str] = []
    # The file is validated by the registry; a stray non-object entry is skipped, never fatal.
    contacts = sorted(
        (c for c in elder.contacts or [] if isinstance(c, dict)),
        key=lambda c: c.get("order", 99) if isinstance(c.get("order"), int) else 99,
    )
    for i, c in enumerate(contacts):
        user = by_phone.get(c.get("phone"))
        people[f"family:{i}"] = {
            "name": c.get("name", ""),
            "relation": c.get("relation", ""),
            "phone": c.get("phone"),
            "user_id": user.id if user else None,
            "openid": user.wechat_openid if user else None,
        }
        family.append(f"family:{i}")
    listed = {p["user_id"] for p in people.values() if p["user_id"]}
    for u in bound:
        if u.id not in listed:
            key = f"family:{len(family)}"
            people[key] = {
                "name": u.display_name,
                "relation": zh("hotline.relation.family"),
                "phone": u.phone,
                "user_id": u.id,
                "openid": u.wechat_openid,
            }
            family.append(key)
    return family


def _neighbours_and_doctor(elder: Any, people: People) -> tuple[list[str], list[str]]:
    neighbours: list[str] = []
    for i, n in enumerate(x for x in elder.neighbours or [] if isinstance(x, dict)):
        relation = zh("hotline.relation.neighbour")
        people[f"neighbour:{i}"] = {
            "name": n.get("name", ""),
            "relation": relation,
            "phone": n.get("phone"),
        }
        neighbours.append(f"neighbour:{i}")
    doctor: list[str] = []
    if isinstance(elder.family_doctor, dict) and elder.family_doctor.get("phone"):
        people["doctor:0"] = {
            "name": elder.family_doctor.get("name", ""),
            "relation": zh("hotline.relation.doctor"),
            "phone": elder.family_doctor["phone"],
        }
        doctor.append("doctor:0")
    return neighbours, doctor


async def _bound_family(tx: Tx, elder_id: int) -> list[Any]:
    bound = select(family_bindings.c.family_user_id).where(
        family_bindings.c.elder_id == elder_id, family_bindings.c.status == "confirmed"
    )
    stmt = select(users.c.id, users.c.phone, users.c.wechat_openid, users.c.display_name)
    return list((await tx.conn.execute(stmt.where(users.c.id.in_(bound)))).all())


async def _people(
    tx: Tx, elder: Any, bound: list[Any], *, volunteers: bool = True
) -> tuple[dict[str, Any], People]:
    """Whom the chain may call for this elder, and how to reach each person: ``bound`` are
    the confirmed family's accounts (``_bound_family``); ``volunteers`` False: the elder has
    no linked volunteers."""
    people: People = {}
    relatives = _family(elder, bound, people)
    neighbours, doctor = _neighbours_and_doctor(elder, people)
    # volunteers with a watch agreement in force are called with the neighbours, after them
    today = tx.now.astimezone(SHANGHAI).date()
    linked = await chain_volunteers(tx.conn, elder_id=elder.id, today=today) if volunteers else []
    for v in linked:
        key = f"{CHAIN_PREFIX}:{v.id}"
        people[key] = {
            "name": v.name,
            "relation": zh("hotline.relation.volunteer"),
            "phone": v.phone,
        }
        neighbours.append(key)
    # The operator on duty and the head are looked up at each step (see _with_roster).
    groups = {
        "neighbours": neighbours,
        "family": relatives,
        "doctor": doctor,
        "duty": [],
        "head": [],
    }
    return groups, people


async def emergency_since(tx: Tx, inc: Any, *, joined: bool = True) -> datetime:
    """When the incident became an emergency: its opening, or the press that upgraded it.

    The chain clock starts there: a service request upgraded after 30 minutes must not have
    every step overdue at once. A chain started by hand on a non-emergency starts now.
    ``joined`` False: no press has joined the call (so none upgraded it).
    """
    if inc.kind != "emergency":
        return tx.now
    opened: datetime = inc.opened_at
    if not joined:
        return opened
    presses = (
        await tx.conn.execute(
            select(incident_events.c.at, incident_events.c.data)
            .where(incident_events.c.incident_id == inc.id, incident_events.c.kind == "joined")
            .order_by(incident_events.c.id)
        )
    ).all()
    upgrades: list[datetime] = [
        r.at for r in presses if isinstance(r.data, dict) and r.data.get("upgraded")
    ]
    return upgrades[-1] if upgrades else opened


async def start_chain(
    platform: Platform, tx: Tx, incident_id: int, *, medical: bool = False
) -> int | None:
    """Start the chain for an emergency (once); returns the chain id when started now.

    It always starts: overrides that do not apply are left out with an operator alarm.
    """
    if PLAIN:
        inc = await read_start(tx, incident_id)
        if inc is None or inc.has_chain or inc.status in OVER:
            return None
        chain_id = await _start_plain(tx, inc, medical=medical)
        if chain_id is not None:
            return chain_id
    if await chain_of(tx, incident_id) is not None:
        return None
    row = (await tx.conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
    if row is None or row.status in OVER:
        return None
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
    definition, problems = await definition_for(tx, row.station_id, row.elder_id)
    groups, people = await _people(tx, elder, await _bound_family(tx, elder.id))
    started_at = await emergency_since(tx, row)
    # Medical is the operator's judgement (after a call-back or on the phone), not the
    # button's: most presses are not medical emergencies. See mark_medical().
    context = {"medical": medical, "operators": [STATION], **groups, "people": people}
    chain_id = await new_chain(
        tx, incident_id=incident_id, station_id=row.station_id, elder_id=row.elder_id,
        started_at=started_at, definition=definition_to_json(definition), context=context,
    )  # fmt: skip
    await record(tx, chain_id, "started", at=started_at)
    if problems:
        await timeline(tx, incident_id, "chain_fallback", None, problems=problems)
        await raise_alarm(tx, row.station_id, incident_id, "chain_fallback")
    await advance(platform, tx, chain_id)
    return chain_id


async def _start_plain(tx: Tx, inc: Start, *, medical: bool) -> int | None:
    """The common start (plain_chain.py): the chain written as ``advance`` would leave it,
    with the roster in its context as ``_with_roster`` would put it. None when a step is due
    at once (an upgraded call's clock started long ago): the general path fires it."""
    if inc.overrides:
        definition, problems = await definition_for(tx, inc.station_id, inc.elder_id)
    else:
        definition, problems = effective_definition(None, None)
    groups, people = await _people(tx, inc.elder, inc.bound, volunteers=inc.volunteers)
    started_at = await emergency_since(tx, inc, joined=inc.joined)
    context: dict[str, Any] = {"medical": medical, "operators": [STATION], **groups}
    context["people"] = people
    if inc.roster:
        context = _rostered(context, await roster_now(tx, inc.station_id))
    stored = definition_to_json(definition)
    history: list[ChainEvent] = [ChainStarted(started_at)]
    after = plan(definition_from_json(stored), context_from_json(context), history, tx.now)
    if after.due:
        return None
    chain_id = await write_chain(
        tx, inc, started_at=started_at, definition=stored, context=context, after=after,
        timer_kind=TIMER_KIND,
    )  # fmt: skip
    if problems:
        await timeline(tx, inc.id, "chain_fallback", None, problems=problems)
        await raise_alarm(tx, inc.station_id, inc.id, "chain_fallback")
    if after.status is not ChainStatus.RUNNING:  # as transition_chain tells a new status
        await tell_status(tx, inc.station_id, inc.id, after)
    return chain_id


# --- advancing ---------------------------------------------------------------------------


async def advance(platform: Platform, tx: Tx, chain_id: int) -> None:
    """Fire whatever is due and keep one timer at the next step's time."""
    stmt = select(escalation_chains).where(escalation_chains.c.id == chain_id)
    chain = (await tx.conn.execute(stmt.with_for_update())).one()
    definition = definition_from_json(chain.definition)
    if chain.status in ACTIVE:
        chain = await _with_roster(tx, chain)
    context = context_from_json(chain.context)
    by_chain = chain_events.c.chain_id == chain_id
    rows = (
        await tx.conn.execute(select(chain_events).where(by_chain).order_by(chain_events.c.id))
    ).all()
    history = [event_from_row(r) for r in rows]
    for firing in plan(definition, context, history, tx.now).due:
        await _fire(tx, chain, firing)
        await record(tx, chain_id, "fired", firing=firing.id)
        history.append(StepFired(firing.id, tx.now))
    after = plan(definition, context, history, tx.now)
    if after.next_at != chain.next_at or after.status.value != chain.status:
        await _rearm(tx, chain, after)


async def _rearm(tx: Tx, chain: Any, after: Plan) -> None:
    """One pending timer at the planner's next time (none when nothing is left to wait for)."""
    seq = chain.timer_seq
    if seq:  # a new chain (seq 0) has no timer yet: the first is chain:ID:1
        await cancel_timer(tx, f"chain:{chain.id}:{seq}")
    if after.next_at is not None:
        seq += 1
        ref = f"chain:{chain.id}:{seq}"
        await schedule(tx, TIMER_KIND, ref, after.next_at, {"chain_id": chain.id})
    await transition_chain(tx, chain, after, timer_seq=seq)


async def _with_roster(tx: Tx, chain: Any) -> Any:
    """The chain with the operator on duty and the head as the roster says right now.

    Resolved at every step, so a shift change in the middle of a chain calls whoever is on
    duty when the step fires. People once called stay in `people` (names for the timeline,
    the app's "I'm on my way").
    """
    context = _rostered(chain.context, await roster_now(tx, chain.station_id))
    if context == chain.context:
        return chain
    by_id = escalation_chains.c.id == chain.id
    await tx.conn.execute(update(escalation_chains).where(by_id).values(context=context))
    return (await tx.conn.execute(select(escalation_chains).where(by_id))).one()


def _rostered(
    context: dict[str, Any], on_duty: list[tuple[DutySlot, int | None]]
) -> dict[str, Any]:
    """The context with ``duty`` and ``head`` those on the roster now (``roster_now``)."""
    people = dict(context.get("people", {}))
    duty: list[str] = []
    head: list[str] = []
    for slot, user_id in on_duty:
        is_duty = slot.role is DutyRole.OPERATOR
        people[slot.person] = {
            "name": slot.name,
            "relation": zh("hotline.relation.duty" if is_duty else "hotline.relation.head"),
            "phone": slot.phone,
            "user_id": user_id,
        }
        (duty if is_duty else head).append(slot.person)
    return {**context, "duty": duty, "head": head, "people": people}


# --- firing ----------------------------------------------------------------------------------


async def _fire(tx: Tx, chain: Any, firing: Firing) -> None:
    """One step reaching one person (or the console, or nobody)."""
    if firing.kind is StepKind.OPERATOR_ALARM and firing.target == STATION:
        await _alarm_the_console(tx, chain, firing)
    elif firing.kind is StepKind.ADVISE_120:
        if firing.target == STATION:  # the advice is for the console only
            await raise_alarm(tx, chain.station_id, int(chain.incident_id), "advise_120")
    else:
        person = chain.context.get("people", {}).get(firing.target or "", None)
        if firing.target is None or person is None:
            await _nobody_to_call(tx, chain, firing)
        else:
            await _call(tx, chain, firing, person)


async def _alarm_the_console(tx: Tx, chain: Any, firing: Firing) -> None:
    incident_id = int(chain.incident_id)
    waiting = (
        await tx.conn.execute(
            select(alarms.c.id).where(
                alarms.c.incident_id == incident_id, alarms.c.acknowledged_at.is_(None)
            )
        )
    ).first()
    if waiting is None:
        # The same kind as the platform's own 90-second alarm, so the two never double up.
        await raise_alarm(tx, chain.station_id, incident_id, "not_accepted", {"variant": "chain"})
    else:
        await timeline(
            tx, incident_id, "escalation_step", None, step=firing.step, already_alarmed=True
        )


async def _nobody_to_call(tx: Tx, chain: Any, firing: Firing) -> None:
    incident_id = int(chain.incident_id)
    await timeline(
        tx, incident_id, "escalation_skipped", None, step=firing.step, reason="nobody to call"
    )
    if firing.kind is StepKind.HEAD_ALARM:
        await raise_alarm(tx, chain.station_id, incident_id, "escalation_head")
        return
    msg = EscalationStepPush(
        station_id=chain.station_id,
        incident_id=incident_id,
        step=firing.step,
        skipped=True,
        text=step_line(firing.kind, firing.step, both(Text("hotline.step.nobody"))),
    )
    await tell(tx, msg)


async def _call(tx: Tx, chain: Any, firing: Firing, person: dict[str, Any]) -> None:
    """An alert for the person (sent through their channels after the commit)."""
    incident_id = int(chain.incident_id)
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == chain.elder_id))).one()
    by_station = stations.c.id == chain.station_id
    phone = (await tx.conn.execute(select(stations.c.phone).where(by_station))).scalar()
    name, relation = person.get("name", ""), person.get("relation", "")
    alert_id = await new_alert(
        tx,
        chain_id=chain.id,
        incident_id=incident_id,
        firing=firing.id,
        person=firing.target,
        name=name,
        phone=person.get("phone"),
        openid=person.get("openid"),
        user_id=person.get("user_id"),
        channels=[c.value for c in firing.channels],
        text_key=EMERGENCY_SMS,
        text_params={"name": elder.name, "address": elder.address, "phone": phone},
    )
    await timeline(
        tx,
        incident_id,
        "escalation_call",
        None,
        step=firing.step,
        person=firing.target,
        name=name,
        relation=relation,
        alert_id=alert_id,
    )
    msg = EscalationStepPush(
        station_id=chain.station_id,
        incident_id=incident_id,
        step=firing.step,
        person=firing.target,
        name=name,
        relation=relation,
        alert_id=alert_id,
        text=step_line(firing.kind, firing.step, name),
    )
    await tell(tx, msg)
    await emit(tx, "hotline.alert", {"alert_id": alert_id})
