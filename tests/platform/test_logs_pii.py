"""Application logs never carry ID numbers or mobiles, wherever they come from."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from server.logs import JsonFormatter, scrub
from tests.conftest import BACKENDS
from tests.support.api import Api, near

ID = "11010519491231002X"
MOBILE = "13812345678"


@pytest.mark.parametrize(
    "text,secret",
    [
        (f"电话{MOBILE}", MOBILE),  # no \b between CJK and digits
        (f"身份证{ID}号", ID),
        (f"+86{MOBILE}", MOBILE),
        ("+86 138 1234 5678", "1234"),
        (f"0086-{MOBILE}", MOBILE),
        (f"id={ID.lower()}", ID.lower()),
        (f"{ID}{MOBILE}", MOBILE),
    ],
)
def test_scrub_finds_numbers_glued_to_text(text: str, secret: str) -> None:
    out = scrub(text)
    assert secret not in out
    assert "****" in out or "*" * 11 in out


def test_ids_keep_first_three_and_last_four() -> None:
    assert scrub(f"身份证{ID}号") == "身份证110***********002X号"


def test_structured_extra_is_scrubbed_recursively() -> None:
    rec = logging.LogRecord("x", logging.WARNING, "", 0, "bad body", (), None)
    rec.body = {
        "elder": {"phone": MOBILE, "contacts": [{"phone": f"+86{MOBILE}"}]},
        "ids": (ID,),
        "number": 13812345678,
    }
    out = JsonFormatter().format(rec)
    assert MOBILE not in out and ID not in out
    body = json.loads(out)["body"]
    assert body["elder"]["contacts"][0]["phone"] == "138****5678"
    assert body["number"] == "138****5678"


def test_non_pii_numbers_are_left_alone() -> None:
    assert scrub("incident 123456 took 1200 s") == "incident 123456 took 1200 s"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the production handler would write, captured."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buf
    finally:
        root.removeHandler(handler)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_failing_request_writes_no_pii_to_the_log(
    api: Api, json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store failure whose message carries the statement's parameters (as drivers do)."""
    import server.registry.flows.elders as registry

    async def failing_audit(tx: Any, **kw: Any) -> None:
        raise OperationalError(
            "INSERT INTO elders (name, id_number, phone) VALUES (?, ?, ?)",
            {
                "id_number": ID,
                "phone": "+86 138 1234 5678",
                "contacts": [{"phone": f"电话{MOBILE}"}],
            },
            Exception("disk I/O error"),
        )

    monkeypatch.setattr(registry, "audit", failing_audit)
    lat, lng = near(300, 300)
    status, body = await api.call(
        "POST",
        "/api/v1/elders",
        "operator",
        json={
            "station_id": api.ids["station"],
            "name": "周淑珍",
            "id_number": ID,
            "phone": "+86 138 1234 5678",
            "address": "北京市朝阳区延静里5号楼",
            "location": {"lat": lat, "lng": lng, "coord_system": "gcj02"},
            "contacts": [{"name": "周小明", "relation": "儿子", "phone": MOBILE}],
        },
    )
    assert status == 500 and body["code"] == "internal_error"
    written = json_log.getvalue()
    assert "unhandled error" in written and "disk I/O error" in written  # it was logged...
    for secret in (ID, MOBILE, "1234 5678", "19491231"):
        assert secret not in written  # ...without PII
    assert ID not in json.dumps(body) and MOBILE not in json.dumps(body)
