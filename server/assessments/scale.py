"""A capability scale as data, and the pure scoring of one assessment against it.

A scale is a JSON file under ``server/assessments/scales/`` (the national GB/T 42195-2022, and
beside it any province's variant under its own id): sections of items with their maximum
score, the level bands by total score (0 = 能力完好 ... 4 = 能力完全丧失), the care level each
capability level maps to, the conditions that raise the level by one, and the suggested
service plan per level. Loading checks the file; scoring never raises on a missing item, it
reports what is missing (an assessment with gaps is a draft, not a result).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from schemas.registry import CareLevel

SCALES_DIR: Final = Path(__file__).parent / "scales"
PERIODS: Final = {"week": 7, "month": 30}


class ScaleError(ValueError):
    """A scale file that does not make sense."""


@dataclass(frozen=True)
class Item:
    code: str
    section: str
    name_zh: str
    name_en: str
    max: int
    # Each score's description for the assessor (score, 中文, English), best first.
    options: tuple[tuple[int, str, str], ...] = ()


@dataclass(frozen=True)
class Section:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Level:
    level: int
    name_zh: str
    name_en: str
    min_score: int
    care_level: CareLevel


@dataclass(frozen=True)
class PlanLine:
    item_code: str
    per: str  # week or month
    times: int


@dataclass(frozen=True)
class Scale:
    scale_id: str
    version: int
    title_zh: str
    items: tuple[Item, ...]
    sections: tuple[str, ...]
    levels: tuple[Level, ...]  # best first
    unconscious: tuple[str, int, int] | None  # item, score, level
    raisers: frozenset[str]
    plans: Mapping[int, tuple[PlanLine, ...]]
    reassess_after_days: int
    section_names: tuple[Section, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.scale_id}@{self.version}"

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    @property
    def total(self) -> int:
        return sum(i.max for i in self.items)


@dataclass(frozen=True)
class Result:
    """What a set of answers comes to: missing items (then nothing else counts), or the
    section scores, total, capability level and care level."""

    missing: tuple[str, ...]
    sections: Mapping[str, int]
    total: int | None
    level: int | None
    care_level: CareLevel | None
    raised_by: tuple[str, ...] = ()


def _int(v: Any, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise ScaleError(f"{what} must be an integer")
    return v


def _check_totals(raw: Mapping[str, Any], items: list[Item]) -> int:
    """The sum of the item maxima, checked against the totals the file states (``total`` and
    each section's ``total``): a maximum mistyped in the data moves every level band, so the
    file says what the standard's tables add up to and a mismatch refuses to load."""
    total = sum(i.max for i in items)
    for sec in raw["sections"]:
        stated = sec.get("total")
        got = sum(i.max for i in items if i.section == sec["code"])
        if stated is not None and _int(stated, f"section {sec['code']} total") != got:
            raise ScaleError(f"section {sec['code']}: item maxima sum to {got}, not {stated}")
    stated = raw.get("total")
    if stated is not None and _int(stated, "total") != total:
        raise ScaleError(f"item maxima sum to {total}, not the stated total {stated}")
    return total


def parse(raw: Mapping[str, Any]) -> Scale:
    """A scale from its JSON, checked: unique item codes, contiguous level bands from 0, a
    care level for each, plans naming known levels."""
    items: list[Item] = []
    sections: list[str] = []
    named: list[Section] = []
    for sec in raw["sections"]:
        sections.append(str(sec["code"]))
        named.append(
            Section(sections[-1], str(sec.get("name_zh", "")), str(sec.get("name_en", "")))
        )
        for it in sec["items"]:
            mx = _int(it["max"], f"item {it['code']} max")
            if mx < 1:
                raise ScaleError(f"item {it['code']}: max must be at least 1")
            opts = _options(it.get("options"), sec.get("options"), mx, str(it["code"]))
            items.append(
                Item(str(it["code"]), sections[-1], it["name_zh"], it["name_en"], mx, opts)
            )
    codes = [i.code for i in items]
    if len(set(codes)) != len(codes):
        raise ScaleError("duplicate item codes")
    levels = tuple(
        sorted(
            (
                Level(
                    _int(lv["level"], "level"),
                    lv["name_zh"],
                    lv["name_en"],
                    _int(lv["min_score"], "min_score"),
                    CareLevel(lv["care_level"]),
                )
                for lv in raw["levels"]
            ),
            key=lambda lv: lv.level,
        )
    )
    if [lv.level for lv in levels] != list(range(len(levels))) or not levels:
        raise ScaleError("levels must be numbered 0, 1, 2 ... from the most able")
    mins = [lv.min_score for lv in levels]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins) or mins[-1] != 0:
        raise ScaleError("level bands must fall strictly and the last must start at 0")
    total = _check_totals(raw, items)
    if mins[0] > total:
        raise ScaleError(f"level 0 starts at {mins[0]}, above the total {total}")
    unc = raw.get("unconscious_item")
    unconscious = None
    if unc is not None:
        if unc["code"] not in codes:
            raise ScaleError(f"unknown unconscious item {unc['code']}")
        unconscious = (str(unc["code"]), _int(unc["score"], "score"), _int(unc["level"], "level"))
    plans: dict[int, tuple[PlanLine, ...]] = {}
    for lv, lines in (raw.get("plans") or {}).items():
        if int(lv) not in range(len(levels)):
            raise ScaleError(f"plan for unknown level {lv}")
        plan = []
        for ln in lines:
            if ln["per"] not in PERIODS:
                raise ScaleError(f"plan line per must be one of {sorted(PERIODS)}")
            plan.append(PlanLine(str(ln["item_code"]), ln["per"], _int(ln["times"], "times")))
        plans[int(lv)] = tuple(plan)
    return Scale(
        scale_id=str(raw["id"]),
        version=_int(raw["version"], "version"),
        title_zh=str(raw.get("title_zh", "")),
        items=tuple(items),
        sections=tuple(sections),
        levels=levels,
        unconscious=unconscious,
        raisers=frozenset(raw.get("raise_one_level_if") or ()),
        plans=plans,
        reassess_after_days=_int(raw.get("reassess_after_days", 365), "reassess_after_days"),
        section_names=tuple(named),
    )


