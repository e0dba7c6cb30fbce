"""The rural programme's service-address limits: 2 places, 2 changes a year."""

from datetime import date

import pytest

from server.welfare.addresses import AddressError, AddressLimits, AddressUse, check_change
from tests.conftest import BACKENDS
from tests.support.api import Api
from tests.welfare.support import long_tokens
from tests.welfare.test_api_welfare import RULESET

TOWN, VILLAGE, THIRD = "县城幸福小区3号楼", "王家村12号", "李家村5号"
RURAL = AddressLimits()


@pytest.mark.parametrize(
    ("history", "new", "on", "expected"),
    [
        ([AddressUse(date(2026, 1, 1), VILLAGE)], TOWN, date(2026, 3, 1), None),
        (
            [AddressUse(date(2026, 1, 1), VILLAGE)],
            "王家村 12号",
            date(2026, 3, 1),
            AddressError.UNCHANGED,
        ),
        # back and forth between the same two places: the third switch in a year is refused
        (
            [
                AddressUse(date(2026, 1, 1), VILLAGE),
                AddressUse(date(2026, 3, 1), TOWN),
                AddressUse(date(2026, 6, 1), VILLAGE),
            ],
            TOWN,
            date(2026, 9, 1),
            AddressError.TOO_MANY_CHANGES,
        ),
        # ... but allowed again next year
        (
            [
                AddressUse(date(2026, 1, 1), VILLAGE),
                AddressUse(date(2026, 3, 1), TOWN),
                AddressUse(date(2026, 6, 1), VILLAGE),
            ],
            TOWN,
            date(2027, 1, 5),
            None,
        ),
        (
            [AddressUse(date(2026, 1, 1), VILLAGE), AddressUse(date(2026, 3, 1), TOWN)],
            THIRD,
            date(2026, 4, 1),
            AddressError.TOO_MANY_PLACES,
        ),
    ],
)
def test_address_limits(
    history: list[AddressUse], new: str, on: date, expected: AddressError | None
) -> None:
    assert check_change(history, new, on, RURAL) == expected


def test_no_limits() -> None:
    history = [AddressUse(date(2026, 1, 1), VILLAGE), AddressUse(date(2026, 2, 1), TOWN)]
    assert check_change(history, THIRD, date(2026, 2, 2), AddressLimits(None, None)) is None


# ----- through the real app -------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_service_address_changes_under_the_rural_limits(api: Api) -> None:
    long_tokens(api)
    rural = {**RULESET, "address_limits": {"max_places": 2, "max_changes_per_year": 2}}
    await api.call("POST", "/api/v1/welfare/rulesets", "admin", json=rural, expect=201)
    url = f"/api/v1/elders/{api.ids['elder']}/service-address"
    home, village = "北京市朝阳区红庙北里3号楼2单元401", "河北省三河市燕郊镇东贸村12号"
    status, problem = await api.call("POST", url, "operator", json={"address": home})
    assert (status, problem["code"]) == (409, "address.unchanged")
    out = await api.call("POST", url, "operator", json={"address": village}, expect=201)
    assert [h["address"] for h in out["history"]] == [home, village]
    status, problem = await api.call(
        "POST", url, "operator", json={"address": "天津市武清区杨村街道9号"}
    )
    assert (status, problem["code"]) == (409, "address.too_many_places")
    await api.call("POST", url, "operator", json={"address": home}, expect=201)  # back: change 2
    status, problem = await api.call("POST", url, "operator", json={"address": village})
    assert (status, problem["code"]) == (409, "address.too_many_changes")  # a third this year
    status, _ = await api.call("POST", url, "operator2", json={"address": village})
    assert status == 404
    listed = await api.call(
        "GET", f"/api/v1/elders/{api.ids['elder']}/service-addresses", "family", expect=200
    )
    assert len(listed["history"]) == 3
