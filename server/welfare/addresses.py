"""Service-address limits of the rural programme: "每户服务的地址在城市和农村之间的最多可变更2处，
且每年变更次数不得超过2次" — at most 2 distinct service addresses, at most 2 changes a year."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class AddressError(StrEnum):
    """Stable machine codes."""

    TOO_MANY_PLACES = "address.too_many_places"
    TOO_MANY_CHANGES = "address.too_many_changes"
    UNCHANGED = "address.unchanged"


@dataclass(frozen=True)
class AddressLimits:
    """Per household; None means no limit."""

    max_places: int | None = 2
    max_changes_per_year: int | None = 2


@dataclass(frozen=True)
class AddressUse:
    """From `since`, the household is served at `address` (the first one is not a change)."""

    since: date
    address: str


def _norm(address: str) -> str:
    return "".join(address.split())


def check_change(
    history: Sequence[AddressUse], new_address: str, on: date, limits: AddressLimits
) -> AddressError | None:
    """Whether the household may switch its service address to `new_address` on `on`."""
    ordered = sorted(history, key=lambda u: u.since)
    if ordered and _norm(ordered[-1].address) == _norm(new_address):
        return AddressError.UNCHANGED
    places = {_norm(u.address) for u in ordered} | {_norm(new_address)}
    if limits.max_places is not None and len(places) > limits.max_places:
        return AddressError.TOO_MANY_PLACES
    changes_this_year = sum(1 for u in ordered[1:] if u.since.year == on.year)
    if limits.max_changes_per_year is not None and changes_this_year >= limits.max_changes_per_year:
        return AddressError.TOO_MANY_CHANGES
    return None
