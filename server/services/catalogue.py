"""The service menu (菜单式服务): priced items with duration, required skill and bookable hours.

Prices are set locally (approved by the price bureau); the seed prices below are examples for a
demo station, in fen. Subsidy buys services only (服务补助只能用于购买居家养老服务，不得用于支付药费
或购买其他商品), so goods carry `subsidy_payable=False`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Final

from schemas.services import Category
from server.welfare.workdays import SHANGHAI

ALL_DAYS: Final = frozenset(range(7))
WEEKDAYS: Final = frozenset(range(5))


class CatalogueError(ValueError):
    """An item definition that does not make sense."""


@dataclass(frozen=True)
class BookableHours:
    """When an item can be booked: days of the week (0 = Monday) and a daily local window."""

    days: frozenset[int] = ALL_DAYS
    opens: time = time(8, 0)
    closes: time = time(18, 0)

    def __post_init__(self) -> None:
        if not self.days or not self.days <= ALL_DAYS:
            raise CatalogueError("days must be a non-empty subset of 0..6")
        if self.closes <= self.opens:
            raise CatalogueError("closes must be after opens")

    def contains(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) lies inside one day's bookable window, in Asia/Shanghai."""
        s = start.astimezone(SHANGHAI)
        last = (end - timedelta(microseconds=1)).astimezone(SHANGHAI)  # end is exclusive
        return (
            end > start
            and s.date() == last.date()
            and s.weekday() in self.days
            and s.time() >= self.opens
            and last.time() < self.closes
        )


@dataclass(frozen=True)
class ServiceItem:
    """One line of the menu."""

    code: str
    name_zh: str
    name_en: str
    category: Category
    price_fen: int
    duration_min: int
    skill: str | None = None
    certificate: str | None = None
    subsidy_payable: bool = True
    hours: BookableHours = field(default_factory=BookableHours)
    allowed_classes: frozenset[str] = frozenset()  # empty: any class may book it
    active: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.price_fen, int) or isinstance(self.price_fen, bool):
            raise CatalogueError(f"{self.code}: price must be an integer of fen")
        if self.price_fen < 0:
            raise CatalogueError(f"{self.code}: negative price")
        if self.duration_min <= 0:
            raise CatalogueError(f"{self.code}: duration must be positive")
        if not self.code or not self.code.replace("-", "").replace("_", "").isalnum():
            raise CatalogueError(f"bad item code {self.code!r}")

    def usable_by(self, funding_class: str) -> bool:
        """Whether an elder of this funding class may book the item."""
        return not self.allowed_classes or funding_class in self.allowed_classes


DAY_HOURS: Final = BookableHours(WEEKDAYS, time(9, 0), time(17, 0))  # 日托 周一至周五 9:00-17:00


def _item(
    code: str,
    zh: str,
    en: str,
    cat: Category,
    yuan: int,
    minutes: int,
    skill: str | None = None,
    cert: str | None = None,
    *,
    payable: bool = True,
    hours: BookableHours | None = None,
) -> ServiceItem:
    return ServiceItem(
        code=code,
        name_zh=zh,
        name_en=en,
        category=cat,
        price_fen=yuan * 100,
        duration_min=minutes,
        skill=skill,
        certificate=cert,
        subsidy_payable=payable,
        hours=hours or BookableHours(),
    )


