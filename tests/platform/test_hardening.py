"""No 500s on odd input, and answers that leak nothing about the server (issue 12)."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_planning_a_station_that_does_not_exist_is_404(api: Api) -> None:
    for method, path in (
        ("POST", "/api/v1/stations/987654/plans"),
        ("GET", "/api/v1/stations/987654/plans/latest"),
        ("GET", "/api/v1/stations/987654/meal-plans/latest"),
    ):
        r = await api.client.request(method, path, headers=api.h("admin"))
        assert r.status == 404, (path, await r.text())
        assert r.content_type == "application/problem+json"
        assert (await r.json())["code"] == "station_not_found"


async def test_api_answers_are_not_cached_or_sniffed_and_name_no_versions(api: Api) -> None:
    for path, who in (
        (f"/api/v1/elders/{api.ids['elder']}", "operator"),
        ("/api/v1/auth/me", "family"),
        ("/api/v1/elders/987654", "operator"),  # an error too
    ):
        r = await api.client.get(path, headers=api.h(who))
        assert r.headers["Cache-Control"] == "no-store", path
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Server"] == "anxin"
    r = await api.client.get("/healthz")
    assert "aiohttp" not in r.headers.get("Server", "") and "Python" not in r.headers.get(
        "Server", ""
    )


async def test_periods_outside_the_calendar_are_refused_not_500(api: Api) -> None:
    """Found by the schema fuzz: year 0 (or 9999) made a date the ledger cannot hold."""
    for period in ("0000Q1", "9999Q4", "0000-01"):
        status, body = await api.call(
            "POST", "/api/v1/districts/x/close", "admin", json={"period": period}
        )
        assert status == 422, (period, body)
    for path in (
        f"/api/v1/elders/{api.ids['elder']}/statements/9999-12.csv",
        "/api/v1/districts/x/summaries/0000Q1.csv",
    ):
        status, _ = await api.call("GET", path, "admin")
        assert status == 404, path
