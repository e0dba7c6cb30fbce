"""CTI webhook: signatures, replay refusal, event parsing and the call state machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from hotline.cti import (
    CallEvent,
    CallEventType,
    CallStatus,
    MemoryNonceCache,
    WebhookRejected,
    apply_event,
    parse_event,
    refuse_replay,
    sign,
    verify_signature,
)

SECRET = b"station-7-shared-secret"
NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
BODY = json.dumps(
    {
        "event_id": "evt-1",
        "type": "ringing",
        "call_id": "c-42",
        "caller": "13800000001",
        "called": "12349",
        "at": "2026-11-23T20:00:00Z",
    }
).encode()


def verify(
    *,
    timestamp: str | None = TS,
    signature: str | None = None,
    body: bytes = BODY,
    now: datetime = NOW,
) -> datetime:
    sig = sign(SECRET, TS, BODY) if signature is None else signature
    return verify_signature(
        secrets=(SECRET,), timestamp=timestamp, signature=sig, body=body, now=now
    )


def code_of(exc: pytest.ExceptionInfo[WebhookRejected]) -> str:
    return exc.value.code


def test_good_signature_is_accepted() -> None:
    assert verify() == NOW


def test_rotated_secret_is_accepted() -> None:
    sig = sign(b"new", TS, BODY)
    got = verify_signature(
        secrets=(SECRET, b"new"), timestamp=TS, signature=sig, body=BODY, now=NOW
    )
    assert got == NOW


@pytest.mark.parametrize(("timestamp", "signature"), [(None, "sha256=00"), (TS, ""), ("", "x")])
def test_unsigned_is_refused(timestamp: str | None, signature: str) -> None:
    with pytest.raises(WebhookRejected) as exc:
        verify(timestamp=timestamp, signature=signature)
    assert code_of(exc) == "cti_unsigned"


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookRejected) as exc:
        verify(signature=sign(b"guess", TS, BODY))
    assert code_of(exc) == "cti_bad_signature"


def test_tampered_body_is_refused() -> None:
    tampered = BODY.replace(b"13800000001", b"13999999999")
    with pytest.raises(WebhookRejected) as exc:
        verify(body=tampered)
    assert code_of(exc) == "cti_bad_signature"


def test_moved_timestamp_is_refused() -> None:
    """An old request resent with a fresh timestamp no longer matches its signature."""
    with pytest.raises(WebhookRejected) as exc:
        verify(timestamp=str(int(NOW.timestamp()) + 1))
    assert code_of(exc) == "cti_bad_signature"


@pytest.mark.parametrize("skew", [301, -301, 86400])
def test_stale_or_future_is_refused(skew: int) -> None:
    with pytest.raises(WebhookRejected) as exc:
        verify(now=NOW + timedelta(seconds=skew))
    assert code_of(exc) == "cti_stale"


@pytest.mark.parametrize("skew", [0, 299, -299])
def test_inside_window_is_accepted(skew: int) -> None:
    verify(now=NOW + timedelta(seconds=skew))


def test_non_numeric_timestamp_is_refused() -> None:
    with pytest.raises(WebhookRejected) as exc:
        verify(timestamp="yesterday")
    assert code_of(exc) == "cti_bad_timestamp"


async def test_replayed_event_is_refused() -> None:
    cache = MemoryNonceCache()
    await refuse_replay(cache, source="s1", event_id="evt-1", now=NOW)
    with pytest.raises(WebhookRejected) as exc:
        await refuse_replay(cache, source="s1", event_id="evt-1", now=NOW + timedelta(seconds=5))
    assert code_of(exc) == "cti_replayed"


async def test_same_event_id_from_another_station_is_not_a_replay() -> None:
    cache = MemoryNonceCache()
    await refuse_replay(cache, source="s1", event_id="evt-1", now=NOW)
    await refuse_replay(cache, source="s2", event_id="evt-1", now=NOW)


async def test_nonce_expires_after_twice_the_window() -> None:
    cache = MemoryNonceCache()
    await refuse_replay(cache, source="s1", event_id="evt-1", now=NOW)
    await refuse_replay(cache, source="s1", event_id="evt-1", now=NOW + timedelta(seconds=601))
    assert len(cache.seen) == 1


def test_parse_event() -> None:
    event = parse_event(BODY)
    assert event == CallEvent(
        event_id="evt-1",
        type=CallEventType.RINGING,
        call_id="c-42",
        caller="13800000001",
        called="12349",
        at=NOW,
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"type": "ringing"}).encode(),
        json.dumps(
            {"event_id": "e", "type": "hold", "call_id": "c", "at": "2026-11-23T20:00:00Z"}
        ).encode(),
        json.dumps(
            {"event_id": "e", "type": "ended", "call_id": "c", "at": "2026-11-23T20:00:00"}
        ).encode(),
        json.dumps({"event_id": "e", "type": "ended", "call_id": "c", "at": "soon"}).encode(),
        json.dumps(
            {
                "event_id": "e",
                "type": "ended",
                "call_id": "c",
                "at": "2026-11-23T20:00:00Z",
                "recording_url": "file:///etc/passwd",
            }
        ).encode(),
        json.dumps(
            {"event_id": "e", "type": "ringing", "call_id": "c", "at": "2026-11-23T20:00:00Z"}
        ).encode(),
    ],
)
def test_bad_events_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookRejected) as exc:
        parse_event(body)
    assert code_of(exc) == "cti_bad_event"


def event(kind: CallEventType, seconds: int, event_id: str | None = None, **kw: str) -> CallEvent:
    return CallEvent(
        event_id=event_id or f"{kind}-{seconds}",
        type=kind,
        call_id="c-42",
        caller=kw.get("caller", "13800000001"),
        called="12349",
        at=NOW + timedelta(seconds=seconds),
        recording_url=kw.get("recording_url"),
    )


RINGING = event(CallEventType.RINGING, 0)
ANSWERED = event(CallEventType.ANSWERED, 8)
ENDED = event(CallEventType.ENDED, 98, recording_url="https://pbx.example/rec/c-42.mp3")


def fold(*events: CallEvent) -> tuple[CallStatus, int | None, bool]:
    state = None
    for e in events:
        state, _ = apply_event(state, e)
    assert state is not None
    return state.status, state.talk_seconds, state.missed


def test_call_in_order() -> None:
    assert fold(RINGING, ANSWERED, ENDED) == (CallStatus.ENDED, 90, False)


@pytest.mark.parametrize(
    "order",
    [(ENDED, ANSWERED, RINGING), (RINGING, ENDED, ANSWERED), (ANSWERED, RINGING, ENDED)],
)
def test_out_of_order_gives_the_same_call(order: tuple[CallEvent, ...]) -> None:
    assert fold(*order) == (CallStatus.ENDED, 90, False)


def test_duplicates_change_nothing() -> None:
    state, changed = apply_event(None, RINGING)
    assert changed
    again, changed = apply_event(state, RINGING)
    assert not changed and again is state


def test_missed_call() -> None:
    assert fold(RINGING, event(CallEventType.ENDED, 30)) == (CallStatus.ENDED, None, True)


def test_recording_is_kept_from_whichever_event_has_it() -> None:
    state = None
    for e in (ENDED, ANSWERED):
        state, _ = apply_event(state, e)
    assert state is not None and state.recording_url == "https://pbx.example/rec/c-42.mp3"


def test_event_of_another_call_is_an_error() -> None:
    state, _ = apply_event(None, RINGING)
    other = CallEvent("x", CallEventType.ENDED, "c-43", "1", "2", NOW)
    with pytest.raises(ValueError):
        apply_event(state, other)
