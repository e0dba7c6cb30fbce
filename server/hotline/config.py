"""The hotline's secrets: one per party that signs requests to us.

The PBX (CTI webhook), the device gateway (heartbeats and presses) and the SMS/voice provider
(delivery receipts) are three different companies' systems; a secret shared between them
would let any one of them forge the others' requests (a leaked PBX secret must not be able to
raise presses). Each has its own variable:

| variable | signs | unset |
| --- | --- | --- |
| `ANXIN_CTI_SECRET` | the PBX's call events | a development value |
| `ANXIN_DEVICE_SECRET` | the device gateway's heartbeats and presses | the CTI secret |
| `ANXIN_HOTLINE_RECEIPT_SECRET` | the provider's receipts (and the SMS link tokens) | the CTI secret |

The fallbacks keep a development setup working with one value; with `ANXIN_PRODUCTION=1`
each must be set and all three must differ, or the server refuses to start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from server.platform import Platform
from server.settings import Settings

__all__ = ["SECRETS", "HotlineSecrets", "check_production", "secrets_of"]

SECRETS: Final = "hotline.secrets"  # platform.extras key (tests may set their own)


@dataclass(frozen=True, slots=True)
class HotlineSecrets:
    """The HMAC secrets of the three parties that sign requests to the hotline."""

    cti: bytes
    device: bytes
    provider: bytes

    @classmethod
    def from_env(cls, settings: Settings) -> HotlineSecrets:
        """Read the secrets; the device and provider ones fall back to the CTI secret."""
        cti = settings.cti_secret
        return cls(
            cti=cti.encode(),
            device=(os.environ.get("ANXIN_DEVICE_SECRET") or cti).encode(),
            provider=(os.environ.get("ANXIN_HOTLINE_RECEIPT_SECRET") or cti).encode(),
        )


def check_production(settings: Settings) -> None:
    """Refuse to start a production process whose parties share a secret."""
    if not settings.production:
        return
    missing = [
        name
        for name in ("ANXIN_DEVICE_SECRET", "ANXIN_HOTLINE_RECEIPT_SECRET")
        if not os.environ.get(name)
    ]
    if missing:
        raise SystemExit(f"refusing to start: {', '.join(missing)} must be set")
    s = HotlineSecrets.from_env(settings)
    if len({s.cti, s.device, s.provider}) != 3:
        raise SystemExit(
            "refusing to start: the CTI, device and receipt secrets must all be different"
        )


def secrets_of(platform: Platform) -> HotlineSecrets:
    """The secrets this process verifies with (read once)."""
    found = platform.extras.get(SECRETS)
    if not isinstance(found, HotlineSecrets):
        found = platform.extras[SECRETS] = HotlineSecrets.from_env(platform.settings)
    return found
