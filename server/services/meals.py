"""Meals (助餐): a daily menu, orders with a cut-off (default 09:30 Asia/Shanghai), dine-in or
delivery, dietary notes from the elder's file, and the lunch window (default 11:00-12:30)
that delivery routes must fit in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Final

from server.services.catalogue import DIET_CONFLICTS
from server.welfare.workdays import SHANGHAI

DEFAULT_CUTOFF: Final = time(9, 30)
LUNCH_OPENS: Final = time(11, 0)
LUNCH_CLOSES: Final = time(12, 30)


class MealMode(StrEnum):
    """Dining hall (集中就餐) or delivery (送餐上门)."""

    DINE_IN = "dine_in"
    DELIVERY = "delivery"


class MealError(StrEnum):
    """Stable machine codes for meal orders."""

    NO_MENU = "meal.no_menu"
    ORDER_CLOSED = "meal.order_closed"
    UNKNOWN_DISH = "meal.unknown_dish"
    EMPTY_ORDER = "meal.empty_order"
    ELDER_INACTIVE = "meal.elder_inactive"
    ALREADY_ORDERED = "meal.already_ordered"
    NO_ADDRESS = "meal.no_delivery_address"


@dataclass(frozen=True)
class Dish:
    """One dish of the day; `tags` say what it contains or suits (低盐, 软食, 含糖, 清真, 辣...)."""

    code: str
    name_zh: str
    price_fen: int
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.price_fen, int) or self.price_fen < 0:
            raise ValueError(f"{self.code}: price must be a non-negative integer of fen")


@dataclass(frozen=True)
class DailyMenu:
    """What the central kitchen cooks on one day, and when orders close."""

    day: date
    dishes: tuple[Dish, ...]
    cutoff: time = DEFAULT_CUTOFF
    lunch_opens: time = LUNCH_OPENS
    lunch_closes: time = LUNCH_CLOSES

    def __post_init__(self) -> None:
        if not self.cutoff < self.lunch_opens < self.lunch_closes:
            raise ValueError("cut-off must come before the lunch window, which must be non-empty")
        codes = [d.code for d in self.dishes]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate dish codes")

    def dish(self, code: str) -> Dish | None:
        """The dish with this code, if it is on the menu."""
        return next((d for d in self.dishes if d.code == code), None)

    def cutoff_at(self) -> datetime:
        """The cut-off as an aware instant."""
        return datetime.combine(self.day, self.cutoff, SHANGHAI)

    def lunch_window(self) -> tuple[datetime, datetime]:
        """The delivery window as aware instants."""
        return (
            datetime.combine(self.day, self.lunch_opens, SHANGHAI),
            datetime.combine(self.day, self.lunch_closes, SHANGHAI),
        )


@dataclass(frozen=True)
class MealOrderRequest:
    """An elder's (or family member's) order for one day."""

    elder_id: str
    day: date
    mode: MealMode
    dish_codes: tuple[str, ...]
    elder_active: bool = True
    has_address: bool = True


def check_meal_order(
    req: MealOrderRequest,
    menu: DailyMenu | None,
    *,
    now: datetime,
    existing_days: Iterable[date] = (),
) -> tuple[MealError, ...]:
    """All reasons why this order cannot be taken; empty when it can."""
    errors: list[MealError] = []
    if not req.elder_active:
        errors.append(MealError.ELDER_INACTIVE)
    if menu is None or menu.day != req.day:
        return (*errors, MealError.NO_MENU)
    if now >= menu.cutoff_at():
        errors.append(MealError.ORDER_CLOSED)
    if not req.dish_codes:
        errors.append(MealError.EMPTY_ORDER)
    if any(menu.dish(c) is None for c in req.dish_codes):
        errors.append(MealError.UNKNOWN_DISH)
    if req.day in set(existing_days):
        errors.append(MealError.ALREADY_ORDERED)
    if req.mode is MealMode.DELIVERY and not req.has_address:
        errors.append(MealError.NO_ADDRESS)
    return tuple(errors)


def diet_warnings(dishes: Sequence[Dish], diet_notes: Iterable[str]) -> tuple[str, ...]:
    """Warnings (not errors: the elder may still choose) where a dish conflicts with the file."""
    notes = set(diet_notes)
    out: list[str] = []
    for dish in dishes:
        for note in sorted(notes):
            clash = DIET_CONFLICTS.get(note, frozenset()) & dish.tags
            if clash:
                out.append(f"{dish.name_zh}: {'、'.join(sorted(clash))} ({note})")
    return tuple(out)


def order_total_fen(menu: DailyMenu, dish_codes: Sequence[str]) -> int:
    """Price of an order in fen."""
    total = 0
    for code in dish_codes:
        dish = menu.dish(code)
        if dish is None:
            raise KeyError(code)
        total += dish.price_fen
    return total


@dataclass(frozen=True)
class DeliveryTask:
    """A delivery stop handed to the dispatcher's meal route at cut-off."""

    key: str
    elder_id: str
    window_start: datetime
    window_end: datetime
    dish_codes: tuple[str, ...]
    diet_notes: tuple[str, ...] = ()


def delivery_tasks(
    menu: DailyMenu,
    orders: Iterable[tuple[str, MealMode, tuple[str, ...], tuple[str, ...]]],
) -> tuple[DeliveryTask, ...]:
    """At cut-off: one delivery task per delivery order (elder, mode, dishes, diet notes)."""
    start, end = menu.lunch_window()
    return tuple(
        DeliveryTask(
            key=f"meal:{menu.day.isoformat()}:{elder_id}",
            elder_id=elder_id,
            window_start=start,
            window_end=end,
            dish_codes=dishes,
            diet_notes=notes,
        )
        for elder_id, mode, dishes, notes in orders
        if mode is MealMode.DELIVERY
    )
