"""Fixtures of the hotline API tests: the fake SMS/voice provider wired into the app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from schemas.hotline import Channel
from server.hotline.adapters import HttpSmsAdapter, HttpVoiceAdapter, use_channels
from tests.hotline.support import set_station_phone
from tests.support.api import Api
from tests.support.hotline_fakes import FakeProvider


@pytest.fixture
async def provider(api: Api) -> AsyncIterator[FakeProvider]:
    """The SMS/voice provider, wired as the app's channels, posting receipts back to the app."""
    fake = FakeProvider(
        receipt_secret=api.platform.settings.cti_secret.encode(),
        clock=lambda: api.clock.now().timestamp(),
    )
    base = await fake.start()
    callback = str(api.client.make_url("/api/v1/hotline/receipts"))
    async with aiohttp.ClientSession() as session:
        use_channels(
            api.platform,
            {
                Channel.SMS: HttpSmsAdapter(session, base, "key", callback, timeout=0.5),
                Channel.VOICE: HttpVoiceAdapter(session, base, "key", callback, timeout=0.5),
            },
        )
        await set_station_phone(api)
        yield fake
        await fake.close()
