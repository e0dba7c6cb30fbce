"""The escalation chain in the store: started on an emergency, advanced by one durable timer,
paused by whoever takes responsibility, resumed when they withdraw, closed with the incident.

The history lives in `hotline_chain_events`; every advance re-runs the pure planner
(`hotline.escalation.plan`) over it, fires what is due in the same transaction as its timeline
and outbox rows, and keeps exactly one pending timer at the planner's `next_at`. A restart
loses nothing: the timer is in the store and the planner continues from the history.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.escalation import (
    DEFAULT_CHAIN,
    Acknowledged,
    ChainClosed,
    ChainContext,
    ChainDefinition,
    ChainEvent,
    ChainOverride,
    ChainStarted,
    ChainStatus,
    Escalated,
    Firing,
    OperatorAcknowledged,
    StepDef,
    StepFired,
    Withdrawn,
    plan,
    validate_definition,
)
from hotline.roster import DutyRole, DutySlot, on_duty
from schemas.hotline import Anchor, Channel, StepKind
from server.auth.principal import Principal
from server.auth.tables import users
from server.errors import ApiError
from server.hotline.tables import (
    alert_attempts,
    alerts,
    chain_events,
    chain_overrides,
    escalation_chains,
    roster,
)
from server.incidents.alarms import raise_alarm
from server.incidents.model import timeline
from server.incidents.notify import to_operators
from server.incidents.tables import alarms, incident_events, incidents
from server.platform import Platform, Tx, cancel_timer, emit, schedule
from server.registry.guards import elder_for
from server.registry.tables import elders, family_bindings, stations

TIMER_KIND = "server.hotline.chain"
STATION = "station"  # the console target of operator alarms and the 120 advice


# --- (de)serialising definitions and contexts ------------------------------------------


def step_to_json(s: StepDef) -> dict[str, Any]:
    """A step as stored."""
    return {
        "key": s.key,
        "kind": s.kind.value,
        "delay_s": s.delay.total_seconds(),
        "channels": [c.value for c in s.channels],
        "anchor": s.anchor.value,
        "target_interval_s": s.target_interval.total_seconds(),
        "medical_only": s.medical_only,
    }


def step_from_json(d: dict[str, Any]) -> StepDef:
    """A stored step; ValueError when malformed."""
    return StepDef(
        key=str(d["key"]),
        kind=StepKind(d["kind"]),
        delay=timedelta(seconds=float(d["delay_s"])),
        channels=tuple(Channel(c) for c in d["channels"]),
        anchor=Anchor(d.get("anchor", "start")),
        target_interval=timedelta(seconds=float(d.get("target_interval_s", 0))),
        medical_only=bool(d.get("medical_only", False)),
    )


def definition_to_json(d: ChainDefinition) -> list[dict[str, Any]]:
    """A definition as stored."""
    return [step_to_json(s) for s in d.steps]


def definition_from_json(steps: list[dict[str, Any]]) -> ChainDefinition:
    """A stored definition."""
    return ChainDefinition(tuple(step_from_json(s) for s in steps))


def _context_from_json(c: dict[str, Any]) -> ChainContext:
    return ChainContext(
        medical=bool(c["medical"]),
        operators=tuple(c.get("operators", ())),
        duty=tuple(c.get("duty", ())),
        neighbours=tuple(c.get("neighbours", ())),
        family=tuple(c.get("family", ())),
        head=tuple(c.get("head", ())),
        doctor=tuple(c.get("doctor", ())),
    )


def _event_from_row(r: Any) -> ChainEvent:
    if r.kind == "started":
        return ChainStarted(r.at)
    if r.kind == "fired":
        return StepFired(str(r.firing), r.at)
    if r.kind == "ack":
        return Acknowledged(str(r.person), r.at)
    if r.kind == "withdrawn":
        return Withdrawn(str(r.person), r.at)
    if r.kind == "escalated":
        return Escalated(r.at, str(r.data.get("reason", "")))
    if r.kind == "operator_ack":
        return OperatorAcknowledged(r.at, str(r.person or ""))
    return ChainClosed(r.at)


# --- starting ----------------------------------------------------------------------------


def _override_from_row(row: Any) -> ChainOverride:
    return ChainOverride(
        steps=tuple(step_from_json(s) for s in row.steps) if row.steps else None,
        delays={k: timedelta(seconds=float(v)) for k, v in (row.delays or {}).items()},
        disabled=frozenset(row.disabled or ()),
    )


def _layer(base: ChainDefinition, row: Any) -> ChainDefinition:
    """`base` with one stored override applied and checked; ValueError when it does not fit."""
    try:
        change = _override_from_row(row)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"stored override is malformed: {exc}") from None
    definition = base.override(change)
    validate_definition(definition)
    return definition


def effective_definition(station_row: Any, elder_row: Any) -> tuple[ChainDefinition, list[str]]:
    """The chain for an elder: default, then the station's override, then the elder's.

    Never raises: an override that does not fit what it is applied to (the station dropped a
    step the elder's override retimes, say) is left out, and the problem is returned so the
    operator can be told. A chain that cannot start is worse than a chain with the station's
    timing.
    """
    problems: list[str] = []
    definition = DEFAULT_CHAIN
    for label, row in (("station", station_row), ("elder", elder_row)):
        if row is None:
            continue
        try:
            definition = _layer(definition, row)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
    return definition, problems


async def _override_rows(tx: Tx, station_id: int, elder_id: int | None) -> tuple[Any, Any]:
    station_row = (
        await tx.conn.execute(
            select(chain_overrides).where(chain_overrides.c.station_id == station_id)
        )
    ).first()
    elder_row = None
    if elder_id is not None:
        elder_row = (
            await tx.conn.execute(
                select(chain_overrides).where(chain_overrides.c.elder_id == elder_id)
            )
        ).first()
    return station_row, elder_row


async def definition_for(
    tx: Tx, station_id: int, elder_id: int
) -> tuple[ChainDefinition, list[str]]:
    """The station's chain (or the default) with the elder's override applied, and any
    override that had to be left out."""
    station_row, elder_row = await _override_rows(tx, station_id, elder_id)
    return effective_definition(station_row, elder_row)


async def _people(tx: Tx, elder: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Whom the chain may call for this elder, and how to reach each person."""
    people: dict[str, dict[str, Any]] = {}
    bound = (
        await tx.conn.execute(
            select(users.c.id, users.c.phone, users.c.wechat_openid, users.c.display_name).where(
                users.c.id.in_(
                    select(family_bindings.c.family_user_id).where(
                        family_bindings.c.elder_id == elder.id,
                        family_bindings.c.status == "confirmed",
                    )
                )
            )
        )
    ).all()
    by_phone = {u.phone: u for u in bound if u.phone}
    family: list[str] = []
    # The file is validated by the registry; a stray non-object entry is skipped, never fatal.
    contacts = sorted(
        (c for c in elder.contacts or [] if isinstance(c, dict)),
        key=lambda c: c.get("order", 99) if isinstance(c.get("order"), int) else 99,
    )
    for i, c in enumerate(contacts):
        key = f"family:{i}"
        user = by_phone.get(c.get("phone"))
        people[key] = {
            "name": c.get("name", ""),
            "relation": c.get("relation", ""),
            "phone": c.get("phone"),
            "user_id": user.id if user else None,
            "openid": user.wechat_openid if user else None,
        }
        family.append(key)
    # Bound family members with the app but not in the contact list still get the alert.
    listed = {p["user_id"] for p in people.values() if p["user_id"]}
    for u in bound:
        if u.id not in listed:
            key = f"family:{len(family)}"
            people[key] = {
                "name": u.display_name,
                "relation": "家属",
                "phone": u.phone,
                "user_id": u.id,
                "openid": u.wechat_openid,
            }
            family.append(key)
    neighbours: list[str] = []
    for i, n in enumerate(x for x in elder.neighbours or [] if isinstance(x, dict)):
        key = f"neighbour:{i}"
        people[key] = {"name": n.get("name", ""), "relation": "邻居", "phone": n.get("phone")}
        neighbours.append(key)
    doctor: list[str] = []
    if isinstance(elder.family_doctor, dict) and elder.family_doctor.get("phone"):
        people["doctor:0"] = {
            "name": elder.family_doctor.get("name", ""),
            "relation": "家庭医生",
            "phone": elder.family_doctor["phone"],
        }
        doctor.append("doctor:0")
    # The operator on duty and the head are looked up at each step (see _with_roster).
    groups = {"neighbours": neighbours, "family": family, "doctor": doctor, "duty": [], "head": []}
    return groups, people


def slot_of(row: Any) -> DutySlot:
    """A roster row as a pure slot."""
    return DutySlot(
        person=f"{'duty' if row.role == 'operator' else 'head'}:{row.id}",
        name=row.name,
        phone=row.phone,
        role=DutyRole(row.role),
        weekdays=frozenset(int(d) for d in row.weekdays),
        start=time.fromisoformat(row.start),
        end=time.fromisoformat(row.end),
    )


async def roster_now(tx: Tx, station_id: int) -> list[tuple[DutySlot, int | None]]:
    """Who is on duty (operators, then heads) at this moment, with their user ids."""
    rows = (
        await tx.conn.execute(
            select(roster).where(roster.c.station_id == station_id).order_by(roster.c.id)
        )
    ).all()
    users_of = {slot_of(r).person: r.user_id for r in rows}
    slots = [slot_of(r) for r in rows]
    now = [*on_duty(slots, tx.now, DutyRole.OPERATOR), *on_duty(slots, tx.now, DutyRole.HEAD)]
    return [(s, users_of[s.person]) for s in now]


async def emergency_since(tx: Tx, inc: Any) -> datetime:
    """When the incident became an emergency: its opening, or the press that upgraded it.

    The chain clock starts there: a service request upgraded after 30 minutes must not have
    every step overdue at once. A chain started by hand on a non-emergency starts now.
    """
    if inc.kind != "emergency":
        return tx.now
    joined = (
        await tx.conn.execute(
            select(incident_events.c.at, incident_events.c.data)
            .where(incident_events.c.incident_id == inc.id, incident_events.c.kind == "joined")
            .order_by(incident_events.c.id)
        )
    ).all()
    upgrades: list[datetime] = [
        r.at for r in joined if isinstance(r.data, dict) and r.data.get("upgraded")
    ]
    opened: datetime = inc.opened_at
    return upgrades[-1] if upgrades else opened


async def start_chain(
    platform: Platform, tx: Tx, incident_id: int, *, medical: bool = False
) -> int | None:
    """Start the chain for an emergency (once); returns the chain id when started now.

    It always starts: overrides that do not apply are left out with an operator alarm.
    """
    existing = (
        await tx.conn.execute(
            select(escalation_chains.c.id).where(escalation_chains.c.incident_id == incident_id)
        )
    ).first()
    if existing is not None:
        return None
    inc = (await tx.conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
    if inc is None or inc.status in ("resolved", "closed"):
        return None
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == inc.elder_id))).one()
    definition, problems = await definition_for(tx, inc.station_id, inc.elder_id)
    groups, people = await _people(tx, elder)
    started_at = await emergency_since(tx, inc)
    context = {
        # Medical is the operator's judgement (after a call-back or on the phone), not the
        # button's: most presses are not medical emergencies. See mark_medical().
        "medical": medical,
        "operators": [STATION],
        **groups,
        "people": people,
    }
    chain_id = int(
        (
            await tx.conn.execute(
                insert(escalation_chains)
                .values(
                    incident_id=incident_id,
                    station_id=inc.station_id,
                    elder_id=inc.elder_id,
                    started_at=started_at,
                    definition=definition_to_json(definition),
                    context=context,
                    status=ChainStatus.RUNNING.value,
                )
                .returning(escalation_chains.c.id)
            )
        ).scalar_one()
    )
    await _record(tx, chain_id, "started", at=started_at)
    if problems:
        await timeline(tx, incident_id, "chain_fallback", None, problems=problems)
        await raise_alarm(
            tx,
            inc.station_id,
            incident_id,
            "chain_fallback",
        )
    await advance(platform, tx, chain_id)
    return chain_id


