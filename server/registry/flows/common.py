"""What the registry's commands share: input read at the edge, search, stations, accounts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, func, insert, or_, select
from sqlalchemy.engine import Row

from schemas.common import Location, StationPush
from schemas.registry import PageQuery
from server.auth.passwords import check_new_password, hash_password
from server.auth.principal import Principal, Role
from server.auth.tables import users
from server.errors import ApiError
from server.geo import CoordSystem, to_store
from server.identity import (
    mask_phone,
    normalize_landline,
    normalize_mobile,
    normalize_station_phone,
)
from server.platform import Platform, Tx, audit, rate_limited
from server.registry.tables import stations


def stored(loc: Location) -> tuple[float, float]:
    """A client's point in the store's coordinate system (422 when it is off the globe)."""
    if not (-90 <= loc.lat <= 90 and -180 <= loc.lng <= 180):
        raise ApiError(422, "bad_location", "coordinates out of range")
    return to_store(loc.lat, loc.lng, CoordSystem(loc.coord_system.value))


def mobile(raw: str | None, field: str) -> str | None:
    """A mobile number normalised to 11 digits, or 422 naming the field."""
    if raw is None:
        return None
    try:
        return normalize_mobile(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_phone", f"{field}: {exc}", field=field) from exc


def station_phone(raw: str | None) -> str | None:
    """A station's number (mobile, fixed line or service number), or 422 naming the field."""
    return _number(raw, "phone", normalize_station_phone)


def landline(raw: str | None) -> str | None:
    """An elder's fixed line, digits only, or 422 naming the field."""
    return _number(raw, "landline", normalize_landline)


def _number(raw: str | None, field: str, normalize: Callable[[str], str]) -> str | None:
    if not raw:
        return None
    try:
        return normalize(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_phone", f"{field}: {exc}", field=field) from exc


def people(items: list[Any], field: str) -> list[dict[str, Any]]:
    """Contacts or neighbours as stored: in their order, phones normalised."""
    out = []
    for i, item in enumerate(sorted(items, key=lambda c: getattr(c, "order", 0))):
        data = item.model_dump()
        data["phone"] = mobile(data["phone"], f"{field}[{i}].phone")
        out.append(data)
    return out


async def paged(
    platform: Platform, table: Table, conds: list[Any], q: PageQuery
) -> tuple[Sequence[Row[Any]], int]:
    """One page of the rows that match, in id order, and how many match in all."""
    async with platform.store.read() as conn:
        total = (
            await conn.execute(select(func.count()).select_from(table).where(*conds))
        ).scalar_one()
        rows = (
            await conn.execute(
                select(table)
                .where(*conds)
                .order_by(table.c.id)
                .offset((q.page - 1) * q.page_size)
                .limit(q.page_size)
            )
        ).all()
    return rows, int(total)


def phone_match(column: Any, q: str) -> ColumnElement[bool] | None:
    """Search by phone without uncovering masked digits: a whole mobile (normalised) must
    match exactly, and 4 digits match the last 4 (which every masked view shows anyway).
    A substring search would let anyone recover the hidden middle digits one by one."""
    try:
        return column == normalize_mobile(q)  # type: ignore[no-any-return]
    except ValueError:
        pass
    if len(q) == 4 and q.isdigit():
        return column.endswith(q, autoescape=True)  # type: ignore[no-any-return]
    return None


NUMBER_SEARCHES_PER_HOUR = 30


async def guard_number_search(platform: Platform, p: Principal, q: str, what: str) -> None:
    """A search by a whole mobile number confirms whose it is, so it could complete a masked
    number by trying the hidden digits: each one costs one of the caller's
    ``NUMBER_SEARCHES_PER_HOUR`` and leaves an audit row (with the number masked)."""
    try:
        number = normalize_mobile(q)
    except ValueError:
        return
    await rate_limited(
        platform, f"number_search:{p.user_id}", limit=NUMBER_SEARCHES_PER_HOUR, window_s=3600
    )
    async with platform.tx() as tx:
        await audit(
            tx,
            actor=p.user_id,
            action="search_by_number",
            object_type=what,
            object_id=mask_phone(number) or "",
        )


def text_search(q: str, phone: Any, *columns: Any) -> ColumnElement[bool]:
    """Names and addresses by substring (``%`` and ``_`` are literal), phones as above."""
    conds = [c.contains(q, autoescape=True) for c in columns]
    by_phone = phone_match(phone, q)
    if by_phone is not None:
        conds.append(by_phone)
    return or_(*conds)


async def station_exists(tx: Tx, station_id: int) -> Row[Any]:
    """The station a new record names, or 422 on its field."""
    row = (await tx.conn.execute(select(stations).where(stations.c.id == station_id))).first()
    if row is None:
        raise ApiError(422, "station_not_found", "no such station", field="station_id")
    return row


async def insert_user(
    tx: Tx,
    *,
    role: Role,
    username: str | None,
    phone: str | None,
    name: str,
    password: str | None,
    station_id: int | None,
) -> int:
    """A sign-in account; 409 when the username or the phone already has one, 422 when the
    password is common or the person's own name, login or phone."""
    if password:
        check_new_password(password, username, name, phone)
    clauses = [
        c
        for c in (
            users.c.username == username if username else None,
            users.c.phone == phone if phone else None,
        )
        if c is not None
    ]
    taken = (
        (await tx.conn.execute(select(users.c.id).where(or_(*clauses)))).first()
        if clauses
        else None
    )
    if taken is not None:
        raise ApiError(409, "login_taken", "this username or phone already has an account")
    return int(
        (
            await tx.conn.execute(
                insert(users)
                .values(
                    role=role.value,
                    username=username,
                    phone=phone,
                    display_name=name,
                    password_hash=hash_password(password) if password else None,
                    station_id=station_id,
                    created_at=tx.now,
                )
                .returning(users.c.id)
            )
        ).scalar_one()
    )


async def tell_station(tx: Tx, msg: StationPush) -> None:
    """A station-wide message to each of the station's operators (and the administrators)."""
    from server.incidents.notify import to_operators

    await to_operators(tx, msg)