def _options(own: Any, section: Any, mx: int, code: str) -> tuple[tuple[int, str, str], ...]:
    """An item's score descriptions: its own, or else its section's (those within its
    range). Optional; where given, each score from 0 to the maximum is described once."""
    if own is None and section is None:
        return ()
    rows = own if own is not None else [o for o in section if _int(o["score"], "score") <= mx]
    opts = sorted(
        ((_int(o["score"], "score"), str(o["zh"]), str(o["en"])) for o in rows), reverse=True
    )
    if [o[0] for o in opts] != list(range(mx, -1, -1)):
        raise ScaleError(f"item {code}: options must describe each score from {mx} to 0 once")
    return tuple(opts)


@cache
def scales() -> Mapping[str, Scale]:
    """Every scale file, by ``id@version`` (and the newest version of each by its id)."""
    out: dict[str, Scale] = {}
    for path in sorted(SCALES_DIR.glob("*.json")):
        s = parse(json.loads(path.read_text(encoding="utf-8")))
        if s.key in out:
            raise ScaleError(f"two files for {s.key}")
        out[s.key] = s
        if s.scale_id not in out or out[s.scale_id].version < s.version:
            out[s.scale_id] = s
    return out


DEFAULT_SCALE: Final = "GB/T 42195-2022"


def score(scale: Scale, answers: Mapping[str, int], flags: frozenset[str]) -> Result:
    """Score a complete set of answers (answers are checked by the caller: known items, in
    range). Missing items: no score. Unconscious: the lowest level directly. A flag the
    scale lists (dementia, a psychiatric diagnosis, risk events) raises the level by one."""
    missing = tuple(i.code for i in scale.items if i.code not in answers)
    if missing:
        return Result(missing, {}, None, None, None)
    sections = {
        s: sum(answers[i.code] for i in scale.items if i.section == s) for s in scale.sections
    }
    total = sum(sections.values())
    level = next(lv.level for lv in scale.levels if total >= lv.min_score)
    raised: tuple[str, ...] = ()
    if scale.unconscious is not None and answers[scale.unconscious[0]] == scale.unconscious[1]:
        level = scale.unconscious[2]
    else:
        raised = tuple(sorted(flags & scale.raisers))
        if raised:
            level = min(level + 1, len(scale.levels) - 1)
    return Result((), sections, total, level, scale.levels[level].care_level, raised)


def bad_answers(scale: Scale, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each answer that is not a known item with a whole score in its range."""
    bad: list[dict[str, Any]] = []
    for code, v in answers.items():
        item = scale.item(code)
        if item is None:
            bad.append({"item": code, "problem": "unknown_item"})
        elif not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= item.max:
            bad.append({"item": code, "problem": "out_of_range", "max": item.max})
    return bad
