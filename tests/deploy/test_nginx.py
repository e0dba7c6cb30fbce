"""deploy/nginx/anxin.conf in Debian's nginx, run as the current user in a temporary prefix,
in front of two real `anxin serve` processes (PostgreSQL + Redis), checked over TLS."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.deploy.support import ROOT, SECRET, Server, anxin, missing_tool, ok, until
from tests.support.backends import fresh_pg_database, missing, postgres_url, redis_url
from tests.support.proc import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SITE = ROOT / "deploy" / "nginx" / "anxin.conf"
DEMO_PASSWORD = "anxin1234"
OUTSIDER = "127.0.0.2"  # a loopback address that is not the allowed 127.0.0.1


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        missing_tool("nginx (Debian's package)")
    if shutil.which("openssl") is None:
        missing_tool("openssl")
    return found


@dataclass
class Site:
    https: int
    http: int
    dir: Path
    ssl: ssl.SSLContext

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https}"

    @property
    def access_log(self) -> Path:
        return self.dir / "anxin.access.log"


def render(site_dir: Path, https: int, http: int, upstreams: list[int]) -> str:
    """The shipped site with this test's ports and paths; every line replaced must exist, so
    a change of the shipped config's shape fails here instead of testing something else."""
    text = SITE.read_text()
    swaps = {
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "server 127.0.0.1:8081 ": f"server 127.0.0.1:{upstreams[0]} ",
        "server 127.0.0.1:8082 ": f"server 127.0.0.1:{upstreams[1]} ",
        "/etc/letsencrypt/live/anxin.example.org/fullchain.pem": str(site_dir / "cert.pem"),
        "/etc/letsencrypt/live/anxin.example.org/privkey.pem": str(site_dir / "key.pem"),
        "/var/log/nginx/": f"{site_dir}/",
        "/var/www/letsencrypt": str(site_dir / "www"),
    }
    for old, new in swaps.items():
        assert old in text, f"{SITE} no longer has {old!r}"
        text = text.replace(old, new)
    # IPv6 may be off on a test machine: the IPv4 listeners are the ones checked.
    return "\n".join(line for line in text.splitlines() if "listen [::]" not in line)


def main_conf(site_dir: Path) -> str:
    """What /etc/nginx/nginx.conf is on Debian, reduced to this prefix (no /etc or /var)."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    # As root nginx would drop its workers to `nobody`; keep them the current user.
    user = f"user {me};" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"    {kind}_temp_path {site_dir}/{kind}_temp;"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
daemon off;
worker_processes 1;
pid {site_dir}/nginx.pid;
error_log {site_dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
{temps}
    include {site_dir}/anxin.conf;
}}
"""


def certificate(site_dir: Path) -> ssl.SSLContext:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(site_dir / "key.pem"), "-out", str(site_dir / "cert.pem"),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return ssl.create_default_context(cafile=str(site_dir / "cert.pem"))


@pytest.fixture
def nginx() -> str:
    return nginx_binary()