async def _record(
    tx: Tx,
    chain_id: int,
    kind: str,
    *,
    firing: str | None = None,
    person: str | None = None,
    at: Any = None,
    **data: Any,
) -> None:
    await tx.conn.execute(
        insert(chain_events).values(
            chain_id=chain_id, kind=kind, at=at or tx.now, firing=firing, person=person, data=data
        )
    )


# --- advancing ---------------------------------------------------------------------------


async def advance(platform: Platform, tx: Tx, chain_id: int) -> None:
    """Fire whatever is due and keep one timer at the next step's time."""
    chain = (
        await tx.conn.execute(
            select(escalation_chains).where(escalation_chains.c.id == chain_id).with_for_update()
        )
    ).one()
    definition = definition_from_json(chain.definition)
    if chain.status in (ChainStatus.RUNNING.value, ChainStatus.PAUSED.value):
        chain = await _with_roster(tx, chain)
    context = _context_from_json(chain.context)
    rows = (
        await tx.conn.execute(
            select(chain_events)
            .where(chain_events.c.chain_id == chain_id)
            .order_by(chain_events.c.id)
        )
    ).all()
    history = [_event_from_row(r) for r in rows]
    p = plan(definition, context, history, tx.now)
    for firing in p.due:
        await _fire(platform, tx, chain, firing)
        await _record(tx, chain_id, "fired", firing=firing.id)
        history.append(StepFired(firing.id, tx.now))
    after = plan(definition, context, history, tx.now)
    seq = chain.timer_seq
    if after.next_at != chain.next_at or after.status.value != chain.status:
        await cancel_timer(tx, f"chain:{chain_id}:{seq}")
        if after.next_at is not None:
            seq += 1
            await schedule(
                tx, TIMER_KIND, f"chain:{chain_id}:{seq}", after.next_at, {"chain_id": chain_id}
            )
        await tx.conn.execute(
            update(escalation_chains)
            .where(escalation_chains.c.id == chain_id)
            .values(status=after.status.value, next_at=after.next_at, timer_seq=seq)
        )
        if after.status.value != chain.status:
            await to_operators(
                tx,
                chain.station_id,
                "escalation.status",
                {
                    "incident_id": chain.incident_id,
                    "status": after.status.value,
                    "responsible": sorted(after.responsible),
                    "next_at": after.next_at.isoformat() if after.next_at else None,
                },
            )


