"""A family binding's status is a table: asked for (pending), confirmed by the elder or the
station, revoked and asked for again. Every move writes its audit row; the station and the
elder hear of a request, the family member of the confirmation."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy import select

from schemas.registry import BindingStatus as S
from server.auth.directory import directory_of
from server.bus import InProcessBus
from server.clock import SystemClock
from server.errors import ApiError
from server.platform import Platform
from server.registry.model import BINDING, transition
from server.registry.tables import family_bindings
from server.settings import Settings
from server.store.engine import Store
from server.store.tables import audit_log, push_messages
from tests.conftest import BACKENDS
from tests.support.api import Api

ASK = {"elder_name": "王秀英", "elder_phone_or_id_last4": "13500000001", "relation": "儿子"}


async def _audit(api: Api, action: str) -> list[Any]:
    async with api.platform.store.read() as conn:
        stmt = select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
        return list((await conn.execute(stmt)).all())


async def _pushes(api: Api, user_key: str, type_: str) -> list[dict[str, Any]]:
    async with api.platform.store.read() as conn:
        rows = await conn.execute(
            select(push_messages.c.payload).where(
                push_messages.c.recipient == f"user:{api.ids[user_key]}",
                push_messages.c.type == type_,
            )
        )
        return [dict(p) for p in rows.scalars()]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_request_and_its_confirmation_are_audited_and_pushed(api: Api) -> None:
    b = await api.call("POST", "/api/v1/bindings", "family2", json=ASK, expect=201)
    assert b["status"] == "pending"
    asked = {
        "station_id": api.ids["station"],
        "binding_id": b["id"],
        "elder_id": api.ids["elder"],
        "relation": "儿子",
    }
    assert await _pushes(api, "operator", "binding.requested") == [asked]
    assert await _pushes(api, "elder_user", "binding.requested") == [asked]
    assert await _pushes(api, "operator2", "binding.requested") == []
    [row] = await _audit(api, "request_binding")
    assert (row.actor_user_id, row.object_id) == (api.ids["family2"], str(b["id"]))
    # Asking again while it is pending changes nothing.
    again = await api.call("POST", "/api/v1/bindings", "family2", json=ASK, expect=200)
    assert again["id"] == b["id"] and len(await _audit(api, "request_binding")) == 1

    done = await api.call("POST", f"/api/v1/bindings/{b['id']}/confirm", "elder", expect=200)
    assert done["status"] == "confirmed" and done["confirmed_at"] is not None
    assert await _pushes(api, "family2", "binding.confirmed") == [
        {"binding_id": b["id"], "elder_id": api.ids["elder"]}
    ]
    # Confirming twice writes no second row and tells nobody twice.
    await api.call("POST", f"/api/v1/bindings/{b['id']}/confirm", "operator", expect=200)
    assert len(await _audit(api, "confirm_binding")) == 1
    assert len(await _pushes(api, "family2", "binding.confirmed")) == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_revoked_binding_may_be_asked_for_again(api: Api) -> None:
    b = await api.call("POST", "/api/v1/bindings", "family2", json=ASK, expect=201)
    async with api.platform.tx() as tx:
        row = (
            await tx.conn.execute(select(family_bindings).where(family_bindings.c.id == b["id"]))
        ).one()
        await transition(tx, row, S.REVOKED, actor=api.ids["operator"])
    assert len(await _audit(api, "revoke_binding")) == 1
    ask = {**ASK, "relation": "孙子"}
    again = await api.call("POST", "/api/v1/bindings", "family2", json=ask, expect=201)
    assert (again["id"], again["status"], again["relation"]) == (b["id"], "pending", "孙子")
    assert len(await _audit(api, "request_binding")) == 2


def test_a_confirmed_binding_cannot_go_back_to_pending() -> None:
    """Only a revoked binding is asked for again; a confirmed one is revoked first."""
    assert BINDING.allows(S.PENDING, S.CONFIRMED) and BINDING.allows(S.REVOKED, S.PENDING)
    with pytest.raises(ApiError) as err:
        BINDING.check(S.CONFIRMED, S.PENDING)
    assert (err.value.status, err.value.code) == (409, "binding_state_conflict")


def test_sign_in_without_the_registry_says_so() -> None:
    """The platform knows no domain: until the registry installs its directory, sign-in
    cannot tell who a user is, and says why rather than guessing."""
    bare = Platform(Settings(), cast(Store, None), InProcessBus(), SystemClock())
    with pytest.raises(RuntimeError, match="server.registry.jobs.register"):
        directory_of(bare)


async def _binding_of(api: Api, family: str) -> int:
    async with api.platform.store.read() as conn:
        return int(
            (
                await conn.execute(
                    select(family_bindings.c.id).where(
                        family_bindings.c.family_user_id == api.ids[family]
                    )
                )
            ).scalar_one()
        )


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("who", ["family", "elder", "operator"])
async def test_a_confirmed_binding_can_be_revoked_and_access_ends(api: Api, who: str) -> None:
    bid = await _binding_of(api, "family")
    mine = await api.call("GET", "/api/v1/me/elders", "family", expect=200)
    assert [e["id"] for e in mine] == [api.ids["elder"]]
    status, _ = await api.call("POST", f"/api/v1/bindings/{bid}/revoke", "operator2")
    assert status == 404  # another station's staff: like a missing binding
    status, _ = await api.call("POST", f"/api/v1/bindings/{bid}/revoke", "family2")
    assert status == 404
    done = await api.call("POST", f"/api/v1/bindings/{bid}/revoke", who, expect=200)
    assert done["status"] == "revoked"
    assert await api.call("GET", "/api/v1/me/elders", "family", expect=200) == []
    status, _ = await api.call("GET", f"/api/v1/elders/{api.ids['elder']}", "family")
    assert status in (403, 404)
    assert await _pushes(api, "family", "binding.revoked") == [
        {"binding_id": bid, "elder_id": api.ids["elder"]}
    ]
    # Revoking again changes nothing.
    await api.call("POST", f"/api/v1/bindings/{bid}/revoke", who, expect=200)
    assert len(await _pushes(api, "family", "binding.revoked")) == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_request_can_be_turned_down_by_the_elder(api: Api) -> None:
    b = await api.call("POST", "/api/v1/bindings", "family2", json=ASK, expect=201)
    status, _ = await api.call("POST", f"/api/v1/bindings/{b['id']}/reject", "family2")
    assert status == 404  # the asker cannot "reject" their own request (they revoke it)
    done = await api.call("POST", f"/api/v1/bindings/{b['id']}/reject", "elder", expect=200)
    assert done["status"] == "revoked"
    after = await api.call("POST", f"/api/v1/bindings/{b['id']}/confirm", "elder", expect=200)
    assert after["status"] == "revoked"  # turned down stays turned down
    bid = await _binding_of(api, "family")
    status, body = await api.call("POST", f"/api/v1/bindings/{bid}/reject", "elder")
    assert status == 409 and body["code"] == "binding_confirmed"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_binding_requests_are_rate_limited(api: Api) -> None:
    from server.registry.flows.bindings import BINDING_REQUESTS_PER_HOUR

    wrong = {**ASK, "elder_phone_or_id_last4": "0000"}
    for _ in range(BINDING_REQUESTS_PER_HOUR):
        status, _ = await api.call("POST", "/api/v1/bindings", "family2", json=wrong)
        assert status == 404
    status, body = await api.call("POST", "/api/v1/bindings", "family2", json=ASK)
    assert status == 429 and body["code"] == "rate_limited"
    api.clock.advance(3600)
    await api.call("POST", "/api/v1/bindings", "family2", json=ASK, expect=201)
