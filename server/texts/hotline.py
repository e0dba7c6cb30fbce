"""The hotline: calls, the escalation chain, alerts and follow-up."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {
    "sms.station_alarm": ("【安心】服务站告警：{alarm}", "[Anxin] Station alarm: {alarm}"),
}
