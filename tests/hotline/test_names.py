"""Name search: what a caller says → the right elder."""

from __future__ import annotations

from datetime import date

import pytest

from hotline.names import ElderRecord, NameIndex, NameQuery, segment_pinyin

TODAY = date(2026, 11, 23)


@pytest.fixture
def station() -> NameIndex:
    """A handful of elders with the names a Beijing station really has, some sounding alike."""
    return NameIndex(
        [
            ElderRecord("e1", "王秀英", "朝阳区幸福里3号楼2单元301", 1942, "s1", "13800000001"),
            ElderRecord("e2", "王秀瑛", "朝阳区和平街5号楼", 1950, "s1", "13800000002"),
            ElderRecord("e3", "张淑珍", "仓红社区12号楼", 1938, "s2", "13800000003"),
            ElderRecord("e4", "刘桂兰", "官长胡同7号", 1945, "s1"),
            ElderRecord("e5", "牛桂兰", "官长胡同9号", 1947, "s1"),
            ElderRecord("e6", "单国强", "团结湖北里1号", 1944, "s2"),
            ElderRecord("e7", "陈建平", "光华里4号", 1951, "s2", "+86 139-0000-0007"),
            ElderRecord("e8", "曾志伟", "安贞里6号", 1949, "s1"),
        ]
    )


def names(index: NameIndex, query: NameQuery) -> list[str]:
    return [m.elder.name for m in index.search(query)]


def test_exact_chinese_name_ranks_first_then_homophone(station: NameIndex) -> None:
    result = station.search(NameQuery("王秀英"))
    assert [m.elder.id for m in result[:2]] == ["e1", "e2"]
    assert result[0].reason == "exact name"
    assert "same sound" in result[1].reason


def test_homophone_in_characters_finds_the_other_writing(station: NameIndex) -> None:
    assert names(station, NameQuery("王秀瑛"))[:2] == ["王秀瑛", "王秀英"]


@pytest.mark.parametrize("typed", ["wangxiuying", "wang xiu ying", "Wang'Xiu'Ying", "WANGXIUYING"])
def test_full_pinyin_finds_both_writings(station: NameIndex, typed: str) -> None:
    assert set(names(station, NameQuery(typed))[:2]) == {"王秀英", "王秀瑛"}


@pytest.mark.parametrize(
    ("typed", "expected"), [("wxy", "王秀英"), ("zsz", "张淑珍"), ("cjp", "陈建平")]
)
def test_initials(station: NameIndex, typed: str, expected: str) -> None:
    result = station.search(NameQuery(typed))
    assert expected in [m.elder.name for m in result]
    assert all(m.reason.startswith("initials") for m in result)


@pytest.mark.parametrize(
    ("heard", "expected", "pair"),
    [
        ("zangsuzen", "张淑珍", "zh/z"),  # southern accent: zh→z, sh→s
        ("cenjianpin", "陈建平", "ch/c"),
        ("liuguilan", "刘桂兰", None),
        ("wangxiuyin", "王秀英", "ing/in"),
    ],
)
def test_accent_confusions(station: NameIndex, heard: str, expected: str, pair: str | None) -> None:
    top = station.search(NameQuery(heard))[0]
    assert top.elder.name == expected
    if pair:
        assert pair in top.reason


def test_n_l_confusion_ranks_the_closer_sound_first(station: NameIndex) -> None:
    result = names(station, NameQuery("niuguilan"))
    assert result[:2] == ["牛桂兰", "刘桂兰"]


def test_surname_with_a_special_reading(station: NameIndex) -> None:
    """单 as a surname is shan, 曾 is zeng: both readings are indexed."""
    assert names(station, NameQuery("shanguoqiang"))[0] == "单国强"
    assert names(station, NameQuery("zengzhiwei"))[0] == "曾志伟"


@pytest.mark.parametrize("typo", ["wangxiuyng", "wnagxiuying", "wangxiuyingg", "zhangshuzheng"])
def test_typos(station: NameIndex, typo: str) -> None:
    result = station.search(NameQuery(typo))
    assert result and result[0].elder.name in {"王秀英", "王秀瑛", "张淑珍"}


