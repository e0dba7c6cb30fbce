"""A station's or an elder's own chain: retimed or dropped steps of the chain it applies to, or
steps of its own, checked against what it is applied to before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from hotline.escalation import DEFAULT_CHAIN, ChainDefinition
from server.auth.principal import Principal
from server.errors import ApiError
from server.hotline.flows.definitions import (
    definition_to_json,
    effective_definition,
    layer,
    override_rows,
)
from server.hotline.tables import chain_overrides
from server.platform import Platform, Tx
from server.registry.guards import elder_for
from server.registry.tables import elders


@dataclass(frozen=True)
class _Change:
    """An override as `layer` reads a stored row, for one not yet stored."""

    delays: dict[str, float]
    disabled: list[str]
    steps: list[dict[str, Any]] | None

    def as_json(self) -> dict[str, Any]:
        return {"delays": self.delays, "disabled": self.disabled, "steps": self.steps}


async def _base_for(tx: Tx, p: Principal, elder_id: int | None) -> tuple[int | None, Any, Any]:
    """(station, the chain the override applies to, which row it replaces)."""
    if elder_id is not None:
        elder = await elder_for(tx.conn, p, elder_id)
        station_row, _ = await override_rows(tx, int(elder.station_id), None)
        base, _problems = effective_definition(station_row, None)
        return None, base, chain_overrides.c.elder_id == elder_id
    if p.station_id is None:
        raise ApiError(422, "station_required", "a station's chain is set by its operator")
    return p.station_id, DEFAULT_CHAIN, chain_overrides.c.station_id == p.station_id


async def set_override(
    platform: Platform,
    p: Principal,
    *,
    elder_id: int | None,
    delays_s: dict[str, float],
    disabled: list[str],
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store the station's (elder_id None) or an elder's chain: retime or drop steps of what
    it applies to, or give the steps themselves.

    Checked against what it is applied to: a station's against the default chain, an elder's
    against the station's chain. Elders whose stored overrides no longer fit a new station
    chain are listed (their chains fall back to the station's, with an alarm when they start).
    """
    if steps is not None and (delays_s or disabled):
        raise ApiError(
            422, "bad_override", "give either the steps, or delays and disabled steps, not both"
        )
    new = _Change(delays_s, disabled, steps)
    async with platform.tx() as tx:
        station_id, base, key = await _base_for(tx, p, elder_id)
        try:
            effective = layer(base, new)
        except ValueError as exc:
            raise ApiError(422, "bad_override", str(exc)) from None
        await tx.conn.execute(delete(chain_overrides).where(key))
        await tx.conn.execute(
            insert(chain_overrides).values(
                station_id=station_id, elder_id=elder_id, **new.as_json(), updated_at=tx.now
            )
        )
        falling_back: list[int] = []
        if station_id is not None:
            falling_back = await _elders_not_fitting(tx, station_id, effective)
    return {
        "station_id": station_id,
        "elder_id": elder_id,
        **new.as_json(),
        "effective": definition_to_json(effective),
        "elders_falling_back": falling_back,
    }


async def _elders_not_fitting(tx: Tx, station_id: int, station_chain: ChainDefinition) -> list[int]:
    rows = (
        await tx.conn.execute(
            select(chain_overrides)
            .join(elders, elders.c.id == chain_overrides.c.elder_id)
            .where(elders.c.station_id == station_id)
            .order_by(chain_overrides.c.elder_id)
        )
    ).all()
    out: list[int] = []
    for r in rows:
        try:
            layer(station_chain, r)
        except ValueError:
            out.append(int(r.elder_id))
    return out


async def get_override(platform: Platform, p: Principal, *, elder_id: int | None) -> dict[str, Any]:
    """The stored override (station's or an elder's), the chain it gives, and any problem."""
    async with platform.tx() as tx:
        if elder_id is not None:
            elder = await elder_for(tx.conn, p, elder_id)
            station_id = int(elder.station_id)
        elif p.station_id is None:
            raise ApiError(422, "station_required", "a station's chain is read by its operator")
        else:
            station_id = p.station_id
        station_row, elder_row = await override_rows(tx, station_id, elder_id)
        definition, problems = effective_definition(station_row, elder_row)
        mine = elder_row if elder_id is not None else station_row
    stored = (
        _Change(mine.delays or {}, mine.disabled or [], mine.steps) if mine is not None else None
    )
    return {
        "station_id": station_id if elder_id is None else None,
        "elder_id": elder_id,
        "override": stored.as_json() if stored is not None else None,
        "effective": definition_to_json(definition),
        "problems": problems,
    }
