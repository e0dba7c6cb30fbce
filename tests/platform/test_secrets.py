"""No public default secret: a server generates its own and keeps them; production refuses
published values and the demo's credentials (issue 12, issue 11)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import update

from server.auth.passwords import hash_password
from server.auth.tables import users
from server.cli import main
from server.demo import DEMO_PASSWORD, demo_passwords_in_use
from server.hotline.config import HotlineSecrets
from server.settings import GENERATED, Settings
from tests.conftest import BACKENDS
from tests.support.api import Api

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "ANXIN_JWT_SECRET": "j" * 40,
    "ANXIN_CTI_SECRET": "c" * 40,
    "ANXIN_DEVICE_SECRET": "d" * 40,
    "ANXIN_HOTLINE_RECEIPT_SECRET": "r" * 40,
    "ANXIN_WECHAT_SECRET": "w" * 40,
    "ANXIN_WECHAT_APPID": "wx1234567890abcdef",
}


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*GOOD, "ANXIN_PRODUCTION", "ANXIN_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


def test_unset_secrets_are_random_never_a_published_value() -> None:
    a, b = (
        Settings(database_url="sqlite+aiosqlite://"),
        Settings(database_url="sqlite+aiosqlite://"),
    )
    assert a.cti_secret != b.cti_secret and len(a.cti_secret) >= 64
    assert a.cti_secret != "dev-cti-secret"
    readme = (ROOT / "README.md").read_text()
    assert "dev-cti-secret" not in readme and "dev value" not in readme


def test_first_start_generates_secrets_keeps_them_0600_and_shows_them_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("ANXIN_DATABASE_URL", "sqlite+aiosqlite://")
    monkeypatch.setenv("ANXIN_DATA_DIR", str(tmp_path / "data"))
    base = Settings.from_env()
    assert set(base.unset_secrets) == set(GENERATED)
    first, fresh = base.with_stored_secrets()
    s = HotlineSecrets.of(first)
    assert len({s.cti, s.device, s.provider}) == 3  # three parties, three secrets
    assert set(fresh) == set(GENERATED)
    path = tmp_path / "data" / "secrets.json"
    assert not path.exists()  # kept only once the server passed its checks
    shown = first.save_secrets(fresh)
    assert first.cti_secret in shown
    assert first.device_secret is not None and first.device_secret in shown
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, fresh_again = Settings.from_env().with_stored_secrets()
    assert fresh_again == {}  # nothing new to show: printed once
    assert HotlineSecrets.of(again) == s  # kept across restarts
    # A secret the environment sets wins and is not written to the file.
    monkeypatch.setenv("ANXIN_CTI_SECRET", "x" * 40)
    mixed, _ = Settings.from_env().with_stored_secrets()
    assert mixed.cti_secret == "x" * 40 and mixed.device_secret == first.device_secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANXIN_CTI_SECRET", "dev-cti-secret"),
        ("ANXIN_DEVICE_SECRET", "CHANGE-ME-device-gateway-secret"),
        ("ANXIN_HOTLINE_RECEIPT_SECRET", "short"),
        ("ANXIN_WECHAT_SECRET", "demo-secret"),
        ("ANXIN_WECHAT_APPID", "wx-anxin-demo"),
        ("ANXIN_JWT_SECRET", "CHANGE-ME-openssl-rand-hex-32-CHANGE-ME"),
    ],
)
def test_production_refuses_published_secrets_and_demo_credentials(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("ANXIN_DATABASE_URL", "sqlite+aiosqlite://")
    monkeypatch.setenv("ANXIN_PRODUCTION", "1")
    for k, v in GOOD.items():
        monkeypatch.setenv(k, v)
    Settings.from_env().check_production()  # real values pass
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=name):
        Settings.from_env().check_production()


def test_production_refuses_an_unset_wechat_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("ANXIN_DATABASE_URL", "sqlite+aiosqlite://")
    monkeypatch.setenv("ANXIN_PRODUCTION", "1")
    for k, v in GOOD.items():
        if k != "ANXIN_WECHAT_SECRET":
            monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit, match="ANXIN_WECHAT_SECRET"):
        Settings.from_env().check_production()


def test_production_will_not_seed_the_demo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("ANXIN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/a.db")
    monkeypatch.setenv("ANXIN_PRODUCTION", "1")
    for k, v in GOOD.items():
        monkeypatch.setenv(k, v)
    assert main(["demo", "--no-serve"]) == 78
    assert "demo" in capsys.readouterr().err
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_production_finds_accounts_with_the_demo_password(api: Api) -> None:
    assert await demo_passwords_in_use(api.platform.settings) == []
    async with api.platform.store.begin() as conn:
        await conn.execute(
            update(users)
            .where(users.c.username == "admin")
            .values(password_hash=hash_password(DEMO_PASSWORD))
        )
    assert await demo_passwords_in_use(api.platform.settings) == ["admin"]
