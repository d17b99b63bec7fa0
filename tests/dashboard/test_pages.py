"""The dashboard and report pages: filters, what a manager may see, the CSV."""

import csv
import io
import re

import pytest

from crm.dashboard.report import COLUMNS, formula_safe
from tests.dashboard.conftest import PERIOD


def page(client, path, **args):
    return client.get(path, query_string={**PERIOD, **args})


def test_an_admin_sees_the_team_and_can_pick_a_manager(app, client, make_user, login, world):
    login(client, make_user(role="admin"))
    html = page(client, "/staff/dashboard").text
    assert "Anna Manager" in html and "Bent Manager" in html and "<svg" in html
    one = page(client, "/staff/dashboard", manager=str(world["b"]))
    assert one.status_code == 200 and f"assignee={world['b']}" in one.text


def test_a_manager_never_sees_another_managers_enquiries_in_a_figure_or_link(app, client, login, world):
    login(client, world["a"])
    html = page(client, "/staff/dashboard").text
    assert "Bent Manager" not in html and "Carl Secret" not in html
    assert not any(world[k] in html for k in ("e1", "e2", "e3", "e4", "e5", "e6", "e7"))  # no references
    links = set(re.findall(r'href="(/staff/enquiries[^"]*)"', html))
    assert links and all("assignee=" not in link or re.search(r"assignee=(me|unassigned)", link) for link in links)
    assert f"assignee={world['b']}" not in html
    # The manager's workload: their own row and the unassigned one.
    assert re.search(r"Anna Manager</td><td class=\"num\"><a [^>]*>2<", html.replace("&amp;", "&"))
    assert page(client, "/staff/dashboard", manager=str(world["b"])).status_code == 400
    rows = list(csv.reader(io.StringIO(page(client, "/staff/reports/pipeline.csv").text)))
    assert sum(int(r[2]) for r in rows[1:]) == 5  # a's four in the period and the unassigned e4


BAD_PERIODS = [
    {"period": "year"}, {"period": "custom"}, {"period": "custom", "from": "2026-13-01", "to": "2026-02-01"},
    {"period": "custom", "from": "2026-03-01", "to": "2026-02-01"},
    {"period": "custom", "from": "1900-01-01", "to": "2026-02-01"},
    {"period": "custom", "from": "2026-01-01", "to": "x" * 300},
]
CASES = [(path, args) for path in ("/staff/dashboard", "/staff/reports/pipeline", "/staff/reports/pipeline.csv")
         for args in BAD_PERIODS]
CASES += [("/staff/dashboard", {"manager": "999999"}), ("/staff/dashboard", {"manager": "x"})]


@pytest.mark.parametrize(("path", "args"), CASES)
def test_bad_filter_values_answer_400(app, client, make_user, login, path, args):
    login(client, make_user(role="admin"))
    assert client.get(path, query_string=args).status_code == 400


def test_the_csv_has_the_columns_numbers_only_and_no_personal_data(app, client, make_user, login, world):
    login(client, make_user(role="admin"))
    response = page(client, "/staff/reports/pipeline.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    by_key = {(r[0], r[1]): [int(v) for v in r[2:]] for r in rows[1:]}
    assert by_key[("2026-01", "medtech")] == [2, 1, 1, 1, 0, 10, 5_000_000, 8, 4_000_000]
    assert by_key[("2026-01", "biotech")] == [1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert by_key[("2026-02", "medtech")] == [1, 1, 1, 0, 0, 20, 7_000_000, 0, 0]
    assert by_key[("2026-02", "pharma")] == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert len(by_key) == 4  # spam and the December enquiry are not in it
    assert "Ada" not in response.text and "@" not in response.text
    html = page(client, "/staff/reports/pipeline").text
    assert "5,000,000" in html and "Ada" not in html


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_look_like_formulas_are_neutralised(value):
    assert formula_safe(value) == "'" + value
    assert formula_safe(12) == "12" and formula_safe("2026-01") == "2026-01"
