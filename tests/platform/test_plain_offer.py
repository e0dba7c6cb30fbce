"""The dispatcher's plain-SQL offer writes what the general offer writes, row for row.

flows/plain_offer.py bypasses SQLAlchemy on every emergency's dispatch; a value bound
differently (a timestamp's format, a JSON text, a boolean) would be a silent difference in
the store. Here one emergency is dispatched through the general path and one through the
plain path, for the same elder at the same instant, and every row each dispatch wrote (the
offer, the incident's move, its event, the timer, the pushes, and what the chain's start
beside it writes) is compared with the ids taken out; the pushes on the caregiver's and the
operator's pushes among them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from server.incidents.flows import offers as offer_flows
from server.incidents.tables import incidents, offers
from server.store.meta import metadata
from server.store.tables import timers
from tests.conftest import BACKENDS
from tests.platform.test_plain_intake import IDS, Rows, _all, _new, _plain, took_plain
from tests.support.api import Api

BOTH = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
# Ids, and what names them (the timers' refs and payloads, the incident's updated row).
IGNORED = IDS | {"offer_id", "chain_id", "ref"}


def _strip(rows: Rows) -> Rows:
    """Rows with every id-like value (offer ids inside JSON too) taken out."""
    out: Rows = {}
    for table, items in rows.items():
        parsed = [_plain(_deep(json.loads(r))) for r in items]
        out[table] = sorted(json.dumps(r, default=str, sort_keys=True) for r in parsed)
    return out


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("ID" if k in IGNORED else _deep(_json(v))) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


def _json(value: Any) -> Any:
    """A JSON column read back as text on one store and as data on the other."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _dispatch(
    api: Api, monkeypatch: pytest.MonkeyPatch, plain: bool, switch: Any = offer_flows
) -> Rows:
    """One press, then its dispatch with the plain path on or off (``switch.PLAIN``): the rows
    the relay wrote (and the incident's row as it was moved). The call is then closed and its
    offer and timers set aside, so the next press is dispatched alike."""
    inc = await api.press(expect=201)
    monkeypatch.setattr(switch, "PLAIN", plain)
    before = await _all(api)
    await api.pump()
    after = await _all(api)
    wrote = _new(before, after)
    moved = [r for r in after["incidents"].values() if r["id"] == inc["id"]]
    wrote["incidents"] = [json.dumps(_plain(moved[0]), default=str, sort_keys=True)]
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(incidents)
            .where(incidents.c.id == inc["id"])
            .values(status="resolved", resolution="resolved", resolved_at=api.clock.now())
        )
        await conn.execute(
            update(offers).where(offers.c.incident_id == inc["id"]).values(status="withdrawn")
        )
        await conn.execute(update(timers).values(state="cancelled"))
    return _strip(wrote)


@BOTH
async def test_plain_offer_writes_the_rows_of_the_general_path(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = took_plain(monkeypatch, offer_flows, "plain_offer")
    general = await _dispatch(api, monkeypatch, plain=False)
    plain = await _dispatch(api, monkeypatch, plain=True)
    assert taken == [True], "the dispatch did not take the plain path"
    assert {"offers", "incident_events", "timers", "push_messages"} <= set(plain)
    assert sorted(plain) == sorted(general)
    for table in general:
        assert plain[table] == general[table], table
    assert {t.name for t in metadata.sorted_tables} >= set(plain)


# The JSON columns the plain statements build in SQL (PostgreSQL's one-statement offer and
# chain start splice the new row's id into the text), read as the store holds them.
_TEXTS = {
    "incident_events": "SELECT CAST(data AS TEXT) FROM incident_events",
    "timers": "SELECT CAST(payload AS TEXT) FROM timers",
    "hotline_chain_events": "SELECT CAST(data AS TEXT) FROM hotline_chain_events",
}


@BOTH
async def test_the_json_texts_are_the_ones_sqlalchemy_writes(api: Api) -> None:
    """Stored JSON is json.dumps's text (PostgreSQL's json type keeps the text as given)."""
    await api.press(expect=201)
    await api.pump()
    async with api.platform.store.read() as conn:
        for table, sql in _TEXTS.items():
            texts = (await conn.exec_driver_sql(sql)).scalars().all()
            assert texts, table
            for text in texts:
                assert text == json.dumps(json.loads(text)), (table, text)
