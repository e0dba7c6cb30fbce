"""A test driver for the real app: seeded people, signed-in clients, and a pump that runs
the outbox relay and due timers the way the background loops would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import insert, update

from server.auth.passwords import hash_password
from server.auth.tables import users
from server.clock import FakeClock
from server.identity import make_id_number
from server.jobs import fire_due_timers, relay_once
from server.keys import PLATFORM
from server.platform import Platform
from server.registry.tables import caregivers, elders, family_bindings, stations

PASSWORD = "secret-pass-1"
CERTIFICATES = {"cg_a": ("养老护理员",), "cg_b": ("养老护理员", "护士")}
CENTRE = (39.9219, 116.4436)
_HASH = hash_password(PASSWORD)


def near(metres_north: float, metres_east: float = 0.0) -> tuple[float, float]:
    """A GCJ-02 point this many metres from the station."""
    import math

    return (
        CENTRE[0] + metres_north / 111_320,
        CENTRE[1] + metres_east / (111_320 * math.cos(math.radians(CENTRE[0]))),
    )


Client = TestClient[web.Request, web.Application]


@dataclass
class Api:
    client: Client
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def platform(self) -> Platform:
        app = self.client.app
        assert app is not None
        return app[PLATFORM]

    @property
    def clock(self) -> FakeClock:
        c = self.platform.clock
        assert isinstance(c, FakeClock)
        return c

    async def seed(self) -> None:
        """Station 1 with an operator, caregivers A (near, first aid) and B (far), elder
        王秀英 with a bound family member; station 2 with its own operator and elder."""
        now = self.clock.now()
        async with self.platform.store.begin() as conn:
            s1 = await self._station(conn, "仓红社区养老服务站", CENTRE, now)
            s2 = await self._station(conn, "官长社区养老服务站", near(5000, 5000), now)
            self.ids.update(station=s1, station2=s2)
            self.ids["operator"] = await self._user(conn, "operator", "op1", s1, now)
            self.ids["operator2"] = await self._user(conn, "operator", "op2", s2, now)
            self.ids["admin"] = await self._user(conn, "admin", "admin", None, now)
            for key, at, skills in (
                ("cg_a", near(600), ["first_aid", "nursing"]),
                ("cg_b", near(-1500, 800), ["bathing"]),
            ):
                # 持证上岗: both hold the care-worker certificate bathing needs, and B is a
                # nurse too (family beds, hospice)
                certificates = [
                    {"name": name, "number": key, "expires": "2030-12-31"}
                    for name in CERTIFICATES[key]
                ]
                name = {"cg_a": "王芳", "cg_b": "刘洋"}[key]
                await self.add_caregiver(conn, key, s1, name, at, skills, certificates)
            euid = await self._user(conn, "elder", "elder", s1, now)
            self.ids["elder_user"] = euid
            self.ids["elder"] = await self._elder(conn, "王秀英", s1, near(100, 100), 1, now, euid)
            self.ids["elder_other"] = await self._elder(
                conn, "李桂兰", s1, near(-200), 2, now, None
            )
            self.ids["elder_s2"] = await self._elder(
                conn, "张玉兰", s2, near(5000, 5100), 3, now, None
            )
            fam = await self._user(conn, "family", "family", None, now)
            self.ids["family"] = fam
            self.ids["family2"] = await self._user(conn, "family", "family2", None, now)
            await conn.execute(
                insert(family_bindings).values(
                    family_user_id=fam,
                    elder_id=self.ids["elder"],
                    relation="女儿",
                    status="confirmed",
                    requested_at=now,
                    confirmed_at=now,
                )
            )
        for who in ("operator", "operator2", "admin", "cg_a", "cg_b", "elder", "family", "family2"):
            await self.login(who)

    async def add_caregiver(
        self,
        conn: Any,
        key: str,
        station: int,
        name: str,
        at: tuple[float, float],
        skills: list[str],
        certificates: list[dict[str, str]] | None = None,
        shifts: list[dict[str, Any]] | None = None,
    ) -> int:
        """An e-bike caregiver on duty at ``at``, with a sign-in ``key`` (ids[key] and
        ids[key_user])."""
        now = self.clock.now()
        uid = await self._user(conn, "caregiver", key, station, now)
        self.ids[f"{key}_user"] = uid
        self.ids[key] = int(
            (
                await conn.execute(
                    insert(caregivers)
                    .values(
                        user_id=uid,
                        station_id=station,
                        name=name,
                        phone=f"1390000000{len(self.ids) % 10}",
                        skills=skills,
                        certificates=certificates or [],
                        travel_mode="ebike",
                        shifts=shifts or [],
                        on_duty=True,
                        lat=at[0],
                        lng=at[1],
                        located_at=now,
                        created_at=now,
                    )
                    .returning(caregivers.c.id)
                )
            ).scalar_one()
        )
        return self.ids[key]

    async def _station(self, conn: Any, name: str, at: tuple[float, float], now: datetime) -> int:
        return int(
            (
                await conn.execute(
                    insert(stations)
                    .values(
                        name=name,
                        lat=at[0],
                        lng=at[1],
                        circle_minutes=15,
                        circle_radius_m=3000.0,
                        opening_hours={
                            "weekdays": [0, 1, 2, 3, 4],
                            "open": "09:00",
                            "close": "17:00",
                        },
                        created_at=now,
                    )
                    .returning(stations.c.id)
                )
            ).scalar_one()
        )

    async def _user(
        self, conn: Any, role: str, username: str, station: int | None, now: datetime
    ) -> int:
        return int(
            (
                await conn.execute(
                    insert(users)
                    .values(
                        role=role,
                        username=username,
                        display_name=username,
                        password_hash=_HASH,
                        station_id=station,
                        created_at=now,
                    )
                    .returning(users.c.id)
                )
            ).scalar_one()
        )

    async def _elder(
        self,
        conn: Any,
        name: str,
        station: int,
        at: tuple[float, float],
        serial: int,
        now: datetime,
        user_id: int | None,
    ) -> int:
        idn = make_id_number("110105", date(1944, 3, 8), serial)
        return int(
            (
                await conn.execute(
                    insert(elders)
                    .values(
                        station_id=station,
                        user_id=user_id,
                        name=name,
                        sex="F",
                        birth_date="1944-03-08",
                        id_number=idn,
                        phone=f"1350000000{serial}",
                        address="北京市朝阳区红庙北里3号楼2单元401",
                        lat=at[0],
                        lng=at[1],
                        living="alone",
                        categories=["高龄"],
                        care_level="半失能",
                        contacts=[
                            {
                                "name": "王小红",
                                "relation": "女儿",
                                "phone": "13911112222",
                                "order": 1,
                            }
                        ],
                        neighbours=[
                            {"name": "赵大姐", "phone": "13722223333", "agreement_no": "KH01"}
                        ],
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(elders.c.id)
                )
            ).scalar_one()
        )

    async def login(self, who: str) -> str:
        username = {"operator": "op1", "operator2": "op2"}.get(who, who)
        r = await self.client.post(
            "/api/v1/auth/login", json={"login": username, "password": PASSWORD}
        )
        assert r.status == 200, await r.text()
        self.tokens[who] = (await r.json())["access_token"]
        return self.tokens[who]

    def h(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    async def call(
        self,
        method: str,
        path: str,
        who: str | None = None,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        expect: int | None = None,
    ) -> Any:
        hdrs = {**(self.h(who) if who else {}), **(headers or {})}
        r = await self.client.request(method, path, json=json, headers=hdrs)
        text = await r.text()
        if expect is not None:
            assert r.status == expect, f"{method} {path}: {r.status} {text}"
        body = None
        if text:
            try:
                body = await r.json(content_type=None)
            except ValueError:
                body = text
        return body if expect is not None else (r.status, body)

    async def press(
        self,
        who: str = "elder",
        call_type: str = "emergency",
        *,
        key: str | None = None,
        location: dict[str, Any] | None = None,
        elder_id: int | None = None,
        expect: int | None = None,
    ) -> Any:
        body: dict[str, Any] = {"call_type": call_type}
        if location is not None:
            body["location"] = location
        if elder_id is not None:
            body["elder_id"] = elder_id
        return await self.call(
            "POST",
            "/api/v1/help-calls",
            who,
            json=body,
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
            expect=expect,
        )

    async def pump(self, rounds: int = 20) -> None:
        """Run outbox and due timers until nothing moves."""
        for _ in range(rounds):
            moved = await relay_once(self.platform) + await fire_due_timers(self.platform)
            if not moved:
                return

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.pump()

    async def set_duty(self, key: str, on: bool) -> None:
        async with self.platform.store.begin() as conn:
            await conn.execute(
                update(caregivers).where(caregivers.c.id == self.ids[key]).values(on_duty=on)
            )


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)
