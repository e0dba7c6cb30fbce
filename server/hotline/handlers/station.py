"""The station's own hotline: its chain (and its elders'), devices, the sweep, the duty roster
and its settings."""

from __future__ import annotations

from aiohttp import web

from schemas.hotline import DeviceIn, OverrideIn, RosterIn, StationSettingsIn
from server.auth.principal import Role
from server.errors import ApiError
from server.hotline.flows import devices, overrides, roster, sweep
from server.hotline.flows import settings as hotline_settings
from server.hotline.flows.common import own_station, scope_of
from server.http import int_param, ok, parse, platform, require

NO_ROSTER = "a roster belongs to a station; sign in as its operator"
NO_SETTINGS = "settings belong to a station; sign in as its operator"


async def put_override(request: web.Request) -> web.Response:
    """Retime or drop steps of the chain for the operator's station or one elder."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, OverrideIn)
    elder_id = int_param(request, "elder_id") if "elder_id" in request.match_info else None
    out = await overrides.set_override(
        platform(request),
        p,
        elder_id=elder_id,
        delays_s=body.delays_s,
        disabled=body.disabled,
        steps=[s.stored() for s in body.steps] if body.steps is not None else None,
    )
    return ok(out)


async def get_override(request: web.Request) -> web.Response:
    """The chain of the operator's station or of one elder: the override and its effect."""
    p = require(request, Role.OPERATOR)
    elder_id = int_param(request, "elder_id") if "elder_id" in request.match_info else None
    return ok(await overrides.get_override(platform(request), p, elder_id=elder_id))


async def register_device(request: web.Request) -> web.Response:
    """Register a one-button terminal or pendant to an elder."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, DeviceIn)
    station_id, is_admin = scope_of(p)
    out = await devices.register_device(
        platform(request),
        station_id=station_id,
        is_admin=is_admin,
        device_id=body.device_id,
        elder_id=body.elder_id,
        model=body.model,
    )
    return ok(out, 201)


async def run_sweep(request: web.Request) -> web.Response:
    """Silent devices, low batteries and unseen elders living alone → tasks."""
    p = require(request, Role.OPERATOR)
    out = await sweep.sweep(
        platform(request), station_id=None if p.role is Role.ADMIN else p.station_id
    )
    return ok(out)


async def put_roster(request: web.Request) -> web.Response:
    """Replace the station's duty roster (night operators and the station head)."""
    p = require(request, Role.OPERATOR)
    body = await parse(request, RosterIn)
    sid = own_station(p, NO_ROSTER)
    for slot in body.slots:
        if not set(slot.weekdays) <= set(range(7)):
            raise ApiError(422, "validation_error", "weekdays are 0 (Monday) to 6")
    slots = [s.model_dump() for s in body.slots]
    await roster.replace_roster(platform(request), station_id=sid, slots=slots)
    return ok(await roster.get_roster(platform(request), station_id=sid))


async def get_roster(request: web.Request) -> web.Response:
    """The station's duty roster and who is on duty now."""
    p = require(request, Role.OPERATOR)
    sid = own_station(p, NO_ROSTER)
    return ok(await roster.get_roster(platform(request), station_id=sid))


async def get_settings(request: web.Request) -> web.Response:
    """The station's hotline settings."""
    p = require(request, Role.OPERATOR)
    sid = own_station(p, NO_SETTINGS)
    found = await hotline_settings.get_settings(platform(request), station_id=sid)
    return ok(found.as_json())


async def put_settings(request: web.Request) -> web.Response:
    """Replace the station's hotline settings."""
    p = require(request, Role.OPERATOR)
    sid = own_station(p, NO_SETTINGS)
    body = await parse(request, StationSettingsIn)
    pf = platform(request)
    new = await hotline_settings.put_settings(
        pf,
        station_id=sid,
        new=hotline_settings.StationSettings(**body.model_dump()),
        now=pf.clock.now(),
    )
    return ok(new.as_json())
