"""Replay a generated day through the real system, one event at a time.

A Platform on a real store (a SQLite file by default) with a `FakeClock`; the district is
seeded (`simrun.world`), each station's day planned at 07:00 by the planner, and then the clock
jumps from event to event: a press, a simulated person's next step, the next due timer. After
every step the outbox relay and the due timers run until the system is quiet (what the
background loops do in a server), and the driver looks at what the system did: new offers (a
caregiver answers one after a drawn delay, or never), expired offers, escalation steps, new
day plans (an idle caregiver looks at their list again).

The people act through the flows the pages and devices call: the elder's button
(`intake.press`) or the operator's intake for a phone call; the operator's call-back
(`record_call_back`) and closing a call handled by phone; the caregiver's duty switch and
location (`set_duty`, `set_location`), accept and decline, en route, arrive, resolve, and for
visits start, arrive (a fix at the door) and complete. A step the system refuses (an offer
that lapsed meanwhile) is simply not taken, as on a phone.

What the driver records (`sim.log`) is what it saw and did, with the times on the day's clock.
"""

from __future__ import annotations

import heapq
import itertools
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from dispatch.geo import GeoPoint
from schemas.common import CoordSystemName, Location
from schemas.hotline import PressOutcome
from schemas.incidents import CallType
from schemas.tasks import TaskArriveIn, TaskCompleteIn
from server.auth.principal import Principal, Role
from server.bus import InProcessBus
from server.clock import FakeClock, as_utc
from server.domains import register_jobs
from server.errors import ApiError
from server.incidents.flows import offers as offer_flows
from server.incidents.flows import steps
from server.incidents.flows.intake import Intake, open_for_operator, press
from server.incidents.flows.presses import record_call_back
from server.incidents.tables import incident_events, incidents
from server.incidents.tables import offers as offers_table
from server.jobs import fire_due_timers, relay_once
from server.planning.flows.day import replan
from server.planning.tables import day_plans
from server.platform import Platform
from server.registry.flows.caregivers import set_duty, set_location
from server.settings import Settings, SolverWork
from server.store.engine import Store
from server.store.tables import outbox, timers
from server.tasks import flows as task_flows
from server.tasks.tables import tasks
from sim.bound import call_trip_key
from sim.cover import RIDE_BACK
from sim.day import DAY_S, Day
from sim.log import Activity, CallStep, Recorder, RunLog, Segment, TaskKind, TaskStep
from simrun.world import Ids, book, map_meal_tasks, order_meals, seed

PLAN_AT_S = 7 * 3600  # the station plans its day at 07:00
RUN_UNTIL_S = DAY_S + 4 * 3600  # calls late in the evening may run past midnight
# A caregiver's own work still to do: planned, or set off to and turned back from for a call.
MINE = ("planned", "en_route")
VISIT_STEPS = frozenset({"next", "door", "begin", "done", "handover"})
MEAL_AT_DOOR_S = 120  # handing a lunch box over
ESCALATION_EVENTS = {"escalation_step", "escalation_call", "alarm", "chain_fallback"}


@dataclass
class Person:
    """A caregiver as the driver moves them."""

    sim_id: str
    at: GeoPoint
    on_duty: bool = False
    call: int | None = None  # the incident they have accepted
    task: int | None = None  # the visit they are on (travelling to or at)
    task_left_s: int = 0  # what is left of a broken-off visit
    task_end_s: int | None = None  # when the visit in hand ends, once at the door
    gen: int = 0  # bumped when the person's plan changes: stale steps are skipped
    seg_start: int = 0
    skip: set[int] = field(default_factory=set)  # tasks the system refused them
    boxes: dict[int, int] = field(default_factory=dict)  # meal task → when it left the kitchen
    homebound_gen: int | None = None  # riding back to base (her list done) since this gen


@dataclass(order=True)
class Event:
    at_s: int
    seq: int
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False)


