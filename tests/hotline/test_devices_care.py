"""Device heartbeats and batteries, repeated presses, welfare checks, the care record for 120."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hotline.care_record import CareProfile, Contact, render_for_120
from hotline.devices import (
    DeviceReading,
    ElderActivity,
    IssueKind,
    ScheduledVisit,
    evaluate_devices,
    is_repeat_press,
    missed_visits,
    select_welfare_checks,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def minutes(m: float) -> datetime:
    return NOW - timedelta(minutes=m)


def reading(last: datetime | None, battery: int | None = 80) -> DeviceReading:
    return DeviceReading("pendant-1", 3, 1, minutes(600), last, battery)


@pytest.mark.parametrize(
    ("last", "battery", "kinds"),
    [
        (minutes(5), 80, []),
        (minutes(31), 80, [IssueKind.SILENT]),
        (minutes(5), 19, [IssueKind.LOW_BATTERY]),
        (minutes(5), 20, []),
        (minutes(45), 5, [IssueKind.SILENT, IssueKind.LOW_BATTERY]),
        (None, None, [IssueKind.NEVER_SEEN]),
    ],
)
def test_device_evaluation(
    last: datetime | None, battery: int | None, kinds: list[IssueKind]
) -> None:
    assert [i.kind for i in evaluate_devices([reading(last, battery)], NOW)] == kinds


def test_one_task_per_silence_episode() -> None:
    first = evaluate_devices([reading(minutes(40))], NOW)[0]
    later = evaluate_devices([reading(minutes(40))], NOW + timedelta(minutes=10))[0]
    assert first.source_ref == later.source_ref
    new_episode = evaluate_devices([reading(minutes(35))], NOW + timedelta(hours=5))[0]
    assert new_episode.source_ref != first.source_ref


@pytest.mark.parametrize(
    ("gap", "repeat"), [(0, True), (119, True), (120, True), (121, False), (-5, False)]
)
def test_press_window(gap: int, repeat: bool) -> None:
    assert is_repeat_press(NOW, NOW + timedelta(seconds=gap)) is repeat


def test_first_press_is_never_a_repeat() -> None:
    assert not is_repeat_press(None, NOW)


def test_welfare_checks_pick_unseen_elders_living_alone() -> None:
    elders = [
        ElderActivity(1, 1, True, last_visit_at=NOW - timedelta(hours=50)),
        ElderActivity(
            2,
            1,
            True,
            last_visit_at=NOW - timedelta(hours=50),
            last_app_at=NOW - timedelta(hours=3),
        ),
        ElderActivity(3, 1, False),  # lives with family
        ElderActivity(4, 2, True),  # never seen at all
        ElderActivity(5, 2, True, last_call_at=NOW - timedelta(days=6)),
    ]
    checks = select_welfare_checks(elders, NOW)
    assert [c.elder_id for c in checks] == [4, 5, 1]
    assert checks[0].source_ref == "welfare:4:never"


def test_missed_door_knock_visits() -> None:
    visits = [
        ScheduledVisit(1, 3, 1, NOW - timedelta(hours=30)),
        ScheduledVisit(2, 3, 1, NOW - timedelta(hours=30), done_at=NOW - timedelta(hours=29)),
        ScheduledVisit(3, 4, 1, NOW - timedelta(hours=2)),
    ]
    assert [c.source_ref for c in missed_visits(visits, NOW)] == ["missed_visit:1"]


PROFILE = CareProfile(
    name="王秀英",
    sex="女",
    birth_date=date(1942, 12, 1),
    address="朝阳区幸福里3号楼2单元301",
    access="单元门密码1234#，钥匙在302邻居李阿姨处，无电梯",
    conditions=("高血压", "2型糖尿病", "心房颤动"),
    medicines=("华法林 2.5mg 每日", "二甲双胍"),
    allergies=("青霉素",),
    care_level="半失能",
    contacts=(Contact("张伟", "儿子", "13800000011"), Contact("李桂兰", "邻居", "13800000012")),
    lives_alone=True,
)


def test_care_record_for_120() -> None:
    text = render_for_120(PROFILE, today=date(2026, 11, 23))
    assert text.splitlines()[:3] == [
        "地址：朝阳区幸福里3号楼2单元301",
        "进门：单元门密码1234#，钥匙在302邻居李阿姨处，无电梯",
        "老人：王秀英，女，83岁，独居，半失能",
    ]
    assert (
        "过敏：青霉素" in text and "华法林" in text and "联系人1：张伟（儿子）13800000011" in text
    )


def test_care_record_cut_keeps_the_address() -> None:
    text = render_for_120(PROFILE, today=date(2026, 11, 23), max_chars=60)
    assert len(text) <= 60
    assert text.startswith("地址：朝阳区幸福里") and text.endswith("…")


def test_care_record_with_little_known() -> None:
    text = render_for_120(
        CareProfile("刘桂兰", "女", None, "官长胡同7号"), today=date(2026, 11, 23)
    )
    assert "年龄不详" in text and "进门：无记录" in text
