"""The chain as stored: steps, definitions, contexts and history rows to and from the pure
planner's objects, and the overrides (station's, then elder's) layered over the default."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from hotline.escalation import (
    DEFAULT_CHAIN,
    Acknowledged,
    ChainClosed,
    ChainContext,
    ChainDefinition,
    ChainEvent,
    ChainOverride,
    ChainStarted,
    Escalated,
    OperatorAcknowledged,
    StepDef,
    StepFired,
    Withdrawn,
    validate_definition,
)
from schemas.hotline import Anchor, Channel, StepKind
from server.hotline.tables import chain_overrides
from server.platform import Tx


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


def context_from_json(c: dict[str, Any]) -> ChainContext:
    """Whom each step reaches, as stored on the chain."""
    return ChainContext(
        medical=bool(c["medical"]),
        operators=tuple(c.get("operators", ())),
        duty=tuple(c.get("duty", ())),
        neighbours=tuple(c.get("neighbours", ())),
        family=tuple(c.get("family", ())),
        head=tuple(c.get("head", ())),
        doctor=tuple(c.get("doctor", ())),
    )


def event_from_row(r: Any) -> ChainEvent:
    """One row of the chain's history as the planner's event."""
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


# --- overrides -------------------------------------------------------------------------------


def _override_from_row(row: Any) -> ChainOverride:
    return ChainOverride(
        steps=tuple(step_from_json(s) for s in row.steps) if row.steps else None,
        delays={k: timedelta(seconds=float(v)) for k, v in (row.delays or {}).items()},
        disabled=frozenset(row.disabled or ()),
    )


def layer(base: ChainDefinition, row: Any) -> ChainDefinition:
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
            definition = layer(definition, row)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
    return definition, problems


async def override_rows(tx: Tx, station_id: int, elder_id: int | None) -> tuple[Any, Any]:
    """The station's and the elder's stored overrides (None where there is none), in one
    read (each column is unique, so at most one row of each)."""
    by_station = chain_overrides.c.station_id == station_id
    which = or_(by_station, chain_overrides.c.elder_id == elder_id) if elder_id else by_station
    rows = (await tx.conn.execute(select(chain_overrides).where(which))).all()
    station_row = next((r for r in rows if r.station_id == station_id), None)
    elder_row = next((r for r in rows if elder_id is not None and r.elder_id == elder_id), None)
    return station_row, elder_row


async def definition_for(
    tx: Tx, station_id: int, elder_id: int
) -> tuple[ChainDefinition, list[str]]:
    """The station's chain (or the default) with the elder's override applied, and any
    override that had to be left out."""
    station_row, elder_row = await override_rows(tx, station_id, elder_id)
    return effective_definition(station_row, elder_row)
