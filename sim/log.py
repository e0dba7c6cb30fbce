"""What a simulated run records: one record per step of a help call, one per step of a task
(visit or meal), and each caregiver's day as segments of activity. The driver writes them
through a `Recorder`; `sim.kpis` and `sim.report` read the frozen `RunLog`.

Times are seconds after local midnight of the day (`Day.at` turns them into instants). Ids are
the Day's: calls "H0001", visits "V0001", meals "M0001", caregivers "STATION.N".

A help call's steps, in the order they usually come:
    pressed → offered → (declined | timed_out | accepted) ... → en_route → arrived → resolved
with called_back (the operator's call-back, detail: what it found), escalated (a chain step
fired, detail: the step kind), responsible (someone took responsibility, detail: who) and
closed (ended without a caregiver on scene, detail: the resolution) around them. A repeat
press that joins the open incident is `pressed` then `joined` (detail: the call it joined).
Every call ends in `resolved`, `closed` or `joined`; every task in `done` or `missed`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from dispatch.geo import GeoPoint


class CallStep(StrEnum):
    PRESSED = "pressed"
    JOINED = "joined"
    OFFERED = "offered"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    RESOLVED = "resolved"
    CALLED_BACK = "called_back"
    ESCALATED = "escalated"
    RESPONSIBLE = "responsible"
    CLOSED = "closed"


CALL_ENDS = frozenset({CallStep.RESOLVED, CallStep.CLOSED, CallStep.JOINED})


class TaskKind(StrEnum):
    VISIT = "visit"
    MEAL = "meal"


class TaskStep(StrEnum):
    PLANNED = "planned"  # put into a plan (again on a re-plan): caregiver and planned start
    STARTED = "started"  # a visit began at the door
    PICKED_UP = "picked_up"  # a meal left the kitchen
    DONE = "done"  # a visit completed, a meal handed over
    MISSED = "missed"  # detail: why (dispatch.model.UnassignedWhy codes, or the driver's own)


TASK_ENDS = frozenset({TaskStep.DONE, TaskStep.MISSED})


class Activity(StrEnum):
    TRAVEL = "travel"
    VISIT = "visit"
    MEAL = "meal"  # at the kitchen or a door on a lunch round
    CALL = "call"  # on scene at a help call
    LUNCH = "lunch"
    WAIT = "wait"  # early at a door, waiting for the window to open


WORK = frozenset({Activity.TRAVEL, Activity.VISIT, Activity.MEAL, Activity.CALL})


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    at_s: int
    step: CallStep
    caregiver_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    kind: TaskKind
    at_s: int
    step: TaskStep
    caregiver_id: str | None = None
    planned_s: int | None = None  # PLANNED: the planned start
    detail: str = ""


@dataclass(frozen=True)
class Segment:
    """A stretch of a caregiver's day. `place` is where it happens (a trip: where it ends);
    `origin` is where a trip starts. `interruptible` says whether a help call may break it
    off (a bath may not; a call on scene never is)."""

    caregiver_id: str
    start_s: int
    end_s: int
    activity: Activity
    ref: str = ""  # the visit, meal or call
    place: GeoPoint | None = None
    origin: GeoPoint | None = None
    interruptible: bool = True


@dataclass(frozen=True)
class RunLog:
    policy: str
    seed: int
    calls: tuple[CallRecord, ...]
    tasks: tuple[TaskRecord, ...]
    segments: tuple[Segment, ...]
    notes: tuple[str, ...] = ()  # anything a reader should know (a safety time limit bound)

    def first_at(self, step: CallStep) -> dict[str, int]:
        """call id → when the call first reached `step`."""
        out: dict[str, int] = {}
        for r in self.calls:
            if r.step is step and (r.call_id not in out or r.at_s < out[r.call_id]):
                out[r.call_id] = r.at_s
        return out

    def of_call(self, call_id: str) -> list[CallRecord]:
        return [r for r in self.calls if r.call_id == call_id]

    def of_caregiver(self, caregiver_id: str) -> list[Segment]:
        return sorted(
            (s for s in self.segments if s.caregiver_id == caregiver_id), key=lambda s: s.start_s
        )


@dataclass
class Recorder:
    """Collects records as the driver goes; `freeze` sorts them by time (stable)."""

    calls: list[CallRecord] = field(default_factory=list)
    tasks: list[TaskRecord] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def call(
        self,
        call_id: str,
        at_s: int,
        step: CallStep,
        caregiver_id: str | None = None,
        detail: str = "",
    ) -> None:
        self.calls.append(CallRecord(call_id, at_s, step, caregiver_id, detail))

    def task(
        self,
        task_id: str,
        kind: TaskKind,
        at_s: int,
        step: TaskStep,
        caregiver_id: str | None = None,
        planned_s: int | None = None,
        detail: str = "",
    ) -> None:
        self.tasks.append(TaskRecord(task_id, kind, at_s, step, caregiver_id, planned_s, detail))

    def segment(self, segment: Segment) -> None:
        if segment.end_s < segment.start_s:
            raise ValueError(f"segment ends before it starts: {segment}")
        self.segments.append(segment)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def freeze(self, policy: str, seed: int) -> RunLog:
        return RunLog(
            policy,
            seed,
            tuple(sorted(self.calls, key=lambda r: r.at_s)),
            tuple(sorted(self.tasks, key=lambda r: r.at_s)),
            tuple(sorted(self.segments, key=lambda s: (s.caregiver_id, s.start_s))),
            tuple(self.notes),
        )


def write_jsonl(log: RunLog, path: Path) -> None:
    """The whole log, one JSON object a line (for a person or a script to dig into)."""
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"policy": log.policy, "seed": log.seed, "notes": log.notes}) + "\n")
        for kind, rows in (("call", log.calls), ("task", log.tasks), ("segment", log.segments)):
            for r in rows:
                f.write(json.dumps({"record": kind, **asdict(r)}, ensure_ascii=False) + "\n")
