"""Rows in and out: stored menu items and menus as the pure models (``catalogue``, ``meals``),
and rows as the schema models the API answers with."""

from __future__ import annotations

from datetime import time
from typing import Any

from schemas.services import (
    BookingOut,
    Category,
    HoursIn,
    ItemOut,
    MealOrderOut,
    RecurrenceOut,
    StationMealOrderOut,
)
from server.services.catalogue import BookableHours, ServiceItem
from server.services.meals import DailyMenu, Dish
from server.texts import render


class AttrRow:
    """Attribute access over a dict, so the row converters also take values not read back."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def stored_text(key: str, **params: Any) -> str:
    """A text as stored where one field holds both languages: "中文 / English" (read back by
    ``server.texts.bilingual``)."""
    return f"{render(key, 'zh', **params)} / {render(key, 'en', **params)}"


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def item_from_row(r: Any) -> ServiceItem:
    """A menu row as the pure model."""
    return ServiceItem(
        code=r.code,
        name_zh=r.name_zh,
        name_en=r.name_en,
        category=Category(r.category),
        price_fen=int(r.price_fen),
        duration_min=int(r.duration_min),
        skill=r.skill,
        certificate=r.certificate,
        subsidy_payable=bool(r.subsidy_payable),
        hours=BookableHours(
            frozenset(r.hours["days"]),
            time.fromisoformat(r.hours["opens"]),
            time.fromisoformat(r.hours["closes"]),
        ),
        allowed_classes=frozenset(r.allowed_classes),
        active=bool(r.active),
    )


def item_values(item: ServiceItem) -> dict[str, Any]:
    """A pure item as row values."""
    return {
        "code": item.code,
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "category": item.category.value,
        "price_fen": item.price_fen,
        "duration_min": item.duration_min,
        "skill": item.skill,
        "certificate": item.certificate,
        "subsidy_payable": item.subsidy_payable,
        "hours": {
            "days": sorted(item.hours.days),
            "opens": _hhmm(item.hours.opens),
            "closes": _hhmm(item.hours.closes),
        },
        "allowed_classes": sorted(item.allowed_classes),
        "active": item.active,
    }


def item_out(item: ServiceItem) -> ItemOut:
    """A menu item as the API shows it."""
    v = item_values(item)
    return ItemOut(**{**v, "hours": HoursIn(**v["hours"])})


def menu_from_row(r: Any) -> DailyMenu:
    """A stored daily menu as the pure model."""
    return DailyMenu(
        day=r.day,
        dishes=tuple(
            Dish(d["code"], d["name_zh"], int(d["price_fen"]), frozenset(d.get("tags", [])))
            for d in r.dishes
        ),
        cutoff=time.fromisoformat(r.cutoff),
        lunch_opens=time.fromisoformat(r.lunch_opens),
        lunch_closes=time.fromisoformat(r.lunch_closes),
    )


def menu_out(r: Any, *, with_closed: bool = True) -> dict[str, Any]:
    """A stored daily menu as the API shows it."""
    out = {
        "station_id": r.station_id,
        "day": r.day.isoformat(),
        "dishes": r.dishes,
        "cutoff": r.cutoff,
        "lunch_opens": r.lunch_opens,
        "lunch_closes": r.lunch_closes,
    }
    return {**out, "closed": r.closed} if with_closed else out


def booking_out(r: Any) -> BookingOut:
    """A booking row as the API shows it."""
    return BookingOut(
        id=r.id,
        elder_id=r.elder_id,
        item_code=r.item_code,
        status=r.status,
        start=r.window_start,
        end=r.window_end,
        asap=r.asap,
        notes=r.notes,
        price_fen=int(r.price_fen),
        subsidy_fen=int(r.quoted_subsidy_fen),
        self_pay_fen=int(r.quoted_self_pay_fen),
        task_id=r.task_id,
    )


def order_out(r: Any) -> MealOrderOut:
    """A meal order row as the API shows it."""
    return MealOrderOut(
        id=r.id,
        day=r.day,
        mode=r.mode,
        dishes=r.dishes,
        total_fen=int(r.total_fen),
        status=r.status,
        diet_warnings=r.diet_warnings,
    )


def station_order_out(r: Any) -> StationMealOrderOut:
    """A meal order on the station's list, with the elder's name."""
    return StationMealOrderOut(
        **order_out(r).model_dump(), elder_id=r.elder_id, elder_name=r.elder_name, notes=r.notes
    )


def rule_out(r: Any) -> RecurrenceOut:
    """A recurring rule row as the API shows it."""
    return RecurrenceOut(
        id=r.id,
        elder_id=r.elder_id,
        item_code=r.item_code,
        weekdays=list(r.weekdays),
        start=r.start,
        end=r.end,
        starts_on=r.starts_on,
        until=r.until,
        every_weeks=r.every_weeks,
        frequency=r.frequency,
        month_day=r.month_day,
        skip_non_workdays=r.skip_non_workdays,
        notes=r.notes,
        active=r.active,
        version=r.version,
    )
