"""The station tasks the hotline makes (call-backs, checks, visits): each once per source_ref.

Every caller (the sweep, a missed call, a press closed without a call-back, the quarterly
sample) builds rows with `task_row` and writes them with `insert_new`, so "once per episode"
is decided in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.hotline.model import TASK_OPEN
from server.platform import Tx, dialect_insert
from server.tasks.tables import tasks

__all__ = ["insert_new", "task_row"]


def task_row(
    tx: Tx,
    *,
    station_id: int,
    elder_id: int | None,
    kind: str,
    title: str,
    ref: str,
    due: datetime,
    priority: int = 2,
    duration_s: int = 900,
    lat: float | None = None,
    lng: float | None = None,
    notes: str = "",
) -> dict[str, Any]:
    """An open hotline task from now until `due`, as a row of `tasks`."""
    return {
        "station_id": station_id,
        "elder_id": elder_id,
        "kind": kind,
        "title": title[:100],
        "status": TASK_OPEN,
        "priority": priority,
        "required_skills": [],
        "window_start": tx.now,
        "window_end": due,
        "duration_s": duration_s,
        "lat": lat,
        "lng": lng,
        "source": "hotline",
        "source_ref": ref[:64],
        "notes": notes,
        "created_at": tx.now,
    }


async def insert_new(tx: Tx, rows: list[dict[str, Any]]) -> int:
    """Insert the tasks whose source_ref is new (one query to look, one to insert); returns
    how many were new."""
    if not rows:
        return 0
    refs = [r["source_ref"] for r in rows]
    have: set[str] = set()
    for i in range(0, len(refs), 500):
        have.update(
            (
                await tx.conn.execute(
                    select(tasks.c.source_ref).where(tasks.c.source_ref.in_(refs[i : i + 500]))
                )
            )
            .scalars()
            .all()
        )
    new = [r for r in rows if r["source_ref"] not in have]
    if new:
        # A concurrent writer (the sweep's timer and its button) may insert the same ref
        # meanwhile.
        stmt = dialect_insert(tx.conn)(tasks).on_conflict_do_nothing(
            index_elements=[tasks.c.source_ref]
        )
        await tx.conn.execute(stmt, new)
    return len(new)
