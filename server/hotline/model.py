"""The hotline's statuses: calls, escalation chains, alerts and complaints.

Each is a table of allowed moves (``TRANSITIONS``) over a ``Machine``, with one function that
makes a move and writes what records it in the same transaction:

- a call's record is its own row (the times and event ids the telephony reported);
- a chain's history is its events (``hotline_chain_events``, written by the flows); a new
  status is told to the station's operators (``escalation.status``);
- an alert's delivery or exhaustion goes on the incident's timeline;
- a complaint's record is its own row (owner, outcome, deadline, ``updated_at``).

Rows are created here too, with their first status. Devices have no status (only ``active``,
which nothing changes yet); receipts are appended as the provider reports them, never moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import insert, update

from hotline.cti import CallState
from hotline.escalation import Plan
from hotline.followup import TRANSITIONS as COMPLAINT_ACTIONS
from hotline.followup import Complaint
from schemas.hotline import (
    AlertStatus,
    CallStatus,
    ChainStatus,
    ComplaintStatus,
    EscalationStatusPush,
)
from server.hotline.out import tell
from server.hotline.tables import alerts, complaints, escalation_chains, hotline_calls
from server.incidents.model import timeline
from server.machine import Machine
from server.platform import Tx
from server.tasks.tables import tasks

# --- calls ---------------------------------------------------------------------------------

C = CallStatus
CALL_TRANSITIONS: Final[dict[CallStatus, frozenset[CallStatus]]] = {
    # A call only moves forward; an event that changes only times keeps the status.
    C.RINGING: frozenset({C.RINGING, C.ANSWERED, C.ENDED}),
    C.ANSWERED: frozenset({C.ANSWERED, C.ENDED}),
    C.ENDED: frozenset({C.ENDED}),
}
CALL: Final = Machine("call", hotline_calls, CallStatus, CALL_TRANSITIONS)


def _call_record(state: CallState) -> dict[str, Any]:
    return {
        "caller": state.caller,
        "called": state.called,
        "ringing_at": state.ringing_at,
        "answered_at": state.answered_at,
        "ended_at": state.ended_at,
        "recording_url": state.recording_url,
        "agent": state.agent,
        "event_ids": sorted(state.event_ids),
    }


async def new_call(tx: Tx, state: CallState, **values: Any) -> None:
    """Record a call from the first event the telephony sent about it."""
    await tx.conn.execute(
        insert(hotline_calls).values(
            call_id=state.call_id,
            status=state.status.value,
            **_call_record(state),
            **values,
            created_at=tx.now,
        )
    )


async def transition_call(
    tx: Tx, row: Any, state: CallState, values: Mapping[str, Any] | None = None
) -> None:
    """Fold an event into the call's row: the status moves forward (or stays), and the row
    keeps what the telephony said."""
    record = {**_call_record(state), **(values or {})}
    await CALL.move(tx.conn, row.id, row.status, state.status, record)


# --- escalation chains ---------------------------------------------------------------------

H = ChainStatus
CHAIN_TRANSITIONS: Final[dict[ChainStatus, frozenset[ChainStatus]]] = {
    # The planner decides: a running chain may wait for a new time (running → running); a
    # paused or finished one runs again when someone withdraws or a step is added (medical,
    # a new person on duty). Closed is the end.
    H.RUNNING: frozenset({H.RUNNING, H.PAUSED, H.FINISHED, H.CLOSED}),
    H.PAUSED: frozenset({H.PAUSED, H.RUNNING, H.FINISHED, H.CLOSED}),
    H.FINISHED: frozenset({H.FINISHED, H.RUNNING, H.PAUSED, H.CLOSED}),
    H.CLOSED: frozenset(),
}
CHAIN: Final = Machine("chain", escalation_chains, ChainStatus, CHAIN_TRANSITIONS)


async def new_chain(tx: Tx, **values: Any) -> int:
    """Store a chain, running; returns its id."""
    stmt = insert(escalation_chains).values(status=H.RUNNING.value, **values)
    return int((await tx.conn.execute(stmt.returning(escalation_chains.c.id))).scalar_one())


async def transition_chain(tx: Tx, chain: Any, after: Plan, *, timer_seq: int) -> None:
    """Move the chain to the planner's status and wake-up time; a new status is told to the
    station's operators."""
    values = {"next_at": after.next_at, "timer_seq": timer_seq}
    await CHAIN.move(tx.conn, chain.id, chain.status, after.status, values)
    if after.status.value != chain.status:
        await tell_status(tx, chain.station_id, chain.incident_id, after)


