"""What other systems post to the hotline, each signed with its own secret: the PBX's call
events, the provider's delivery receipts, the device gateway's heartbeats and presses."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hotline.channels import parse_receipt
from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, verify_signature
from schemas.hotline import DevicePressIn, HeartbeatIn, HeartbeatsIn
from server.errors import ApiError
from server.hotline.config import secrets_of
from server.hotline.flows import calls, devices, respond
from server.hotline.flows.delivery import receipt_secret
from server.http import ok, platform


def _signed(request: web.Request, body: bytes, secret: bytes) -> None:
    try:
        verify_signature(
            secrets=(secret,),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
            now=platform(request).clock.now(),
        )
    except WebhookRejected as exc:
        raise ApiError(401, exc.code, exc.message) from None


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "body must be a JSON object")
    return data


def _same_device(request: web.Request, signed_for: str) -> str:
    """The device in the path must be the one in the signed body: otherwise a gateway's (or
    an eavesdropper's) bytes for one device could raise a press for another."""
    device_id = request.match_info["device_id"]
    if signed_for != device_id:
        raise ApiError(401, "device_mismatch", "the signed body is for another device")
    return device_id


def _device_nonce(request: web.Request, event_id: str | None) -> str:
    """What makes a device request unique: the gateway's event id, else its signature (which
    covers the timestamp and the body, so only a byte-for-byte replay repeats it)."""
    return event_id or str(request.headers.get(SIGNATURE_HEADER, ""))


async def cti_event(request: web.Request) -> web.Response:
    """The CTI/PBX webhook: signed, fresh, never replayed."""
    body = await request.read()
    answer = await calls.receive_cti(
        platform(request),
        body=body,
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature=request.headers.get(SIGNATURE_HEADER),
    )
    return ok(answer)


async def provider_receipt(request: web.Request) -> web.Response:
    """Delivery receipts from the SMS/voice/WeChat provider (signed); IVR digits answer the alert."""
    body = await request.read()
    pf = platform(request)
    _signed(request, body, receipt_secret(pf))
    try:
        receipt = parse_receipt(_json(body), at=pf.clock.now())
    except ValueError as exc:
        raise ApiError(422, "bad_receipt", str(exc)) from None
    known = await respond.receipt(pf, receipt)
    return ok({"send_id": receipt.send_id, "known": known})


async def device_heartbeat(request: web.Request) -> web.Response:
    """A device's heartbeat, from the device gateway (signed with the device secret)."""
    body = await request.read()
    pf = platform(request)
    _signed(request, body, secrets_of(pf).device)
    data = HeartbeatIn.model_validate(_json(body))
    fresh = await devices.heartbeat(
        pf,
        device_id=_same_device(request, data.device_id),
        battery_pct=data.battery_pct,
        nonce=_device_nonce(request, data.event_id),
    )
    return ok({"ok": True, "duplicate": not fresh})


async def device_heartbeats(request: web.Request) -> web.Response:
    """Many devices' heartbeats from the gateway in one signed request. Each beat is answered
    on its own, in order: an unknown device is named in its row and the others still count."""
    body = await request.read()
    pf = platform(request)
    _signed(request, body, secrets_of(pf).device)
    data = HeartbeatsIn.model_validate(_json(body))
    signature = str(request.headers.get(SIGNATURE_HEADER, ""))
    results: list[dict[str, Any]] = []
    for i, beat in enumerate(data.beats):
        # Without an event id a beat is known by the batch's signature and its place in it,
        # so only a byte-for-byte replay of the batch repeats it.
        nonce = beat.event_id or f"{signature}:{i}"
        try:
            fresh = await devices.heartbeat(
                pf, device_id=beat.device_id, battery_pct=beat.battery_pct, nonce=nonce
            )
        except ApiError as exc:
            if exc.status != 404:  # the store or the process, not this beat: all are retried
                raise
            results.append({"device_id": beat.device_id, "ok": False, "error": exc.code})
            continue
        results.append({"device_id": beat.device_id, "ok": True, "duplicate": not fresh})
    return ok({"accepted": sum(r["ok"] for r in results), "results": results})


async def device_press(request: web.Request) -> web.Response:
    """A press on a device, from the device gateway (signed): the one intake path.

    A re-delivered press (the same event id within ``idempotency_ttl_s``, or the same signed
    bytes within the replay window) is answered 200 with its incident and changes nothing:
    gateways retry what they think failed. A buffered press comes with its device time.
    """
    body = await request.read()
    pf = platform(request)
    _signed(request, body, secrets_of(pf).device)
    data = DevicePressIn.model_validate(_json(body))
    result = await devices.device_press(
        pf,
        device_id=_same_device(request, data.device_id),
        kind=data.call_type,
        nonce=_device_nonce(request, data.event_id),
        event_id=data.event_id,
        pressed_at=data.pressed_at,
    )
    if result.duplicate:
        return ok({"duplicate": True, "incident_id": result.incident_id})
    answer: dict[str, Any] = {"incident_id": result.incident_id, "joined": result.joined}
    if result.late_s is not None:
        answer["late_s"] = result.late_s
    return ok(answer, 200 if result.joined else 201)
