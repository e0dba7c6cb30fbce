"""Means over seeds with Student-t intervals, and seed lists."""

from __future__ import annotations

import pytest

from sim.stats import Interval, mean_interval, parse_seeds, summarise, t975


def test_t_quantiles_from_the_table() -> None:
    """t(0.975) with 1, 19 and 30 degrees of freedom: 12.706, 2.093, 2.042."""
    assert (t975(1), t975(19), t975(30)) == (12.706, 2.093, 2.042)


def test_t_quantile_between_table_rows() -> None:
    """df 35 lies between 2.042 (30) and 2.021 (40): 2.030, as in fuller tables."""
    assert round(t975(35), 3) == 2.030


def test_the_interval_of_four_values() -> None:
    """1, 2, 3, 4: mean 2.5, s = 1.291, half-width 3.182 × 1.291 ÷ 2 = 2.054."""
    i = mean_interval([1, 2, 3, 4])
    assert i.mean == 2.5 and i.low is not None and i.high is not None
    assert round((i.high - i.low) / 2, 3) == 2.054


def test_equal_values_have_no_width() -> None:
    """Twenty runs at 100 %: 100 ± 0."""
    i = mean_interval([100.0] * 20)
    assert (i.low, i.high) == (100.0, 100.0)


def test_one_value_has_no_interval() -> None:
    """A single seed says nothing about spread."""
    assert mean_interval([5.0]) == Interval(1, 5.0, None, None)


def test_summarise_skips_runs_without_the_kpi() -> None:
    """A KPI missing from one run (a percentile of no calls) is averaged over the others."""
    out = summarise([{"a": 1.0, "b": 2.0}, {"a": 3.0}])
    assert (out["a"].n, out["b"].n, out["b"].mean) == (2, 1, 2.0)


def test_seed_lists() -> None:
    """Ranges and single seeds, each once, in order."""
    assert parse_seeds("1-3,7,2") == [1, 2, 3, 7]


def test_a_bad_seed_list() -> None:
    """Anything else is refused with the text quoted."""
    with pytest.raises(ValueError, match="1-20"):
        parse_seeds("one to twenty")
