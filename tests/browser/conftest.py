"""A real demo server in a subprocess and Debian's headless Chromium driven by Playwright.

No browser is downloaded: the tests use /usr/bin/chromium (``apt-get install chromium``) and
skip with a reason when it is missing, unless ANXIN_REQUIRE_BACKENDS=1 (then they fail).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ANXIN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required"]
ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed only when asked (ANXIN_SCREENSHOTS=1), so a test run
# leaves the work tree as it found it; otherwise they go to a scratch folder.
SHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("ANXIN_SCREENSHOTS") == "1"
         else Path(tempfile.gettempdir()) / "anxin-screenshots")
PASSWORD = "anxin1234"
CTI_SECRET = "browser-test-cti-secret"
CONSOLE_VIEW = {"width": 1366, "height": 768}
PHONE_VIEW = {"width": 390, "height": 844}


def _missing(what: str) -> None:
    if os.environ.get("ANXIN_REQUIRE_BACKENDS") == "1":
        pytest.fail(f"{what} is required (ANXIN_REQUIRE_BACKENDS=1) but missing")
    pytest.skip(f"{what} is missing; install it with `apt-get install -y chromium fonts-wqy-microhei` "
                "(and `pip install playwright`, no browser download needed)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Api:
    """A tiny JSON client for arranging and checking state around the browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tokens: dict[str, str] = {}

    def token(self, who: str) -> str:
        if who not in self.tokens:
            self.tokens[who] = self.call("POST", "/api/v1/auth/login",
                                         json={"login": who, "password": PASSWORD})["access_token"]
        return self.tokens[who]

    def call(self, method: str, path: str, who: str | None = None, json: Any = None,
             headers: dict[str, str] | None = None) -> Any:
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

    def duty(self, who: str, on: bool) -> None:
        self.call("POST", "/api/v1/caregivers/me/duty", who, json={"on_duty": on})

    def cti_ringing(self, caller: str) -> str:
        """The telephony reports a ringing call (signed like the real CTI webhook)."""
        from hotline.cti import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

        call_id = f"call-{uuid.uuid4().hex[:10]}"
        body = _dumps({"event_id": uuid.uuid4().hex, "type": "ringing", "call_id": call_id,
                       "caller": caller, "called": "13800138000",
                       "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        ts = str(int(time.time()))
        req = urllib.request.Request(self.base + "/api/v1/hotline/cti/events", data=body, method="POST",
                                     headers={"Content-Type": "application/json", TIMESTAMP_HEADER: ts,
                                              SIGNATURE_HEADER: sign(CTI_SECRET.encode(), ts, body)})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
        return call_id

    def help_call(self, who: str = "elder", call_type: str = "emergency") -> Any:
        return self.call("POST", "/api/v1/help-calls", who, json={"call_type": call_type},
                         headers={"Idempotency-Key": str(uuid.uuid4())})


def _dumps(v: Any) -> bytes:
    return json.dumps(v).encode()


def _loads(b: bytes) -> Any:
    return json.loads(b)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("Playwright for Python")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"Chromium ({CHROMIUM})")
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {**os.environ, "ANXIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/anxin.db",
           "ANXIN_JWT_SECRET": "browser-test-secret-0123456789abcdef0123", "ANXIN_LOG_LEVEL": "WARNING",
           "ANXIN_CTI_SECRET": CTI_SECRET}
    anxin = Path(sys.executable).with_name("anxin")
    cmd = [str(anxin)] if anxin.exists() else [sys.executable, "-m", "server.cli"]
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([*cmd, "demo", "--port", str(port)], cwd=tmp, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1):
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"demo server did not start: {(tmp / 'server.log').read_text()[-2000:]}")
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


@pytest.fixture(scope="module")
def demo_api(server: str) -> Api:
    return Api(server)


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
