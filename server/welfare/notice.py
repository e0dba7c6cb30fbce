"""The printable notices of an application, as HTML with print CSS (no script): the public
notice (公示) posted while it runs, and the written decision (审批决定书) once decided. Pure:
the facts in, the page out; every sentence comes from server/texts in Chinese, and every
value from a person is escaped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Final

from server.texts import render

STYLE: Final = """
@page { size: A4; margin: 22mm 20mm; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 16px;
       line-height: 1.9; color: #000; max-width: 170mm; margin: 12mm auto; }
h1 { text-align: center; font-size: 24px; letter-spacing: 2px; margin: 0 0 8px; }
.no { text-align: center; margin-bottom: 18px; }
p { text-indent: 2em; margin: 6px 0; } p.to { text-indent: 0; }
table { border-collapse: collapse; width: 100%; margin: 14px 0; }
th, td { border: 1px solid #000; padding: 6px 8px; text-align: center; }
.sign { text-align: right; margin-top: 36px; } .sign div { text-indent: 0; }
.hint { font-family: sans-serif; font-size: 13px; color: #555; border-bottom: 1px dashed #999;
        padding-bottom: 6px; margin-bottom: 16px; }
@media print { .hint { display: none; } body { margin: 0 auto; } }
"""


@dataclass(frozen=True)
class Facts:
    """What a notice says of one application."""

    app_id: int
    name: str
    station: str
    street: str
    district: str
    rule: str
    submitted: date
    status: str  # public_notice, approved, refused
    notice_first: date | None  # the public notice's first and last day, if it had one
    notice_last: date | None
    decided: date | None
    reason: str
    steps: tuple[str, ...] = ()  # the review steps it reached, in order


def _day(d: date) -> str:
    return render("notice.date", y=d.year, m=d.month, d=d.day)


def masked(name: str) -> str:
    """A name as a public notice shows it: 王秀英 → 王*英, 李明 → 李*."""
    if len(name) <= 1:
        return name
    return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<div class="hint">{escape(render("notice.print_hint"))}</div>{body}</body></html>'
    )


def public_notice(f: Facts) -> str:
    """The 公示 of one application, signed by the office whose step posted it."""
    assert f.notice_first is not None and f.notice_last is not None
    street = f.street or f.district
    title = render("notice.public.title", rule=f.rule)
    days = (f.notice_last - f.notice_first).days + 1
    before = [s for s in f.steps if s != "public_notice"]
    text = render(
        "notice.public.body", steps=_steps(before, days), rule=f.rule,
        first=_day(f.notice_first), last=_day(f.notice_last), days=days, station=f.station,
        street=street,
    )  # fmt: skip
    heads = "".join(
        f"<th>{escape(render(f'notice.col.{c}'))}</th>"
        for c in ("name", "station", "rule", "submitted")
    )
    cells = "".join(
        f"<td>{escape(v)}</td>" for v in (masked(f.name), f.station, f.rule, _day(f.submitted))
    )
    office = _office(f, before[-1] if before else "street")
    body = (
        f'<h1 id="title">{escape(title)}</h1><p id="text">{escape(text)}</p>'
        f"<table><tr>{heads}</tr><tr>{cells}</tr></table>"
        f'<div class="sign"><div>{escape(office)}</div><div>{escape(_day(f.notice_first))}</div></div>'
    )
    return _page(title, body)


def _steps(steps: list[str] | tuple[str, ...], days: int) -> str:
    """The review steps reached, as a decision words them: 社区初审、街道复审、公示7天."""
    return render("notice.step.sep").join(render(f"notice.step.{s}", days=days) for s in steps)


def _office(f: Facts, step: str) -> str:
    """Who signs for a step: the station (community), the street office, the district."""
    if step == "community":
        return f.station
    if step in ("street", "public_notice"):
        return render("notice.street_office", street=f.street or f.district)
    return render("notice.district_office", district=f.district)


def decision(f: Facts) -> str:
    """The written decision (审批决定书), addressed to the applicant, signed by the district."""
    assert f.decided is not None
    title = render("notice.decision.title", rule=f.rule)
    days = (
        (f.notice_last - f.notice_first).days + 1
        if f.notice_first is not None and f.notice_last is not None
        else 0
    )
    steps = _steps(f.steps, days)
    outcome = (
        render("notice.decision.approved", on=_day(f.decided))
        if f.status == "approved"
        else render("notice.decision.refused", reason=f.reason)
    )
    # signed by whoever decided: the station (community), the street office, the district
    reviews = [s for s in f.steps if s != "public_notice"]
    office = _office(f, reviews[-1] if reviews else "district")
    number = render("notice.decision.number", district=f.district, year=f.decided.year, id=f.app_id)
    body = (
        f'<h1 id="title">{escape(title)}</h1><div class="no">{escape(number)}</div>'
        f'<p class="to">{escape(render("notice.decision.to", name=f.name))}</p>'
        f"<p>{escape(render('notice.decision.body', submitted=_day(f.submitted), rule=f.rule, steps=steps))}</p>"
        f'<p id="outcome">{escape(outcome)}</p>'
        f"<p>{escape(render('notice.decision.appeal'))}</p>"
        f'<div class="sign"><div>{escape(office)}</div><div>{escape(_day(f.decided))}</div></div>'
    )
    return _page(title, body)
