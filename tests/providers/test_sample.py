"""The ≥ 5 % return-visit sample of the quarter's services, stratified by provider (each
provider's services get their share, at least one where it has any), and the answers of those
visits counted for the provider: in its settlement and its rating's return-visit coverage."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.followup import SampledService, sample_services
from server.tasks.tables import tasks
from tests.conftest import BACKENDS
from tests.providers.support import employ, provider, seed_records
from tests.support.api import Api
from tests.welfare.support import long_tokens

SAMPLE = "/api/v1/hotline/return-visits/sample"


def test_every_provider_gets_its_share_and_at_least_one() -> None:
    frame = [SampledService(n, 1) for n in range(1, 101)]  # a large provider: 100 services
    frame += [SampledService(n, 2) for n in range(101, 104)]  # a small one: 3
    frame += [SampledService(200, 0)]  # one by the station's own staff
    got = sample_services(frame, seed="2026Q4")
    assert {k: len(v) for k, v in got.items()} == {0: 1, 1: 5, 2: 1}
    assert set(got[1]) <= set(range(1, 101)) and set(got[2]) <= {101, 102, 103}
    # reproducible whatever the order, and another quarter draws another sample
    assert sample_services(reversed(frame), seed="2026Q4") == got
    assert sample_services(frame, seed="2027Q1")[1] != got[1]
    for n in (1, 19, 20, 21, 399):
        share = len(sample_services([SampledService(i, 7) for i in range(n)], seed="q")[7])
        assert share == max(1, math.ceil(0.05 * n)) and share / n >= 0.05


async def seed_services(api: Api, pid: int | None, n: int, cg: str | None) -> list[int]:
    first = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
    at = [first + timedelta(hours=5 * k) for k in range(n)]
    return await seed_records(api, at, caregiver_id=api.ids[cg] if cg else None, provider_id=pid)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_the_sample_is_stratified_by_provider_and_its_answers_count(api: Api) -> None:
    long_tokens(api)
    big, small, idle = [await provider(api, n) for n in (1, 2, 3)]
    await employ(api, "cg_a", big)
    await employ(api, "cg_b", small)
    big_ids = await seed_services(api, big, 41, "cg_a")
    small_ids = await seed_services(api, small, 2, "cg_b")
    own_ids = await seed_services(api, None, 1, None)
    drawn = await api.call("POST", SAMPLE, "admin", json={"quarter": "2026Q4"}, expect=201)
    by = drawn["by_provider"]
    # 41 → 3 (ceil 2.05), 2 → 1, the station's own → 1; the provider with none is not there
    assert {k: len(v) for k, v in by.items()} == {"0": 1, str(big): 3, str(small): 1}
    assert set(by[str(big)]) <= set(big_ids) and set(by[str(small)]) <= set(small_ids)
    assert by["0"] == own_ids and str(idle) not in by
    again = await api.call("POST", SAMPLE, "admin", json={"quarter": "2026Q4"}, expect=201)
    assert again["by_provider"] == by
    async with api.platform.store.read() as conn:
        refs = dict(
            (
                await conn.execute(
                    select(tasks.c.source_ref, tasks.c.id).where(
                        tasks.c.source_ref.startswith("return_service:2026Q4:")
                    )
                )
            ).all()
        )
    assert len(refs) == 5  # drawn once: the second draw made none
    # the visit to the small provider's service: the answer is about her, so about it
    task_id = refs[f"return_service:2026Q4:{by[str(small)][0]}"]
    body = {"elder_id": api.ids["elder"], "answer": "satisfied", "task_id": task_id}
    await api.call("POST", "/api/v1/hotline/satisfaction", "operator", json=body, expect=201)
    s = await api.call("GET", f"/api/v1/providers/{small}/settlements/2026Q4", "admin", expect=200)
    assert (s["return_visits_sampled"], s["return_visits_answered"]) == (1, 1)
    assert (s["satisfied"], s["satisfaction_answers"]) == (1, 1)
    b = await api.call("GET", f"/api/v1/providers/{big}/settlements/2026Q4", "admin", expect=200)
    assert (b["return_visits_sampled"], b["return_visits_answered"], b["satisfied"]) == (3, 0, 0)
    # a visit task of another elder is refused, naming the field, and nothing is written
    other = {**body, "elder_id": api.ids["elder_other"]}
    got, problem = await api.call("POST", "/api/v1/hotline/satisfaction", "admin", json=other)
    assert (got, problem["code"], problem["field"]) == (422, "unknown_task", "task_id")
    s = await api.call("GET", f"/api/v1/providers/{small}/settlements/2026Q4", "admin", expect=200)
    assert s["satisfaction_answers"] == 1


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_answers_and_complaints_stay_with_the_provider_she_worked_for(api: Api) -> None:
    long_tokens(api)
    first, second = [await provider(api, n) for n in (1, 2)]
    await employ(api, "cg_b", first)
    about_her = {"elder_id": api.ids["elder"], "provider_id": api.ids["cg_b"]}
    answer = {**about_her, "answer": "dissatisfied"}
    await api.call("POST", "/api/v1/hotline/satisfaction", "operator", json=answer, expect=201)
    complaint = {**about_her, "text": "迟到四十分钟"}
    await api.call("POST", "/api/v1/hotline/complaints", "operator", json=complaint, expect=201)
    # she moves mid-quarter: what was said about her work for the first stays with it
    await employ(api, "cg_b", second)
    answer = {**about_her, "answer": "satisfied"}
    await api.call("POST", "/api/v1/hotline/satisfaction", "operator", json=answer, expect=201)
    got = {}
    for pid in (first, second):
        s = await api.call(
            "GET", f"/api/v1/providers/{pid}/settlements/2026Q4", "admin", expect=200
        )
        got[pid] = (s["satisfied"], s["satisfaction_answers"], s["complaints"])
    assert got == {first: (0, 1, 1), second: (1, 1, 0)}
