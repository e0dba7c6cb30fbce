"""The hotline's secrets: one per signing party, and production refuses shared ones."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.hotline.config import HotlineSecrets, check_production
from server.settings import Settings


def test_production_refuses_shared_or_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANXIN_DATABASE_URL", "sqlite+aiosqlite://")
    monkeypatch.setenv("ANXIN_PRODUCTION", "1")
    monkeypatch.setenv("ANXIN_CTI_SECRET", "c" * 32)
    monkeypatch.delenv("ANXIN_DEVICE_SECRET", raising=False)
    monkeypatch.setenv("ANXIN_HOTLINE_RECEIPT_SECRET", "r" * 32)
    with pytest.raises(SystemExit, match="ANXIN_DEVICE_SECRET"):
        check_production(Settings.from_env())
    monkeypatch.setenv("ANXIN_DEVICE_SECRET", "c" * 32)
    with pytest.raises(SystemExit, match="different"):
        check_production(Settings.from_env())
    monkeypatch.setenv("ANXIN_DEVICE_SECRET", "d" * 32)
    check_production(Settings.from_env())
    check_production(Settings(database_url="sqlite+aiosqlite://"))  # development: fallbacks


def test_unset_secrets_fall_back_to_the_cti_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANXIN_DATABASE_URL", "sqlite+aiosqlite://")
    monkeypatch.setenv("ANXIN_CTI_SECRET", "x")
    monkeypatch.delenv("ANXIN_DEVICE_SECRET", raising=False)
    monkeypatch.setenv("ANXIN_HOTLINE_RECEIPT_SECRET", "")  # set but empty: unset
    s = HotlineSecrets.of(Settings.from_env())
    assert s.cti == s.device == s.provider == b"x"


def test_the_settings_are_the_only_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read once into the frozen settings: the environment changing later changes nothing."""
    settings = Settings(database_url="sqlite+aiosqlite://", cti_secret="c", device_secret="d")
    monkeypatch.setenv("ANXIN_DEVICE_SECRET", "changed")
    monkeypatch.setenv("ANXIN_HOTLINE_RECEIPT_SECRET", "changed")
    assert HotlineSecrets.of(settings) == HotlineSecrets(b"c", b"d", b"c")
    assert HotlineSecrets.of(replace(settings, hotline_receipt_secret="r")).provider == b"r"