async def _with_roster(tx: Tx, chain: Any) -> Any:
    """The chain with the operator on duty and the head as the roster says right now.

    Resolved at every step, so a shift change in the middle of a chain calls whoever is on
    duty when the step fires. People once called stay in `people` (names for the timeline,
    the app's "I'm on my way").
    """
    people = dict(chain.context.get("people", {}))
    duty: list[str] = []
    head: list[str] = []
    for slot, user_id in await roster_now(tx, chain.station_id):
        people[slot.person] = {
            "name": slot.name,
            "relation": "值班员" if slot.role is DutyRole.OPERATOR else "站长",
            "phone": slot.phone,
            "user_id": user_id,
        }
        (duty if slot.role is DutyRole.OPERATOR else head).append(slot.person)
    context = {**chain.context, "duty": duty, "head": head, "people": people}
    if context == chain.context:
        return chain
    await tx.conn.execute(
        update(escalation_chains).where(escalation_chains.c.id == chain.id).values(context=context)
    )
    return (
        await tx.conn.execute(select(escalation_chains).where(escalation_chains.c.id == chain.id))
    ).one()


STEP_TITLES = {
    StepKind.OPERATOR_ALARM: "电话通知值班员 / calling the operator on duty",
    StepKind.NEIGHBOUR_CALL: "联系签约邻居 / calling the neighbour",
    StepKind.FAMILY_CALL: "联系家属 / calling the family",
    StepKind.HEAD_ALARM: "通知站长 / alerting the station head",
    StepKind.DOCTOR_CALL: "联系家庭医生 / calling the family doctor",
}


