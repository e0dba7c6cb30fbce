"""The dispatcher's reasons: the wording stored with a ranking (Reason.zh) and the catalogue's
rendering of the stored data must agree, and stored data is read defensively."""

from __future__ import annotations

import itertools

from dispatch.emergency import Reason, parse_reason
from dispatch.travel import TravelMode
from server.texts import dispatch_reason, reason_text


def _every_reason() -> list[Reason]:
    out = []
    for mode, travel, aid in itertools.product(TravelMode, (0, 1, 12), (False, True)):
        out.append(Reason(mode=mode, travel_min=travel, first_aid=aid))
        for interruptible, finish in itertools.product((True, False), (1, 25)):
            out.append(
                Reason(
                    mode=mode,
                    travel_min=travel,
                    busy_with="助浴",
                    interruptible=interruptible,
                    finish_min=finish,
                    first_aid=aid,
                )
            )
    return out


def test_the_catalogue_renders_the_stored_wording_and_round_trips() -> None:
    for r in _every_reason():
        text = dispatch_reason(r)
        assert text.render("zh") == r.zh(), r
        assert Reason.from_data(r.code, r.params()) == r  # what is stored reads back as itself
        # The text reads back too (for old rows), except what it never said: the travel mode
        # of someone already close by.
        parsed = parse_reason(r.zh())
        assert parsed == (r if r.travel_min else Reason(**{**r.__dict__, "mode": TravelMode.EBIKE}))
        assert dispatch_reason(parsed).render("en") == text.render("en")
        en = text.render("en")
        assert en.isascii() and "{" not in en, en
        assert reason_text(r.zh(), r.code, r.params())["en"] == en


def test_stored_data_that_does_not_read_falls_back_to_the_text() -> None:
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
        ([], good),
        ({"x": 1}, good),
    ):
        assert Reason.from_data(code, params) is None, (code, params)
        out = reason_text(r.zh(), code, params)
        assert (
            out["zh"] == r.zh()
            and out["en"]
            == "busy with haircut (can break off), leaves in about 2 min, then 4 min on foot"
        )