@pytest.fixture
async def backends(nginx: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """PostgreSQL and Redis for two processes (asked after nginx: no servers for nothing)."""
    pg, redis = postgres_url(), redis_url()
    if pg is None:
        missing("PostgreSQL")
    if redis is None:
        missing("Redis")
    async with fresh_pg_database(pg, with_schema=False) as url:
        env = {"ANXIN_DATABASE_URL": url, "ANXIN_REDIS_URL": redis, "ANXIN_JWT_SECRET": SECRET}
        ok(await asyncio.to_thread(anxin, ["demo", "--no-serve"], env))
        yield env


@pytest.fixture
async def servers(backends: dict[str, str], tmp_path: Path) -> AsyncIterator[list[Server]]:
    procs = [Server(backends, tmp_path / f"anxin-{i}.log") for i in (1, 2)]
    try:
        for p in procs:
            p.start()
        for p in procs:
            await p.wait_ready(timeout=120)
        yield procs
    finally:
        for p in procs:
            p.stop()


@pytest.fixture
def site(nginx: str, servers: list[Server], tmp_path: Path) -> Iterator[Site]:
    d = tmp_path / "nginx"
    (d / "www").mkdir(parents=True)
    https, http = free_port(), free_port()
    context = certificate(d)
    (d / "anxin.conf").write_text(render(d, https, http, [s.port for s in servers]))
    (d / "nginx.conf").write_text(main_conf(d))
    argv = [nginx, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield Site(https, http, d, context)
    finally:
        proc.terminate()
        proc.wait(30)


def session(site: Site, *, source: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A client that trusts the test certificate, connecting from ``source``."""
    connector = aiohttp.TCPConnector(ssl=site.ssl, local_addr=(source, 0))
    return aiohttp.ClientSession(connector=connector)


async def up(site: Site) -> None:
    async with session(site) as s:

        async def healthy() -> bool:
            try:
                async with s.get(site.base + "/healthz") as r:
                    return r.status == 200 and (await r.json())["status"] == "ok"
            except aiohttp.ClientConnectionError:
                return False  # nginx is still starting

        await until(healthy)


async def login(s: aiohttp.ClientSession, site: Site, who: str) -> str:
    body = {"login": who, "password": DEMO_PASSWORD}
    async with s.post(site.base + "/api/v1/auth/login", json=body) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["access_token"])


async def pushed(ws: aiohttp.ClientWebSocketResponse, incident_id: int) -> dict[str, Any]:
    """The first pushed message about the incident (after `hello` and anything older)."""
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), timeout=120)
        if msg.get("type") != "hello" and msg.get("payload", {}).get("incident_id") == incident_id:
            return dict(msg)


async def help_call_pushed_over_the_socket(site: Site) -> str:
    """A help call through nginx is answered, and the operator's WebSocket (upgraded through
    nginx, token in the query string) receives the push; returns the token used."""
    async with session(site) as s:
        operator, elder = await login(s, site, "operator"), await login(s, site, "elder")
        url = f"wss://127.0.0.1:{site.https}/api/v1/ws?token={operator}"
        async with s.ws_connect(url) as ws:
            hello = await asyncio.wait_for(ws.receive_json(), timeout=60)
            assert hello["type"] == "hello"
            headers = {"Authorization": f"Bearer {elder}", "Idempotency-Key": "nginx-press-0001"}
            body = {"call_type": "emergency"}
            async with s.post(site.base + "/api/v1/help-calls", json=body, headers=headers) as r:
                assert r.status == 201, await r.text()
                incident = await r.json()
            msg = await pushed(ws, incident["id"])
            assert msg["type"].startswith("incident.")
    return operator


async def metrics_closed_to_the_public(site: Site) -> None:
    async with session(site, source=OUTSIDER) as s, s.get(site.base + "/metrics") as r:
        assert r.status == 403
    async with session(site) as s, s.get(site.base + "/metrics") as r:
        assert r.status == 200 and "# TYPE" in await r.text()


async def plain_http_redirects(site: Site) -> None:
    async with aiohttp.ClientSession() as s:
        url = f"http://127.0.0.1:{site.http}/console?tab=queue"
        async with s.get(url, allow_redirects=False) as r:
            assert r.status == 301
            assert r.headers["Location"] == "https://127.0.0.1/console?tab=queue"


async def test_nginx_in_front_of_two_servers(site: Site, servers: list[Server]) -> None:
    await up(site)
    token = await help_call_pushed_over_the_socket(site)
    await metrics_closed_to_the_public(site)
    await plain_http_redirects(site)

    async def ws_logged() -> str | None:
        text = site.access_log.read_text() if site.access_log.exists() else ""
        return text if "/api/v1/ws " in text else None  # written when the socket closes

    log = await until(ws_logged)
    assert token not in log and "token=" not in log
    assert "/console?" not in log  # no query string at all
    used = {line.rsplit('"', 4)[1] for line in log.splitlines() if "/api/v1/" in line}
    assert used == {f"127.0.0.1:{s.port}" for s in servers}, used  # both processes served
