"""A status is a table: an enum, its allowed moves, and one guarded UPDATE that makes them.

Every domain's ``model.py`` declares its statuses as a ``StrEnum`` (in ``schemas/``, which the
API exposes), a ``TRANSITIONS`` table, and a ``Machine`` over its table; its one
``transition()`` calls ``Machine.move`` and writes the domain's event in the same transaction.
The move is optimistic: the row must still hold the status it was read with (and the
version, where the table has one), so two writers racing for one row cannot both win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.errors import ApiError

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S]):
    """The statuses of one table and the moves between them."""

    name: str  # "offer": errors are offer_state_conflict and offer_changed
    table: Table
    status: type[S]
    transitions: Mapping[S, frozenset[S]]

    def __post_init__(self) -> None:
        missing = [s.value for s in self.status if s not in self.transitions]
        if missing:
            raise ValueError(f"{self.name}: no transitions listed for {missing}")
        if "status" not in self.table.c:
            raise ValueError(f"{self.name}: table {self.table.name} has no status column")

    def allows(self, current: S | str, to: S) -> bool:
        """Whether ``current`` may become ``to``."""
        return to in self.transitions[self.status(current)]

    def check(self, current: S | str, to: S) -> None:
        """Refuse a move the table does not allow, naming both states."""
        if not self.allows(current, to):
            now = self.status(current).value
            raise ApiError(
                409,
                f"{self.name}_state_conflict",
                f"{self.name} is {now}, cannot become {to.value}",
                status_now=now,
            )

    async def move(
        self,
        conn: AsyncConnection,
        row_id: int,
        current: S | str,
        to: S,
        values: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
    ) -> None:
        """Move one row from ``current`` to ``to`` (with ``values``), or refuse with 409."""
        self.check(current, to)
        t = self.table
        where = [t.c.id == row_id, t.c.status == self.status(current).value]
        extra: dict[str, Any] = dict(values or {})
        if version is not None:
            where.append(t.c.version == version)
            extra["version"] = version + 1
        res = await conn.execute(update(t).where(*where).values(status=to.value, **extra))
        if res.rowcount != 1:
            raise ApiError(
                409, f"{self.name}_changed", f"{self.name} changed meanwhile; reload and retry"
            )
