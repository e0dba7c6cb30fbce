"""The district-day simulator: scenarios, generated days, bounds, event logs, KPIs, reports.

This package's pure half builds and judges a day without the server: `scenario` loads and
checks a scenario file, `generate` draws the day (`day.Day`), `bound` says how fast any
caregiver could have been at each call, `log` is what a run records, `kpis` and `report`
judge a run from its log. The driver that replays the day through the server comes next.
"""