def test_address_fragment_narrows(station: NameIndex) -> None:
    result = station.search(NameQuery("王秀英", address="幸福里"))
    assert [m.elder.id for m in result] == ["e1"]
    assert "address has 幸福里" in result[0].reason


def test_approximate_address_fragment_still_matches(station: NameIndex) -> None:
    assert [m.elder.id for m in station.search(NameQuery("wxy", address="和平街5"))] == ["e2"]


def test_age_range_narrows(station: NameIndex) -> None:
    result = station.search(NameQuery("wangxiuying", min_age=80, max_age=90, today=TODAY))
    assert [m.elder.id for m in result] == ["e1"]


def test_station_narrows(station: NameIndex) -> None:
    assert names(station, NameQuery("王秀英", station_id="s2")) == []
    assert names(station, NameQuery("单国强", station_id="s2")) == ["单国强"]


def test_age_without_today_is_refused() -> None:
    with pytest.raises(ValueError):
        NameQuery("王秀英", min_age=80)


def test_phone_lookup_ignores_formatting(station: NameIndex) -> None:
    assert [e.id for e in station.by_phone("13900000007")] == ["e7"]
    assert [e.id for e in station.by_phone("+86 138 0000 0001")] == ["e1"]
    assert station.by_phone("110") == []


def test_nothing_for_nonsense(station: NameIndex) -> None:
    assert station.search(NameQuery("qqqqqqqqqq")) == []
    assert station.search(NameQuery("  ")) == []


def test_results_are_limited_and_deterministic() -> None:
    index = NameIndex(ElderRecord(f"e{i:02d}", "李秀兰", "", 1940, "s1") for i in range(30))
    first = index.search(NameQuery("李秀兰", limit=5))
    assert [m.elder.id for m in first] == ["e00", "e01", "e02", "e03", "e04"]
    assert first == index.search(NameQuery("李秀兰", limit=5))


def test_segmentation_prefers_whole_syllables() -> None:
    assert segment_pinyin("xian") == ("xian",)
    assert segment_pinyin("zhangsanfeng") == ("zhang", "san", "feng")
    assert segment_pinyin("wxy") is None


@pytest.mark.parametrize("typed", ["Wáng Xiùyīng", "wáng xiù yīng", "WÁNGXIÙYĪNG"])
def test_tone_marked_pinyin(station: NameIndex, typed: str) -> None:
    result = station.search(NameQuery(typed))
    assert {m.elder.name for m in result[:2]} == {"王秀英", "王秀瑛"}
    assert result[0].reason == "pinyin wang xiu ying"  # read as pinyin, not as a typo


def test_tone_marks_on_u_umlaut() -> None:
    index = NameIndex([ElderRecord("e1", "吕桂兰"), ElderRecord("e2", "李桂兰")])
    [match] = index.search(NameQuery("Lǚ Guìlán"))
    assert match.elder.name == "吕桂兰" and match.reason == "pinyin lv gui lan"


@pytest.mark.parametrize(
    ("typed", "why", "first"),
    [
        ("王xiuying", "pinyin", {"王秀英"}),
        ("王 xiu ying", "pinyin", {"王秀英"}),
        ("王xy", "initials", {"王秀英"}),
        ("wang秀英", "pinyin", {"王秀英", "汪秀英"}),  # wang is both: the characters decide nothing
    ],
)
def test_characters_mixed_with_pinyin(typed: str, why: str, first: set[str]) -> None:
    """The operator writes the characters they are sure of and types the rest as heard: the
    elders who have those characters rank first."""
    index = NameIndex(
        [ElderRecord("e1", "汪秀英"), ElderRecord("e2", "王秀英"), ElderRecord("e3", "张秀英")]
    )
    result = index.search(NameQuery(typed))
    assert {m.elder.name for m in result[: len(first)]} == first
    assert result[0].reason.startswith(why)
    assert "张秀英" not in [m.elder.name for m in result]


def test_mixed_with_an_accent_confusion(station: NameIndex) -> None:
    assert names(station, NameQuery("王xiuyin"))[0] in ("王秀英", "王秀瑛")
