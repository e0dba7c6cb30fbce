"""The hotline's URL table; the handlers are in ``server/hotline/handlers/``, one module per
concept (webhooks, calls, incidents, respond, station, followup)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from server.hotline.handlers import calls, followup, incidents, respond, station, webhooks

PREFIX: Final = "/api/v1/hotline"


def routes() -> list[web.RouteDef]:
    """The hotline's URL table."""
    return [
        web.post(f"{PREFIX}/cti/events", webhooks.cti_event),
        web.post(f"{PREFIX}/receipts", webhooks.provider_receipt),
        web.post(f"{PREFIX}/respond/{{token}}", respond.respond_link),
        web.get(f"{PREFIX}/respond/{{token}}", respond.respond_link_page),
        web.get(f"{PREFIX}/calls", calls.list_calls),
        web.post(f"{PREFIX}/calls/{{call_id}}/incident", calls.call_to_incident),
        web.post(f"{PREFIX}/calls/{{call_id}}/caller", calls.reveal_caller),
        web.post(f"{PREFIX}/calls/{{call_id}}/forward", calls.forward_emergency),
        web.get(f"{PREFIX}/elders/search", calls.search_elders),
        web.get(f"{PREFIX}/incidents/{{incident_id}}/chain", incidents.get_chain),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/responsibility", incidents.responsibility),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/escalate", incidents.escalate),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/medical", incidents.medical),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/care-record", incidents.care_record),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/called-120", incidents.called_120),
        web.post(f"{PREFIX}/incidents/{{incident_id}}/call-back", incidents.call_back),
        web.post(f"{PREFIX}/alerts/{{alert_id}}/seen", respond.alert_seen),
        web.put(f"{PREFIX}/chain", station.put_override),
        web.get(f"{PREFIX}/chain", station.get_override),
        web.put(f"{PREFIX}/chain/elders/{{elder_id}}", station.put_override),
        web.get(f"{PREFIX}/chain/elders/{{elder_id}}", station.get_override),
        web.post(f"{PREFIX}/devices", station.register_device),
        web.post(f"{PREFIX}/devices/heartbeats", webhooks.device_heartbeats),
        web.post(f"{PREFIX}/devices/{{device_id}}/heartbeat", webhooks.device_heartbeat),
        web.post(f"{PREFIX}/devices/{{device_id}}/press", webhooks.device_press),
        web.post(f"{PREFIX}/sweep", station.run_sweep),
        web.put(f"{PREFIX}/roster", station.put_roster),
        web.get(f"{PREFIX}/roster", station.get_roster),
        web.get(f"{PREFIX}/settings", station.get_settings),
        web.put(f"{PREFIX}/settings", station.put_settings),
        web.post(f"{PREFIX}/return-visits/sample", followup.sample),
        web.post(f"{PREFIX}/satisfaction", followup.post_satisfaction),
        web.get(f"{PREFIX}/satisfaction", followup.get_satisfaction),
        web.post(f"{PREFIX}/complaints", followup.post_complaint),
        web.post(f"{PREFIX}/complaints/{{complaint_id}}/actions", followup.complaint_action),
    ]
