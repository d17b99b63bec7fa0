"""Each dashboard figure against the hand-built set in conftest.py (exact counts, percentiles,
on-time shares, jobs and capex)."""

from datetime import date

from crm.dashboard import figures
from crm.dashboard.periods import Period
from tests.dashboard.conftest import NOW, PERIOD

TEAM = figures.TEAM


def bounds():
    return Period.from_args(PERIOD, date(2026, 2, 20)).utc_bounds("Europe/Copenhagen")


def test_pipeline_counts_open_enquiries_by_status_and_the_funnel(app, world):
    with app.app_context():
        team = figures.pipeline(TEAM, *bounds())
        mine = figures.pipeline(figures.assigned_to(world["a"]), *bounds())
    assert dict(team["open"]) == {"new": 1, "contacted": 1, "qualified": 0, "meeting": 0, "proposal": 1}
    assert team["funnel"] == [("received", 5), ("answered", 4), ("qualified", 2), ("won", 1)]
    assert dict(mine["open"]) == {"new": 0, "contacted": 1, "qualified": 0, "meeting": 0, "proposal": 1}
    assert mine["funnel"] == [("received", 4), ("answered", 4), ("qualified", 2), ("won", 1)]


def test_intake_per_week_by_sector_and_by_source(app, world):
    with app.app_context():
        intake = figures.intake(TEAM, *bounds())
    weeks = {week: {s: n for s, n in counts.items() if n} for week, counts in intake["weeks"] if any(counts.values())}
    assert weeks == {"2025-12-01": {"medtech": 1}, "2026-01-05": {"medtech": 2, "biotech": 1},
                     "2026-02-02": {"pharma": 1, "medtech": 1}}
    assert len(intake["weeks"]) == 27 and intake["weeks"][-1][0] <= "2026-03-31"
    assert intake["sources"] == [("form", 3), ("api", 1), ("manual", 1)]


def test_response_medians_percentiles_on_time_share_and_today(app, world):
    with app.app_context():
        start, end = bounds()
        response = figures.response(TEAM, start, end, NOW, NOW.replace(hour=23))
    assert response["months"] == [
        {"month": "2026-01", "median": 4, "p90": 60, "on_time": 2, "late": 1, "share": 67},
        {"month": "2026-02", "median": 10, "p90": 10, "on_time": 1, "late": 1, "share": 50},
    ]
    assert response["late_now"] == 1 and response["due_today"] == 0


def test_percentile_is_nearest_rank_in_whole_hours():
    assert figures.percentile({}, 0.5) is None
    assert figures.percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2
    assert figures.percentile({1: 9, 100: 1}, 0.9) == 1 and figures.percentile({1: 8, 100: 2}, 0.9) == 100


def test_workload_per_manager_and_away(app, world):
    with app.app_context():
        workload = figures.workload(TEAM, date(2026, 2, 20), NOW)
    assert workload == {world["a"]: {"open": 2, "overdue": 0, "late": 0},
                        world["b"]: {"open": 1, "overdue": 1, "late": 0},
                        None: {"open": 1, "overdue": 0, "late": 1}}


def test_outcomes_per_quarter_with_reasons_and_jobs_and_capex_by_sector(app, world):
    with app.app_context():
        outcomes = figures.outcomes(TEAM, *bounds())
    assert outcomes["quarters"] == [("2026-Q1", 1, 1, {"Project cancelled": 1})]
    sectors = {row["sector"]: row for row in outcomes["sectors"]}
    assert sectors["medtech"]["landed"] == [1, 10, 8, 5_000_000, 4_000_000]
    assert sectors["medtech"]["pipeline"] == [3, 20, 0, 7_000_000, 0]  # e3, e6, e7: open now
    assert sectors["pharma"]["pipeline"] == [1, 0, 0, 0, 0] and sectors["biotech"]["landed"] == [0] * 5
