"""The providers' rules, pure: how many providers a street may contract, when a certificate is
valid (持证上岗), when a record is too short to be the visit it claims, and the annual rating
(考核评定: 优良 / 合格 / 不合格) from a year's evidence with weights and thresholds kept as
versioned data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Final

from schemas.providers import Grade

MAX_PROVIDERS_PER_STREET: Final = 3  # 街道可确定1-3家服务组织
SHORT_VISIT_SHARE: Final = 0.5  # a record shorter than half the item's duration is held
# The seeds' targets (综合满意率达到95%以上, 回访比例不低于5%); a district's rule set may set
# its own (welfare ``targets``), passed in by the rating flow.
SATISFACTION_TARGET: Final = 0.95
RETURN_VISIT_SHARE: Final = 0.05
# One printed door card proving this many visits with no location fix within this many days
# is a signal: a copied card proves a visit without anyone at the door.
DOOR_CARD_VISITS: Final = 6
DOOR_CARD_DAYS: Final = 7


def valid_certificate(certs: Iterable[Any], name: str, day: date) -> bool:
    """Whether the caregiver holds a certificate called ``name`` valid on ``day`` (a certificate
    with no expiry printed does not expire; an unreadable expiry is not valid)."""
    for c in certs:
        if not isinstance(c, Mapping) or c.get("name") != name:
            continue
        expires = c.get("expires")
        if expires is None:
            return True
        try:
            if date.fromisoformat(str(expires)) >= day:
                return True
        except ValueError:
            continue
    return False


def too_short(recorded_s: float, duration_min: int) -> bool:
    """A record far below the item's duration (a 10-second record of a 90-minute bath)."""
    return duration_min > 0 and recorded_s < SHORT_VISIT_SHARE * duration_min * 60


@dataclass(frozen=True)
class CardUse:
    """A visit proven only by the elder's printed door card (no location fix)."""

    record_id: int
    elder_id: int
    version: int
    day: date


def card_reuse(
    uses: Iterable[CardUse], *, visits: int = DOOR_CARD_VISITS, days: int = DOOR_CARD_DAYS
) -> dict[int, int]:
    """The visits whose card proved at least ``visits`` visits within some ``days`` days
    around them: record id -> the most visits by that card in such a window."""
    by_card: dict[tuple[int, int], list[CardUse]] = {}
    for u in uses:
        by_card.setdefault((u.elder_id, u.version), []).append(u)
    found: dict[int, int] = {}
    for group in by_card.values():
        group.sort(key=lambda u: (u.day, u.record_id))
        end = 0
        for start, first in enumerate(group):
            end = max(end, start)
            while end + 1 < len(group) and (group[end + 1].day - first.day).days < days:
                end += 1
            n = end - start + 1
            if n >= visits:
                for u in group[start : end + 1]:
                    found[u.record_id] = max(found.get(u.record_id, 0), n)
    return found


# ----- the annual rating ------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """A provider's year, as counted from its records, tasks, follow-ups and fraud decisions."""

    visits: int  # records that counted (not reversed)
    satisfied: int  # satisfaction answers that were satisfied
    answers: int  # satisfaction answers given
    complaints_upheld: int
    late: int  # visits started after their window
    missed: int  # visits never done (cancelled or still open after their window)
    proven: int  # records with a proof of the visit
    fraud_upheld: int
    return_visits: int  # records followed up by a return visit (回访)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# Each version is data: the weights of the parts (summing to 100) and the grade thresholds.
# A published version is never edited; a new one is added and named by the rating.
WEIGHTS: Final[dict[int, dict[str, Any]]] = {
    1: {
        "weights": {
            "satisfaction": 30,
            "complaints": 15,
            "punctuality": 20,
            "proof": 15,
            "fraud": 10,
            "return_visits": 10,
        },
        "excellent_from": 90.0,
        "qualified_from": 70.0,
        "per_complaint": 0.2,  # each upheld complaint takes a fifth of its part
        "per_fraud": 0.5,  # each upheld fraud case takes half of its part
        "missed_counts": 2,  # a missed visit weighs as two late ones
        # 优良 needs the satisfaction target met and no fraud upheld, whatever the score
        "excellent_needs_target": True,
    }
}
CURRENT_WEIGHTS: Final = max(WEIGHTS)


def _share(num: int, den: int, *, empty: float) -> float:
    return num / den if den else empty


def parts(
    ev: Evidence,
    version: int = CURRENT_WEIGHTS,
    *,
    satisfaction_target: float = SATISFACTION_TARGET,
    return_share: float = RETURN_VISIT_SHARE,
) -> dict[str, float]:
    """Each part of the score in [0, 1], against the district's targets."""
    w = WEIGHTS[version]
    satisfaction = _share(ev.satisfied, ev.answers, empty=0.0)
    bad = ev.late + w["missed_counts"] * ev.missed
    return {
        "satisfaction": min(1.0, satisfaction / satisfaction_target),
        "complaints": max(0.0, 1.0 - w["per_complaint"] * ev.complaints_upheld),
        "punctuality": max(0.0, 1.0 - _share(bad, ev.visits + ev.missed, empty=0.0)),
        "proof": _share(ev.proven, ev.visits, empty=1.0),
        "fraud": max(0.0, 1.0 - w["per_fraud"] * ev.fraud_upheld),
        "return_visits": min(1.0, _share(ev.return_visits, ev.visits, empty=1.0) / return_share),
    }


def rate(
    ev: Evidence,
    version: int = CURRENT_WEIGHTS,
    *,
    satisfaction_target: float = SATISFACTION_TARGET,
    return_share: float = RETURN_VISIT_SHARE,
) -> tuple[float, Grade]:
    """The score (0-100, two decimals) and the grade it earns under ``version``."""
    w = WEIGHTS[version]
    got = parts(ev, version, satisfaction_target=satisfaction_target, return_share=return_share)
    score = round(sum(w["weights"][k] * v for k, v in got.items()), 2)
    met = _share(ev.satisfied, ev.answers, empty=0.0) >= satisfaction_target
    if score >= w["excellent_from"] and (
        not w["excellent_needs_target"] or (met and ev.fraud_upheld == 0)
    ):
        return score, Grade.EXCELLENT
    if score >= w["qualified_from"]:
        return score, Grade.QUALIFIED
    return score, Grade.UNQUALIFIED
