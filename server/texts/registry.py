"""The registry: family bindings, stations, caregivers and elders."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "push.binding.confirmed": ("家属绑定已确认", "Your family binding was confirmed"),
    "push.binding.requested": ("有家属申请绑定", "A family member asked to be bound"),
}
