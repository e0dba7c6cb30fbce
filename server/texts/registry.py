"""The registry: family bindings, stations, caregivers, elders, and their accounts."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "push.binding.confirmed": ("家属绑定已确认", "Your family binding was confirmed"),
    "push.binding.requested": ("有家属申请绑定", "A family member asked to be bound"),
    # The name of a family account made at its first WeChat sign-in (stored, in Chinese).
    "account.wechat_user": ("微信用户", "WeChat user"),
}
