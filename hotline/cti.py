"""The telephony (CTI/PBX) webhook: signatures, replay refusal, events and the call state.

The station's telephony posts one JSON event per call step::

    POST /api/v1/hotline/cti/events
    X-Anxin-Timestamp: 1795478400
    X-Anxin-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

    {"event_id": "evt-1", "type": "ringing", "call_id": "c-42", "caller": "13800000001",
     "called": "12349", "at": "2026-11-23T20:00:00Z", "recording_url": null}

The signature covers the timestamp, so an old request cannot be replayed with a new time; a
timestamp outside the window is refused; an event id already seen is refused as a replay. The
call state tolerates duplicates and events that arrive out of order (ended before answered).

Pure except for the nonce cache, which is an interface (the store implements it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol

from schemas.hotline import CallStatus

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CallEvent",
    "CallEventType",
    "CallState",
    "CallStatus",
    "MemoryNonceCache",
    "NonceCache",
    "WebhookRejected",
    "apply_event",
    "parse_event",
    "refuse_replay",
    "sign",
    "verify_signature",
]

TIMESTAMP_HEADER: Final = "X-Anxin-Timestamp"
SIGNATURE_HEADER: Final = "X-Anxin-Signature"
DEFAULT_WINDOW: Final = timedelta(seconds=300)
_PREFIX: Final = "sha256="


class WebhookRejected(Exception):
    """A webhook request that must not be processed; `code` is stable for the API error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (Unix seconds as text)."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return _PREFIX + mac.hexdigest()


def verify_signature(
    *,
    secrets: tuple[bytes, ...],
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> datetime:
    """Check signature and freshness; return the signed time or raise WebhookRejected.

    Several secrets may be valid at once so a secret can be rotated without downtime.
    """
    if not timestamp or not signature:
        raise WebhookRejected("cti_unsigned", "signature or timestamp header missing")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookRejected("cti_bad_timestamp", "timestamp is not Unix seconds") from None
    if not any(hmac.compare_digest(sign(s, timestamp, body), signature) for s in secrets):
        raise WebhookRejected("cti_bad_signature", "signature does not match")
    # Checked after the signature so that an attacker learns nothing about the window.
    if abs(now - signed_at) > window:
        raise WebhookRejected("cti_stale", "timestamp outside the replay window")
    return signed_at


class NonceCache(Protocol):
    """Remembers event ids until they expire; the store's table in production."""

    async def remember(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record `key`; True when it is new, False when it was seen and has not expired."""
        ...


@dataclass
class MemoryNonceCache:
    """A NonceCache in a dict, for one process and for tests."""

    seen: dict[str, datetime] = field(default_factory=dict)

    async def remember(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record `key`; True when it is new."""
        for k in [k for k, exp in self.seen.items() if exp <= now]:
            del self.seen[k]
        if key in self.seen:
            return False
        self.seen[key] = expires_at
        return True


async def refuse_replay(
    cache: NonceCache,
    *,
    source: str,
    event_id: str,
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> None:
    """Raise WebhookRejected when this event id from this source was already accepted."""
    # Kept for twice the window: anything older is refused as stale before it gets here.
    fresh = await cache.remember(f"{source}:{event_id}", expires_at=now + 2 * window, now=now)
    if not fresh:
        raise WebhookRejected("cti_replayed", "event already received")


class CallEventType(StrEnum):
    """What the telephony reports."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One parsed telephony event."""

    event_id: str
    type: CallEventType
    call_id: str
    caller: str
    called: str
    at: datetime
    recording_url: str | None = None
    agent: str | None = None


def _text(data: Mapping[str, object], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise WebhookRejected("cti_bad_event", f"{key} is required")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 512:
        raise WebhookRejected("cti_bad_event", f"{key} must be a non-empty string")
    return value.strip()


def parse_event(body: bytes) -> CallEvent:
    """Parse and validate one event body, or raise WebhookRejected."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookRejected("cti_bad_event", "body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRejected("cti_bad_event", "body must be a JSON object")
    kind = _text(data, "type")
    try:
        event_type = CallEventType(str(kind))
    except ValueError:
        raise WebhookRejected("cti_bad_event", f"unknown event type {kind!r}") from None
    at_text = _text(data, "at")
    assert at_text is not None
    try:
        at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookRejected("cti_bad_event", "at must be an ISO 8601 time") from None
    if at.tzinfo is None:
        raise WebhookRejected("cti_bad_event", "at must carry a time zone")
    recording = _text(data, "recording_url", required=False)
    if recording is not None and not recording.startswith(("https://", "http://")):
        raise WebhookRejected("cti_bad_event", "recording_url must be an http(s) URL")
    return CallEvent(
        event_id=str(_text(data, "event_id")),
        type=event_type,
        call_id=str(_text(data, "call_id")),
        caller=str(_text(data, "caller", required=event_type is CallEventType.RINGING) or ""),
        called=str(_text(data, "called", required=False) or ""),
        at=at.astimezone(UTC),
        recording_url=recording,
        agent=_text(data, "agent", required=False),
    )


_RANK: Final = {CallStatus.RINGING: 0, CallStatus.ANSWERED: 1, CallStatus.ENDED: 2}


@dataclass(frozen=True, slots=True)
class CallState:
    """A call as far as the events received so far tell."""

    call_id: str
    status: CallStatus
    caller: str = ""
    called: str = ""
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    recording_url: str | None = None
    agent: str | None = None
    event_ids: frozenset[str] = frozenset()

    @property
    def missed(self) -> bool:
        """Ended without anyone answering: the station must call back."""
        return self.status is CallStatus.ENDED and self.answered_at is None

    @property
    def talk_seconds(self) -> int | None:
        """Seconds between answer and hang-up, when both are known."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0, int((self.ended_at - self.answered_at).total_seconds()))


def _earliest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


def apply_event(state: CallState | None, event: CallEvent) -> tuple[CallState, bool]:
    """Fold one event into the call; returns the new state and whether anything changed.

    Duplicates change nothing. Order does not matter: the status is the furthest step seen,
    each timestamp is kept from its own event.
    """
    if state is None:
        state = CallState(call_id=event.call_id, status=CallStatus.RINGING)
    elif state.call_id != event.call_id:
        raise ValueError("event belongs to another call")
    if event.event_id in state.event_ids:
        return state, False
    status = CallStatus(event.type.value)
    new = replace(
        state,
        status=status if _RANK[status] > _RANK[state.status] else state.status,
        caller=state.caller or event.caller,
        called=state.called or event.called,
        recording_url=event.recording_url or state.recording_url,
        agent=event.agent or state.agent,
        event_ids=state.event_ids | {event.event_id},
    )
    if event.type is CallEventType.RINGING:
        new = replace(new, ringing_at=_earliest(state.ringing_at, event.at))
    elif event.type is CallEventType.ANSWERED:
        new = replace(new, answered_at=_earliest(state.answered_at, event.at))
    else:
        new = replace(new, ended_at=_earliest(state.ended_at, event.at))
    return new, True