async def _fire(platform: Platform, tx: Tx, chain: Any, firing: Firing) -> None:
    incident_id = int(chain.incident_id)
    if firing.kind is StepKind.OPERATOR_ALARM and firing.target == STATION:
        waiting = (
            await tx.conn.execute(
                select(alarms.c.id).where(
                    alarms.c.incident_id == incident_id, alarms.c.acknowledged_at.is_(None)
                )
            )
        ).first()
        if waiting is None:
            # The same kind as the platform's own 90-second alarm, so the two never double up.
            await raise_alarm(
                tx,
                chain.station_id,
                incident_id,
                "not_accepted",
                {"variant": "chain"},
            )
        else:
            await timeline(
                tx, incident_id, "escalation_step", None, step=firing.step, already_alarmed=True
            )
        return
    if firing.kind is StepKind.ADVISE_120:
        if firing.target != STATION:
            return  # the advice is for the console only
        await raise_alarm(
            tx,
            chain.station_id,
            incident_id,
            "advise_120",
        )
        return
    person = chain.context.get("people", {}).get(firing.target or "", None)
    if firing.target is None or person is None:
        await timeline(
            tx, incident_id, "escalation_skipped", None, step=firing.step, reason="nobody to call"
        )
        if firing.kind is StepKind.HEAD_ALARM:
            await raise_alarm(
                tx,
                chain.station_id,
                incident_id,
                "escalation_head",
            )
        else:
            await to_operators(
                tx,
                chain.station_id,
                "escalation.step",
                {
                    "incident_id": incident_id,
                    "step": firing.step,
                    "skipped": True,
                    "text": f"{STEP_TITLES.get(firing.kind, firing.step)}：无可联系人 / nobody on file",
                },
            )
        return
    elder = (await tx.conn.execute(select(elders).where(elders.c.id == chain.elder_id))).one()
    station_phone = (
        await tx.conn.execute(select(stations.c.phone).where(stations.c.id == chain.station_id))
    ).scalar()
    text = (
        f"【安心】{elder.name}（{elder.address}）发出紧急呼叫，护理员尚未到达。"
        f"请尽快前往或回电{station_phone or '服务站'}。"
    )[:300]
    alert_id = int(
        (
            await tx.conn.execute(
                insert(alerts)
                .values(
                    chain_id=chain.id,
                    incident_id=incident_id,
                    firing=firing.id,
                    person=firing.target,
                    name=person.get("name", ""),
                    phone=person.get("phone"),
                    openid=person.get("openid"),
                    user_id=person.get("user_id"),
                    channels=[c.value for c in firing.channels],
                    text=text,
                    status="sending",
                    created_at=tx.now,
                )
                .returning(alerts.c.id)
            )
        ).scalar_one()
    )
    await timeline(
        tx,
        incident_id,
        "escalation_call",
        None,
        step=firing.step,
        person=firing.target,
        name=person.get("name", ""),
        relation=person.get("relation", ""),
        alert_id=alert_id,
    )
    await to_operators(
        tx,
        chain.station_id,
        "escalation.step",
        {
            "incident_id": incident_id,
            "step": firing.step,
            "person": firing.target,
            "name": person.get("name", ""),
            "relation": person.get("relation", ""),
            "alert_id": alert_id,
            "text": f"{STEP_TITLES.get(firing.kind, firing.step)}：{person.get('name', '')}",
        },
    )
    await emit(tx, "hotline.alert", {"alert_id": alert_id})


