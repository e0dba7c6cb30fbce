"""The escalation chain as data, and a pure planner that says what is due.

A chain definition is a list of steps (operator alarm, neighbour call, family calls in order,
advice to call 120, station head alarm, ...), each with a delay and the channels to use. A
station has one; an elder may override it. The planner is a pure function of the definition,
the chain's history (what fired, who took responsibility, who withdrew) and `now`; it returns
the firings due now and the time of the next timer. The service stores the history and one
durable timer at `next_at`, so a restart simply re-runs the planner and continues where it was.

Time inside the chain is an *escalation clock*: it runs while nobody has taken responsibility,
stops while someone has (a caregiver accepted, the neighbour pressed 1, a daughter tapped "I'm
on my way"), and when the last responsible person withdraws ("I cannot go after all") it jumps
straight to the next pending step: the next person is called at once, and the steps after it
keep their spacing. The clock does not drift when a firing is late (server down, channel
timing out): late firings fire at once and the following steps still fire on their schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from schemas.hotline import Anchor, ChainStatus, Channel, StepKind

__all__ = [
    "Acknowledged",
    "ChainClosed",
    "ChainContext",
    "ChainDefinition",
    "ChainEvent",
    "ChainOverride",
    "ChainStarted",
    "ChainStatus",
    "DEFAULT_CHAIN",
    "Escalated",
    "Firing",
    "MAX_DELAY",
    "OperatorAcknowledged",
    "Plan",
    "StepDef",
    "StepFired",
    "Withdrawn",
    "plan",
    "validate_definition",
]


@dataclass(frozen=True, slots=True)
class StepDef:
    """One step: when (delay from anchor), how (channels), and how to space several targets."""

    key: str
    kind: StepKind
    delay: timedelta
    channels: tuple[Channel, ...]
    anchor: Anchor = Anchor.START
    target_interval: timedelta = timedelta(0)
    medical_only: bool = False

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a step needs a key")
        if self.delay < timedelta(0) or self.target_interval < timedelta(0):
            raise ValueError(f"step {self.key}: delays cannot be negative")
        if not self.channels:
            raise ValueError(f"step {self.key}: at least one channel")


@dataclass(frozen=True, slots=True)
class ChainDefinition:
    """An ordered list of steps with unique keys."""

    steps: tuple[StepDef, ...]

    def __post_init__(self) -> None:
        keys = [s.key for s in self.steps]
        if len(keys) != len(set(keys)):
            raise ValueError("step keys must be unique")
        if self.steps and self.steps[0].anchor is Anchor.PREVIOUS:
            raise ValueError("the first step cannot be anchored to a previous one")

    def override(self, change: ChainOverride | None) -> ChainDefinition:
        """This definition with an elder's override applied."""
        if change is None:
            return self
        if change.steps is not None:
            return ChainDefinition(change.steps)
        unknown = (set(change.delays) | change.disabled) - {s.key for s in self.steps}
        if unknown:
            raise ValueError(f"override names unknown steps: {sorted(unknown)}")
        steps = tuple(
            replace(s, delay=change.delays.get(s.key, s.delay))
            for s in self.steps
            if s.key not in change.disabled
        )
        return ChainDefinition(steps + change.extra)


@dataclass(frozen=True, slots=True)
class ChainOverride:
    """An elder's changes to the station chain: replace it, or retime, drop and add steps."""

    steps: tuple[StepDef, ...] | None = None
    delays: Mapping[str, timedelta] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    extra: tuple[StepDef, ...] = ()


