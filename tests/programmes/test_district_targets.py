"""The return-visit share and the satisfaction target are each district's, from its rule set
(the seeds' 5% and 95% where it has none): the quarter's sample, the satisfaction report and
the period report follow them; a rule set with a target that is not a share is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from server.registry.tables import stations
from tests.conftest import BACKENDS
from tests.hotline.test_api_followup import add_subsidised
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import RULESET

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

AIMS = {"return_visit_share": 0.1, "satisfaction": 0.9}


async def test_each_district_samples_and_rates_against_its_own_targets(api: Api) -> None:
    long_tokens(api)
    for bad in ({"satisfaction": 1.5}, {"return_visit_share": 0}, {"visits": 0.1}):
        status, problem = await api.call(
            "POST", "/api/v1/welfare/rulesets", "admin", json={**RULESET, "targets": bad}
        )
        assert (status, problem["code"]) == (422, "ruleset.invalid"), bad
        assert "targets" in problem["title"]
    await api.call(
        "POST", "/api/v1/welfare/rulesets", "admin", json={**RULESET, "targets": AIMS}, expect=201
    )
    async with api.platform.store.begin() as conn:  # station 2 in a district without rules
        await conn.execute(
            update(stations).where(stations.c.id == api.ids["station2"]).values(district="海淀区")
        )
    await add_subsidised(api, 60)
    sample = await api.call(
        "POST", "/api/v1/hotline/return-visits/sample", "admin", json={"quarter": "2026Q4"},
        expect=201,
    )  # fmt: skip
    # station 1: 62 subsidised at 10% → 7 (the seeds' 5% gave 4); station 2: 1 at 5% → 1
    assert {k: len(v) for k, v in sample["by_station"].items()} == {
        str(api.ids["station"]): 7,
        str(api.ids["station2"]): 1,
    }
    # 18 of 20 satisfied: 90%, which meets 朝阳区's 90% (not the seeds' 95%).
    for answer in ["satisfied"] * 18 + ["dissatisfied"] * 2:
        body: dict[str, Any] = {"elder_id": api.ids["elder"], "answer": answer}
        await api.call("POST", "/api/v1/hotline/satisfaction", "operator", json=body, expect=201)
    report = await api.call("GET", "/api/v1/hotline/satisfaction", "operator", expect=200)
    assert report["target"] == 0.9 and report["targets"] == {"朝阳区": 0.9}
    assert [(s["rate"], s["meets_target"]) for s in report["stations"]] == [(0.9, True)]
    period = await api.call("GET", "/api/v1/reports?period=2026-11", "admin", expect=200)
    districts = {r["name"]: r for r in period["rows"] if r["level"] == "district"}
    assert districts["朝阳区"]["targets"] == AIMS
    assert districts["朝阳区"]["satisfaction_met"] is True
    assert districts["海淀区"]["targets"] == {"return_visit_share": 0.05, "satisfaction": 0.95}
    assert districts["海淀区"]["satisfaction_met"] is None  # no answers
