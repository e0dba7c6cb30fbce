"""Settings read from the environment (ANXIN_*), checked once at start."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw is not None else default


def _default_db_url() -> str:
    Path("var").mkdir(exist_ok=True)
    return "sqlite+aiosqlite:///var/anxin.db"


@dataclass(frozen=True)
class SolverWork:
    """Work limits for the planners instead of time limits (the simulator sets them so that a
    run gives the same plans on any machine): each solve stops after this many improving
    solutions; `safety_s` is a wall-clock cap that should never bind."""

    day_plan: int = 200
    replan: int = 50
    meals: int = 100
    safety_s: float = 60.0
    seed: int = 0


@dataclass(frozen=True)
class Settings:
    """Everything a server process is configured with."""

    database_url: str = field(default_factory=_default_db_url)
    redis_url: str | None = None
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    login_max_failures: int = 5
    login_lockout_s: int = 900
    wechat_base_url: str = "https://api.weixin.qq.com"
    wechat_appid: str = "wx-anxin-demo"
    wechat_secret: str = "demo-secret"
    offer_timeout_s: int = 60
    sla_s: int = 1200
    plan_eta_s: int = 960
    arrival_tolerance_m: float = 200.0
    operator_alarm_after_s: int = 90
    cti_secret: str = "dev-cti-secret"
    # The hotline's other signing parties (server/hotline/config.py): unset, the CTI secret.
    device_secret: str | None = None
    hotline_receipt_secret: str | None = None
    # Outbound SMS and voice (unset: none), where the provider posts receipts, and WeChat's
    # subscribe-message template (unset: no WeChat channel).
    hotline_provider_url: str | None = None
    hotline_provider_key: str = ""
    hotline_callback_url: str = ""
    wechat_template_id: str | None = None
    # The address in SMS links, and the origin the neighbour's page accepts behind a proxy.
    public_url: str | None = None
    osrm_url: str | None = None
    timer_poll_s: float = 0.5
    lease_s: float = 5.0  # renewed while a row is in hand; a dead process's claims lapse after it
    outbox_poll_s: float = 0.5
    ws_heartbeat_s: float = 20.0
    production: bool = False
    log_level: str = "INFO"
    # How help calls are dispatched: "anxin" (rank by arrival, insert the call into the day
    # plan and re-plan around it) or "greedy" (the simulator's baseline of how stations work
    # by phone: the nearest caregiver not on a call, by straight line; no insertion, no re-plan,
    # a one-pass day plan without the solver).
    dispatch_policy: str = "anxin"
    # None: the planners run under their time limits (production); set: under work limits.
    solver_work: SolverWork | None = None

    def check_production(self) -> None:
        """Refuse to start a production process that would lose or leak things."""
        if not self.production:
            return
        problems = []
        if not os.environ.get("ANXIN_JWT_SECRET") or len(self.jwt_secret) < 32:
            problems.append(
                "ANXIN_JWT_SECRET must be set (32+ characters) so tokens survive restarts"
            )
        if self.cti_secret == "dev-cti-secret":
            problems.append("ANXIN_CTI_SECRET must be set")
        if self.database_url.startswith("sqlite") and self.redis_url:
            problems.append("several processes need PostgreSQL, not SQLite")
        if problems:
            raise SystemExit("refusing to start: " + "; ".join(problems))

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ANXIN_* variables; unset ones keep their defaults."""
        base = cls()
        return cls(
            database_url=_env("ANXIN_DATABASE_URL", base.database_url) or base.database_url,
            redis_url=_env("ANXIN_REDIS_URL"),
            jwt_secret=_env("ANXIN_JWT_SECRET", base.jwt_secret) or base.jwt_secret,
            wechat_base_url=_env("ANXIN_WECHAT_BASE_URL", base.wechat_base_url) or "",
            wechat_appid=_env("ANXIN_WECHAT_APPID", base.wechat_appid) or "",
            wechat_secret=_env("ANXIN_WECHAT_SECRET", base.wechat_secret) or "",
            offer_timeout_s=_int("ANXIN_OFFER_TIMEOUT_S", base.offer_timeout_s),
            sla_s=_int("ANXIN_SLA_S", base.sla_s),
            lease_s=float(_env("ANXIN_LEASE_S") or base.lease_s),
            ws_heartbeat_s=float(_int("ANXIN_WS_HEARTBEAT_S", int(base.ws_heartbeat_s))),
            operator_alarm_after_s=_int(
                "ANXIN_OPERATOR_ALARM_AFTER_S", base.operator_alarm_after_s
            ),
            cti_secret=_env("ANXIN_CTI_SECRET", base.cti_secret) or "",
            device_secret=_env("ANXIN_DEVICE_SECRET"),
            hotline_receipt_secret=_env("ANXIN_HOTLINE_RECEIPT_SECRET"),
            hotline_provider_url=_env("ANXIN_HOTLINE_PROVIDER_URL"),
            hotline_provider_key=_env("ANXIN_HOTLINE_PROVIDER_KEY", "") or "",
            hotline_callback_url=_env("ANXIN_HOTLINE_CALLBACK_URL", "") or "",
            wechat_template_id=_env("ANXIN_WECHAT_TEMPLATE_ID"),
            public_url=_env("ANXIN_PUBLIC_URL"),
            osrm_url=_env("ANXIN_OSRM_URL"),
            production=_env("ANXIN_PRODUCTION", "0") == "1",
            log_level=_env("ANXIN_LOG_LEVEL", "INFO") or "INFO",
        )