# --- changes from outside ------------------------------------------------------------------


async def chain_of(tx: Tx, incident_id: int) -> Any:
    """The chain row of an incident, or None."""
    return (
        await tx.conn.execute(
            select(escalation_chains).where(escalation_chains.c.incident_id == incident_id)
        )
    ).first()


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


async def acknowledge(
    platform: Platform, tx: Tx, incident_id: int, person: str, *, actor: int | None, via: str
) -> bool:
    """`person` takes responsibility: the chain stops. False when there is no chain."""
    chain = await chain_of(tx, incident_id)
    if chain is None or chain.status == ChainStatus.CLOSED.value:
        return False
    if person.startswith(DUTY_PREFIX):
        # The operator on duty pressing 1 knows about the alarm: that stops the head alarm,
        # not the calls to the neighbour and family (nobody is on the way yet).
        await operator_acknowledged(platform, tx, chain, person, actor=actor, via=via)
        return True
    if person in await responsible(tx, chain.id):
        return True
    await _record(tx, chain.id, "ack", person=person, via=via)
    name = chain.context.get("people", {}).get(person, {}).get("name", person)
    await timeline(
        tx, incident_id, "responsibility_taken", actor, person=person, name=name, via=via
    )
    await to_operators(
        tx,
        chain.station_id,
        "escalation.acknowledged",
        {
            "incident_id": incident_id,
            "person": person,
            "name": name,
            "via": via,
            "text": f"{name}已确认前往 / {name} is taking care of it",
        },
    )
    await advance(platform, tx, chain.id)
    return True


