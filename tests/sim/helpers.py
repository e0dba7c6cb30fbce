"""Small scenarios for the simulator's tests, as plain JSON-like data to bend per test."""

from __future__ import annotations

import copy
import math
from typing import Any

from schemas.sim import Scenario
from sim.day import Day
from sim.generate import generate
from sim.log import CallStep, Recorder, RunLog
from sim.scenario import parse_scenario

CENTRE = {"lat": 39.9219, "lng": 116.4436}  # 仓红社区, GCJ-02


def near(east_m: float = 0.0, north_m: float = 0.0) -> dict[str, float]:
    """A point this many metres east and north of CENTRE (flat-earth, fine at this scale)."""
    return {
        "lat": round(CENTRE["lat"] + north_m / 111_195.0, 7),
        "lng": round(
            CENTRE["lng"] + east_m / (111_195.0 * math.cos(math.radians(CENTRE["lat"]))), 7
        ),
    }


def tiny() -> dict[str, Any]:
    """One station, one caregiver 08:00-17:00 on an e-bike, two elders, one emergency at
    10:00 from the elder 600 m north; no noise anywhere, so times can be checked by hand."""
    return copy.deepcopy(
        {
            "name": "tiny",
            "start_date": "2026-11-23",
            "district": {
                "name": "test",
                "stations": [
                    {
                        "id": "st",
                        "name": "测试站",
                        "location": CENTRE,
                        "caregivers": [
                            {"name": "王芳", "shifts": [{"start": "08:00", "end": "17:00"}]},
                            {"name": "陈静", "shifts": [{"start": "08:00", "end": "17:00"}]},
                            {"name": "李敏", "shifts": [{"start": "08:00", "end": "17:00"}]},
                        ],
                    }
                ],
            },
            "elders": {
                "kind": "list",
                "rows": [
                    {"id": "E1", "location": near(north_m=600)},
                    {"id": "E2", "location": near(east_m=-400)},
                ],
            },
            "calls": {"kind": "list", "rows": [{"elder": "E1", "at": "10:00"}]},
            "behaviour": {
                "travel_noise": {"p90": 1.0},
                "service_noise": {"p90": 1.0},
                "offline": {"chance_per_hour": 0.0},
            },
        }
    )


def scenario(data: dict[str, Any]) -> Scenario:
    return parse_scenario(data).scenario


def day_of(data: dict[str, Any], seed: int = 1) -> Day:
    return generate(scenario(data), seed)


H = 3600


def four_calls() -> Day:
    """Real emergencies at 09:00, 10:00 and 11:00 near the station, and one at 12:00 from an
    elder 8 km out (unreachable: the bound is about 43 minutes)."""
    data = tiny()
    data["elders"]["rows"].append({"id": "E3", "location": near(0, 8000)})
    data["calls"]["rows"] = [
        {"elder": "E1", "at": "09:00"},
        {"elder": "E2", "at": "10:00"},
        {"elder": "E1", "at": "11:00"},
        {"elder": "E3", "at": "12:00"},
    ]
    return day_of(data)


def arrivals(day: Day, minutes: dict[str, int | None]) -> RunLog:
    """Each call pressed, offered to st.1, accepted a minute later, on scene after the given
    minutes (None: never, closed by the operator), resolved."""
    rec = Recorder()
    for c in day.calls:
        rec.call(c.id, c.at_s, CallStep.PRESSED)
        rec.call(c.id, c.at_s + 1, CallStep.OFFERED, "st.1")
        m = minutes[c.id]
        if m is None:
            rec.call(c.id, c.at_s + 3 * H, CallStep.CLOSED, detail="handled_by_operator")
            continue
        rec.call(c.id, c.at_s + 60, CallStep.ACCEPTED, "st.1")
        rec.call(c.id, c.at_s + m * 60, CallStep.ARRIVED, "st.1")
        rec.call(c.id, c.at_s + m * 60 + 600, CallStep.RESOLVED, "st.1")
    return rec.freeze("hand", 1)
