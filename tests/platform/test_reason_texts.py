"""The dispatcher's reasons: stored as data only (a code and parameters), rendered by the
catalogue in the wording reasons have always had, and stored data is read defensively."""

from __future__ import annotations

import itertools

from dispatch.emergency import Reason
from dispatch.travel import TravelMode
from server.texts import dispatch_reason, reason_text

VERB = {TravelMode.WALK: "步行", TravelMode.EBIKE: "骑行", TravelMode.CAR: "驾车"}


def _wording(r: Reason) -> str:
    """The Chinese a reason has always read as (what dispatch/ once wrote itself)."""
    trip = f"{VERB[r.mode]}约{r.travel_min}分钟" if r.travel_min else "已在附近"
    if r.busy_with is None:
        text = f"空闲，{trip}"
    else:
        then = f"再{trip}" if r.travel_min else trip
        work = r.busy_with or "服务"  # a task without a title
        if r.interruptible:
            text = f"正在{work}（可中断），约{r.finish_min}分钟后出发，{then}"
        else:
            text = f"正在{work}（不可中断），还需{r.finish_min}分钟，{then}"
    return text + ("，持急救证" if r.first_aid else "")


def _every_reason() -> list[Reason]:
    out = []
    for mode, travel, aid in itertools.product(TravelMode, (0, 1, 12), (False, True)):
        out.append(Reason(mode=mode, travel_min=travel, first_aid=aid))
        for interruptible, finish, work in itertools.product((True, False), (1, 25), ("助浴", "")):
            out.append(
                Reason(
                    mode=mode,
                    travel_min=travel,
                    busy_with=work,
                    interruptible=interruptible,
                    finish_min=finish,
                    first_aid=aid,
                )
            )
    return out


def test_the_catalogue_renders_the_stored_wording_and_round_trips() -> None:
    for r in _every_reason():
        text = dispatch_reason(r)
        assert text.render("zh") == _wording(r), r
        assert Reason.from_data(r.code, r.params()) == r  # what is stored reads back as itself
        en = text.render("en")
        assert en.isascii() and "{" not in en, en
        assert reason_text(None, r.code, r.params()) == text.out()


def test_stored_data_that_does_not_read_falls_back_to_the_text() -> None:
    """Data that does not read is never guessed from: the caller's own text shows as it is
    (the same in both languages), or "reason unknown" where there is none."""
    r = Reason(mode=TravelMode.WALK, travel_min=4, busy_with="理发", finish_min=2)
    good = r.params()
    for code, params in (
        ("idle", None),
        ("flying", good),
        ("busy_can_break_off", {**good, "busy_with": None}),
        ("idle", {**good, "mode": "rocket"}),
        ("idle", {**good, "mode": ["walk"]}),
        ("idle", {**good, "travel_min": -1}),
        ("idle", {**good, "travel_min": True}),
        ("idle", {**good, "travel_min": "4"}),
        ("idle", {**good, "first_aid": "yes"}),
        ("manual", {"reason": 3}),
        ([], good),
        ({"x": 1}, good),
    ):
        assert Reason.from_data(code, params) is None, (code, params)
        out = reason_text("另有安排", code, params)
        assert (out["key"], out["zh"], out["en"]) == (None, "另有安排", "另有安排")
        unknown = reason_text(None, code, params)
        assert (unknown["key"], unknown["en"]) == ("reason.unknown", "reason unknown")


def test_an_operators_and_a_lapsed_offers_reasons_render_from_their_codes() -> None:
    manual = reason_text(None, "manual", {"reason": "她就在楼下"})
    assert (manual["zh"], manual["en"]) == ("人工指派：她就在楼下", "Assigned by hand: 她就在楼下")
    lapsed = reason_text(None, "no_answer", {})
    assert (lapsed["zh"], lapsed["en"]) == ("无应答", "no answer in time")
    # A declined offer's reason is what the caregiver typed: no code, the same in both.
    assert reason_text("在忙") == {"key": None, "params": {}, "zh": "在忙", "en": "在忙"}
