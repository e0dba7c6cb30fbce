"""Family bindings: a family member asks, the elder or the station confirms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Row

from schemas.registry import BindingConfirmed, BindingRequest, BindingRequested, BindingRevoked
from schemas.registry import BindingStatus as S
from server.auth.principal import Principal, Role
from server.errors import ApiError, not_found
from server.platform import Platform, Tx, queue_push, rate_limited
from server.registry.flows.common import tell_station
from server.registry.model import open_binding, transition
from server.registry.tables import elders, family_bindings


def _by_id(binding_id: int) -> Select[Any]:
    return select(family_bindings).where(family_bindings.c.id == binding_id)


async def _elder_named(tx: Tx, body: BindingRequest) -> Row[Any]:
    """The one active elder with this name whose mobile or ID number's last 4 match."""
    proof = body.elder_phone_or_id_last4.strip().upper()
    candidates = (
        await tx.conn.execute(
            select(elders).where(elders.c.name == body.elder_name, elders.c.active.is_(True))
        )
    ).all()
    match = [e for e in candidates if proof in (e.phone, e.id_number[-4:])]
    if len(match) != 1:
        raise ApiError(404, "elder_not_found", "no elder matches this name and number")
    return match[0]


BINDING_REQUESTS_PER_HOUR = 10


async def request(
    platform: Platform, p: Principal, body: BindingRequest
) -> tuple[Row[Any], str, bool]:
    """Ask to be bound to an elder: the binding, the elder's name, and whether it is new
    (asking again while pending or confirmed changes nothing). Each attempt counts against
    ``BINDING_REQUESTS_PER_HOUR`` (a name and four digits must not be guessed at will)."""
    await rate_limited(
        platform, f"binding_request:{p.user_id}", limit=BINDING_REQUESTS_PER_HOUR, window_s=3600
    )
    async with platform.tx() as tx:
        elder = await _elder_named(tx, body)
        existing = (
            await tx.conn.execute(
                select(family_bindings).where(
                    family_bindings.c.family_user_id == p.user_id,
                    family_bindings.c.elder_id == elder.id,
                )
            )
        ).first()
        if existing is not None and existing.status != S.REVOKED:
            return existing, elder.name, False
        if existing is not None:
            values = {"requested_at": tx.now, "relation": body.relation}
            await transition(tx, existing, S.PENDING, actor=p.user_id, values=values)
            bid = int(existing.id)
        else:
            bid = await open_binding(
                tx, family_user_id=p.user_id, elder_id=elder.id, relation=body.relation
            )
        asked = BindingRequested(
            station_id=elder.station_id, binding_id=bid, elder_id=elder.id, relation=body.relation
        )
        await tell_station(tx, asked)
        if elder.user_id:
            queue_push(tx, f"user:{elder.user_id}", asked)
        return (await tx.conn.execute(_by_id(bid))).one(), elder.name, True


async def confirm(platform: Platform, p: Principal, binding_id: int) -> tuple[Row[Any], str]:
    """The elder, or staff of the elder's station, confirms a pending binding (confirming it
    again changes nothing); the family member hears of it."""
    async with platform.tx() as tx:
        row = (await tx.conn.execute(_by_id(binding_id))).first()
        if row is None:
            raise not_found("binding")
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        allowed = (p.role is Role.ELDER and p.elder_id == elder.id) or (
            p.is_staff() and (p.role is Role.ADMIN or p.station_id == elder.station_id)
        )
        if not allowed:
            raise not_found("binding")
        if row.status == S.PENDING:
            values = {"confirmed_at": tx.now, "confirmed_by": p.user_id}
            await transition(tx, row, S.CONFIRMED, actor=p.user_id, values=values)
            done = BindingConfirmed(binding_id=binding_id, elder_id=elder.id)
            queue_push(tx, f"user:{row.family_user_id}", done)
            row = (await tx.conn.execute(_by_id(binding_id))).one()
        return row, elder.name


async def revoke(
    platform: Platform, p: Principal, binding_id: int, *, pending_only: bool = False
) -> tuple[Row[Any], str]:
    """Revoke a binding (or turn down a pending request): the family member themselves, the
    elder, or staff of the elder's station. Revoking again changes nothing."""
    async with platform.tx() as tx:
        row = (await tx.conn.execute(_by_id(binding_id))).first()
        if row is None:
            raise not_found("binding")
        elder = (await tx.conn.execute(select(elders).where(elders.c.id == row.elder_id))).one()
        allowed = (
            (p.role is Role.ELDER and p.elder_id == elder.id)
            or (p.is_staff() and (p.role is Role.ADMIN or p.station_id == elder.station_id))
            or (p.role is Role.FAMILY and p.user_id == row.family_user_id and not pending_only)
        )
        if not allowed:
            raise not_found("binding")
        if pending_only and row.status == S.CONFIRMED:
            raise ApiError(409, "binding_confirmed", "this binding is confirmed: revoke it instead")
        if row.status != S.REVOKED:
            await transition(tx, row, S.REVOKED, actor=p.user_id, values={})
            gone = BindingRevoked(binding_id=binding_id, elder_id=elder.id)
            queue_push(tx, f"user:{row.family_user_id}", gone)  # the transition audits it
            row = (await tx.conn.execute(_by_id(binding_id))).one()
        return row, elder.name


async def visible(platform: Platform, p: Principal) -> Sequence[Row[Any]]:
    """The caller's bindings (family, elder) or their station's (staff), with elder names."""
    stmt = select(family_bindings, elders.c.name.label("elder_name")).join(
        elders, elders.c.id == family_bindings.c.elder_id
    )
    if p.role is Role.FAMILY:
        stmt = stmt.where(family_bindings.c.family_user_id == p.user_id)
    elif p.role is Role.ELDER:
        stmt = stmt.where(family_bindings.c.elder_id == p.elder_id)
    elif p.role is Role.OPERATOR:
        stmt = stmt.where(elders.c.station_id == p.station_id)
    elif p.role is not Role.ADMIN:
        raise ApiError(403, "forbidden", "your role may not do this")
    async with platform.store.read() as conn:
        return (await conn.execute(stmt.order_by(family_bindings.c.id))).all()


async def my_elders(platform: Platform, p: Principal) -> Sequence[Row[Any]]:
    """The elder themselves, or the elders a family member is bound to (confirmed)."""
    async with platform.store.read() as conn:
        if p.role is Role.ELDER:
            return (await conn.execute(select(elders).where(elders.c.id == p.elder_id))).all()
        return (
            await conn.execute(
                select(elders)
                .join(family_bindings, family_bindings.c.elder_id == elders.c.id)
                .where(
                    family_bindings.c.family_user_id == p.user_id,
                    family_bindings.c.status == S.CONFIRMED,
                )
            )
        ).all()
