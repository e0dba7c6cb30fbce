"""The hotline's secrets: one per party that signs requests to us.

The PBX (CTI webhook), the device gateway (heartbeats and presses) and the SMS/voice provider
(delivery receipts) are three different companies' systems; a secret shared between them
would let any one of them forge the others' requests (a leaked PBX secret must not be able to
raise presses). Each has its own variable, read with the other settings in
``server.settings.Settings.from_env``:

| variable | signs | unset |
| --- | --- | --- |
| `ANXIN_CTI_SECRET` | the PBX's call events | generated, kept in the data directory |
| `ANXIN_DEVICE_SECRET` | the device gateway's heartbeats and presses | generated, kept in the data directory |
| `ANXIN_HOTLINE_RECEIPT_SECRET` | the provider's receipts (and the SMS link tokens) | generated, kept in the data directory |

`anxin serve` generates an unset one on first start (``Settings.with_stored_secrets``);
settings built in code (tests) fall back to the CTI secret; with `ANXIN_PRODUCTION=1`
each must be set and all three must differ, or the server refuses to start.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.platform import Platform
from server.settings import Settings

__all__ = ["HotlineSecrets", "check_production", "secrets_of"]


@dataclass(frozen=True, slots=True)
class HotlineSecrets:
    """The HMAC secrets of the three parties that sign requests to the hotline."""

    cti: bytes
    device: bytes
    provider: bytes

    @classmethod
    def of(cls, settings: Settings) -> HotlineSecrets:
        """The secrets the settings give; the device and provider ones fall back to the CTI
        secret."""
        cti = settings.cti_secret
        return cls(
            cti=cti.encode(),
            device=(settings.device_secret or cti).encode(),
            provider=(settings.hotline_receipt_secret or cti).encode(),
        )


def check_production(settings: Settings) -> None:
    """Refuse to start a production process whose parties share a secret."""
    if not settings.production:
        return
    missing = [
        name
        for name, value in (
            ("ANXIN_DEVICE_SECRET", settings.device_secret),
            ("ANXIN_HOTLINE_RECEIPT_SECRET", settings.hotline_receipt_secret),
        )
        if not value
    ]
    if missing:
        raise SystemExit(f"refusing to start: {', '.join(missing)} must be set")
    s = HotlineSecrets.of(settings)
    if len({s.cti, s.device, s.provider}) != 3:
        raise SystemExit(
            "refusing to start: the CTI, device and receipt secrets must all be different"
        )


def secrets_of(platform: Platform) -> HotlineSecrets:
    """The secrets this process verifies with."""
    return HotlineSecrets.of(platform.settings)
