"""Helpers for the providers API tests: providers with valid codes, contracts, employment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from server.identity import make_credit_code
from server.welfare.tables import service_records
from tests.support.api import Api

DISTRICT = "朝阳区"
STREET = "呼家楼街道"


def provider_body(n: int, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"安康居家养老服务中心{n}",
        "credit_code": make_credit_code(f"52110105MJ{n:07d}"),
        "district": DISTRICT,
        "licence": {"kind": "营业执照", "number": f"L{n}", "expires": "2028-12-31"},
        "documents": [{"kind": "养老服务资质", "number": f"Q{n}", "expires": "2027-12-31"}],
        "contacts": [{"name": "周经理", "phone": "13800138000", "role": "负责人"}],
    }
    body.update(kw)
    return body


async def provider(api: Api, n: int) -> int:
    got = await api.call("POST", "/api/v1/providers", "admin", json=provider_body(n), expect=201)
    return int(got["id"])


def contract_body(pid: int, start: str = "2026-01-01", end: str = "2026-12-31") -> dict[str, Any]:
    return {
        "provider_id": pid,
        "district": DISTRICT,
        "street": STREET,
        "starts_on": start,
        "ends_on": end,
        "items": [{"item_code": "bath-help", "price_fen": 6000}],
    }


async def employ(api: Api, caregiver: str, pid: int) -> None:
    await api.call(
        "PUT",
        f"/api/v1/caregivers/{api.ids[caregiver]}/provider",
        "admin",
        json={"provider_id": pid},
        expect=200,
    )


def listing(subject: str, sid: int, kind: str, start: str = "2026-11-23") -> dict[str, Any]:
    return {
        "subject": subject,
        "subject_id": sid,
        "kind": kind,
        "district": DISTRICT,
        "reason": "多次虚假服务记录" if kind == "black" else "服务质量优良",
        "evidence": ["审计报告2026-17"],
        "starts_on": start,
    }


async def seed_records(api: Api, at: list[datetime], **values: Any) -> list[int]:
    """Passed service records of the test elder at these times, written directly (a seeded
    history); ``values`` override the defaults (a 90-minute 助浴 paid 60 yuan)."""
    ids = []
    async with api.platform.store.begin() as conn:
        for start in at:
            row = {
                "station_id": api.ids["station"],
                "district": DISTRICT,
                "elder_id": api.ids["elder"],
                "item_code": "bath-help",
                "item_name": "助浴",
                "started_at": start,
                "ended_at": start + timedelta(minutes=90),
                "price_fen": 6000,
                "subsidy_fen": 6000,
                "self_pay_fen": 0,
                "proofs": ["geofence"],
                "review": "passed",
                "created_at": start,
                **values,
            }
            got = await conn.execute(
                insert(service_records).values(**row).returning(service_records.c.id)
            )
            ids.append(int(got.scalar_one()))
    return ids