def _s(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


# A chain is about the next minutes, not days: anything longer is a typing mistake (and a
# number like 1e300 would overflow the clock).
MAX_DELAY: Final = timedelta(hours=24)

# Steps that call people need a channel that reaches a person; the console is the station's.
_PERSON_KINDS: Final = frozenset(
    {StepKind.NEIGHBOUR_CALL, StepKind.FAMILY_CALL, StepKind.DOCTOR_CALL, StepKind.HEAD_ALARM}
)


def validate_definition(definition: ChainDefinition) -> None:
    """Raise ValueError when a chain could not do its job.

    A valid chain alarms the station (one operator_alarm step with the console), keeps every
    delay within MAX_DELAY, gives the 120 advice to the console only, and reaches people over
    a channel that can reach them. The structural rules (unique keys, first anchor) are in
    ChainDefinition itself.
    """
    problems: list[str] = []
    alarms = [s for s in definition.steps if s.kind is StepKind.OPERATOR_ALARM]
    if not alarms:
        problems.append("the chain needs an operator_alarm step")
    elif not any(Channel.CONSOLE in s.channels for s in alarms):
        problems.append("the operator_alarm step must use the console")
    total = timedelta(0)
    for s in definition.steps:
        total = s.delay if s.anchor is Anchor.START else total + s.delay
        if s.delay > MAX_DELAY or s.target_interval > MAX_DELAY or total > MAX_DELAY:
            problems.append(f"step {s.key}: delays must stay within {MAX_DELAY}")
        if s.kind is StepKind.ADVISE_120 and s.channels != (Channel.CONSOLE,):
            problems.append(f"step {s.key}: the 120 advice goes to the console only")
        if s.kind in _PERSON_KINDS and not set(s.channels) - {Channel.CONSOLE}:
            problems.append(f"step {s.key}: needs a channel that reaches a person")
        if len(set(s.channels)) != len(s.channels):
            problems.append(f"step {s.key}: a channel is listed twice")
    if problems:
        raise ValueError("; ".join(problems))


# DESIGN.md defaults: operator alarm after 90 s with no acceptance; neighbour and family after
# 180 s; 120 advised at once for a medical emergency; the station head when nobody answers.
DEFAULT_CHAIN: Final = ChainDefinition(
    (
        StepDef("advise_120", StepKind.ADVISE_120, _s(0), (Channel.CONSOLE,), medical_only=True),
        StepDef(
            "operator_alarm",
            StepKind.OPERATOR_ALARM,
            _s(90),
            (Channel.CONSOLE, Channel.APP_PUSH, Channel.VOICE),
        ),
        StepDef(
            "neighbour_call",
            StepKind.NEIGHBOUR_CALL,
            _s(180),
            (Channel.VOICE, Channel.SMS),
            target_interval=_s(60),
        ),
        StepDef(
            "family_call",
            StepKind.FAMILY_CALL,
            _s(180),
            (Channel.APP_PUSH, Channel.WECHAT, Channel.SMS, Channel.VOICE),
            target_interval=_s(60),
        ),
        StepDef("head_alarm", StepKind.HEAD_ALARM, _s(300), (Channel.VOICE, Channel.SMS)),
    )
)


@dataclass(frozen=True, slots=True)
class ChainContext:
    """Whom each kind of step reaches. Family, neighbours and the doctor are resolved when the
    chain starts; the operator on duty and the head come from the roster at each step."""

    medical: bool
    operators: tuple[str, ...] = ()  # the station console
    duty: tuple[str, ...] = ()  # the operator on night duty, called on the phone
    neighbours: tuple[str, ...] = ()
    family: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    doctor: tuple[str, ...] = ()

    def targets(self, kind: StepKind) -> tuple[str, ...]:
        """People a step of this kind calls, in order."""
        return {
            StepKind.OPERATOR_ALARM: self.operators + self.duty,
            StepKind.ADVISE_120: self.operators,
            StepKind.NEIGHBOUR_CALL: self.neighbours,
            StepKind.FAMILY_CALL: self.family,
            StepKind.HEAD_ALARM: self.head,
            StepKind.DOCTOR_CALL: self.doctor,
        }[kind]


# --- history ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainStarted:
    """The chain began (at intake of an emergency)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class StepFired:
    """A firing was carried out (its messages handed to the channels)."""

    firing: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A person took responsibility: the chain stops."""

    person: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A person who had taken responsibility cannot after all: the chain resumes."""

    person: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Escalated:
    """Skip the wait: the next step is due now (no ETA fits in 20 minutes, or the operator says so)."""

    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OperatorAcknowledged:
    """An operator acknowledged the alarm (at the console, or the duty operator pressed 1):
    the station head no longer needs to be woken. The rest of the chain keeps going, because
    an operator who knows is not yet a person at the elder's door."""

    at: datetime
    person: str = ""


@dataclass(frozen=True, slots=True)
class ChainClosed:
    """The incident is resolved or cancelled: nothing more will fire."""

    at: datetime


ChainEvent = (
    ChainStarted
    | StepFired
    | Acknowledged
    | Withdrawn
    | Escalated
    | OperatorAcknowledged
    | ChainClosed
)


@dataclass(frozen=True, slots=True)
class Firing:
    """One step reaching one target (or nobody: target None means the step has no one to call)."""

    id: str
    step: str
    kind: StepKind
    target: str | None
    position: int
    channels: tuple[Channel, ...]
    offset: timedelta


@dataclass(frozen=True, slots=True)
class Plan:
    """What the planner decided: fire these now, wake up again at next_at."""

    status: ChainStatus
    due: tuple[Firing, ...]
    next_at: datetime | None
    responsible: frozenset[str]


def firings(definition: ChainDefinition, context: ChainContext) -> list[Firing]:
    """Every firing of the chain with its offset on the escalation clock, in firing order."""
    out: list[Firing] = []
    previous_base = timedelta(0)
    # People from the roster are resolved at each step, so who sits at a position can change
    # with the shift: their firings are named by person, never called twice.
    live = set(context.duty) | set(context.head)
    for step in definition.steps:
        base = step.delay if step.anchor is Anchor.START else previous_base + step.delay
        previous_base = base
        if step.medical_only and not context.medical:
            continue
        targets: Sequence[str | None] = context.targets(step.kind) or (None,)
        for position, target in enumerate(targets):
            ident = target if target in live else str(position)
            out.append(
                Firing(
                    id=f"{step.key}:{ident}",
                    step=step.key,
                    kind=step.kind,
                    target=target,
                    position=position,
                    channels=step.channels,
                    offset=base + step.target_interval * position,
                )
            )
    out.sort(key=lambda f: f.offset)  # stable: ties keep the definition's order
    return out


_ORDER: Final = {
    ChainStarted: 0,
    Acknowledged: 1,
    Withdrawn: 2,
    Escalated: 3,
    OperatorAcknowledged: 4,
    StepFired: 5,
    ChainClosed: 6,
}


def plan(
    definition: ChainDefinition,
    context: ChainContext,
    history: Iterable[ChainEvent],
    now: datetime,
) -> Plan:
    """Replay the history and say which firings are due at `now` and when to wake next."""
    events = sorted(history, key=lambda e: (e.at, _ORDER[type(e)]))
    starts = [e for e in events if isinstance(e, ChainStarted)]
    if not starts:
        raise ValueError("the chain has not started")
    schedule = firings(definition, context)
    fired: set[str] = set()
    responsible: set[str] = set()
    # The escalation clock: `clock_at` real time corresponds to `clock` on the chain's clock.
    clock_at = starts[0].at
    clock = timedelta(0)
    paused = False

    def pending_offset() -> timedelta | None:
        return next((f.offset for f in schedule if f.id not in fired), None)

    def jump_to_next(at: datetime) -> None:
        nonlocal clock, clock_at
        nxt = pending_offset()
        clock = max(clock, nxt) if nxt is not None else clock
        clock_at = at

    for e in events:
        if isinstance(e, ChainClosed):
            return Plan(ChainStatus.CLOSED, (), None, frozenset(responsible))
        if isinstance(e, StepFired):
            fired.add(e.firing)
        elif isinstance(e, Acknowledged):
            if not paused:
                clock += e.at - clock_at
                clock_at = e.at
            responsible.add(e.person)
            paused = True
        elif isinstance(e, Withdrawn):
            if e.person in responsible:
                responsible.discard(e.person)
                if not responsible:
                    paused = False
                    jump_to_next(e.at)
        elif isinstance(e, Escalated) and not paused:
            clock += e.at - clock_at
            jump_to_next(e.at)
        elif isinstance(e, OperatorAcknowledged):
            # The head is called only when nobody at the station acknowledges.
            fired.update(f.id for f in schedule if f.kind is StepKind.HEAD_ALARM)

    remaining = [f for f in schedule if f.id not in fired]
    if not remaining:
        return Plan(ChainStatus.FINISHED, (), None, frozenset(responsible))
    if paused:
        return Plan(ChainStatus.PAUSED, (), None, frozenset(responsible))
    now_clock = clock + max(now - clock_at, timedelta(0))
    due = tuple(f for f in remaining if f.offset <= now_clock)
    later = [f.offset for f in remaining if f.offset > now_clock]
    next_at = clock_at + (min(later) - clock) if later else None
    return Plan(ChainStatus.RUNNING, due, next_at, frozenset())
