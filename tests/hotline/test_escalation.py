"""The escalation chain with a fake clock: timings, stop on ack, resume on withdrawal, restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
    OperatorAcknowledged,
    StepDef,
    StepFired,
    Withdrawn,
    plan,
    validate_definition,
)
from schemas.hotline import Anchor, Channel, StepKind

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


FALL = ChainContext(
    medical=True,
    operators=("op-night",),
    neighbours=("nb-li",),
    family=("son", "daughter"),
    head=("head-zhao",),
)
SOCIAL = ChainContext(medical=False, operators=("op-night",), family=("son",))


class Chain:
    """Drives the planner like the service does: one timer at next_at, firings recorded."""

    def __init__(self, context: ChainContext, definition: ChainDefinition = DEFAULT_CHAIN) -> None:
        self.definition = definition
        self.context = context
        self.history: list[ChainEvent] = [ChainStarted(T0)]
        self.log: list[tuple[float, str]] = []

    def tick(self, now: datetime) -> datetime | None:
        p = plan(self.definition, self.context, self.history, now)
        for f in p.due:
            self.history.append(StepFired(f.id, now))
            self.log.append(((now - T0).total_seconds(), f"{f.id}->{f.target}"))
        return plan(self.definition, self.context, self.history, now).next_at

    def run_until(self, end: float, events: dict[float, ChainEvent] | None = None) -> None:
        """Fire timers and apply outside events in time order until `end` seconds."""
        pending = dict(events or {})
        now = T0
        while True:
            nxt = self.tick(now)
            candidates = [t for t in pending if at(t) >= now]
            next_event = min(candidates) if candidates else None
            if next_event is not None and (nxt is None or at(next_event) <= nxt):
                now = at(next_event)
                self.history.append(pending.pop(next_event))
                continue
            if nxt is None or nxt > at(end):
                return
            now = nxt


def test_every_step_fires_on_time_for_a_medical_emergency() -> None:
    chain = Chain(FALL)
    chain.run_until(3600)
    assert chain.log == [
        (0, "advise_120:0->op-night"),
        (90, "operator_alarm:0->op-night"),
        (180, "neighbour_call:0->nb-li"),
        (180, "family_call:0->son"),
        (240, "family_call:1->daughter"),
        (300, "head_alarm:head-zhao->head-zhao"),
    ]
    assert plan(DEFAULT_CHAIN, FALL, chain.history, at(3600)).status is ChainStatus.FINISHED


def test_no_120_advice_when_not_medical() -> None:
    chain = Chain(SOCIAL)
    chain.run_until(3600)
    assert [t for t, _ in chain.log] == [90, 180, 180, 300]
    assert "advise_120" not in " ".join(s for _, s in chain.log)


def test_a_step_with_nobody_to_call_still_fires_for_the_record() -> None:
    chain = Chain(SOCIAL)
    chain.run_until(3600)
    assert (180, "neighbour_call:0->None") in chain.log
    assert (300, "head_alarm:0->None") in chain.log


def test_nothing_is_due_before_its_time() -> None:
    history: list[ChainEvent] = [ChainStarted(T0), StepFired("advise_120:0", T0)]
    p = plan(DEFAULT_CHAIN, FALL, history, at(89.9))
    assert p.due == () and p.next_at == at(90)


def test_acknowledgement_stops_the_chain() -> None:
    chain = Chain(FALL)
    chain.run_until(3600, {200: Acknowledged("nb-li", at(200))})
    assert [t for t, _ in chain.log] == [0, 90, 180, 180]
    p = plan(DEFAULT_CHAIN, FALL, chain.history, at(3600))
    assert p.status is ChainStatus.PAUSED and p.next_at is None and p.responsible == {"nb-li"}


def test_caregiver_acceptance_before_the_alarm_means_no_alarm() -> None:
    chain = Chain(SOCIAL)
    chain.run_until(3600, {45: Acknowledged("caregiver-wu", at(45))})
    assert chain.log == []


def test_withdrawal_resumes_with_the_next_step_at_once() -> None:
    """The neighbour accepts at 200 s and withdraws at 1000 s: the daughter is called at once."""
    chain = Chain(FALL)
    chain.run_until(3600, {200: Acknowledged("nb-li", at(200)), 1000: Withdrawn("nb-li", at(1000))})
    assert chain.log == [
        (0, "advise_120:0->op-night"),
        (90, "operator_alarm:0->op-night"),
        (180, "neighbour_call:0->nb-li"),
        (180, "family_call:0->son"),
        (1000, "family_call:1->daughter"),
        (1060, "head_alarm:head-zhao->head-zhao"),  # keeps its 60 s spacing after the daughter
    ]


def test_withdrawal_before_any_alarm_brings_the_alarm_forward() -> None:
    chain = Chain(SOCIAL)
    chain.run_until(3600, {30: Acknowledged("cg", at(30)), 40: Withdrawn("cg", at(40))})
    assert chain.log[0] == (40, "operator_alarm:0->op-night")


def test_chain_stays_stopped_while_anyone_is_still_responsible() -> None:
    chain = Chain(FALL)
    chain.run_until(
        3600,
        {
            200: Acknowledged("nb-li", at(200)),
            210: Acknowledged("son", at(210)),
            300: Withdrawn("nb-li", at(300)),
        },
    )
    assert max(t for t, _ in chain.log) == 180
    p = plan(DEFAULT_CHAIN, FALL, chain.history, at(3600))
    assert p.status is ChainStatus.PAUSED and p.responsible == {"son"}


def test_withdrawal_by_someone_not_responsible_changes_nothing() -> None:
    chain = Chain(FALL)
    chain.run_until(3600, {200: Acknowledged("nb-li", at(200)), 300: Withdrawn("son", at(300))})
    assert max(t for t, _ in chain.log) == 180


def test_escalate_skips_the_wait() -> None:
    """No caregiver can arrive inside 20 minutes: the operator is alarmed at once."""
    chain = Chain(SOCIAL)
    chain.run_until(3600, {5: Escalated(at(5), "no ETA within 20 minutes")})
    assert chain.log[0] == (5, "operator_alarm:0->op-night")
    assert chain.log[1][0] == 95  # the neighbour step keeps its 90 s spacing


def test_closed_chain_fires_nothing() -> None:
    history: list[ChainEvent] = [ChainStarted(T0), ChainClosed(at(10))]
    p = plan(DEFAULT_CHAIN, FALL, history, at(3600))
    assert p.status is ChainStatus.CLOSED and p.due == () and p.next_at is None


def test_late_timer_fires_everything_overdue_and_keeps_the_schedule() -> None:
    """The server was down from 60 s to 200 s: on restart three firings are due at once."""
    history: list[ChainEvent] = [ChainStarted(T0), StepFired("advise_120:0", T0)]
    p = plan(DEFAULT_CHAIN, FALL, history, at(200))
    assert [f.id for f in p.due] == ["operator_alarm:0", "neighbour_call:0", "family_call:0"]
    assert p.next_at == at(240)


@pytest.mark.parametrize("stop_at", [0, 90, 179, 180, 239, 250, 299])
def test_restart_in_the_middle_continues_where_it_was(stop_at: int) -> None:
    """Run to `stop_at`, keep only the stored history, re-plan in a fresh 'process'."""
    events: dict[float, ChainEvent] = {
        200: Acknowledged("nb-li", at(200)),
        260: Withdrawn("nb-li", at(260)),
    }
    whole = Chain(FALL)
    whole.run_until(3600, events)

    first = Chain(FALL)
    first.run_until(stop_at, {t: e for t, e in events.items() if t <= stop_at})
    second = Chain(FALL)
    second.history = list(first.history)  # what the store kept
    second.log = list(first.log)
    second.run_until(3600, {t: e for t, e in events.items() if t > stop_at})
    assert second.log == whole.log


def test_history_order_does_not_matter() -> None:
    history: list[ChainEvent] = [
        StepFired("operator_alarm:0", at(90)),
        Acknowledged("son", at(100)),
        ChainStarted(T0),
        StepFired("advise_120:0", T0),
    ]
    assert plan(DEFAULT_CHAIN, FALL, history, at(500)).status is ChainStatus.PAUSED


def test_elder_override_retimes_and_disables() -> None:
    """An elder whose daughter lives next door: family first, at 60 s; no neighbour."""
    custom = DEFAULT_CHAIN.override(
        ChainOverride(
            delays={"family_call": timedelta(seconds=60)}, disabled=frozenset({"neighbour_call"})
        )
    )
    chain = Chain(FALL, custom)
    chain.run_until(3600)
    assert chain.log[:3] == [
        (0, "advise_120:0->op-night"),
        (60, "family_call:0->son"),
        (90, "operator_alarm:0->op-night"),
    ]
    assert not any("neighbour" in s for _, s in chain.log)


def test_override_with_unknown_step_is_refused() -> None:
    with pytest.raises(ValueError):
        DEFAULT_CHAIN.override(ChainOverride(disabled=frozenset({"drone"})))


def test_previous_anchor_counts_from_the_step_before() -> None:
    chain_def = ChainDefinition(
        (
            StepDef("a", StepKind.OPERATOR_ALARM, timedelta(seconds=30), (Channel.CONSOLE,)),
            StepDef(
                "b",
                StepKind.HEAD_ALARM,
                timedelta(seconds=45),
                (Channel.SMS,),
                anchor=Anchor.PREVIOUS,
            ),
        )
    )
    chain = Chain(FALL, chain_def)
    chain.run_until(3600)
    assert [t for t, _ in chain.log] == [30, 75]


@pytest.mark.parametrize(
    "steps",
    [
        (StepDef("a", StepKind.OPERATOR_ALARM, timedelta(0), (Channel.CONSOLE,)),) * 2,
        (
            StepDef(
                "a",
                StepKind.OPERATOR_ALARM,
                timedelta(0),
                (Channel.CONSOLE,),
                anchor=Anchor.PREVIOUS,
            ),
        ),
    ],
)
def test_bad_definitions_are_refused(steps: tuple[StepDef, ...]) -> None:
    with pytest.raises(ValueError):
        ChainDefinition(steps)


def test_bad_step_is_refused() -> None:
    with pytest.raises(ValueError):
        StepDef("a", StepKind.OPERATOR_ALARM, timedelta(seconds=-1), (Channel.CONSOLE,))
    with pytest.raises(ValueError):
        StepDef("a", StepKind.OPERATOR_ALARM, timedelta(0), ())


def test_plan_without_start_is_an_error() -> None:
    with pytest.raises(ValueError):
        plan(DEFAULT_CHAIN, FALL, [], T0)


def test_operator_acknowledgement_skips_only_the_head() -> None:
    """An operator who acknowledged the alarm means nobody needs to wake the head; the
    neighbour and the family are still called, because nobody is on the way yet."""
    chain = Chain(FALL)
    chain.run_until(3600, {120: OperatorAcknowledged(at(120), "op-night")})
    assert [s for _, s in chain.log] == [
        "advise_120:0->op-night",
        "operator_alarm:0->op-night",
        "neighbour_call:0->nb-li",
        "family_call:0->son",
        "family_call:1->daughter",
    ]
    assert plan(DEFAULT_CHAIN, FALL, chain.history, at(3600)).status is ChainStatus.FINISHED


def test_acknowledgement_after_the_head_was_called_changes_nothing() -> None:
    chain = Chain(FALL)
    chain.run_until(3600, {400: OperatorAcknowledged(at(400))})
    assert chain.log[-1] == (300, "head_alarm:head-zhao->head-zhao")


def test_roster_people_are_named_so_a_shift_change_calls_the_new_person() -> None:
    """The head on duty changes between two plans: the new head is called, the old one once."""
    early = ChainContext(medical=False, operators=("station",), head=("head:1",))
    history: list[ChainEvent] = [ChainStarted(T0), StepFired("head_alarm:head:1", at(300))]
    late = ChainContext(medical=False, operators=("station",), head=("head:2",))
    due = plan(DEFAULT_CHAIN, late, history, at(301)).due
    assert [f.id for f in due if f.kind is StepKind.HEAD_ALARM] == ["head_alarm:head:2"]
    assert [f.id for f in plan(DEFAULT_CHAIN, early, history, at(301)).due] == [
        "operator_alarm:0",
        "neighbour_call:0",
        "family_call:0",
    ]


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        (
            (StepDef("n", StepKind.NEIGHBOUR_CALL, timedelta(0), (Channel.VOICE,)),),
            "operator_alarm",
        ),
        (
            (StepDef("a", StepKind.OPERATOR_ALARM, timedelta(days=2), (Channel.CONSOLE,)),),
            "within",
        ),
        (
            (
                StepDef("a", StepKind.OPERATOR_ALARM, timedelta(0), (Channel.CONSOLE,)),
                StepDef("f", StepKind.FAMILY_CALL, timedelta(0), (Channel.CONSOLE,)),
            ),
            "reaches a person",
        ),
    ],
)
def test_definitions_that_cannot_do_their_job_are_refused(
    steps: tuple[StepDef, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_definition(ChainDefinition(steps))


def test_the_default_chain_is_valid() -> None:
    validate_definition(DEFAULT_CHAIN)
