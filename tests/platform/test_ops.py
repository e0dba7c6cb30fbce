"""Health, readiness, metrics, OpenAPI, and the durability checks at start."""

from __future__ import annotations

import pytest

from server.store.engine import Store, StoreMisconfigured
from tests.support.api import Api


async def test_health_and_ready(api: Api) -> None:
    assert await api.call("GET", "/healthz", expect=200) == {"status": "ok"}
    ready = await api.call("GET", "/readyz", expect=200)
    assert ready["checks"] == {"store": "ok", "bus": "ok"}


async def test_metrics_expose_the_numbers_operators_watch(api: Api) -> None:
    await api.press(expect=201)
    await api.pump()
    text = await api.call("GET", "/metrics", expect=200)
    assert "anxin_open_incidents 1.0" in text
    assert "anxin_pending_offers 1.0" in text
    assert "anxin_push_connections" in text
    assert (
        'anxin_http_request_seconds_count{method="POST",route="/api/v1/help-calls",status="201"}'
        in text
    )


async def test_openapi_lists_the_contract(api: Api) -> None:
    doc = await api.call("GET", "/api/openapi.json", expect=200)
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/api/v1/help-calls"]
    for name in ("HelpCallIn", "IncidentOut", "ElderIn", "Problem", "Envelope"):
        assert name in doc["components"]["schemas"]


async def test_unknown_route_is_problem_json(api: Api) -> None:
    r = await api.client.get("/api/v1/nothing-here")
    assert r.status == 404 and r.content_type == "application/problem+json"


async def test_sqlite_runs_with_synchronous_full(tmp_path: object) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    found = await store.check_durability()
    assert found["synchronous"] == "2" and found["journal_mode"] == "wal"
    await store.dispose()


@pytest.mark.postgres
async def test_postgres_durability_is_checked() -> None:
    from tests.support.backends import missing, postgres_url

    url = postgres_url() or missing("PostgreSQL")
    store = Store(url)
    found = await store.check_durability()
    assert found["fsync"] == "on"
    await store.dispose()


async def test_misconfigured_sqlite_is_refused(tmp_path: object) -> None:
    """If something turns synchronous off on the connection, the start-up check says no."""
    from typing import Any

    from sqlalchemy import event

    store = Store(f"sqlite+aiosqlite:///{tmp_path}/y.db")

    @event.listens_for(store.engine.sync_engine, "connect")
    def _weaken(dbapi_conn: Any, _rec: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    with pytest.raises(StoreMisconfigured):
        await store.check_durability()
    await store.dispose()


def _value(text: str, name: str) -> float:
    line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
    return float(line.split()[-1])


async def test_metrics_show_press_to_offer_outbox_age_and_timer_lag(api: Api) -> None:
    """What the night operator's dashboard watches: the press-to-offer histogram, and a
    relay or timer runner that has fallen behind shows as a growing age, not as silence."""
    await api.press(expect=201)
    api.clock.advance(30)  # the relay has not run: the press has waited 30 s
    text = await api.call("GET", "/metrics", expect=200)
    assert _value(text, "anxin_outbox_oldest_age_seconds") >= 30
    await api.pump()
    text = await api.call("GET", "/metrics", expect=200)
    assert _value(text, "anxin_outbox_oldest_age_seconds") == 0
    assert 'anxin_press_to_offer_seconds_count{kind="emergency"} 1.0' in text
    assert 'anxin_press_to_offer_seconds_bucket{kind="emergency",le="20.0"} 0.0' in text
    assert 'anxin_press_to_offer_seconds_bucket{kind="emergency",le="60.0"} 1.0' in text
    api.clock.advance(api.platform.settings.offer_timeout_s + 45)  # the offer's timeout is late
    text = await api.call("GET", "/metrics", expect=200)
    assert _value(text, "anxin_timer_lag_seconds") >= 45