async def tell_status(tx: Tx, station_id: int, incident_id: int, after: Plan) -> None:
    """Tell the station's operators a chain's new status."""
    msg = EscalationStatusPush(
        station_id=station_id,
        incident_id=incident_id,
        status=after.status,
        responsible=sorted(after.responsible),
        next_at=after.next_at.isoformat() if after.next_at else None,
    )
    await tell(tx, msg)


# --- alerts -----------------------------------------------------------------------------------

A = AlertStatus
ALERT_TRANSITIONS: Final[dict[AlertStatus, frozenset[AlertStatus]]] = {
    A.SENDING: frozenset({A.DELIVERED, A.EXHAUSTED}),
    A.DELIVERED: frozenset(),
    A.EXHAUSTED: frozenset(),
}
ALERT: Final = Machine("alert", alerts, AlertStatus, ALERT_TRANSITIONS)


async def new_alert(tx: Tx, **values: Any) -> int:
    """Store an alert, sending; returns its id."""
    stmt = insert(alerts).values(status=A.SENDING.value, created_at=tx.now, **values)
    return int((await tx.conn.execute(stmt.returning(alerts.c.id))).scalar_one())


async def transition_alert(
    tx: Tx, alert: Any, to: AlertStatus, event: str | None = None, **data: Any
) -> None:
    """Settle an alert: delivered (with proof) or exhausted; ``event`` goes on the incident's
    timeline when the caller says it should."""
    values = {"delivered_at": tx.now} if to is A.DELIVERED else {}
    await ALERT.move(tx.conn, alert.id, alert.status, to, values)
    if event is not None and alert.incident_id is not None:
        await timeline(
            tx, alert.incident_id, event, None, alert_id=alert.id, person=alert.person, **data
        )


# --- complaints -----------------------------------------------------------------------------

COMPLAINT_TRANSITIONS: Final[dict[ComplaintStatus, frozenset[ComplaintStatus]]] = {
    s: frozenset(to for (frm, _), to in COMPLAINT_ACTIONS.items() if frm is s)
    for s in ComplaintStatus
}
COMPLAINT: Final = Machine("complaint", complaints, ComplaintStatus, COMPLAINT_TRANSITIONS)


async def new_complaint(tx: Tx, **values: Any) -> int:
    """Open a ticket; returns its id."""
    stmt = insert(complaints).values(
        status=ComplaintStatus.OPEN.value, opened_at=tx.now, updated_at=tx.now, **values
    )
    return int((await tx.conn.execute(stmt.returning(complaints.c.id))).scalar_one())


async def transition_complaint(tx: Tx, row: Any, new: Complaint) -> None:
    """Store a ticket moved by the pure transition table (hotline.followup.transition)."""
    values = {
        "owner_user_id": new.owner,
        "outcome": new.outcome,
        "deadline": new.deadline,
        "updated_at": tx.now,
    }
    await COMPLAINT.move(tx.conn, row.id, row.status, new.status, values)


# --- the tasks the hotline made ------------------------------------------------------------

# Statuses of the tasks table (server/tasks/): a task nobody has started on yet.
TASK_OPEN: Final = "open"
TASK_NOT_STARTED: Final = (TASK_OPEN, "planned")


async def cancel_tasks(tx: Tx, *where: Any, notes: str) -> int:
    """Cancel the hotline's own tasks that turned out not to be needed; returns how many."""
    stmt = update(tasks).where(*where).values(status="cancelled", notes=notes)
    return int((await tx.conn.execute(stmt)).rowcount)
