"""Welfare's statuses as tables: the moves an application and a record's review may make, and
an application's history worded from its rows (no stored sentence)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from schemas.welfare import ApplicationStatus as A
from schemas.welfare import RecordReview as R
from server.errors import ApiError
from server.welfare import model, out

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "to"),
    [
        (A.COMMUNITY, A.STREET),
        (A.STREET, A.DISTRICT),
        (A.DISTRICT, A.APPROVED),
        (A.COMMUNITY, A.REFUSED),
        (A.DISTRICT, A.REFUSED),
    ],
)
def test_an_application_moves_step_by_step(now: A, to: A) -> None:
    assert model.APPLICATION.allows(now, to)


@pytest.mark.parametrize(
    ("now", "to"),
    [
        (A.COMMUNITY, A.DISTRICT),  # no step is skipped
        (A.COMMUNITY, A.APPROVED),
        (A.APPROVED, A.REFUSED),  # a decision is final
        (A.REFUSED, A.COMMUNITY),
    ],
)
def test_an_application_skips_no_step_and_a_decision_is_final(now: A, to: A) -> None:
    with pytest.raises(ApiError) as err:
        model.APPLICATION.check(now, to)
    assert (err.value.status, err.value.code) == (409, "application_state_conflict")


def test_passing_a_step_leads_to_the_next() -> None:
    assert [model.next_step(s) for s in model.STEPS] == [A.STREET, A.DISTRICT, A.APPROVED]


def test_a_rejected_record_is_reviewed_no_more() -> None:
    assert model.REVIEW.allows(R.PENDING, R.PASSED) and model.REVIEW.allows(R.PASSED, R.REJECTED)
    assert not any(model.REVIEW.allows(R.REJECTED, to) for to in R)


def row(action: str, step: str, due: date | None, note: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        at=AT, step=step, action=action, note=note, actor_user_id=None, due_on=due
    )


def test_system_rows_are_worded_from_their_data() -> None:
    """Received on 21 Dec with a provisional due day of 5 Jan; the published calendar moves it
    to 6 Jan; nobody decides by then: the history reads as it always has."""
    history = [
        row("received", "community", date(2027, 1, 5), note="低保证明已复印"),
        row("due_recomputed", "community", date(2027, 1, 6)),
        row("overdue", "community", date(2027, 1, 6)),
    ]
    assert [e.note for e in out.events(history)] == [
        "低保证明已复印",
        "按正式节假日安排重算 / official calendar: 2027-01-05 → 2027-01-06",
        "逾期未办结 / overdue since 2027-01-06",
    ]
