"""The hotline's secrets: one per signing party, and production refuses shared ones."""

from __future__ import annotations

import pytest

from server.hotline.config import HotlineSecrets, check_production
from server.settings import Settings


def test_production_refuses_shared_or_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url="sqlite+aiosqlite://", production=True, cti_secret="c" * 32)
    monkeypatch.delenv("ANXIN_DEVICE_SECRET", raising=False)
    monkeypatch.setenv("ANXIN_HOTLINE_RECEIPT_SECRET", "r" * 32)
    with pytest.raises(SystemExit, match="ANXIN_DEVICE_SECRET"):
        check_production(settings)
    monkeypatch.setenv("ANXIN_DEVICE_SECRET", "c" * 32)
    with pytest.raises(SystemExit, match="different"):
        check_production(settings)
    monkeypatch.setenv("ANXIN_DEVICE_SECRET", "d" * 32)
    check_production(settings)
    check_production(Settings(database_url="sqlite+aiosqlite://"))  # development: fallbacks


def test_unset_secrets_fall_back_to_the_cti_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANXIN_DEVICE_SECRET", raising=False)
    monkeypatch.delenv("ANXIN_HOTLINE_RECEIPT_SECRET", raising=False)
    s = HotlineSecrets.from_env(Settings(database_url="sqlite+aiosqlite://", cti_secret="x"))
    assert s.cti == s.device == s.provider == b"x"
