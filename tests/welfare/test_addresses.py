"""The rural programme's service-address limits: 2 places, 2 changes a year."""

from datetime import date

import pytest

from server.welfare.addresses import AddressError, AddressLimits, AddressUse, check_change

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
