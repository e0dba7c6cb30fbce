"""The service menu, booking checks, recurring visits and meal orders."""

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from schemas.services import Category
from server.services.bookings import (
    BookingError,
    BookingStatus,
    ElderStatus,
    ExistingBooking,
    Window,
    asap_window,
    check_booking,
    check_cancel,
    quote,
)
from server.services.catalogue import (
    SEED_ITEMS,
    BookableHours,
    CatalogueError,
    ServiceItem,
    by_code,
)
from server.services.meals import (
    DailyMenu,
    Dish,
    MealError,
    MealMode,
    MealOrderRequest,
    check_meal_order,
    delivery_tasks,
    diet_warnings,
    order_total_fen,
)
from server.services.recurrence import RecurrenceError, RecurrenceRule, expand
from server.welfare.workdays import OFFICIAL, SHANGHAI

MENU = by_code(SEED_ITEMS)
BATH = MENU["bath-help"]
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
ELDER = ElderStatus("e1", active=True, funding_class="A")


def sh(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """An instant given in Shanghai local time."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_seed_menu_covers_the_domain_categories() -> None:
    assert {i.category for i in SEED_ITEMS} == set(Category)
    assert all(isinstance(i.price_fen, int) for i in SEED_ITEMS)
    assert MENU["meal-dine-in"].price_fen == 500  # 5 yuan lunch at the dining hall
    assert not MENU["medicine"].subsidy_payable  # subsidy buys services, not medicine
    assert MENU["day-care"].hours.days == frozenset(range(5))  # Monday-Friday 9-17


def test_every_seed_item_needs_a_skill_a_caregiver_can_hold() -> None:
    """Before, nine items (cooking, cleaning, companion, hospital escort, repairs, the
    clinic's visit, legal help) named skills the registry refuses: never plannable."""
    from schemas.registry import SKILLS

    assert {i.code: i.skill for i in SEED_ITEMS if i.skill and i.skill not in SKILLS} == {}


def test_duplicate_codes_refused() -> None:
    with pytest.raises(CatalogueError):
        by_code([BATH, BATH])


@pytest.mark.parametrize(
    "kwargs", [{"price_fen": 12.5}, {"price_fen": -1}, {"duration_min": 0}, {"code": "bad code"}]
)
def test_bad_items_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(CatalogueError):
        replace(BATH, **kwargs)


GOOD = Window(sh(24, 9), sh(24, 11))


@pytest.mark.parametrize(
    ("case", "window", "elder", "item", "existing", "expected"),
    [
        ("fine", GOOD, ELDER, BATH, [], ()),
        (
            "in the past",
            Window(sh(23, 8), sh(23, 10)),
            ELDER,
            BATH,
            [],
            (BookingError.IN_THE_PAST,),
        ),
        (
            "outside hours",
            Window(sh(24, 19), sh(24, 21)),
            ELDER,
            BATH,
            [],
            (BookingError.OUTSIDE_HOURS,),
        ),
        (
            "across midnight",
            Window(sh(24, 23), sh(25, 1)),
            ELDER,
            MENU["emergency-help"],
            [],
            (BookingError.OUTSIDE_HOURS,),
        ),
        (
            "day care on Saturday",
            Window(sh(28, 9), sh(28, 17)),
            ELDER,
            MENU["day-care"],
            [],
            (BookingError.OUTSIDE_HOURS,),
        ),
        (
            "inactive elder",
            GOOD,
            replace(ELDER, active=False),
            BATH,
            [],
            (BookingError.ELDER_INACTIVE,),
        ),
        (
            "inactive item",
            GOOD,
            ELDER,
            replace(BATH, active=False),
            [],
            (BookingError.ITEM_INACTIVE,),
        ),
        (
            "class cannot use",
            GOOD,
            replace(ELDER, funding_class="P"),
            replace(BATH, allowed_classes=frozenset({"A", "B"})),
            [],
            (BookingError.CLASS_NOT_ALLOWED,),
        ),
        (
            "shorter than the service",
            Window(sh(24, 9), sh(24, 10)),
            ELDER,
            BATH,
            [],
            (BookingError.WINDOW_TOO_SHORT,),
        ),
        (
            "end before start",
            Window(sh(24, 11), sh(24, 9)),
            ELDER,
            BATH,
            [],
            (BookingError.WINDOW_INVALID,),
        ),
        (
            "double-booked",
            GOOD,
            ELDER,
            BATH,
            [ExistingBooking("b0", Window(sh(24, 10), sh(24, 12)), BookingStatus.PLANNED)],
            (BookingError.DOUBLE_BOOKED,),
        ),
        (
            "cancelled booking frees the slot",
            GOOD,
            ELDER,
            BATH,
            [ExistingBooking("b0", GOOD, BookingStatus.CANCELLED)],
            (),
        ),
        (
            "back to back is fine",
            GOOD,
            ELDER,
            BATH,
            [ExistingBooking("b0", Window(sh(24, 11), sh(24, 12)), BookingStatus.PLANNED)],
            (),
        ),
        (
            "too far ahead",
            Window(
                sh(24, 9, month=3) + timedelta(days=365), sh(24, 11, month=3) + timedelta(days=365)
            ),
            ELDER,
            BATH,
            [],
            (BookingError.TOO_FAR_AHEAD,),
        ),
    ],
)
def test_check_booking(
    case: str,
    window: Window,
    elder: ElderStatus,
    item: ServiceItem,
    existing: list[ExistingBooking],
    expected: tuple[BookingError, ...],
) -> None:
    assert (
        check_booking(item=item, window=window, elder=elder, existing=existing, now=NOW) == expected
    )


def test_naive_times_refused() -> None:
    naive = Window(datetime(2026, 11, 24, 9), datetime(2026, 11, 24, 11))
    assert check_booking(item=BATH, window=naive, elder=ELDER, existing=[], now=NOW) == (
        BookingError.NAIVE_TIME,
    )


def test_asap_takes_the_next_free_slot_in_hours() -> None:
    late = datetime(2026, 11, 23, 9, 50, tzinfo=UTC)  # 17:50 in Shanghai: closed for today
    w = asap_window(item=BATH, now=late)
    assert w is not None and w.start == sh(24, 8)
    busy = [ExistingBooking("b0", Window(sh(24, 8), sh(24, 10)), BookingStatus.PLANNED)]
    w2 = asap_window(item=BATH, now=late, existing=busy)
    assert w2 is not None and w2.start == sh(24, 10)


@pytest.mark.parametrize(
    ("now", "status", "expected"),
    [
        (sh(24, 6), BookingStatus.PLANNED, None),
        (sh(24, 7, 1), BookingStatus.PLANNED, BookingError.CANCEL_TOO_LATE),  # < 2 h before 09:00
        (sh(24, 6), BookingStatus.COMPLETED, BookingError.NOT_CANCELLABLE),
        (sh(24, 6), BookingStatus.CANCELLED, BookingError.NOT_CANCELLABLE),
    ],
)
def test_cancel_cutoff(now: datetime, status: BookingStatus, expected: BookingError | None) -> None:
    assert check_cancel(window=GOOD, status=status, now=now) == expected


@pytest.mark.parametrize(
    ("code", "left", "subsidy", "self_pay"),
    [
        ("bath-help", 10000, 6000, 0),
        ("bath-help", 2500, 2500, 3500),
        ("medicine-delivery", 0, 0, 1000),
        ("meal-dine-in", 10000, 0, 500),
    ],
)
def test_quote(code: str, left: int, subsidy: int, self_pay: int) -> None:
    q = quote(MENU[code], quota_left_fen=left)
    assert (q.subsidy_fen, q.self_pay_fen) == (subsidy, self_pay)
    assert q.subsidy_fen + q.self_pay_fen == q.price_fen


TUESDAY_BATH = RecurrenceRule(
    rule_id="rr1",
    elder_id="e1",
    item_code="bath-help",
    weekdays=frozenset({1}),
    start=time(9),
    end=time(11),
    starts_on=date(2026, 9, 1),
)


def test_every_tuesday_9_to_11() -> None:
    occ = expand(TUESDAY_BATH, date(2026, 11, 1), date(2026, 11, 30))
    assert [o.start.astimezone(SHANGHAI).date().day for o in occ] == [3, 10, 17, 24]
    assert occ[0].start == datetime(2026, 11, 3, 1, 0, tzinfo=UTC)
    assert occ[0].end - occ[0].start == timedelta(hours=2)
    assert occ[0].key == "rr1:2026-11-03"


def test_fortnightly_and_until() -> None:
    rule = replace(TUESDAY_BATH, every_weeks=2, until=date(2026, 11, 20))
    occ = expand(rule, date(2026, 11, 1), date(2026, 11, 30))
    assert [o.key for o in occ] == ["rr1:2026-11-10"]  # 1 Sep was week 0; 10 Nov is week 10


def test_weekly_door_knock_skips_holidays_when_asked() -> None:
    knock = RecurrenceRule(
        rule_id="knock",
        elder_id="e2",
        item_code="door-knock",
        weekdays=frozenset({3}),
        start=time(10),
        end=time(10, 30),
        starts_on=date(2026, 1, 1),
        skip_non_workdays=True,
    )
    occ = expand(knock, date(2026, 9, 28), date(2026, 10, 12), is_workday=OFFICIAL.is_workday)
    assert [o.key for o in occ] == ["knock:2026-10-08"]  # 1 Oct is National Day
    with pytest.raises(RecurrenceError):
        expand(knock, date(2026, 9, 28), date(2026, 10, 12))


@pytest.mark.parametrize(
    "kwargs",
    [{"weekdays": frozenset()}, {"end": time(8)}, {"every_weeks": 0}, {"until": date(2026, 1, 1)}],
)
def test_bad_recurrence(kwargs: dict[str, Any]) -> None:
    with pytest.raises(RecurrenceError):
        replace(TUESDAY_BATH, **kwargs)


LUNCH = DailyMenu(
    day=date(2026, 11, 24),
    dishes=(
        Dish("rice-fish", "清蒸鱼套餐", 500, frozenset({"鱼", "低盐"})),
        Dish("pork-bun", "红烧肉套餐", 500, frozenset({"猪肉", "高盐"})),
        Dish("congee", "南瓜粥", 200, frozenset({"软食", "含糖"})),
    ),
)


def order(**kw: Any) -> MealOrderRequest:
    base = MealOrderRequest("e1", date(2026, 11, 24), MealMode.DELIVERY, ("rice-fish",))
    return replace(base, **kw)


@pytest.mark.parametrize(
    ("req", "now", "expected"),
    [
        (order(), sh(24, 9, 29), ()),
        (order(), sh(24, 9, 30), (MealError.ORDER_CLOSED,)),
        (order(dish_codes=("lobster",)), sh(24, 8), (MealError.UNKNOWN_DISH,)),
        (order(dish_codes=()), sh(24, 8), (MealError.EMPTY_ORDER,)),
        (order(day=date(2026, 11, 25)), sh(24, 8), (MealError.NO_MENU,)),
        (order(elder_active=False), sh(24, 8), (MealError.ELDER_INACTIVE,)),
        (order(has_address=False), sh(24, 8), (MealError.NO_ADDRESS,)),
        (order(has_address=False, mode=MealMode.DINE_IN), sh(24, 8), ()),
    ],
)
def test_meal_orders(req: MealOrderRequest, now: datetime, expected: tuple[MealError, ...]) -> None:
    assert check_meal_order(req, LUNCH, now=now) == expected


def test_one_order_a_day() -> None:
    assert check_meal_order(order(), LUNCH, now=sh(24, 8), existing_days=[date(2026, 11, 24)]) == (
        MealError.ALREADY_ORDERED,
    )


def test_diet_warnings_from_the_file() -> None:
    dishes = [LUNCH.dishes[1], LUNCH.dishes[2]]
    assert diet_warnings(dishes, ["糖尿病", "清真"]) == (
        "红烧肉套餐: 猪肉 (清真)",
        "南瓜粥: 含糖 (糖尿病)",
    )
    assert diet_warnings([LUNCH.dishes[0]], ["低盐"]) == ()


def test_order_total_and_cutoff_tasks() -> None:
    assert order_total_fen(LUNCH, ["rice-fish", "congee"]) == 700
    tasks = delivery_tasks(
        LUNCH,
        [
            ("e1", MealMode.DELIVERY, ("rice-fish",), ("低盐",)),
            ("e2", MealMode.DINE_IN, ("congee",), ()),
        ],
    )
    assert [t.elder_id for t in tasks] == ["e1"]
    assert (tasks[0].window_start, tasks[0].window_end) == (sh(24, 11), sh(24, 12, 30))
    assert tasks[0].key == "meal:2026-11-24:e1"


def test_menu_cutoff_must_precede_lunch() -> None:
    with pytest.raises(ValueError):
        replace(LUNCH, cutoff=time(11, 30))


def test_hours_refuse_inverted_window() -> None:
    with pytest.raises(CatalogueError):
        BookableHours(opens=time(18), closes=time(8))
