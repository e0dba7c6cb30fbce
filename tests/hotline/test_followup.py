"""Return calls, the quarterly sample, satisfaction rates and complaint tickets."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.followup import (
    Complaint,
    ComplaintAction,
    ComplaintStatus,
    ResolvedEmergency,
    SatisfactionAnswer,
    SubsidisedElder,
    TransitionError,
    overdue,
    quarter_name,
    return_call,
    sample_return_visits,
    satisfaction_rates,
    transition,
)
from schemas.hotline import Answer

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_return_call_is_due_within_24_hours_and_idempotent() -> None:
    call = return_call(ResolvedEmergency(17, 3, 1, NOW))
    assert call.due_at == NOW + timedelta(hours=24)
    assert call.source_ref == "return_call:17"


@pytest.mark.parametrize(
    ("at", "name"),
    [
        (datetime(2026, 3, 31, 16, 30, tzinfo=UTC), "2026Q2"),  # 00:30 on 1 April in Shanghai
        (datetime(2026, 3, 31, 15, 30, tzinfo=UTC), "2026Q1"),
        (date(2026, 12, 31), "2026Q4"),
    ],
)
def test_quarter_follows_shanghai(at: datetime | date, name: str) -> None:
    assert quarter_name(at) == name


def frame(sizes: dict[int, int]) -> list[SubsidisedElder]:
    return [SubsidisedElder(s * 10_000 + i, s) for s, n in sizes.items() for i in range(n)]


def test_sample_is_at_least_five_percent_per_station_and_one_minimum() -> None:
    sample = sample_return_visits(frame({1: 320, 2: 41, 3: 1}), seed="2026Q4")
    assert {s: len(ids) for s, ids in sample.items()} == {1: 16, 2: 3, 3: 1}


def test_sample_is_reproducible_and_order_free() -> None:
    elders = frame({1: 320, 2: 41})
    shuffled = list(elders)
    random.Random(1).shuffle(shuffled)
    assert sample_return_visits(elders, seed="2026Q4") == sample_return_visits(
        shuffled, seed="2026Q4"
    )
    assert sample_return_visits(elders, seed="2026Q4") != sample_return_visits(
        elders, seed="2027Q1"
    )


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.integers(1, 50), st.integers(1, 400), min_size=1, max_size=8),
    st.text(max_size=8),
)
def test_sample_property(sizes: dict[int, int], seed: str) -> None:
    elders = frame(sizes)
    sample = sample_return_visits(elders, seed=seed)
    assert set(sample) == set(sizes)
    total = sum(len(v) for v in sample.values())
    assert total >= 0.05 * len(elders)
    for station, ids in sample.items():
        assert len(ids) >= 1 and len(set(ids)) == len(ids)
        assert all(i // 10_000 == station for i in ids)


def test_satisfaction_rates_against_95_percent() -> None:
    answers = (
        [SatisfactionAnswer(7, 1, Answer.SATISFIED)] * 18
        + [SatisfactionAnswer(7, 1, Answer.BASICALLY)] * 1
        + [SatisfactionAnswer(7, 1, Answer.DISSATISFIED)] * 1
        + [SatisfactionAnswer(8, 1, Answer.DISSATISFIED)] * 1
        + [SatisfactionAnswer(8, 2, Answer.SATISFIED)] * 3
    )
    providers, stations = satisfaction_rates(answers)
    assert [(r.key, r.answers, r.rate, r.meets_target) for r in providers] == [
        (7, 20, 0.95, True),
        (8, 4, 0.75, False),
    ]
    assert [(r.key, r.rate, r.meets_target) for r in stations] == [
        (1, 0.9048, False),
        (2, 1.0, True),
    ]


def ticket() -> Complaint:
    return Complaint(1, 3, 1, "送餐迟到一小时", NOW, NOW + timedelta(days=3))


def test_complaint_lifecycle() -> None:
    c = transition(ticket(), ComplaintAction.ASSIGN, owner=42)
    c = transition(c, ComplaintAction.RESOLVE, outcome="已与配送员沟通，调整路线")
    c = transition(c, ComplaintAction.CLOSE)
    assert (c.status, c.owner, c.outcome) == (
        ComplaintStatus.CLOSED,
        42,
        "已与配送员沟通，调整路线",
    )


def test_reopen_needs_a_new_deadline() -> None:
    c = transition(
        transition(ticket(), ComplaintAction.ASSIGN, owner=42),
        ComplaintAction.RESOLVE,
        outcome="ok",
    )
    with pytest.raises(TransitionError):
        transition(c, ComplaintAction.REOPEN)
    again = transition(c, ComplaintAction.REOPEN, deadline=NOW + timedelta(days=5))
    assert again.status is ComplaintStatus.ASSIGNED and again.deadline == NOW + timedelta(days=5)


@pytest.mark.parametrize(
    ("action", "kw"),
    [
        (ComplaintAction.RESOLVE, {"outcome": "x"}),  # not assigned yet
        (ComplaintAction.CLOSE, {}),
        (ComplaintAction.ASSIGN, {}),  # no owner
    ],
)
def test_invalid_transitions(action: ComplaintAction, kw: dict[str, str]) -> None:
    with pytest.raises(TransitionError):
        transition(ticket(), action, **kw)  # type: ignore[arg-type]


def test_resolve_needs_an_outcome() -> None:
    with pytest.raises(TransitionError):
        transition(
            transition(ticket(), ComplaintAction.ASSIGN, owner=1),
            ComplaintAction.RESOLVE,
            outcome=" ",
        )


def test_overdue() -> None:
    c = ticket()
    assert overdue([c], NOW + timedelta(days=2)) == []
    assert overdue([c], NOW + timedelta(days=4)) == [c]
    done = transition(
        transition(c, ComplaintAction.ASSIGN, owner=1), ComplaintAction.RESOLVE, outcome="ok"
    )
    assert overdue([done], NOW + timedelta(days=4)) == []
