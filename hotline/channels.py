"""Outbound channels (app push, WeChat subscribe message, SMS, voice call with IVR) and the
fallback policy that proves an alert reached a person.

Each channel is a small interface: `send(message) -> SendResult` with the provider's send id.
Providers report delivery later, as receipts posted to our callback (signed like the CTI
webhook). An alert counts as delivered only on a receipt: a provider that says "sent" and never
confirms is not trusted, and after the channel's receipt timeout the policy moves on to the next
channel (push → SMS → voice). A voice receipt can carry the digit pressed in the IVR: "1" means
the person accepts responsibility, "2" that they cannot.

The provider protocol (documented in docs/hotline.md) is built and read here: the request
bodies (`sms_request`, `voice_request` with its IVR prompt, `wechat_request`) and the answers
(`send_id_of`, `parse_token`, `parse_receipt`). The adapters that speak it over HTTP are in
`server/hotline/adapters.py`; `tests/support/hotline_fakes.py` plays the provider in tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from schemas.hotline import Channel

__all__ = [
    "Attempt",
    "ChannelAdapter",
    "ChannelError",
    "Decision",
    "DecisionKind",
    "FallbackPolicy",
    "OutboundMessage",
    "Receipt",
    "ReceiptStatus",
    "SendResult",
    "decide",
    "parse_receipt",
    "parse_token",
    "send_id_of",
    "sms_request",
    "voice_prompt",
    "voice_request",
    "wechat_request",
]


class ChannelError(Exception):
    """A send that did not reach the provider (refused, failed, timed out)."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to one person through one channel."""

    channel: Channel
    to: str  # phone number, WeChat openid or user id, depending on the channel
    text: str
    reference: str  # idempotency key on the provider side: firing id + attempt
    params: Mapping[str, str] = field(default_factory=dict)
    ivr_accept_digit: str = "1"
    ivr_decline_digit: str = "2"


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider took the message and gave it this id."""

    channel: Channel
    send_id: str


class ReceiptStatus(StrEnum):
    """What a provider reports about one send."""

    DELIVERED = "delivered"  # handset or app confirmed
    READ = "read"
    ANSWERED = "answered"  # a person picked up the voice call
    PRESSED = "pressed"  # a person pressed a digit in the IVR
    FAILED = "failed"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"  # the user refused the subscribe message or blocked the sender


REACHED: Final = frozenset(
    {ReceiptStatus.DELIVERED, ReceiptStatus.READ, ReceiptStatus.ANSWERED, ReceiptStatus.PRESSED}
)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt."""

    send_id: str
    status: ReceiptStatus
    at: datetime
    digits: str | None = None
    reference: str | None = None  # our reference echoed back by the provider

    @property
    def reached_a_person(self) -> bool:
        """True when this receipt proves the message arrived."""
        return self.status in REACHED


def parse_receipt(payload: Mapping[str, Any], *, at: datetime) -> Receipt:
    """A receipt from the provider callback body; ValueError when it is malformed."""
    send_id = payload.get("send_id")
    status = payload.get("status")
    digits = payload.get("digits")
    if not isinstance(send_id, str) or not send_id:
        raise ValueError("send_id is required")
    try:
        parsed = ReceiptStatus(str(status))
    except ValueError:
        raise ValueError(f"unknown receipt status {status!r}") from None
    if digits is not None and (not isinstance(digits, str) or not digits.isdigit()):
        raise ValueError("digits must be a string of digits")
    reference = payload.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValueError("reference must be a string")
    return Receipt(send_id=send_id, status=parsed, at=at, digits=digits, reference=reference)


class ChannelAdapter(Protocol):
    """An outbound channel."""

    channel: Channel

    async def send(self, message: OutboundMessage) -> SendResult:
        """Hand the message to the provider; raise ChannelError when it did not take it."""
        ...


# --- the fallback policy (pure) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """One send of an alert and what came back."""

    channel: Channel
    sent_at: datetime
    send_id: str | None  # None: the provider did not take it (error or timeout)
    receipts: tuple[Receipt, ...] = ()


