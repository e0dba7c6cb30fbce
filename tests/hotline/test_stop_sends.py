"""A server told to stop (SIGTERM) does not wait for a backlog of alert sends to a provider
that hangs: a few seconds for those already with the provider, then the rest are left to
their check timers, which send again after the restart (each attempt is committed before it
is handed over). Waiting for every one held a stop for minutes after a burst of emergencies."""

from __future__ import annotations

import asyncio

import pytest

from hotline.channels import OutboundMessage
from schemas.hotline import Channel
from server.hotline.adapters import MAX_CONCURRENT_SENDS, outbound
from server.hotline.flows import delivery
from server.hotline.flows.delivery import Send, in_background, stop_sends
from tests.support.api import Api


class Hanging:
    """A provider that accepts the connection and never answers."""

    def __init__(self) -> None:
        self.started = 0

    async def send(self, message: OutboundMessage) -> object:
        self.started += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_stop_does_not_wait_for_a_hanging_provider(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "STOP_WAIT_S", 0.2)
    provider = Hanging()
    backlog = 5 * MAX_CONCURRENT_SENDS
    for n in range(backlog):
        message = OutboundMessage(
            channel=Channel.SMS, to="13800138000", text="x", reference=f"r{n}"
        )
        in_background(api.platform, Send(n, n, provider, message))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert len(outbound(api.platform).sending) == backlog
    # Under the wait of the backlog one after another, however slow the machine: a stop
    # that waited would not return at all here.
    await asyncio.wait_for(stop_sends(api.platform), timeout=60)
    assert outbound(api.platform).sending == set()
    assert provider.started == MAX_CONCURRENT_SENDS  # the rest never reached the provider