C = Category
SEED_ITEMS: Final[tuple[ServiceItem, ...]] = (
    _item("bath-help", "助浴", "Bathing help", C.DAILY_CARE, 60, 90, "bathing", "养老护理员"),
    _item("haircut", "理发", "Haircut", C.DAILY_CARE, 15, 30, "haircut"),
    _item("shopping", "代购", "Shopping errand", C.DAILY_CARE, 20, 60),
    _item("cooking", "上门做饭", "Cooking at home", C.DAILY_CARE, 30, 60, "housekeeping"),
    _item("companion", "陪护", "Accompanying", C.DAILY_CARE, 30, 60, "companion", "养老护理员"),
    _item(
        "meal-dine-in",
        "集中就餐（午餐）",
        "Lunch at the dining hall",
        C.MEALS,
        5,
        60,
        payable=False,
        hours=BookableHours(ALL_DAYS, time(11, 0), time(12, 30)),
    ),
    _item(
        "meal-delivery",
        "送餐上门",
        "Meal delivery",
        C.MEALS,
        3,
        15,
        hours=BookableHours(ALL_DAYS, time(11, 0), time(12, 30)),
    ),
    _item("cleaning", "家庭保洁", "Home cleaning", C.HOUSEKEEPING, 40, 120, "housekeeping"),
    _item("laundry", "洗衣", "Laundry", C.HOUSEKEEPING, 20, 60),
    _item("appliance-repair", "家电维修", "Appliance repair", C.HOUSEKEEPING, 50, 60, "repair"),
    _item("pipe-unblock", "管道疏通", "Pipe unblocking", C.HOUSEKEEPING, 50, 60, "repair"),
    _item("gas-grain", "送气送粮", "Delivering gas or grain", C.HOUSEKEEPING, 10, 30),
    _item(
        "clinic-visit",
        "上门巡诊",
        "Home visit by the clinic",
        C.HEALTH,
        30,
        30,
        "medical",
        "执业医师",
    ),
    _item("rehab", "康复护理", "Rehabilitation nursing", C.HEALTH, 80, 60, "rehab", "康复治疗师"),
    _item("medicine-delivery", "送药上门", "Medicine delivery", C.HEALTH, 10, 30),
    _item("medicine", "药品（代购药费）", "Medicine (goods)", C.HEALTH, 0, 5, payable=False),
    _item("family-bed", "家庭病床", "Family hospital bed", C.HEALTH, 100, 60, "nursing", "护士"),
    _item("hospital-escort", "陪诊就医", "Escort to hospital", C.HEALTH, 80, 180, "companion"),
    _item("hospice", "临终关怀", "Hospice care", C.HEALTH, 120, 120, "nursing", "护士"),
    _item("chat", "聊天陪伴", "Chatting and company", C.COMFORT, 20, 60),
    _item("read-news", "读书读报", "Reading newspapers", C.COMFORT, 20, 60),
    _item("door-knock", "爱心敲门", "Door-knock visit", C.COMFORT, 10, 15),
    _item("festival-visit", "节日探访", "Festival and birthday visit", C.COMFORT, 20, 30),
    _item("legal-advice", "法律咨询", "Legal advice", C.LEGAL, 0, 60, "legal"),
    _item("notary-visit", "公证上门", "Notary visit", C.LEGAL, 100, 60, "legal", "公证员"),
    _item("day-care", "日间托老", "Day care", C.DAY_CARE, 40, 480, hours=DAY_HOURS),
    _item(
        "emergency-help",
        "紧急救助",
        "Emergency help",
        C.EMERGENCY,
        0,
        30,
        hours=BookableHours(ALL_DAYS, time(0, 0), time(23, 59, 59, 999999)),
    ),
)
del C


def by_code(items: Iterable[ServiceItem]) -> Mapping[str, ServiceItem]:
    """Index items by code, refusing duplicates."""
    out: dict[str, ServiceItem] = {}
    for item in items:
        if item.code in out:
            raise CatalogueError(f"duplicate code {item.code}")
        out[item.code] = item
    return out


# Diet notes in the elder's file → dish tags that conflict with them.
DIET_CONFLICTS: Final[dict[str, frozenset[str]]] = {
    "糖尿病": frozenset({"含糖"}),
    "低糖": frozenset({"含糖"}),
    "低盐": frozenset({"高盐"}),
    "高血压": frozenset({"高盐"}),
    "软食": frozenset({"硬"}),
    "吞咽困难": frozenset({"硬", "带骨"}),
    "清真": frozenset({"猪肉"}),
    "素食": frozenset({"猪肉", "牛肉", "鸡肉", "鱼"}),
    "忌辣": frozenset({"辣"}),
    "海鲜过敏": frozenset({"海鲜", "鱼"}),
}
