"""The service menu as the simulator needs it: code, names, minutes, skill, interruptible.

Copied as data from the seed catalogue (server/services/catalogue.py, SEED_ITEMS): the pure
half of the simulator imports nothing of the server. `interruptible` is the simulator's own
judgement (a bath or a rehabilitation session cannot be left half-way for a help call; a chat
can); the catalogue does not say it yet. A test checks that codes, minutes and skills still
match the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class MenuItem:
    code: str
    name_zh: str
    name_en: str
    minutes: int
    skill: str | None
    interruptible: bool = True


_ITEMS: Final = (
    MenuItem("bath-help", "助浴", "Bathing help", 90, "bathing", interruptible=False),
    MenuItem("haircut", "理发", "Haircut", 30, "haircut"),
    MenuItem("shopping", "代购", "Shopping errand", 60, None),
    MenuItem("cooking", "上门做饭", "Cooking at home", 60, "housekeeping"),
    MenuItem("companion", "陪护", "Accompanying", 60, "companion"),
    MenuItem("cleaning", "家庭保洁", "Home cleaning", 120, "housekeeping"),
    MenuItem("laundry", "洗衣", "Laundry", 60, None),
    MenuItem("appliance-repair", "家电维修", "Appliance repair", 60, "repair"),
    MenuItem("pipe-unblock", "管道疏通", "Pipe unblocking", 60, "repair"),
    MenuItem("gas-grain", "送气送粮", "Delivering gas or grain", 30, None),
    MenuItem("clinic-visit", "上门巡诊", "Home visit by the clinic", 30, "medical", False),
    MenuItem("rehab", "康复护理", "Rehabilitation nursing", 60, "rehab", interruptible=False),
    MenuItem("medicine-delivery", "送药上门", "Medicine delivery", 30, None),
    MenuItem("family-bed", "家庭病床", "Family hospital bed", 60, "nursing", False),
    MenuItem("hospital-escort", "陪诊就医", "Escort to hospital", 180, "companion", False),
    MenuItem("hospice", "临终关怀", "Hospice care", 120, "nursing", False),
    MenuItem("chat", "聊天陪伴", "Chatting and company", 60, None),
    MenuItem("read-news", "读书读报", "Reading newspapers", 60, None),
    MenuItem("door-knock", "爱心敲门", "Door-knock visit", 15, None),
    MenuItem("festival-visit", "节日探访", "Festival and birthday visit", 30, None),
    MenuItem("legal-advice", "法律咨询", "Legal advice", 60, "legal"),
    MenuItem("notary-visit", "公证上门", "Notary visit", 60, "legal"),
)

# Home visits only: meals, day care, goods and emergency help are not bookable visits here.
MENU: Final = MappingProxyType({i.code: i for i in _ITEMS})

MEAL_DELIVERY_MINUTES: Final = 15  # the catalogue's meal-delivery item: handover included
