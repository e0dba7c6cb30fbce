"""Settings read from the environment (ANXIN_*), checked once at start."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw is not None else default


def database_url_given() -> bool:
    """Whether the operator named a database (else the embedded SQLite default is used)."""
    return _env("ANXIN_DATABASE_URL") is not None


def environment() -> dict[str, str]:
    """The whole environment, for a command that reads a variable the operator named on its
    command line (``anxin admin create-user --password-env VAR``)."""
    return dict(os.environ)


def crash_target() -> str:
    """The durability tests' crash point (server/faults.py), read once per process."""
    return _env("ANXIN_CRASH_AT", "") or ""


def fast_password_hash() -> bool:
    """The test suite's cheap argon2id profile (it signs in thousands of times)."""
    return _env("ANXIN_FAST_PASSWORD_HASH") == "1"


# Values printed in the README, the deploy example or the demo: anyone may know them, so a
# production process refuses them (as it refuses any secret shorter than 32 characters).
KNOWN_SECRETS = frozenset(
    {"dev-cti-secret", "demo-secret", "wx-anxin-demo", "secret", "changeme", "change-me"}
)
DEMO_WECHAT_APPIDS = frozenset({"wx-anxin-demo", "wx0000000000000000"})
# The secrets a process generates and keeps in its data directory when they are not set.
GENERATED = ("ANXIN_CTI_SECRET", "ANXIN_DEVICE_SECRET", "ANXIN_HOTLINE_RECEIPT_SECRET")
SECRETS_FILE = "secrets.json"


def _random_secret() -> str:
    return secrets.token_hex(32)


def _known(value: str | None) -> bool:
    return value is not None and (
        value.lower() in KNOWN_SECRETS or "change-me" in value.lower() or len(value) < 32
    )


def _at_least(name: str, default: int, least: int) -> int:
    value = _int(name, default)
    if value < least:
        raise SystemExit(f"{name}={value} is below its least value {least}")
    return value


