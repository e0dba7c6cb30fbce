"""A real demo server in a subprocess and Debian's headless Chromium driven by Playwright.

No browser is downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``) and
skip with a reason when it is missing, unless ANXIN_REQUIRE_BACKENDS=1 (then they fail).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

CHROMIUM = os.environ.get("ANXIN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed only when asked (ANXIN_SCREENSHOTS=1), so a test run
# leaves the work tree as it found it; otherwise they go to a scratch folder.
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("ANXIN_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "anxin-screenshots"
)
PASSWORD = "anxin1234"
CTI_SECRET = "browser-test-cti-secret"
# The demo server's clock starts on a Monday at 10:00 in Shanghai whatever the hour the suite
# runs at (the day's first visits are in their windows, the station is open), and runs from
# there; the pages take the server's time (common.js syncClock).
# ANXIN_TEST_CLOCK_START (ISO 8601 with offset) tries another hour.
CLOCK_START = datetime.fromisoformat(
    os.environ.get("ANXIN_TEST_CLOCK_START")
    or datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()
)
CONSOLE_VIEW = {"width": 1366, "height": 768}
PHONE_VIEW = {"width": 390, "height": 844}


def _missing(what: str) -> None:
    if os.environ.get("ANXIN_REQUIRE_BACKENDS") == "1":
        pytest.fail(f"{what} is required (ANXIN_REQUIRE_BACKENDS=1) but missing")
    pytest.skip(
        f"{what} is missing; install it with `apt-get install -y chromium fonts-wqy-microhei` "
        "(and `pip install playwright`, no browser download needed)"
    )


# When each server was launched: its clock reads CLOCK_START then.
LAUNCHED: dict[str, float] = {}


def base_of(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Api:
    """A tiny JSON client for arranging and checking state around the browser."""

    def __init__(self, base: str, started: float | None = None) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}
        self.started = time.time() if started is None else started

    def now(self) -> datetime:
        """The server's time (its clock started at CLOCK_START when the server was launched)."""
        return (CLOCK_START + timedelta(seconds=time.time() - self.started)).astimezone(UTC)

    def token(self, who: str) -> str:
        if who not in self.tokens:
            self.tokens[who] = self.call(
                "POST", "/api/v1/auth/login", json={"login": who, "password": PASSWORD}
            )["access_token"]
        return self.tokens[who]

    def call(
        self,
        method: str,
        path: str,
        who: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if who:
            hdrs["Authorization"] = f"Bearer {self.token(who)}"
        data = None if json is None else _dumps(json)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = r.read()
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path} -> {exc.code}: {exc.read()[:300]!r}") from exc
        return _loads(body) if body else None

    def raw(self, method: str, path: str, who: str | None = None) -> tuple[int, Any]:
        """Status and body, without failing on an error status."""
        hdrs = {"Authorization": f"Bearer {self.token(who)}"} if who else {}
        req = urllib.request.Request(self.base + path, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, _loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def duty(self, who: str, on: bool) -> None:
        self.call("POST", "/api/v1/caregivers/me/duty", who, json={"on_duty": on})

    def signed(self, path: str, payload: dict[str, Any]) -> Any:
        """POST as the telephony or the device gateway do: HMAC-signed with the server's time
        (the device secret is the CTI secret here)."""
        from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

        body = _dumps(payload)
        ts = str(int(self.now().timestamp()))
        req = urllib.request.Request(
            self.base + path,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: ts,
                SIGNATURE_HEADER: sign(CTI_SECRET.encode(), ts, body),
            },
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status in (200, 201)
            return _loads(r.read())

    def cti_ringing(self, caller: str) -> str:
        """The telephony reports a ringing call (signed like the real CTI webhook)."""
        call_id = f"call-{uuid.uuid4().hex[:10]}"
        self.signed(
            "/api/v1/hotline/cti/events",
            {
                "event_id": uuid.uuid4().hex,
                "type": "ringing",
                "call_id": call_id,
                "caller": caller,
                "called": "13800138000",
                "at": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        return call_id

    def help_call(self, who: str = "elder", call_type: str = "emergency") -> Any:
        return self.call(
            "POST",
            "/api/v1/help-calls",
            who,
            json={"call_type": call_type},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )


def _dumps(v: Any) -> bytes:
    return json.dumps(v).encode()


def _loads(b: bytes) -> Any:
    return json.loads(b)


class ThreadedWeChat:
    """The fake WeChat (tests/support/wechat_fake.py) on a local port, in its own thread and
    event loop, so the demo server and Chromium can both reach it."""

    def __init__(self) -> None:
        import asyncio

        from aiohttp import web

        from tests.support.wechat_fake import FakeWeChat

        self.fake = FakeWeChat()
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve() -> None:
            runner = web.AppRunner(self.fake.app())
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self.runner = runner
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def wechat() -> Iterator[ThreadedWeChat]:
    fake = ThreadedWeChat()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, wechat: ThreadedWeChat) -> Iterator[str]:
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("Playwright for Python")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"Chromium ({CHROMIUM})")
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {
        **os.environ,
        "ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/anxin.db",
        "ANXIN_JWT_SECRET": "browser-test-secret-0123456789abcdef0123",
        "ANXIN_LOG_LEVEL": "WARNING",
        "ANXIN_CTI_SECRET": CTI_SECRET,
        "ANXIN_DEVICE_SECRET": CTI_SECRET,  # the gateway signs with it here too
        "ANXIN_CLOCK_START": CLOCK_START.isoformat(),
        # The official account's H5 sign-in, against the fake WeChat.
        "ANXIN_WECHAT_BASE_URL": wechat.base,
        "ANXIN_WECHAT_OAUTH_URL": wechat.base,
        "ANXIN_WECHAT_MP_APPID": wechat.fake.mp_appid,
        "ANXIN_WECHAT_MP_SECRET": wechat.fake.mp_secret,
    }
    if os.environ.get("ANXIN_BROWSER_SCHEMA") == "tables":
        # While the baseline migration lags behind the table definitions (other work in
        # progress), build the schema from the tables and mark it migrated.
        _schema_from_tables(f"sqlite+aiosqlite:///{tmp}/anxin.db")
    anxin = Path(sys.executable).with_name("anxin")
    cmd = [str(anxin)] if anxin.exists() else [sys.executable, "-m", "server.cli"]
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    LAUNCHED[base_of(port)] = time.time()
    proc = subprocess.Popen(
        [*cmd, "demo", "--port", str(port)], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = base_of(port)
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1):
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(
                    f"demo server did not start: {(tmp / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _schema_from_tables(url: str) -> None:
    import asyncio

    from alembic import command

    import server.domains  # noqa: F401  (every domain's tables on the metadata)
    from server.store.engine import Store
    from server.store.meta import metadata
    from server.store.migrate import alembic_config

    async def create() -> None:
        store = Store(url)
        async with store.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await store.dispose()

    asyncio.run(create())
    command.stamp(alembic_config(url), "head")


@pytest.fixture(scope="module")
def demo_api(server: str) -> Api:
    return Api(server, LAUNCHED.get(server))


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def sign_in(page: Any, base: str, path: str, login: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + path)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#conn.live", timeout=10_000)
    assert not errors, errors


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


class FreezableProxy:
    """A TCP relay in front of the server that can go silent without closing anything.

    ``freeze()`` makes every connection half-open: bytes are neither read nor forwarded, and new
    connections are accepted but never relayed, which is what a dead Wi-Fi or a NAT that forgot
    the flow looks like to a browser (no close, no error, no ``offline`` event). ``thaw()``
    resets the frozen connections (their state is gone) and relays again.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        try:
            while not self.closed.is_set():
                if self.frozen.is_set():
                    time.sleep(0.02)
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.05)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    peer[s].sendall(data)
        except (OSError, ValueError):  # reset by thaw() or close()
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def freeze(self) -> None:
        self.frozen.set()

    def thaw(self) -> None:
        """Connections that lived through the freeze are reset; new ones relay normally."""
        with self.lock:
            stale, self.pairs = self.pairs, []
        for pair in stale:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    s.close()
        self.frozen.clear()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        self.thaw()


@pytest.fixture
def proxy(server: str) -> Iterator[FreezableProxy]:
    p = FreezableProxy(int(server.rsplit(":", 1)[1]))
    try:
        yield p
    finally:
        p.close()
