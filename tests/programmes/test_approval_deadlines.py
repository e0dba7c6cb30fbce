"""Approval deadlines are the rule set's: a district that gives its community step 3 working
days and its street step 2 gets those deadlines; a rule set with a nonsense deadline is
refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import RULESET

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_each_rule_set_sets_its_review_deadlines(api: Api) -> None:
    long_tokens(api)
    eid = api.ids["elder"]
    bad: dict[str, Any] = {**RULESET, "step_working_days": {"community": 0}}
    status, problem = await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=bad)
    assert status == 422, problem
    status, problem = await api.call(
        "POST",
        "/api/v1/welfare/rulesets",
        "admin",
        json={**RULESET, "step_working_days": {"village": 3}},
    )
    assert status == 422, problem
    quick = {**RULESET, "step_working_days": {"community": 3, "street": 2}}
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=quick, expect=201)
    a = await api.call(
        "POST",
        f"/api/v1/elders/{eid}/applications",
        "family",
        json={"rule_id": "dibao"},
        expect=201,
    )
    # Monday 23 Nov + 3 working days → Thursday 26 Nov (the seeds' 10 would be 7 Dec)
    assert (a["status"], a["step_due_on"]) == ("community", "2026-11-26")
    a = await api.call(
        "POST",
        f"/api/v1/applications/{a['id']}/decision",
        "operator",
        json={"decision": "pass"},
        expect=200,
    )
    assert (a["status"], a["step_due_on"]) == ("street", "2026-11-25")  # 2 working days