DUTY_PREFIX = "duty:"
# Alarms that mean "nobody has taken this call": acknowledging one at the console shows an
# operator is on it, so the station head need not be woken.
HEAD_STOPPING_ALARMS = frozenset({"not_accepted", "no_caregiver", "no_caregiver_in_time"})


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
    if done is not None or chain.status == ChainStatus.CLOSED.value:
        return
    await _record(tx, chain.id, "operator_ack", person=person, via=via)
    name = chain.context.get("people", {}).get(person, {}).get("name", person)
    await timeline(
        tx, chain.incident_id, "operator_acknowledged", actor, person=person, name=name, via=via
    )
    await to_operators(
        tx,
        chain.station_id,
        "escalation.acknowledged",
        {
            "incident_id": chain.incident_id,
            "person": person,
            "name": name,
            "via": via,
            "text": f"{name}已确认告警，不再通知站长 / {name} acknowledged: the head is not called",
        },
    )
    await advance(platform, tx, chain.id)


async def on_alarm_acknowledged(platform: Platform, payload: dict[str, Any]) -> None:
    """An operator acknowledged a "nobody has taken this call" alarm at the console."""
    if payload.get("incident_id") is None or payload.get("alarm_id") is None:
        return
    async with platform.tx() as tx:
        kind = (
            await tx.conn.execute(select(alarms.c.kind).where(alarms.c.id == payload["alarm_id"]))
        ).scalar()
        chain = await chain_of(tx, int(payload["incident_id"]))
        if kind not in HEAD_STOPPING_ALARMS or chain is None:
            return
        user = payload.get("user_id")
        await operator_acknowledged(
            platform,
            tx,
            chain,
            f"operator:{user}" if user else "operator",
            actor=int(user) if user else None,
            via="console",
        )


async def withdraw(
    platform: Platform, tx: Tx, incident_id: int, person: str, *, actor: int | None, via: str
) -> bool:
    """`person` cannot after all: the chain resumes with the next step. False if not responsible."""
    chain = await chain_of(tx, incident_id)
    if chain is None or person not in await responsible(tx, chain.id):
        return False
    await _record(tx, chain.id, "withdrawn", person=person, via=via)
    name = chain.context.get("people", {}).get(person, {}).get("name", person)
    await timeline(
        tx, incident_id, "responsibility_withdrawn", actor, person=person, name=name, via=via
    )
    await to_operators(
        tx,
        chain.station_id,
        "escalation.withdrawn",
        {
            "incident_id": incident_id,
            "person": person,
            "name": name,
            "via": via,
            "text": f"{name}无法前往，继续升级 / {name} cannot go: escalating",
        },
    )
    await advance(platform, tx, chain.id)
    after = await chain_of(tx, incident_id)
    if after.status == ChainStatus.FINISHED.value and not await responsible(tx, chain.id):
        # Every step has fired and the last person has dropped out: a person must decide now.
        await raise_alarm(
            tx,
            chain.station_id,
            incident_id,
            "escalation_exhausted",
        )
    return True


