"""The hotline's outbox consumers and timers: the chain, alarm follow-up, delivery, sweeps."""

from __future__ import annotations

from server.hotline import alarms as alarm_followup
from server.hotline import chain, delivery, service
from server.hotline.config import check_production
from server.incidents import presses
from server.platform import Platform


def register(platform: Platform) -> None:
    """Outbox consumers and timer handlers of the hotline."""
    check_production(platform.settings)
    platform.on_event("incident.opened", chain.on_incident_opened)
    platform.on_event("incident.accepted", chain.on_incident_accepted)
    platform.on_event("incident.redispatch", chain.on_redispatch)
    platform.on_event("incident.resolved", chain.on_incident_over)
    platform.on_event("incident.closed", chain.on_incident_over)
    platform.on_event("incident.resolved", service.on_incident_resolved)
    platform.on_event("incident.closed", presses.on_incident_closed)
    platform.on_event("alarm.raised", chain.on_alarm_raised)
    platform.on_event("alarm.acknowledged", chain.on_alarm_acknowledged)
    platform.on_event("alarm.raised", alarm_followup.on_alarm_raised)
    platform.on_timer(alarm_followup.HEAD_TIMER, alarm_followup.on_head_timer)
    platform.on_event("hotline.alert", delivery.on_alert)
    platform.on_timer(chain.TIMER_KIND, chain.on_timer)
    platform.on_timer(delivery.CHECK_TIMER, delivery.on_check)
    platform.on_timer("hotline.complaint_deadline", service.on_complaint_deadline)
    platform.on_timer(service.SWEEP_TIMER, service.on_sweep_timer)
