"""The escalation chain's plain-SQL start writes what the general start writes, row for row.

flows/plain_chain.py starts every emergency's chain without SQLAlchemy and writes the chain
as ``advance`` would leave it (status, wake-up time, first timer) in one go. Here one press
is dispatched with the general start and one with the plain start, for the same elder at the
same instant, and every row each wrote is compared with the ids taken out (as
tests/platform/test_plain_offer.py does for the offer): with the test station as it is (the
elder's contacts and bound family), with a roster on duty (its people go into the context),
and with a station override, a linked volunteer and an elder override that does not fit
(the operator's alarm)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from server.hotline.flows import chain as chain_flows
from tests.conftest import BACKENDS
from tests.hotline.support import chain_volunteer
from tests.hotline.test_api_night_duty import DUTY_PHONE, HEAD_PHONE, roster, slot
from tests.platform.test_plain_intake import Rows, took_plain
from tests.platform.test_plain_offer import _dispatch
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
ALARM_ID = r'"alarm_id": \d+'


async def _start(api: Api, monkeypatch: pytest.MonkeyPatch, plain: bool) -> Rows:
    """One press and its dispatch with the plain start on or off: the rows the relay wrote
    (the alarms' ids, which differ between two presses, taken out too)."""
    rows = await _dispatch(api, monkeypatch, plain, chain_flows)
    return {t: sorted(re.sub(ALARM_ID, '"alarm_id": "ID"', r) for r in v) for t, v in rows.items()}


async def _as_it_is(api: Api) -> None:
    pass


async def _on_duty(api: Api) -> None:
    await roster(api, slot("operator", "刘值班", DUTY_PHONE), slot("head", "赵站长", HEAD_PHONE))


async def _overrides_and_a_volunteer(api: Api) -> None:
    # the elder's override retimes a step the station then drops: left out, and alarmed
    elder = f"/api/v1/hotline/chain/elders/{api.ids['elder']}"
    retimed = {"delays_s": {"neighbour_call": 60}}
    await api.call("PUT", elder, "operator", json=retimed, expect=200)
    dropped = {"disabled": ["neighbour_call"]}
    await api.call("PUT", "/api/v1/hotline/chain", "operator", json=dropped, expect=200)
    await chain_volunteer(api, "13600000009")


@pytest.mark.parametrize("setup", [_as_it_is, _on_duty, _overrides_and_a_volunteer])
async def test_plain_chain_start_writes_the_rows_of_the_general_start(
    api: Api, monkeypatch: pytest.MonkeyPatch, setup: Callable[[Api], Awaitable[None]]
) -> None:
    await setup(api)
    taken = took_plain(monkeypatch, chain_flows, "_start_plain")
    general = await _start(api, monkeypatch, plain=False)
    plain = await _start(api, monkeypatch, plain=True)
    assert taken == [True], "the start did not take the plain path"
    assert {"hotline_chains", "hotline_chain_events", "timers"} <= set(plain)
    assert sorted(plain) == sorted(general)
    for table in general:
        assert plain[table] == general[table], table
