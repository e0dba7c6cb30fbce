"""Means over seeds with a 95 % interval (Student's t), for `sim compare`.

Each seed's run is one observation of a KPI; the interval is mean ± t(0.975, n−1) · s / √n.
Seeds are independent draws of the day, so this is the textbook interval for the mean KPI of
the scenario. A KPI missing from a run (a percentile of no calls) is left out of that KPI's n.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# t(0.975, df) for df = 1..30, then 40, 60, 120 and infinity (standard tables).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_T975_TAIL = ((30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980), (math.inf, 1.960))


def t975(df: int) -> float:
    """Student's t 97.5 % quantile; beyond the table, linear in 1/df (the usual rule)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    if df <= 30:
        return _T975[df - 1]
    for (d0, t0), (d1, t1) in itertools.pairwise(_T975_TAIL):
        if d0 <= df <= d1:
            x0, x1, x = 1 / d0, (1 / d1 if d1 != math.inf else 0.0), 1 / df
            return t0 + (t1 - t0) * (x0 - x) / (x0 - x1)
    return 1.960  # pragma: no cover - the table reaches infinity


@dataclass(frozen=True)
class Interval:
    n: int
    mean: float | None
    low: float | None  # None with fewer than two values
    high: float | None

    def text(self, digits: int = 1) -> str:
        if self.mean is None:
            return "-"
        if self.low is None or self.high is None:
            return f"{self.mean:.{digits}f}"
        half = (self.high - self.low) / 2
        return f"{self.mean:.{digits}f} ± {half:.{digits}f}"


def mean_interval(values: Sequence[float]) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(0, None, None, None)
    mean = sum(values) / n
    if n == 1:
        return Interval(1, mean, None, None)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return Interval(n, mean, mean - half, mean + half)


def summarise(runs: Sequence[Mapping[str, float]]) -> dict[str, Interval]:
    """Per KPI name (as in `Kpis.flat`), the interval over the runs that have it."""
    names = sorted({k for r in runs for k in r})
    return {k: mean_interval([r[k] for r in runs if k in r]) for k in names}


_SEEDS = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def parse_seeds(text: str) -> list[int]:
    """ "1-20", "3", "1,4,9-12" → the seeds in order, each once; ValueError otherwise."""
    if not _SEEDS.match(text.replace(" ", "")):
        raise ValueError(f"seeds must look like 1-20 or 1,4,9-12, not {text!r}")
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi or lo)
        if b < a:
            raise ValueError(f"{part}: the range runs backwards")
        out += [s for s in range(a, b + 1) if s not in out]
    return out


def table(
    by_policy: Mapping[str, Mapping[str, Interval]], metrics: Sequence[str], digits: int = 1
) -> str:
    """A plain-text table: one row per KPI, one column per policy (mean ± half-width)."""
    policies = list(by_policy)
    cells = [
        [m, *(by_policy[p].get(m, Interval(0, None, None, None)).text(digits) for p in policies)]
        for m in metrics
    ]
    head = ["KPI", *policies]
    widths = [max(len(r[i]) for r in [head, *cells]) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [head, *cells]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
