"""An elder who has only a fixed line (座机) — many who live alone do — is known by it: the
file keeps it (masked like a mobile), a roster's phone column may hold it, and when it rings
the station the screen pop names the elder, with or without the area code the exchange
reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from server.identity import make_id_number, normalize_landline, same_line
from server.registry.flows.imports import import_elders
from tests.conftest import BACKENDS
from tests.hotline.support import cti, pushes, send_cti, set_station_phone
from tests.platform.test_registry import elder_body
from tests.support.api import Api

A = make_id_number("110105", date(1941, 2, 3), 21)
B = make_id_number("110105", date(1942, 4, 5), 22)
C = make_id_number("110105", date(1943, 6, 7), 23)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("010-6555 0000", "01065550000"),
        ("6555 0000", "65550000"),
        ("+86 10 65550000", "01065550000"),
    ],
)
def test_a_fixed_line_is_kept_as_digits(raw: str, stored: str) -> None:
    assert normalize_landline(raw) == stored


@pytest.mark.parametrize("raw", ["13800138000", "123", "0000000", "06555000"])
def test_what_is_not_a_fixed_line_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="fixed line"):
        normalize_landline(raw)


def test_the_same_line_with_or_without_its_area_code() -> None:
    assert same_line("01065550000", "65550000") and same_line("65550000", "01065550000")
    assert not same_line("01065550000", "01165550000") and not same_line("65550000", "5550000")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_the_screen_pop_knows_an_elder_by_her_fixed_line(api: Api) -> None:
    body = elder_body(api, name="孙玉兰", phone=None, landline="010-6555 0000")
    made = await api.call("POST", "/api/v1/elders", "operator", json=body, expect=201)
    assert made["landline"] == "010****0000" and made["phone"] is None
    full = await api.call("GET", f"/api/v1/elders/{made['id']}?reveal=1", "operator", expect=200)
    assert full["landline"] == "01065550000"
    await set_station_phone(api)
    # A local call: the exchange reports the number without 010.
    await send_cti(api, cti("e1", "ringing", "c-1", caller="65550000"))
    [pop] = await pushes(api, "operator", "call.ringing")
    [m] = pop["matches"]
    assert (m["elder_id"], m["name"], m["relation"]) == (made["id"], "孙玉兰", "家中座机")
    status, problem = await api.call(
        "PATCH", f"/api/v1/elders/{made['id']}", "operator", json={"landline": "555"}
    )
    assert status == 422 and problem["field"] == "landline"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_a_roster_with_fixed_lines_in_its_phone_column_imports(
    api: Api, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "姓名,身份证号,联系电话,座机,住址,纬度,经度\n"
        f"孙玉兰,{A},6555 0000,,金台路3号,39.93,116.45\n"
        f"周建国,{B},13900001111,010-8765 4321,团结湖北路9号,39.93,116.45\n"
        f"钱桂英,{C},12,,金台里1号,39.93,116.45\n",
        encoding="utf-8",
    )
    report = await import_elders(api.platform, roster, station_id=api.ids["station"])
    assert not report.written  # one bad row: nothing written until it is fixed
    [bad] = report.bad
    assert bad.values["name"] == "钱桂英" and [e.key for e in bad.errors] == ["import.mobile"]
    done = await import_elders(api.platform, roster, station_id=api.ids["station"], skip_bad=True)
    assert done.created == 2
    page = await api.call("GET", "/api/v1/elders?q=孙玉兰", "operator", expect=200)
    assert (page["items"][0]["phone"], page["items"][0]["landline"]) == (None, "****0000")
    page = await api.call("GET", "/api/v1/elders?q=周建国", "operator", expect=200)
    assert page["items"][0]["landline"] == "010****4321"
