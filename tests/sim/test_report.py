"""report.html renders: it parses as HTML, holds the KPI table and the 20-minute line, fetches
nothing and runs no script."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim.bound import bounds
from sim.generate import generate
from sim.kpis import compute
from sim.report import render
from sim.scenario import load_scenario
from tests.sim.helpers import day_of, tiny
from tests.sim.toy import toy_run

SIMS = Path(__file__).resolve().parents[2] / "sims"


class Page(HTMLParser):
    """Collects tags with their attributes and the text, and checks tags are balanced."""

    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def demo() -> tuple[str, Page]:
    day = generate(load_scenario(SIMS / "canghong.json").scenario, 2)
    log, b = toy_run(day), bounds(day)
    html = render(day, log, compute(day, log, b), b)
    page = Page()
    page.feed(html)
    page.close()
    return html, page


def test_the_page_parses_and_closes_every_tag(demo: tuple[str, Page]) -> None:
    """Every opened element is closed, in order."""
    assert demo[1].open == []


def test_the_kpi_table_is_there(demo: tuple[str, Page]) -> None:
    """A table with id kpis, and the headline row in both languages."""
    _, page = demo
    assert ("table", {"class": "kpi", "id": "kpis"}) in page.tags
    text = "".join(page.text)
    assert "on scene in time, % of reachable" in text and "20 分钟 / 20 min内到场" in text


def test_the_twenty_minute_line_is_drawn(demo: tuple[str, Page]) -> None:
    """The response chart has the promise as a line, labelled in both languages."""
    _, page = demo
    lines = [a for t, a in page.tags if t == "line" and a.get("id") == "sla-line"]
    assert len(lines) == 1 and lines[0]["x1"] == lines[0]["x2"]
    assert "20 分钟 / 20 min" in "".join(page.text)


def test_nothing_is_fetched_and_no_script_runs(demo: tuple[str, Page]) -> None:
    """Self-contained: no script, no link, no src, no URL but SVG's namespace."""
    html, page = demo
    assert not any(t in ("script", "link", "img", "iframe") for t, _ in page.tags)
    assert html.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0


def test_every_station_and_its_circle_are_on_the_map(demo: tuple[str, Page]) -> None:
    """One dashed circle per station (the demo has one)."""
    _, page = demo
    circles = [a for t, a in page.tags if t == "circle" and a.get("stroke-dasharray") == "4,3"]
    assert len(circles) == 1


def test_every_caregiver_has_a_row_in_the_gantt(demo: tuple[str, Page]) -> None:
    """The four caregivers, by name and id."""
    text = "".join(demo[1].text)
    assert all(f"(canghong.{n})" in text for n in range(1, 5))


def test_text_from_the_scenario_is_escaped() -> None:
    """A scenario named with markup shows the markup, it does not become it."""
    data = tiny()
    data["name"] = "<b>bold</b>"
    day = day_of(data)
    log, b = toy_run(day), bounds(day)
    html = render(day, log, compute(day, log, b), b)
    assert "<b>bold" not in html and "&lt;b&gt;bold" in html
