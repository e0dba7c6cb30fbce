"""The help-call process comes out at its rates: averages over many seeds, compared as
ratios to what the scenario asks (each tolerance is over three standard errors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.incidents import CallType
from sim.day import HelpCall
from sim.generate import generate
from tests.sim.helpers import scenario, tiny

SEEDS = range(40)


def process(rates: Sequence[float], **extra: Any) -> dict[str, Any]:
    """500 scattered elders, a caregiver round the clock, no repeat presses."""
    data = tiny()
    data["district"]["stations"][0]["caregivers"][0]["shifts"] = [
        {"start": "00:00", "end": "24:00"}
    ]
    data["elders"] = {"kind": "generate", "count": 500, "scattered_share": 1.0}
    data["calls"] = {
        "kind": "generate",
        "rate_per_1000_per_hour": list(rates),
        "repeat_press_share": 0.0,
        **extra,
    }
    return data


def presses(data: dict[str, Any]) -> list[list[HelpCall]]:
    s = scenario(data)
    return [list(generate(s, seed).calls) for seed in SEEDS]


def test_the_daily_count_matches_the_rate() -> None:
    """40 calls per 1,000 elders per hour for 9 hours, 500 elders → 180 a day on average."""
    days = presses(process([0] * 8 + [40] * 9 + [0] * 7))
    mean = sum(len(d) for d in days) / len(days)
    assert abs(mean / 180 - 1) < 0.04


def test_the_hours_keep_their_shape() -> None:
    """Rate 20 from 08:00 to 12:00 and 60 from 12:00 to 16:00: three times the calls."""
    days = presses(process([0] * 8 + [20] * 4 + [60] * 4 + [0] * 8))
    morning = sum(1 for d in days for c in d if c.at_s < 12 * 3600)
    afternoon = sum(1 for d in days for c in d if c.at_s >= 12 * 3600)
    assert abs(afternoon / morning / 3 - 1) < 0.1
    assert all(8 * 3600 <= c.at_s < 16 * 3600 for d in days for c in d)


def test_a_surge_multiplies_the_rate_in_its_window() -> None:
    """A surge of 2 from 12:00 to 14:00 on a flat rate: twice the calls per hour there,
    and the extra calls are the ones marked as the surge's."""
    data = process([0] * 8 + [40] * 8 + [0] * 8)
    data["disruptions"] = [{"kind": "surge", "start": "12:00", "end": "14:00", "factor": 2}]
    days = presses(data)
    inside = sum(1 for d in days for c in d if 12 * 3600 <= c.at_s < 14 * 3600)
    outside = sum(1 for d in days for c in d if not 12 * 3600 <= c.at_s < 14 * 3600)
    assert abs((inside / 2) / (outside / 6) / 2 - 1) < 0.12
    marked = sum(1 for d in days for c in d if c.surge)
    assert abs(marked / (inside / 2) - 1) < 0.12


def test_types_and_false_alarms_come_in_their_shares() -> None:
    """Half emergencies, half family calls; a fifth false alarms."""
    data = process(
        [0] * 8 + [40] * 9 + [0] * 7,
        types={"emergency": 1, "family": 1},
        false_alarm_share=0.2,
    )
    calls = [c for d in presses(data) for c in d]
    emergencies = sum(1 for c in calls if c.type is CallType.EMERGENCY) / len(calls)
    false = sum(1 for c in calls if c.outcome.value != "real") / len(calls)
    assert abs(emergencies / 0.5 - 1) < 0.04
    assert abs(false / 0.2 - 1) < 0.08


def test_high_risk_elders_call_more_often() -> None:
    """high_risk_factor 3: a high-risk elder calls three times as often as another."""
    data = process([0] * 8 + [40] * 9 + [0] * 7, high_risk_factor=3.0)
    data["elders"]["high_risk_by_care_level"] = {"自理": 0.2, "半失能": 0.2, "失能": 0.2}
    data["elders"]["alone_risk_factor"] = 1.0
    data["calls"]["care_factor"] = {"自理": 1, "半失能": 1, "失能": 1}
    s = scenario(data)
    per_risky = per_other = 0.0
    for seed in SEEDS:
        day = generate(s, seed)
        risky = {e.id for e in day.elders if e.high_risk}
        hits = sum(1 for c in day.calls if c.elder_id in risky)
        per_risky += hits / len(risky)
        per_other += (len(day.calls) - hits) / (len(day.elders) - len(risky))
    assert abs(per_risky / per_other / 3 - 1) < 0.1