async def escalate_now(platform: Platform, tx: Tx, incident_id: int, reason: str) -> None:
    """Skip the wait (no caregiver can arrive in time, or the operator says so)."""
    chain = await chain_of(tx, incident_id)
    if chain is None:
        await start_chain(platform, tx, incident_id)
        chain = await chain_of(tx, incident_id)
        if chain is None:
            return
    await _record(tx, chain.id, "escalated", reason=reason)
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
    if chain is None or chain.status == ChainStatus.CLOSED.value:
        return
    await _record(tx, chain.id, "closed")
    await advance(platform, tx, chain.id)


def _change_json(
    delays_s: dict[str, float], disabled: list[str], steps: list[dict[str, Any]] | None
) -> dict[str, Any]:
    return {"delays": delays_s, "disabled": disabled, "steps": steps}


class _Row:
    """A stored override as `_layer` reads it, for one not yet stored."""

    def __init__(self, delays: Any, disabled: Any, steps: Any) -> None:
        self.delays, self.disabled, self.steps = delays, disabled, steps


async def set_override(
    platform: Platform,
    p: Principal,
    *,
    elder_id: int | None,
    delays_s: dict[str, float],
    disabled: list[str],
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store the station's (elder_id None) or an elder's chain: retime or drop steps of what
    it applies to, or give the steps themselves.

    Checked against what it is applied to: a station's against the default chain, an elder's
    against the station's chain. Elders whose stored overrides no longer fit a new station
    chain are listed (their chains fall back to the station's, with an alarm when they start).
    """
    if steps is not None and (delays_s or disabled):
        raise ApiError(
            422, "bad_override", "give either the steps, or delays and disabled steps, not both"
        )
    new = _Row(delays_s, disabled, steps)
    async with platform.tx() as tx:
        station_id: int | None = None
        if elder_id is not None:
            elder = await elder_for(tx.conn, p, elder_id)
            station_row, _ = await _override_rows(tx, int(elder.station_id), None)
            base, _problems = effective_definition(station_row, None)
            key = chain_overrides.c.elder_id == elder_id
        else:
            station_id = p.station_id
            if station_id is None:
                raise ApiError(422, "station_required", "a station's chain is set by its operator")
            base = DEFAULT_CHAIN
            key = chain_overrides.c.station_id == station_id
        try:
            effective = _layer(base, new)
        except ValueError as exc:
            raise ApiError(422, "bad_override", str(exc)) from None
        await tx.conn.execute(delete(chain_overrides).where(key))
        await tx.conn.execute(
            insert(chain_overrides).values(
                station_id=station_id,
                elder_id=elder_id,
                steps=steps,
                delays=delays_s,
                disabled=disabled,
                updated_at=tx.now,
            )
        )
        falling_back: list[int] = []
        if station_id is not None:
            falling_back = await _elders_not_fitting(tx, station_id, effective)
    return {
        "station_id": station_id,
        "elder_id": elder_id,
        **_change_json(delays_s, disabled, steps),
        "effective": definition_to_json(effective),
        "elders_falling_back": falling_back,
    }


async def _elders_not_fitting(tx: Tx, station_id: int, station_chain: ChainDefinition) -> list[int]:
    rows = (
        await tx.conn.execute(
            select(chain_overrides)
            .join(elders, elders.c.id == chain_overrides.c.elder_id)
            .where(elders.c.station_id == station_id)
            .order_by(chain_overrides.c.elder_id)
        )
    ).all()
    out: list[int] = []
    for r in rows:
        try:
            _layer(station_chain, r)
        except ValueError:
            out.append(int(r.elder_id))
    return out


async def get_override(platform: Platform, p: Principal, *, elder_id: int | None) -> dict[str, Any]:
    """The stored override (station's or an elder's), the chain it gives, and any problem."""
    async with platform.tx() as tx:
        if elder_id is not None:
            elder = await elder_for(tx.conn, p, elder_id)
            station_id = int(elder.station_id)
        elif p.station_id is None:
            raise ApiError(422, "station_required", "a station's chain is read by its operator")
        else:
            station_id = p.station_id
        station_row, elder_row = await _override_rows(tx, station_id, elder_id)
        definition, problems = effective_definition(station_row, elder_row)
        mine = elder_row if elder_id is not None else station_row
    return {
        "station_id": station_id if elder_id is None else None,
        "elder_id": elder_id,
        "override": (
            _change_json(mine.delays or {}, mine.disabled or [], mine.steps)
            if mine is not None
            else None
        ),
        "effective": definition_to_json(definition),
        "problems": problems,
    }


async def describe(platform: Platform, incident_id: int) -> dict[str, Any]:
    """The chain of an incident for the console: status, steps, history, alerts, attempts."""
    async with platform.store.read() as conn:
        row = (
            await conn.execute(
                select(escalation_chains).where(escalation_chains.c.incident_id == incident_id)
            )
        ).first()
        if row is None:
            raise ApiError(404, "chain_not_found", "no escalation chain for this incident")
        events = (
            await conn.execute(
                select(chain_events)
                .where(chain_events.c.chain_id == row.id)
                .order_by(chain_events.c.id)
            )
        ).all()
        sent = (
            await conn.execute(
                select(alerts).where(alerts.c.chain_id == row.id).order_by(alerts.c.id)
            )
        ).all()
        attempts = (
            await conn.execute(
                select(alert_attempts)
                .where(alert_attempts.c.alert_id.in_([a.id for a in sent] or [0]))
                .order_by(alert_attempts.c.id)
            )
        ).all()
    return {
        "incident_id": incident_id,
        "status": row.status,
        "next_at": row.next_at,
        "steps": row.definition,
        "history": [
            {"kind": e.kind, "at": e.at, "firing": e.firing, "person": e.person} for e in events
        ],
        "alerts": [
            {
                "alert_id": a.id,
                "person": a.person,
                "name": a.name,
                "status": a.status,
                "attempts": [
                    {
                        "channel": t.channel,
                        "sent_at": t.sent_at,
                        "send_id": t.send_id,
                        "error": t.error,
                    }
                    for t in attempts
                    if t.alert_id == a.id
                ],
            }
            for a in sent
        ],
    }


# --- outbox and timer handlers ---------------------------------------------------------------


async def on_timer(platform: Platform, tx: Tx, payload: dict[str, Any]) -> None:
    """The chain's timer fired."""
    await advance(platform, tx, int(payload["chain_id"]))


async def on_incident_opened(platform: Platform, payload: dict[str, Any]) -> None:
    """An emergency starts its chain (the clock counts from the incident's opening)."""
    if payload.get("kind") != "emergency":
        return
    async with platform.tx() as tx:
        await start_chain(platform, tx, int(payload["incident_id"]))


ESCALATING_ALARMS = frozenset({"no_caregiver", "no_caregiver_in_time"})


async def on_alarm_raised(platform: Platform, payload: dict[str, Any]) -> None:
    """No caregiver can come in time: skip the wait."""
    if payload.get("kind") not in ESCALATING_ALARMS or payload.get("incident_id") is None:
        return
    async with platform.tx() as tx:
        await escalate_now(platform, tx, int(payload["incident_id"]), str(payload["kind"]))


async def on_incident_accepted(platform: Platform, payload: dict[str, Any]) -> None:
    """A caregiver accepted: a person is responsible."""
    async with platform.tx() as tx:
        await acknowledge(
            platform,
            tx,
            int(payload["incident_id"]),
            f"caregiver:{payload['caregiver_id']}",
            actor=None,
            via="offer",
        )


async def on_redispatch(platform: Platform, payload: dict[str, Any]) -> None:
    """The incident is looking for a caregiver again: a caregiver who had it has withdrawn."""
    iid = int(payload["incident_id"])
    async with platform.tx() as tx:
        inc = (await tx.conn.execute(select(incidents).where(incidents.c.id == iid))).first()
        chain = await chain_of(tx, iid)
        if inc is None or chain is None or inc.status not in ("open", "offered"):
            return
        for person in sorted(await responsible(tx, chain.id)):
            if person.startswith("caregiver:"):
                await withdraw(platform, tx, iid, person, actor=None, via="offer")


async def on_incident_over(platform: Platform, payload: dict[str, Any]) -> None:
    """Resolved or closed: close the chain."""
    async with platform.tx() as tx:
        await close_chain(platform, tx, int(payload["incident_id"]))
