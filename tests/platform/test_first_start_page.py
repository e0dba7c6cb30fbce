"""An empty database's console says what to run, instead of an empty console; `/` leads to
the console."""

from __future__ import annotations

from typing import Any

import pytest

from server.app import create_app
from server.clock import FakeClock
from server.settings import Settings
from tests.conftest import BACKENDS
from tests.support.api import Api

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


async def test_an_empty_database_shows_the_first_start_page(
    aiohttp_client: Any, settings: Settings, clock: FakeClock
) -> None:
    client = await aiohttp_client(
        create_app(settings, clock=clock, run_background=False, create_schema=True)
    )
    r = await client.get("/", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/console"
    r = await client.get("/console")
    page = await r.text()
    assert r.status == 200 and r.content_type == "text/html"
    assert "还没有服务站" in page and "No station yet" in page
    for command in (
        "anxin admin create-station",
        "anxin admin create-user --role operator --station 1",
        "anxin import elders 老人名单.xlsx --station 1 --dry-run",
        "make demo",
    ):
        assert command in page, command
    assert "<script" not in page  # the page works under the console's CSP, without scripts
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


async def test_a_station_gets_the_console(api: Api) -> None:
    r = await api.client.get("/console")
    page = await r.text()
    assert r.status == 200 and "还没有服务站" not in page and "console.js" in page