class Driver:
    def __init__(self, day: Day, platform: Platform, policy: str) -> None:
        self.day = day
        self.platform = platform
        self.policy = policy
        assert isinstance(platform.clock, FakeClock)
        self.clock: FakeClock = platform.clock
        self.rec = Recorder()
        self.events: list[Event] = []
        self.seq = itertools.count()
        self.ids = Ids()
        self.people: dict[str, Person] = {}
        self.call_of_incident: dict[int, str] = {}
        self.incident_of_call: dict[str, int] = {}
        self.seen_offers: dict[int, str] = {}  # offer → status last seen
        self.offer_attempts: dict[tuple[str, str], int] = {}
        self.last_event_id = 0
        self.last_plan_id = 0
        self.now_s = 0
        self.progress: Callable[[int], None] | None = None

    # ----- the loop -----------------------------------------------------------------------

    def at(self, t: int, kind: str, **data: Any) -> None:
        heapq.heappush(self.events, Event(t, next(self.seq), kind, data))

    async def run(self) -> RunLog:
        self.clock.set(self.day.at(0))
        self.ids = await seed(self.platform, self.day)
        for v, why in (await book(self.platform, self.day, self.ids)).items():
            self.rec.task(v, TaskKind.VISIT, 0, TaskStep.MISSED, detail=why)
        for c in self.day.caregivers:
            self.people[c.id] = Person(c.id, c.base)
            for span in c.shifts:
                self.at(span.start_s, "duty", cg=c.id, on=True)
                self.at(span.end_s, "duty", cg=c.id, on=False)
            if c.sick_from_s is not None:
                self.at(c.sick_from_s, "sick", cg=c.id)
        for call in self.day.calls:
            self.at(call.at_s, "press", call=call.id)
        self.at(PLAN_AT_S, "plan")
        for m, why in (await order_meals(self.platform, self.day, self.ids)).items():
            self.rec.task(m, TaskKind.MEAL, 0, TaskStep.MISSED, detail=why)
        await self._quiet()
        while True:
            nxt = self.events[0].at_s if self.events else None
            due = await self._next_timer_s()
            candidates = [t for t in (nxt, due) if t is not None]
            if not candidates:
                break
            t = max(self.now_s, min(candidates))
            if t > RUN_UNTIL_S or (t >= DAY_S and self._all_calls_ended() and nxt is None):
                break
            self.now_s = t
            self.clock.set(self.day.at(t))
            if nxt is not None and nxt <= t:
                ev = heapq.heappop(self.events)
                await self._handle(ev)
            await self._quiet()
            if self.progress is not None:
                self.progress(min(t, DAY_S))
        await self._close_day()
        if self.progress is not None:
            self.progress(DAY_S)  # the day is over even when its last event came earlier
        return self.rec.freeze(self.policy, self.day.seed)

    async def _quiet(self) -> None:
        """Run the relay and the due timers until nothing is left, then look at the system.
        One read says whether either has work: most steps leave none, and a claim that finds
        nothing is still a write transaction (most of the driver's own CPU went to them)."""
        for _ in range(1000):
            events, due = await self._pending()
            n = await relay_once(self.platform, batch=50) if events else 0
            if due is not None and due <= self.now_s:
                n += await fire_due_timers(self.platform)
            if n == 0:
                break
        await self._observe()

    async def _pending(self) -> tuple[bool, int | None]:
        """Whether the outbox holds undelivered events, and when the next timer is due."""
        async with self.platform.store.read() as conn:
            events = (
                await conn.execute(
                    select(outbox.c.id).where(outbox.c.published_at.is_(None)).limit(1)
                )
            ).first()
            due = (
                await conn.execute(
                    select(func.min(timers.c.due_at)).where(timers.c.state == "pending")
                )
            ).scalar()
        return events is not None, None if due is None else self._due_s(due)

    async def _next_timer_s(self) -> int | None:
        async with self.platform.store.read() as conn:
            due = (
                await conn.execute(
                    select(func.min(timers.c.due_at)).where(timers.c.state == "pending")
                )
            ).scalar()
        return None if due is None else max(self.now_s, self._due_s(due))

    def _due_s(self, due: Any) -> int:
        """A timer's due instant as a second of the day, rounded up."""
        seconds = (as_utc(due) - self.day.at(0)).total_seconds()
        return int(-(-seconds // 1))

    def _all_calls_ended(self) -> bool:
        ended = {r.call_id for r in self.rec.calls if r.step in _ENDS}
        return all(c.id in ended for c in self.day.calls)

    async def _handle(self, ev: Event) -> None:
        handler = getattr(self, f"_on_{ev.kind}")
        try:
            await handler(**ev.data)
        except ApiError as exc:
            # The system refused the step (an offer that lapsed, a call the operator closed
            # meanwhile): the person does not take it, as on a phone, and a caregiver whose
            # call has gone turns back to their day.
            self.rec.note(f"{ev.at_s}s {ev.kind} refused: {exc.code}")
            cg = ev.data.get("cg")
            if ev.kind in ("depart", "arrive", "resolve") and isinstance(cg, str):
                self._drop_call(cg)
            elif isinstance(cg, str) and ev.kind in VISIT_STEPS:
                self._drop_task(cg)

    def _drop_task(self, cg: str) -> None:
        """A visit the system would not let this caregiver take on: left, never retried."""
        person = self.people[cg]
        if person.task is not None:
            person.skip.add(person.task)
            person.boxes.pop(person.task, None)
        person.task = None
        person.task_end_s = None
        person.gen += 1
        self.at(self.now_s, "next", cg=cg, gen=person.gen)

    def _drop_call(self, cg: str) -> None:
        person = self.people[cg]
        if person.call is None:
            return
        call = self.call_of_incident.get(person.call, "")
        self._segment(cg, Activity.CALL if person.task is None else Activity.WAIT, call)
        person.call = None
        person.gen += 1
        self.at(self.now_s, "next", cg=cg, gen=person.gen)

    # ----- who is who ---------------------------------------------------------------------

    def _caregiver(self, cg: str) -> Principal:
        c = self.day.caregiver_by_id[cg]
        return Principal(
            user_id=self.ids.caregiver_user[cg],
            role=Role.CAREGIVER,
            station_id=self.ids.station[c.station_id],
            caregiver_id=self.ids.caregiver[cg],
        )

    def _operator(self, station: str) -> Principal:
        return Principal(
            user_id=self.ids.operator[station],
            role=Role.OPERATOR,
            station_id=self.ids.station[station],
        )

    async def _move(self, cg: str, to: GeoPoint) -> None:
        self.people[cg].at = to
        await set_location(
            self.platform,
            self._caregiver(cg),
            Location(lat=to.lat, lng=to.lng, coord_system=CoordSystemName.GCJ02),
        )

    # ----- duty and plans -----------------------------------------------------------------

    async def _on_duty(self, cg: str, on: bool) -> None:
        c = self.day.caregiver_by_id[cg]
        if on and not c.on_duty(self.now_s):
            return  # off sick, or the span is over
        if not on and c.on_duty(self.now_s):
            return  # another span goes on
        p = self.people[cg]
        if on and not p.on_duty and p.call is None and p.task is None:
            # A new stretch of duty starts at her base (home, or the station), where the
            # planner and the bound expect her, not where the last one ended.
            p.at = c.base
        p.on_duty = on
        await set_duty(self.platform, self._caregiver(cg), on)
        if on:
            await self._move(cg, p.at)
            self.at(self.now_s, "next", cg=cg, gen=p.gen)

    async def _on_sick(self, cg: str) -> None:
        p = self.people[cg]
        p.on_duty = False
        p.gen += 1
        await set_duty(self.platform, self._caregiver(cg), False)
        if self.policy == "anxin":
            # The operator re-plans the team around the missing caregiver.
            st = self.day.caregiver_by_id[cg].station_id
            await self._plan(st)

    async def _on_plan(self) -> None:
        for s in self.day.stations:
            await self._plan(s.id)

    async def _on_replan(self, station: str) -> None:
        await self._plan(station)

    async def _plan(self, station: str) -> None:
        await replan(
            self.platform,
            self.ids.station[station],
            day=self.day.date,
            time_limit_s=self.day.scenario.solver.safety_seconds,
        )

    # ----- help calls ---------------------------------------------------------------------

    async def _on_press(self, call: str) -> None:
        hc = self.day.call_by_id[call]
        eid = self.ids.elder[hc.elder_id]
        self.rec.call(call, self.now_s, CallStep.PRESSED)
        source = "button" if hc.via == "device" else "phone"
        if hc.via == "device":
            uid = self.ids.elder_user[hc.elder_id]
            cmd = Intake(elder_id=eid, kind=hc.type, source=source, reporter_user_id=uid)
            who = Principal(
                user_id=uid,
                role=Role.ELDER,
                station_id=self.ids.station[hc.station_id],
                elder_id=eid,
            )
            _, answer = await press(self.platform, who, key=f"sim-{call}", digest=call, cmd=cmd)
            iid, joined = int(answer["id"]), bool(answer.get("joined"))
        else:
            op = self._operator(hc.station_id)
            cmd = Intake(elder_id=eid, kind=hc.type, source=source, reporter_user_id=op.user_id)
            out = await open_for_operator(self.platform, op, cmd)
            iid, joined = int(out.id), bool(out.joined)
        if joined and iid in self.call_of_incident:
            self.rec.call(call, self.now_s, CallStep.JOINED, detail=self.call_of_incident[iid])
            return
        self.call_of_incident[iid] = call
        self.incident_of_call[call] = iid
        self.at(self.now_s + hc.callback_after_s, "callback", call=call)

    async def _on_callback(self, call: str) -> None:
        hc = self.day.call_by_id[call]
        iid = self.incident_of_call[call]
        status = await self._status(iid)
        if status in ("resolved", "closed"):
            return
        op = self._operator(hc.station_id)
        await record_call_back(
            self.platform,
            op,
            incident_id=iid,
            outcome=hc.outcome,
            reached=True,
            called_at=self.clock.now(),
            note="",
        )
        self.rec.call(call, self.now_s, CallStep.CALLED_BACK, detail=hc.outcome.value)
        if hc.outcome is not PressOutcome.REAL:
            self.rec.call(call, self.now_s, CallStep.CLOSED, detail=hc.outcome.value)
        elif hc.type is not CallType.EMERGENCY:
            # Health advice, a service request, a family call: handled on the phone.
            await steps.close(
                self.platform, op, iid, resolution="handled_by_phone", notes="simulated"
            )
            self.rec.call(call, self.now_s, CallStep.CLOSED, detail="handled_by_phone")

    async def _status(self, iid: int) -> str:
        async with self.platform.store.read() as conn:
            return str(
                (
                    await conn.execute(select(incidents.c.status).where(incidents.c.id == iid))
                ).scalar()
            )

    async def _on_answer(self, offer: int, cg: str, call: str, answer: str, depart_s: int) -> None:
        p = self._caregiver(cg)
        if answer == "decline":
            await offer_flows.decline(self.platform, p, offer, reason="busy")
            self.rec.call(call, self.now_s, CallStep.DECLINED, cg)
            return
        iid = await offer_flows.accept(self.platform, p, offer)
        self.rec.call(call, self.now_s, CallStep.ACCEPTED, cg)
        person = self.people[cg]
        person.call = iid
        self._leave_ride(cg)
        leave = self.now_s + depart_s
        if person.task is not None and person.task_end_s is not None:
            if self._interruptible(person.task):
                person.task_left_s = max(0, person.task_end_s - self.now_s)
                self._segment(cg, Activity.VISIT, self.ids.task_visit.get(person.task, ""))
                person.task_end_s = None
            else:
                leave = max(leave, person.task_end_s)  # finish the bath first
        elif person.task is not None:
            self._segment(cg, Activity.TRAVEL, "")
            person.task = None  # on the way to a visit: turns round (the visit stays planned)
        person.gen += 1
        self.at(leave, "depart", cg=cg, iid=iid, gen=person.gen)

    def _interruptible(self, task_id: int) -> bool:
        v = self.ids.task_visit.get(task_id)
        return True if v is None else next(x for x in self.day.visits if x.id == v).interruptible

    async def _on_depart(self, cg: str, iid: int, gen: int) -> None:
        person = self.people[cg]
        if (
            person.task is not None
            and person.task_end_s is not None
            and person.task_end_s <= self.now_s
        ):
            await self._finish_visit(cg)  # the bath is over
        call = self.call_of_incident[iid]
        hc = self.day.call_by_id[call]
        person.seg_start = self.now_s
        await steps.en_route(
            self.platform, self._caregiver(cg), iid, at=(person.at.lat, person.at.lng)
        )
        self.rec.call(call, self.now_s, CallStep.EN_ROUTE, cg)
        trip = self.day.trip_s(cg, person.at, hc.location, self.now_s, call_trip_key(call))
        self.at(self.now_s + trip, "arrive", cg=cg, iid=iid, origin=person.at)

    async def _on_arrive(self, cg: str, iid: int, origin: GeoPoint) -> None:
        call = self.call_of_incident[iid]
        hc = self.day.call_by_id[call]
        person = self.people[cg]
        self.rec.segment(
            Segment(cg, person.seg_start, self.now_s, Activity.TRAVEL, call, hc.location, origin)
        )
        person.seg_start = self.now_s
        await self._move(cg, hc.location)
        await steps.arrive(
            self.platform, self._caregiver(cg), iid, at=(hc.location.lat, hc.location.lng)
        )
        self.rec.call(call, self.now_s, CallStep.ARRIVED, cg)
        self.at(self.now_s + hc.on_scene_s, "resolve", cg=cg, iid=iid)

    async def _on_resolve(self, cg: str, iid: int) -> None:
        call = self.call_of_incident[iid]
        person = self.people[cg]
        await steps.resolve(
            self.platform, self._caregiver(cg), iid, notes="simulated", outcome="resolved"
        )
        self.rec.call(call, self.now_s, CallStep.RESOLVED, cg)
        self.rec.segment(
            Segment(
                cg,
                person.seg_start,
                self.now_s,
                Activity.CALL,
                call,
                person.at,
                interruptible=False,
            )
        )
        person.call = None
        person.gen += 1
        self.at(self.now_s, "next", cg=cg, gen=person.gen)

    # ----- visits -------------------------------------------------------------------------

    async def _on_next(self, cg: str, gen: int) -> None:
        """A free caregiver on duty goes on with their day: the visit in hand (broken off
        earlier), else the next on their list as the plan in force has it."""
        person = self.people[cg]
        if gen != person.gen or person.call is not None or not person.on_duty:
            return
        if person.task is not None:
            task_id = person.task
        elif person.boxes and (
            boxed := [t for t, _ in await self._meals_of(cg) if t in person.boxes]
        ):
            # Boxes in hand go out first, in the round's order.
            task_id = boxed[0]
            person.task = task_id
            await task_flows.start(self.platform, self._caregiver(cg), task_id)
        else:
            found = await self._next_task(cg)
            if found is None:
                self._ride_to_base(cg)
                return
            task_id = int(found.id)
            planned = None
            if found.planned_start is not None:
                planned = int((as_utc(found.planned_start) - self.day.at(0)).total_seconds())
            if found.kind == "meal_delivery" and task_id not in person.boxes:
                await self._to_kitchen(cg)
                return
            if planned is not None and found.status == "planned":
                # Set off in time for the planned start, not hours early: meanwhile the
                # caregiver stays where they are, free for a help call.
                c = self.day.caregiver_by_id[cg]
                leg = self.day.travel_model().seconds(
                    person.at, await self._task_place(task_id), c.mode
                )
                if planned - leg > self.now_s:
                    self.at(planned - leg, "next", cg=cg, gen=person.gen)
                    return
            self._leave_ride(cg)
            person.task = task_id
            person.task_left_s = 0
            await task_flows.start(self.platform, self._caregiver(cg), task_id)
            ref = self._ref(task_id)
            if ref is not None:
                self.rec.task(ref[0], ref[1], self.now_s, TaskStep.PLANNED, cg, planned)
        where = await self._task_place(task_id)
        trip = self.day.trip_s(cg, person.at, where, self.now_s, f"visit:{task_id}:{self.now_s}")
        person.seg_start = self.now_s
        person.gen += 1
        self.at(self.now_s + trip, "door", cg=cg, task=task_id, origin=person.at, gen=person.gen)

    def _ride_to_base(self, cg: str) -> None:
        """Her list is done: she rides back to her base (home if she has one, else the
        station; where the planner starts and ends her day), as a real caregiver does, rather
        than waiting where her last visit or call ended; on night call, home after a call.
        The ride takes `Day.trip_s`; until it ends she counts as at the place she left (the
        travel model has no roads to put her on, and that is where the dispatcher last saw
        her), free for a help call. Not past her stretch of duty: that ride is her own."""
        person = self.people[cg]
        c = self.day.caregiver_by_id[cg]
        until = c.duty_until(self.now_s)
        if self._riding(cg) or person.at == c.base or until is None:
            return
        trip = self.day.trip_s(cg, person.at, c.base, self.now_s, f"base:{cg}:{self.now_s}")
        if trip == 0 or self.now_s + trip > until:
            return
        person.homebound_gen = person.gen
        person.seg_start = self.now_s
        self.at(self.now_s + trip, "base", cg=cg, gen=person.gen, origin=person.at)

    def _riding(self, cg: str) -> bool:
        person = self.people[cg]
        return person.homebound_gen is not None and person.homebound_gen == person.gen

    def _leave_ride(self, cg: str) -> None:
        """Called off the ride back (a help call, or new work): the time ridden is travel,
        and she sets off from where she counts as being, the place she left."""
        person = self.people[cg]
        if self._riding(cg):
            self._segment(cg, Activity.TRAVEL, RIDE_BACK)
        person.homebound_gen = None

    async def _on_base(self, cg: str, gen: int, origin: GeoPoint) -> None:
        person = self.people[cg]
        if gen != person.gen or person.call is not None or person.task is not None:
            return  # called away, or given work, on the way
        person.homebound_gen = None
        base = self.day.caregiver_by_id[cg].base
        self.rec.segment(
            Segment(cg, person.seg_start, self.now_s, Activity.TRAVEL, RIDE_BACK, base, origin)
        )
        await self._move(cg, base)

    async def _next_task(self, cg: str) -> Any:
        async with self.platform.store.read() as conn:
            return (
                await conn.execute(
                    select(tasks.c.id, tasks.c.kind, tasks.c.planned_start, tasks.c.status)
                    .where(
                        tasks.c.caregiver_id == self.ids.caregiver[cg],
                        tasks.c.status.in_(MINE),
                        tasks.c.kind.in_(("service", "meal_delivery")),
                        tasks.c.id.notin_(sorted(self.people[cg].skip)),
                    )
                    .order_by(tasks.c.planned_start, tasks.c.id)
                    .limit(1)
                )
            ).first()

    async def _task_place(self, task_id: int) -> GeoPoint:
        async with self.platform.store.read() as conn:
            row = (
                await conn.execute(select(tasks.c.lat, tasks.c.lng).where(tasks.c.id == task_id))
            ).one()
        return GeoPoint(float(row.lat), float(row.lng))

    def _visit(self, task_id: int) -> Any:
        v = self.ids.task_visit.get(task_id)
        return None if v is None else self._visits[v]

    @property
    def _visits(self) -> dict[str, Any]:
        return {v.id: v for v in self.day.visits}

    async def _to_kitchen(self, cg: str) -> None:
        """A courier's lunch round starts at the kitchen: ride there, wait for the food."""
        person = self.people[cg]
        st = self.day.station_by_id[self.day.caregiver_by_id[cg].station_id]
        if st.kitchen is None:
            return
        k = st.kitchen
        self._leave_ride(cg)
        trip = self.day.trip_s(cg, person.at, k.location, self.now_s, f"kitchen:{self.now_s}")
        person.seg_start = self.now_s
        person.gen += 1
        self.at(self.now_s + trip, "kitchen", cg=cg, origin=person.at, gen=person.gen)

    async def _on_kitchen(self, cg: str, origin: GeoPoint, gen: int) -> None:
        person = self.people[cg]
        if gen != person.gen:
            return
        k = self.day.station_by_id[self.day.caregiver_by_id[cg].station_id].kitchen
        assert k is not None
        self.rec.segment(
            Segment(
                cg, person.seg_start, self.now_s, Activity.TRAVEL, "kitchen", k.location, origin
            )
        )
        await self._move(cg, k.location)
        first = await self._meals_of(cg)
        ready = max(self.now_s, k.ready_s)
        if first:
            # Leave the kitchen in time for the round's first door as planned, not earlier
            # (the food must arrive hot).
            c = self.day.caregiver_by_id[cg]
            where = await self._task_place(first[0][0])
            leg = self.day.travel_model().seconds(k.location, where, c.mode)
            ready = max(ready, first[0][1] - leg)
        if ready > self.now_s:
            self.rec.segment(Segment(cg, self.now_s, ready, Activity.WAIT, "kitchen", k.location))
        person.seg_start = ready
        person.gen += 1
        self.at(ready, "pickup", cg=cg, gen=person.gen)

    async def _meals_of(self, cg: str) -> list[tuple[int, int]]:
        """The courier's lunch deliveries still to do: (task, planned second of the day)."""
        async with self.platform.store.read() as conn:
            rows = (
                await conn.execute(
                    select(tasks.c.id, tasks.c.planned_start)
                    .where(
                        tasks.c.caregiver_id == self.ids.caregiver[cg],
                        tasks.c.status.in_(MINE),
                        tasks.c.kind == "meal_delivery",
                    )
                    .order_by(tasks.c.planned_start, tasks.c.id)
                )
            ).all()
        return [(int(r.id), self._second(r.planned_start)) for r in rows]

    def _second(self, at: Any) -> int:
        if at is None:
            return self.now_s
        return int((as_utc(at) - self.day.at(0)).total_seconds())

    async def _on_pickup(self, cg: str, gen: int) -> None:
        """Take this round's boxes: as many as the box holds, planned at the door within the
        hot-food limit of the first."""
        person = self.people[cg]
        if gen != person.gen:
            return
        k = self.day.station_by_id[self.day.caregiver_by_id[cg].station_id].kitchen
        assert k is not None
        mine = await self._meals_of(cg)
        for tid, at in mine[: k.box_capacity]:
            if at > mine[0][1] + k.max_to_door_s:
                break
            person.boxes[tid] = self.now_s
            ref = self._ref(tid)
            if ref is not None:
                self.rec.task(ref[0], ref[1], self.now_s, TaskStep.PICKED_UP, cg)
        self.at(self.now_s, "next", cg=cg, gen=person.gen)

    def _ref(self, task_id: int) -> tuple[str, TaskKind] | None:
        if task_id in self.ids.task_visit:
            return self.ids.task_visit[task_id], TaskKind.VISIT
        if task_id in self.ids.task_meal:
            return self.ids.task_meal[task_id], TaskKind.MEAL
        return None

    async def _on_door(self, cg: str, task: int, origin: GeoPoint, gen: int) -> None:
        person = self.people[cg]
        if gen != person.gen:
            return
        where = await self._task_place(task)
        self.rec.segment(
            Segment(cg, person.seg_start, self.now_s, Activity.TRAVEL, "", where, origin)
        )
        await self._move(cg, where)
        v = self._visit(task)
        start = self.now_s
        if v is not None and start < v.window_start_s and person.task_left_s == 0:
            self.rec.segment(Segment(cg, start, v.window_start_s, Activity.WAIT, v.id, where))
            start = v.window_start_s
        if task in person.boxes:
            # A lunch box is handed over at the door (not before lunch opens).
            k = self.day.station_by_id[self.day.caregiver_by_id[cg].station_id].kitchen
            if k is not None and self.now_s < k.lunch_opens_s:
                self.rec.segment(Segment(cg, self.now_s, k.lunch_opens_s, Activity.WAIT, "", where))
                person.gen += 1
                self.at(k.lunch_opens_s, "handover", cg=cg, task=task, gen=person.gen)
                return
            await self._deliver(cg, task)
            person.gen += 1
            self.at(self.now_s + MEAL_AT_DOOR_S, "next", cg=cg, gen=person.gen)
            return
        person.gen += 1
        self.at(start, "begin", cg=cg, task=task, gen=person.gen)

    async def _on_begin(self, cg: str, task: int, gen: int) -> None:
        person = self.people[cg]
        if gen != person.gen:
            return
        v = self._visit(task)
        fix = Location(lat=person.at.lat, lng=person.at.lng, coord_system=CoordSystemName.GCJ02)
        await task_flows.arrive(
            self.platform, self._caregiver(cg), task, TaskArriveIn(location=fix)
        )
        length = person.task_left_s or (v.actual_s if v is not None else 1800)
        if v is not None and person.task_left_s == 0:
            self.rec.task(v.id, TaskKind.VISIT, self.now_s, TaskStep.STARTED, cg)
        person.task_left_s = 0
        person.task_end_s = self.now_s + length
        person.seg_start = self.now_s
        person.gen += 1
        self.at(person.task_end_s, "done", cg=cg, task=task, gen=person.gen)

    async def _on_done(self, cg: str, task: int, gen: int) -> None:
        person = self.people[cg]
        if gen != person.gen:
            return
        await self._finish_visit(cg)
        person.gen += 1
        self.at(self.now_s, "next", cg=cg, gen=person.gen)

    async def _finish_visit(self, cg: str) -> None:
        person = self.people[cg]
        task = person.task
        assert task is not None
        v = self._visit(task)
        await task_flows.complete(
            self.platform, self._caregiver(cg), task, TaskCompleteIn(notes="simulated")
        )
        ref = v.id if v is not None else ""
        self.rec.segment(
            Segment(
                cg,
                person.seg_start,
                self.now_s,
                Activity.VISIT,
                ref,
                person.at,
                interruptible=v.interruptible if v is not None else True,
            )
        )
        if v is not None:
            self.rec.task(v.id, TaskKind.VISIT, self.now_s, TaskStep.DONE, cg)
        person.task = None
        person.task_end_s = None

    async def _on_handover(self, cg: str, task: int, gen: int) -> None:
        person = self.people[cg]
        if gen != person.gen:
            return
        await self._deliver(cg, task)
        person.gen += 1
        self.at(self.now_s + MEAL_AT_DOOR_S, "next", cg=cg, gen=person.gen)

    async def _deliver(self, cg: str, task: int) -> None:
        person = self.people[cg]
        picked = person.boxes.pop(task)
        k = self.day.station_by_id[self.day.caregiver_by_id[cg].station_id].kitchen
        assert k is not None
        fix = Location(lat=person.at.lat, lng=person.at.lng, coord_system=CoordSystemName.GCJ02)
        p = self._caregiver(cg)
        await task_flows.arrive(self.platform, p, task, TaskArriveIn(location=fix))
        hot = self.now_s - picked <= k.max_to_door_s
        await task_flows.complete(
            self.platform, p, task, TaskCompleteIn(notes="simulated", hot=hot)
        )
        ref = self._ref(task)
        if ref is not None:
            self.rec.task(ref[0], ref[1], self.now_s, TaskStep.DONE, cg)
        end = self.now_s + MEAL_AT_DOOR_S
        label = ref[0] if ref else ""
        self.rec.segment(Segment(cg, self.now_s, end, Activity.MEAL, label, person.at))
        person.task = None

    def _segment(self, cg: str, activity: Activity, ref: str) -> None:
        p = self.people[cg]
        if self.now_s > p.seg_start:
            self.rec.segment(Segment(cg, p.seg_start, self.now_s, activity, ref, p.at))
        p.seg_start = self.now_s

    # ----- watching the system ------------------------------------------------------------

    async def _observe(self) -> None:
        async with self.platform.store.read() as conn:
            rows = (
                await conn.execute(
                    select(offers_table).where(
                        offers_table.c.id.in_(list(self.seen_offers))
                        | (offers_table.c.status == "offered")
                    )
                )
            ).all()
            events = (
                await conn.execute(
                    select(incident_events)
                    .where(incident_events.c.id > self.last_event_id)
                    .order_by(incident_events.c.id)
                )
            ).all()
            plan_id = (await conn.execute(select(func.max(day_plans.c.id)))).scalar() or 0
        for o in rows:
            before = self.seen_offers.get(o.id)
            if before == o.status:
                continue
            self.seen_offers[o.id] = o.status
            call = self.call_of_incident.get(int(o.incident_id))
            cg = self.ids.caregiver_sim.get(int(o.caregiver_id))
            if call is None or cg is None:
                continue
            if before is None and o.status == "offered":
                self._offered(int(o.id), cg, call)
            elif o.status == "expired":
                self.rec.call(call, self.now_s, CallStep.TIMED_OUT, cg)
        for e in events:
            self.last_event_id = max(self.last_event_id, int(e.id))
            call = self.call_of_incident.get(int(e.incident_id))
            if call is None or e.kind not in ESCALATION_EVENTS:
                continue
            data = e.data or {}
            detail = str(data.get("step") or data.get("kind") or data.get("alarm") or e.kind)
            self.rec.call(call, self.now_s, CallStep.ESCALATED, detail=detail)
        wake = plan_id != self.last_plan_id
        if len(self.ids.task_meal) < len(self.ids.meal_of_elder):
            known = set(self.ids.task_meal)
            await map_meal_tasks(self.platform, self.ids)
            new = [self.ids.task_meal[t] for t in self.ids.task_meal if t not in known]
            wake = wake or bool(new)
            if new and self.policy == "anxin":
                # Lunch is routed: the station plans the day again around the rounds.
                meals = {m.id: m for m in self.day.meals}
                for st in sorted({meals[m].station_id for m in new}):
                    self.at(self.now_s, "replan", station=st)
        if wake:
            self.last_plan_id = int(plan_id)
            for cg, p in self.people.items():
                if p.on_duty and p.call is None and p.task is None:
                    self.at(self.now_s, "next", cg=cg, gen=p.gen)

    def _offered(self, offer: int, cg: str, call: str) -> None:
        self.rec.call(call, self.now_s, CallStep.OFFERED, cg)
        n = self.offer_attempts.get((cg, call), 0) + 1
        self.offer_attempts[(cg, call)] = n
        c = self.day.caregiver_by_id[cg]
        ans = self.day.offer_answer(cg, call, n)
        if ans.answer == "none" or c.offline_at(self.now_s):
            return  # the offer times out
        self.at(
            self.now_s + ans.after_s,
            "answer",
            offer=offer,
            cg=cg,
            call=call,
            answer=ans.answer,
            depart_s=ans.depart_after_s,
        )

    async def _close_day(self) -> None:
        """What the day left open is recorded as such (nothing silently dropped)."""
        end = self.now_s
        ended = {r.call_id for r in self.rec.calls if r.step in _ENDS}
        for c in self.day.calls:
            if c.id not in ended:
                self.rec.call(c.id, end, CallStep.CLOSED, detail="open_at_end_of_run")
        done = {r.task_id for r in self.rec.tasks if r.step in (TaskStep.DONE, TaskStep.MISSED)}
        for v in self.day.visits:
            if v.id not in done:
                why = await self._why_not(self.ids.visit_task.get(v.id))
                self.rec.task(v.id, TaskKind.VISIT, end, TaskStep.MISSED, detail=why)
        for m in self.day.meals:
            if m.id not in done:
                why = await self._why_not(self.ids.meal_task.get(m.id))
                self.rec.task(m.id, TaskKind.MEAL, end, TaskStep.MISSED, detail=why)

    async def _why_not(self, tid: int | None) -> str:
        """Why a task was never done: left out of every plan, or planned but not reached."""
        if tid is None:
            return "no_task"
        async with self.platform.store.read() as conn:
            cid = (
                await conn.execute(select(tasks.c.caregiver_id).where(tasks.c.id == tid))
            ).scalar()
        return "unassigned" if cid is None else "not_reached"


_ENDS = {CallStep.RESOLVED, CallStep.CLOSED, CallStep.JOINED}


def settings_for(day: Day, policy: str, database_url: str) -> Settings:
    pol = day.scenario.policy
    s = day.scenario.solver
    return Settings(
        database_url=database_url,
        offer_timeout_s=pol.offer_timeout_s,
        sla_s=pol.sla_s,
        plan_eta_s=pol.plan_eta_s,
        dispatch_policy=policy,
        solver_work=SolverWork(
            day_plan=s.day_plan_solutions,
            replan=s.replan_solutions,
            meals=s.meal_solutions,
            safety_s=s.safety_seconds,
            seed=day.seed,
        ),
        log_level="ERROR",
    )


async def simulate(
    day: Day,
    policy: str,
    *,
    database_url: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunLog:
    """Replay `day` under `policy` on a fresh store (a SQLite file in a temporary directory
    unless `database_url` names an empty database)."""
    # A throw-away store: in memory-backed /dev/shm where there is one (the store syncs every
    # commit to disk, which a simulated day of thousands of commits need not wait for).
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="anxin-sim-", dir=where) as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'sim.db'}"
        store = Store(url)
        try:
            await store.create_all()
            platform = Platform(
                settings_for(day, policy, url), store, InProcessBus(), FakeClock(day.at(0))
            )
            register_jobs(platform)
            driver = Driver(day, platform, policy)
            driver.progress = progress
            return await driver.run()
        finally:
            await store.dispose()
