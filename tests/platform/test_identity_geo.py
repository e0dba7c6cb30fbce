"""Chinese identity data and coordinate systems."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from server.geo import CoordSystem, bd09_to_gcj02, distance_m, from_store, gcj02_to_bd09, to_store
from server.identity import (
    id_check_digit,
    make_id_number,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_mobile,
    normalize_station_phone,
)
from server.logs import JsonFormatter, scrub


def test_check_digit_of_the_standard_example() -> None:
    """GB 11643-1999's own example number ends in X."""
    assert id_check_digit("11010519491231002") == "X"


def test_lower_case_x_is_normalised() -> None:
    assert normalize_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_generated_ids_are_valid() -> None:
    assert normalize_id_number(make_id_number("320102", date(1936, 2, 29), 7))


@pytest.mark.parametrize("raw", ["+86 138 0013 8000", "86-13800138000", "138-0013-8000"])
def test_mobile_forms(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


def test_masks() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("13800138000") == "138****8000"


def test_gcj02_round_trip_within_a_metre() -> None:
    lat, lng = to_store(39.9219, 116.4436, CoordSystem.WGS84)
    back = from_store(lat, lng, CoordSystem.WGS84)
    assert distance_m(back[0], back[1], 39.9219, 116.4436) < 1.0


def test_bd09_round_trip() -> None:
    b = gcj02_to_bd09(39.9219, 116.4436)
    g = bd09_to_gcj02(*b)
    assert distance_m(g[0], g[1], 39.9219, 116.4436) < 1.0


def test_outside_china_is_unchanged() -> None:
    assert to_store(48.85, 2.35, CoordSystem.WGS84) == (48.85, 2.35)


def test_logs_never_carry_ids_or_mobiles() -> None:
    rec = logging.LogRecord(
        "x", logging.INFO, "", 0, "elder %s phone %s", ("11010519491231002X", "13800138000"), None
    )
    out = JsonFormatter().format(rec)
    assert "11010519491231002X" not in out and "13800138000" not in out
    assert scrub("13800138000") == "138****8000"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("010-6555 0000", "01065550000"),  # Beijing: the station's fixed line
        ("(0571) 8765-4321", "057187654321"),
        ("+86 10 6555 0000", "01065550000"),
        ("12349", "12349"),  # the national elder-care service line
        ("+86 138 0013 8000", "13800138000"),
    ],
)
def test_a_stations_hotline_may_be_a_fixed_line_or_a_service_number(raw: str, stored: str) -> None:
    assert normalize_station_phone(raw) == stored


@pytest.mark.parametrize("raw", ["6555 0000", "12345678901", "0000", "010-6555-00001234"])
def test_a_station_number_without_its_area_code_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="area code"):
        normalize_station_phone(raw)
