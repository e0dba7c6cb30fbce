"""Day care is charged like any service: a day attended (checked in and out) becomes a service
record at the station's day-care price, split into subsidy and self-pay on the ledger and on
the elder's monthly statement; a day not attended (excused, or absent at the roll call) is
never charged, and a day is charged once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.programmes.test_daycare import TUE, enrol, programme
from tests.support.api import Api
from tests.welfare.test_api_welfare import setup

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

HOUR = 3600


async def records(api: Api, elder: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await api.call(
        "GET", f"/api/v1/elders/{api.ids[elder]}/service-records", "operator", expect=200
    )
    return found


async def test_a_day_attended_is_charged_once_and_an_absence_never(api: Api) -> None:
    await setup(api)  # the district's rule set (王秀英: 200 yuan a month) and the seed menu
    s = api.ids["station"]
    items = await api.call("GET", f"/api/v1/stations/{s}/service-items", "operator", expect=200)
    price = next(i["price_fen"] for i in items if i["code"] == "day-care")
    assert price == 4000
    before = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "operator", expect=200
    )
    await programme(api, 5)
    assert (await enrol(api, "elder", [1]))[0] == 201
    assert (await enrol(api, "elder_other", [1]))[0] == 201
    await api.call("POST", f"/api/v1/stations/{s}/daycare/days/{TUE}/open", "operator", expect=200)
    await api.call(
        "POST", f"/api/v1/elders/{api.ids['elder_other']}/daycare/absences/{TUE}", "operator",
        json={"reason": "看病"}, expect=200,
    )  # fmt: skip
    # Tuesday 09:30 in, 15:30 out.
    await api.advance(23 * HOUR + 30 * 60)
    day = await api.call("GET", f"/api/v1/stations/{s}/daycare/days/{TUE}", "operator", expect=200)
    row = next(a for a in day["attendance"] if a["elder_id"] == api.ids["elder"])
    await api.call("POST", f"/api/v1/daycare/attendance/{row['id']}/check-in", "cg_a", expect=200)
    await api.advance(6 * HOUR)
    await api.call(
        "POST", f"/api/v1/daycare/attendance/{row['id']}/check-out", "operator", expect=200
    )
    (rec,) = await records(api, "elder")
    assert (rec["item_code"], rec["booking_id"], rec["caregiver_id"]) == ("day-care", None, None)
    assert (rec["price_fen"], rec["subsidy_fen"], rec["self_pay_fen"]) == (price, price, 0)
    assert rec["started_at"].startswith("2026-11-24T01:30")  # 09:30 Shanghai
    assert rec["proofs"] == ["attendance"] and rec["reason"] == "proof.review_pending"
    after = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/ledger", "operator", expect=200
    )
    assert before["quota_left_fen"] - after["quota_left_fen"] == price
    # The excused elder: nothing charged. A second check-out: refused, still one record.
    assert await records(api, "elder_other") == []
    status, _ = await api.call(
        "POST", f"/api/v1/daycare/attendance/{row['id']}/check-out", "operator"
    )
    assert status == 409 and len(await records(api, "elder")) == 1
    # The station passes it like any record; it is then payable, and on the statement.
    rec = await api.call(
        "POST", f"/api/v1/service-records/{rec['id']}/review", "operator",
        json={"decision": "passed"}, expect=200,
    )  # fmt: skip
    assert rec["payable"] is True
    r = await api.client.get(
        f"/api/v1/elders/{api.ids['elder']}/statements/2026-11.csv", headers=api.h("family")
    )
    text = (await r.read()).decode("utf-8-sig")
    line = next(x for x in text.splitlines() if "日间托老" in x)
    assert line.startswith("2026-11-24,09:30,15:30,日间托老") and ",360,4000,4000,0," in line