class DecisionKind(StrEnum):
    """What to do next with an alert."""

    DELIVERED = "delivered"
    WAIT = "wait"
    SEND = "send"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer: deliver, wait until `at`, send on `channel` now, or give up."""

    kind: DecisionKind
    channel: Channel | None = None
    at: datetime | None = None
    proof: Receipt | None = None


_DEFAULT_TIMEOUTS: Final = {
    Channel.APP_PUSH: timedelta(seconds=30),
    Channel.WECHAT: timedelta(seconds=30),
    Channel.SMS: timedelta(seconds=60),
    Channel.VOICE: timedelta(seconds=90),
    Channel.CONSOLE: timedelta(seconds=30),
}


@dataclass(frozen=True, slots=True)
class FallbackPolicy:
    """Channels in order, how long to wait for each one's receipt, and retries per channel."""

    order: tuple[Channel, ...] = (Channel.APP_PUSH, Channel.SMS, Channel.VOICE)
    receipt_timeout: Mapping[Channel, timedelta] = field(
        default_factory=lambda: dict(_DEFAULT_TIMEOUTS)
    )
    sends_per_channel: int = 2  # a send error is retried once on the same channel

    def __post_init__(self) -> None:
        if not self.order:
            raise ValueError("a fallback policy needs at least one channel")
        if self.sends_per_channel < 1:
            raise ValueError("sends_per_channel must be at least 1")
        missing = [c for c in self.order if c not in self.receipt_timeout]
        if missing:
            raise ValueError(f"no receipt timeout for {missing}")


def decide(policy: FallbackPolicy, attempts: Sequence[Attempt], now: datetime) -> Decision:
    """Given what was sent and received so far, say what to do with an alert at `now`."""
    for a in attempts:
        for r in a.receipts:
            if a.send_id is not None and r.send_id == a.send_id and r.reached_a_person:
                return Decision(DecisionKind.DELIVERED, channel=a.channel, proof=r)
    if not attempts:
        return Decision(DecisionKind.SEND, channel=policy.order[0], at=now)
    last = attempts[-1]
    if last.send_id is not None and not any(
        r.send_id == last.send_id and not r.reached_a_person for r in last.receipts
    ):
        # Taken but unconfirmed: wait for the receipt, never trust the "sent" alone.
        deadline = last.sent_at + policy.receipt_timeout[last.channel]
        if now < deadline:
            return Decision(DecisionKind.WAIT, channel=last.channel, at=deadline)
    same = sum(1 for a in attempts if a.channel is last.channel)
    if last.send_id is None and same < policy.sends_per_channel:
        return Decision(DecisionKind.SEND, channel=last.channel, at=now)
    if last.channel in policy.order:
        rest = policy.order[policy.order.index(last.channel) + 1 :]
    else:
        rest = policy.order
    if not rest:
        return Decision(DecisionKind.EXHAUSTED)
    return Decision(DecisionKind.SEND, channel=rest[0], at=now)


# --- the provider protocol (pure) --------------------------------------------------------


def sms_request(message: OutboundMessage, callback_url: str) -> dict[str, Any]:
    """The body of POST {base}/sms/send."""
    return {
        "to": message.to,
        "text": message.text,
        "reference": message.reference,
        "callback_url": callback_url,
    }


def voice_prompt(message: OutboundMessage) -> str:
    """What the text-to-speech call says: the message, then "press 1 / press 2"."""
    return (
        f"{message.text} 如果您能前往，请按{message.ivr_accept_digit}；"
        f"如果不能，请按{message.ivr_decline_digit}。"
    )


def voice_request(message: OutboundMessage, callback_url: str) -> dict[str, Any]:
    """The body of POST {base}/voice/call: a call with an IVR gathering one digit."""
    return {
        "to": message.to,
        "tts": voice_prompt(message),
        "reference": message.reference,
        "gather": {"digits": 1, "repeat": 2},
        "callback_url": callback_url,
    }


def wechat_request(message: OutboundMessage, template_id: str, page: str) -> dict[str, Any]:
    """The body of WeChat's subscribe message send."""
    return {
        "touser": message.to,
        "template_id": template_id,
        "page": page,
        "data": {
            k: {"value": _wechat_value(k, v)}
            for k, v in {"thing1": message.text, **message.params}.items()
        },
    }


def _wechat_value(key: str, value: str) -> str:
    """WeChat refuses a `thing` field longer than 20 characters: cut it, keep the start."""
    return value if not key.startswith("thing") or len(value) <= 20 else value[:19] + "…"


def send_id_of(data: Mapping[str, Any], key: str) -> str:
    """The provider's id of a send from its answer; ChannelError when it gave none."""
    value = data.get(key)
    if value is None or str(value) == "":
        raise ChannelError(f"provider answered without {key}")
    return str(value)


def parse_token(data: object, now: float) -> tuple[str, float]:
    """WeChat's access token answer as (token, when to fetch a new one); ChannelError when
    refused. A token is renewed five minutes early: WeChat tokens live 7,200 s."""
    token = data.get("access_token") if isinstance(data, dict) else None
    if not token:
        raise ChannelError(f"wechat token refused: {data}")
    assert isinstance(data, dict)
    return str(token), now + max(60.0, float(data.get("expires_in", 7200)) - 300)
