"""A volunteer with a watch agreement on the elder's chain is called with the neighbours and
answers through the SMS link: the chain pauses with the volunteer responsible."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.hotline.flows.delivery import respond_token
from server.hotline.tables import alerts
from tests.conftest import BACKENDS
from tests.hotline.support import chain_volunteer, no_caregiver_accepts, settle
from tests.support.api import Api
from tests.support.hotline_fakes import FakeProvider
from tests.welfare.support import long_tokens

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

PHONE = "13600000009"


async def test_a_volunteer_answers_an_escalation(api: Api, provider: FakeProvider) -> None:
    long_tokens(api)
    v = await chain_volunteer(api, PHONE)
    inc = await no_caregiver_accepts(api)
    provider.behave("voice", "no_answer")
    await api.advance(90)  # the neighbour from the file first ...
    await settle(api, provider)
    await api.advance(60)  # ... then, a minute later, the volunteer
    await settle(api, provider)
    person = f"volunteer:{v['id']}"
    async with api.platform.store.read() as conn:
        alert_id = (
            await conn.execute(select(alerts.c.id).where(alerts.c.person == person))
        ).scalar_one()
    assert any(m.to == PHONE for m in provider.sent)  # called with the neighbours
    path = f"/api/v1/hotline/respond/{respond_token(api.platform, alert_id)}"
    r = await api.client.post(path, data={"answer": "accept"}, allow_redirects=False)
    assert r.status == 303
    chain = await api.call(
        "GET", f"/api/v1/hotline/incidents/{inc['id']}/chain", "operator", expect=200
    )
    assert chain["status"] == "paused"