def _when(name: str) -> datetime | None:
    """An ISO 8601 instant with its offset (``2026-11-23T10:00:00+08:00``), or unset."""
    raw = _env(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} is not an ISO 8601 date and time") from exc
    if value.tzinfo is None:
        raise SystemExit(f"{name}={raw!r} needs an offset (+08:00 or Z)")
    return value


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
    # The official account (公众号) behind H5 sign-in inside WeChat: its own app id and secret
    # (unset: H5 pages sign in with a password only), and WeChat's authorisation page.
    wechat_mp_appid: str | None = None
    wechat_mp_secret: str | None = None
    wechat_oauth_url: str = "https://open.weixin.qq.com"
    offer_timeout_s: int = 60
    sla_s: int = 1200
    plan_eta_s: int = 960
    arrival_tolerance_m: float = 200.0
    operator_alarm_after_s: int = 90
    # Unset: random for this process (nobody can sign); `anxin serve` keeps generated ones in
    # the data directory (``with_stored_secrets``). Never a value anyone could read.
    cti_secret: str = field(default_factory=_random_secret)
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
    # Device heartbeats are written in one transaction per this interval (0: one each, at
    # once); a crash loses at most this much of a device's last_seen.
    heartbeat_flush_s: float = 1.0
    # How long a help call's Idempotency-Key and a device's event id are remembered: a phone or
    # a gateway retrying within it gets the same answer, never a second emergency (>= 24 h).
    idempotency_ttl_s: int = 48 * 3600
    production: bool = False
    log_level: str = "INFO"
    # The console map's tile server (unset: the built-in outline map, no outside request).
    console_tile_url: str | None = None
    # SQLite's writer: group (default), inline, or threaded, compared in bench/help_calls.py.
    sqlite_writer: str = "group"
    # Admission (server/admission.py): requests in flight outside the help lane, of which
    # bulk (heartbeats, exports), and how long one may wait for a place before a 503.
    admit_limit: int = 64
    admit_bulk: int = 8
    admit_wait_s: float = 2.0
    # Where the embedded database and generated secrets live.
    data_dir: str = "var"
    # The secrets (by variable) the environment did not set: `anxin serve` fills them from
    # the data directory, generating them on first start.
    unset_secrets: tuple[str, ...] = ()
    # The server's clock starts at this instant and runs from there (demo and tests, so the
    # time of day is the same at any hour); None: the system clock. Refused in production.
    clock_start: datetime | None = None
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
        if not os.environ.get("ANXIN_JWT_SECRET") or _known(self.jwt_secret):
            problems.append(
                "ANXIN_JWT_SECRET must be set (32+ characters) so tokens survive restarts"
            )
        for name, value in (
            ("ANXIN_CTI_SECRET", self.cti_secret),
            ("ANXIN_DEVICE_SECRET", self.device_secret),
            ("ANXIN_HOTLINE_RECEIPT_SECRET", self.hotline_receipt_secret),
            ("ANXIN_WECHAT_SECRET", self.wechat_secret),
        ):
            if name in self.unset_secrets or value is None:
                problems.append(f"{name} must be set")
            elif _known(value):
                problems.append(f"{name} is a published or short value: set 32+ random characters")
        if self.wechat_appid in DEMO_WECHAT_APPIDS:
            problems.append("ANXIN_WECHAT_APPID is the demo's: set the mini-program's app id")
        if self.clock_start is not None:
            problems.append("ANXIN_CLOCK_START moves the server's clock: unset it")
        if self.database_url.startswith("sqlite") and self.redis_url:
            problems.append("several processes need PostgreSQL, not SQLite")
        if problems:
            raise SystemExit("refusing to start: " + "; ".join(problems))

    def with_stored_secrets(self) -> tuple[Settings, dict[str, str]]:
        """Fill the secrets the environment did not set from ``<data_dir>/secrets.json``;
        those the file does not hold yet are generated (random, 32 bytes each) and returned
        apart, for ``save_secrets`` to keep once the server has passed its checks."""
        wanted = [n for n in GENERATED if n in self.unset_secrets]
        if not wanted:
            return self, {}
        stored = self._stored()
        fresh = {n: _random_secret() for n in wanted if not stored.get(n)}
        values = {n: stored.get(n) or fresh[n] for n in wanted}
        filled = replace(
            self,
            cti_secret=values.get("ANXIN_CTI_SECRET", self.cti_secret),
            device_secret=values.get("ANXIN_DEVICE_SECRET", self.device_secret),
            hotline_receipt_secret=values.get(
                "ANXIN_HOTLINE_RECEIPT_SECRET", self.hotline_receipt_secret
            ),
            unset_secrets=tuple(n for n in self.unset_secrets if n not in values),
        )
        return filled, fresh

    def _stored(self) -> dict[str, str]:
        path = Path(self.data_dir) / SECRETS_FILE
        if not path.exists():
            return {}
        loaded = json.loads(path.read_text())
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    def save_secrets(self, fresh: dict[str, str]) -> str:
        """Keep generated secrets in ``<data_dir>/secrets.json`` (mode 0600, written whole
        and renamed into place) and return the text to show the operator, once: the values
        to give the telephony platform, the device gateway and the SMS provider."""
        directory = Path(self.data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / SECRETS_FILE
        stored = {**self._stored(), **fresh}
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        lines = [f"generated secrets in {path} (mode 0600), shown this once:"]
        lines += [f"  {n}={v}" for n, v in fresh.items()]
        return "\n".join(lines)

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
            wechat_mp_appid=_env("ANXIN_WECHAT_MP_APPID"),
            wechat_mp_secret=_env("ANXIN_WECHAT_MP_SECRET"),
            wechat_oauth_url=_env("ANXIN_WECHAT_OAUTH_URL", base.wechat_oauth_url)
            or base.wechat_oauth_url,
            offer_timeout_s=_int("ANXIN_OFFER_TIMEOUT_S", base.offer_timeout_s),
            sla_s=_int("ANXIN_SLA_S", base.sla_s),
            lease_s=float(_env("ANXIN_LEASE_S") or base.lease_s),
            ws_heartbeat_s=float(_int("ANXIN_WS_HEARTBEAT_S", int(base.ws_heartbeat_s))),
            heartbeat_flush_s=float(_env("ANXIN_HEARTBEAT_FLUSH_S") or base.heartbeat_flush_s),
            operator_alarm_after_s=_int(
                "ANXIN_OPERATOR_ALARM_AFTER_S", base.operator_alarm_after_s
            ),
            cti_secret=_env("ANXIN_CTI_SECRET", base.cti_secret) or base.cti_secret,
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
            console_tile_url=_env("ANXIN_CONSOLE_TILE_URL"),
            sqlite_writer=_env("ANXIN_SQLITE_WRITER", base.sqlite_writer) or base.sqlite_writer,
            admit_limit=_int("ANXIN_ADMIT_LIMIT", base.admit_limit),
            admit_bulk=_int("ANXIN_ADMIT_BULK", base.admit_bulk),
            admit_wait_s=float(_env("ANXIN_ADMIT_WAIT_S") or base.admit_wait_s),
            data_dir=_env("ANXIN_DATA_DIR", base.data_dir) or base.data_dir,
            unset_secrets=tuple(n for n in GENERATED if _env(n) is None),
            clock_start=_when("ANXIN_CLOCK_START"),
            idempotency_ttl_s=_at_least(
                "ANXIN_IDEMPOTENCY_TTL_S", base.idempotency_ttl_s, 24 * 3600
            ),
        )
