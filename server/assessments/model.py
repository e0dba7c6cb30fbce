"""An assessment's and a re-assessment's states and their moves.

An assessment is a ``draft`` while items are missing (or it was not submitted); submitted
with every item answered it is ``scored`` and final (a correction is a new assessment). A
re-assessment is ``due`` until an assessment of the elder is scored (``done``), or a newer
one replaces it (``cancelled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import insert

from schemas.assessments import AssessmentStatus as S
from schemas.assessments import ReassessmentStatus as R
from schemas.assessments import ReassessReason
from server.assessments.tables import assessments, reassessments
from server.machine import Machine
from server.platform import Tx, emit

TRANSITIONS: Final[dict[S, frozenset[S]]] = {
    S.DRAFT: frozenset({S.SCORED}),
    S.SCORED: frozenset(),
}
ASSESSMENT: Final = Machine("assessment", assessments, S, TRANSITIONS)

REASSESSMENT_TRANSITIONS: Final[dict[R, frozenset[R]]] = {
    R.DUE: frozenset({R.DONE, R.CANCELLED}),
    R.DONE: frozenset(),
    R.CANCELLED: frozenset(),
}
REASSESSMENT: Final = Machine("reassessment", reassessments, R, REASSESSMENT_TRANSITIONS)

# how soon after the event the elder is seen again (the yearly one is the scale's)
AFTER_EVENT: Final = {
    ReassessReason.HOSPITAL_STAY: timedelta(days=7),
    ReassessReason.FALL: timedelta(days=7),
}


async def insert_assessment(tx: Tx, values: Mapping[str, Any]) -> int:
    stmt = insert(assessments).values(**values, status=S.DRAFT.value).returning(assessments.c.id)
    return int((await tx.conn.execute(stmt)).scalar_one())


async def scored(tx: Tx, row: Any, values: Mapping[str, Any]) -> None:
    """The draft becomes the result; ``assessment.scored`` goes out."""
    await ASSESSMENT.move(tx.conn, row.id, row.status, S.SCORED, values)
    await emit(tx, "assessment.scored", {"assessment_id": row.id, "elder_id": row.elder_id})


async def insert_reassessment(tx: Tx, values: Mapping[str, Any]) -> int:
    stmt = insert(reassessments).values(**values, status=R.DUE.value).returning(reassessments.c.id)
    return int((await tx.conn.execute(stmt)).scalar_one())


async def reassessment_transition(
    tx: Tx, row: Any, to: R, values: Mapping[str, Any] | None = None
) -> None:
    await REASSESSMENT.move(tx.conn, row.id, row.status, to, values)
