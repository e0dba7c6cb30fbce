"""The scale file gives the assessor's page what it shows: each section's name, and for each
item a description of every score from its maximum down to 0 (the section's, or the item's
own). A file whose descriptions skip or repeat a score is refused when it loads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from server.assessments.out import scale_out
from server.assessments.scale import SCALES_DIR, ScaleError, parse, scales


def national() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(
        (SCALES_DIR / "gbt42195-2022.json").read_text(encoding="utf-8")
    )
    return raw


def test_every_item_describes_each_score_in_chinese() -> None:
    out = scale_out(scales()["GB/T 42195-2022"])
    assert [s["name_zh"] for s in out["sections"]] == [
        "自理能力",
        "基础运动能力",
        "精神状态",
        "感知觉与社会参与",
    ]
    for item in out["items"]:
        assert [o["score"] for o in item["options"]] == list(range(item["max"], -1, -1))
        assert all(o["zh"] and o["en"] for o in item["options"]), item["code"]
    consciousness = next(i for i in out["items"] if i["code"] == "consciousness")
    assert "昏迷" in consciousness["options"][-1]["zh"]


def test_an_item_keeps_only_its_sections_scores_within_its_range() -> None:
    raw = national()
    sec = raw["sections"][0]
    sec["items"][0]["max"] = 2  # a variant's item with fewer grades than its section
    sec["total"] -= 2  # and the totals it states
    raw["total"] -= 2
    raw["levels"][0]["min_score"] -= 2  # the bands within the smaller total
    item = parse(raw).items[0]
    assert [o[0] for o in item.options] == [2, 1, 0]


@pytest.mark.parametrize(
    "options",
    [
        [{"score": 1, "zh": "无", "en": "none"}],  # 0 not described
        [{"score": 1, "zh": "无", "en": "n"}, {"score": 1, "zh": "有", "en": "y"}],  # twice
        [{"score": 2, "zh": "无", "en": "n"}, {"score": 0, "zh": "有", "en": "y"}],  # above max
    ],
)
def test_options_that_skip_or_repeat_a_score_are_refused(options: list[Any]) -> None:
    raw = national()
    item = next(i for s in raw["sections"] for i in s["items"] if i["code"] == "aggression")
    item["options"] = options
    with pytest.raises(ScaleError, match="aggression"):
        parse(raw)


def test_the_national_scale_adds_up_to_the_standards_90() -> None:
    """GB/T 42195-2022: 自理能力 8 items (32), 基础运动能力 4 (15: 上下楼梯 scores 0-3),
    精神状态 9 (28), 感知觉与社会参与 5 (15); 90 in all, and only full marks are 能力完好."""
    s = scales()["GB/T 42195-2022"]
    per = {sec: [i.max for i in s.items if i.section == sec] for sec in s.sections}
    assert {k: (len(v), sum(v)) for k, v in per.items()} == {
        "self_care": (8, 32),
        "motor": (4, 15),
        "mental": (9, 28),
        "perception": (5, 15),
    }
    assert s.total == 90
    assert [lv.min_score for lv in s.levels] == [90, 66, 46, 30, 0]
    stairs = next(i for i in s.items if i.code == "stairs")
    assert [o[0] for o in stairs.options] == [3, 2, 1, 0]


def test_a_maximum_that_breaks_the_stated_total_is_refused() -> None:
    raw = national()
    item = next(i for s in raw["sections"] for i in s["items"] if i.get("code") == "stairs")
    item["max"] = 4  # the old slip: 91 points, so one lost point still read 能力完好
    item.pop("options")
    with pytest.raises(ScaleError, match="motor: item maxima sum to 16, not 15"):
        parse(raw)
    for sec in raw["sections"]:
        sec.pop("total")
    with pytest.raises(ScaleError, match="sum to 91, not the stated total 90"):
        parse(raw)
