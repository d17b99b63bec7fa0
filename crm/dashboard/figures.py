"""The dashboard's figures, read from the counters (crm/dashboard/counters.py) so that their
cost does not grow with the enquiries: whole months and weeks from the counter tables, the
edges of the period from `enquiries` through its indexes, and the few figures that depend on
the time now (late, due today, overdue follow-ups) through the indexes of the open enquiries.

Each function takes `scope` (counters.TEAM, counters.assigned_to(id), counters.visible_to(user)),
so that the same code gives "mine" and "the team's". Spam is not an enquiry: it is left out of
every figure. Months, weeks and quarters are counted in UTC; response times in whole hours.
"""

import math
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from crm.dashboard import counters
from crm.dashboard.counters import CLOSINGS, MONTHS, TOTALS, UNASSIGNED, WEEKS
from crm.enquiries.models import CLOSED_STATUSES, STATUSES, Enquiry
from crm.enquiries.options import SECTORS
from crm.extensions import db
from crm.staff.models import User

OPEN_STATUSES = tuple(s for s in STATUSES if s not in CLOSED_STATUSES)
QUALIFIED_STATUSES = ("qualified", "meeting", "proposal", "won")  # reached qualified or beyond
SOURCES = ("form", "api", "manual", "import")
TEAM = counters.TEAM
assigned_to = counters.assigned_to
visible_to = counters.visible_to


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def month_of(column):
    if _postgresql():
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def on_enquiries(scope):
    """The scope as a WHERE clause on Enquiry."""
    if scope.assignees is None:
        return sa.true()
    clause = Enquiry.assignee_id.in_([a for a in scope.assignees if a != UNASSIGNED])
    if UNASSIGNED in scope.assignees:
        clause = sa.or_(clause, Enquiry.assignee_id.is_(None))
    return clause


def quarter_of_month(month):
    year, number = month.split("-")[:2]
    return f"{year}-Q{(int(number) - 1) // 3 + 1}"


DASHBOARD_KEYS = ("month", "source", "status")


def received(scope, start, end, keep=DASHBOARD_KEYS):
    """The month counter over the period, spam left out, summed by the database over the keys
    not in `keep`: {(month, source, status): [n, answered, on_time, answered_late,
    unanswered_due, planned_jobs, planned_capex_eur, realised_jobs, realised_capex_eur]}."""
    return counters.cells(MONTHS, scope, start, end, keep=keep, where="status <> 'spam'")


def pipeline(scope, start, end, cells=None):
    """Enquiries received in the period: open ones by status, and the funnel received →
    answered → qualified or beyond → landed (by their status now)."""
    cells = received(scope, start, end) if cells is None else cells
    by_status, answered = defaultdict(int), 0
    for (_, _, status), sums in cells.items():
        by_status[status] += sums[0]
        answered += sums[1]
    return {
        "open": [(status, by_status.get(status, 0)) for status in OPEN_STATUSES],
        "funnel": [
            ("received", sum(by_status.values())),
            ("answered", answered),
            ("qualified", sum(by_status.get(s, 0) for s in QUALIFIED_STATUSES)),
            ("won", by_status.get("won", 0)),
        ],
    }


def intake(scope, start, end, cells=None):
    """Enquiries per week by sector over the 26 weeks up to the period's end, and by source
    over the period."""
    weeks_start = end - timedelta(weeks=26)
    per_week = defaultdict(lambda: dict.fromkeys(SECTORS, 0))
    for (monday, sector), (n,) in counters.cells(WEEKS, scope, weeks_start, end, keep=("week", "sector")).items():
        per_week[monday][sector] += n
    first_monday = (weeks_start - timedelta(days=weeks_start.weekday())).date()
    weeks = [(first_monday + timedelta(weeks=i)).isoformat() for i in range(27)]
    weeks = [w for w in weeks if w <= end.date().isoformat()]
    sources = defaultdict(int)
    for (_, source, _), sums in (received(scope, start, end) if cells is None else cells).items():
        sources[source] += sums[0]
    return {"weeks": [(w, per_week[w]) for w in weeks],
            "sources": [(s, sources.get(s, 0)) for s in SOURCES if s in sources or s != "import"]}


def percentile(histogram, share):
    """Nearest-rank percentile of a {whole hours: count} histogram; None when empty (what
    counters.percentiles computes in the database)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(share * total), 0
    for hours in sorted(histogram):
        seen += histogram[hours]
        if seen >= rank:
            return hours
    return None


def _unanswered(scope):
    return sa.and_(on_enquiries(scope), Enquiry.first_response_at.is_(None), Enquiry.status.in_(OPEN_STATUSES))


def response(scope, start, end, now, today_end, cells=None):
    """Per month of receipt: median and 90th percentile hours to the first response, and the
    share answered by the promised time (late = answered after it, or unanswered past it).
    Today: how many open enquiries are unanswered past their time, and how many fall due today."""
    ranks = {month[:7]: values for month, values in counters.percentiles(scope, start, end, now).items()}
    shares = defaultdict(lambda: [0, 0, 0])  # on time, answered late, unanswered with a time
    for (month, *_), sums in (received(scope, start, end) if cells is None else cells).items():
        share = shares[month[:7]]
        for i in range(3):
            share[i] += sums[2 + i]
    # Unanswered and not yet due: only the last few days' enquiries (the index on the
    # unanswered ones' promised time); the rest of the unanswered ones are late.
    month = month_of(Enquiry.created_at)
    not_yet_due = dict(db.session.execute(
        sa.select(month, sa.func.count())
        .where(on_enquiries(scope), Enquiry.first_response_at.is_(None), Enquiry.response_due_at >= now,
               Enquiry.created_at >= start, Enquiry.created_at < end, Enquiry.status != "spam")
        .group_by(month)).all())
    months = []
    for m in sorted(set(ranks) | {m for m, s in shares.items() if any(s)}):
        on_time, answered_late, unanswered = shares.get(m, (0, 0, 0))
        late = answered_late + unanswered - not_yet_due.get(m, 0)
        median, p90 = ranks.get(m, (None, None))
        months.append({"month": m, "median": median, "p90": p90, "on_time": on_time, "late": late,
                       "share": round(100 * on_time / (on_time + late)) if on_time + late else None})
    late_now = db.session.scalar(sa.select(sa.func.count()).where(_unanswered(scope), Enquiry.response_due_at < now))
    due_today = db.session.scalar(sa.select(sa.func.count()).where(
        _unanswered(scope), Enquiry.response_due_at >= now, Enquiry.response_due_at < today_end))
    return {"months": months, "late_now": late_now, "due_today": due_today}


def workload(scope, today, now):
    """Per assignee (None: unassigned), over the open enquiries: how many (the counter), and
    of those the follow-ups past due and the first responses past due (the indexes of the
    open enquiries' follow-up dates and promised times); and the managers who are away."""
    result = {}
    for (status, _, assignee), sums in counters.all_time(TOTALS, scope).items():
        if status in OPEN_STATUSES:
            row = result.setdefault(assignee or None, {"open": 0, "overdue": 0, "late": 0})
            row["open"] += sums[0]
    # Status and assignee through coalesce(): no index on either can serve them, so that the
    # database reads the follow-up index alone (it holds both) rather than every open enquiry
    # or every enquiry of the manager.
    open_ = sa.func.coalesce(Enquiry.status, "").in_(OPEN_STATUSES)
    if scope.assignees is not None:
        open_ = sa.and_(open_, sa.func.coalesce(Enquiry.assignee_id, UNASSIGNED).in_(scope.assignees))
    for assignee, n in db.session.execute(
            sa.select(Enquiry.assignee_id, sa.func.count())
            .where(open_, Enquiry.next_follow_up_on.is_not(None), Enquiry.next_follow_up_on < today)
            .group_by(Enquiry.assignee_id)).all():
        if assignee in result:
            result[assignee]["overdue"] = n
    for assignee, n in db.session.execute(
            sa.select(Enquiry.assignee_id, sa.func.count())
            .where(_unanswered(scope), Enquiry.response_due_at < now).group_by(Enquiry.assignee_id)).all():
        if assignee in result:
            result[assignee]["late"] = n
    return result


def staff_away(today):
    return db.session.scalars(sa.select(User).where(User.active.is_(True), User.away_until.is_not(None),
                                                    User.away_until >= today).order_by(User.name)).all()


def outcomes(scope, start, end):
    """Landed (won) and lost per quarter of closing, lost with their reasons; jobs and capex
    landed in the period and planned in the open pipeline, by sector."""
    per_quarter = defaultdict(lambda: {"won": 0, "lost": 0, "reasons": defaultdict(int)})
    landed = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (month, status, reason), sums in counters.cells(CLOSINGS, scope, start, end,
                                                         keep=("month", "status", "lost_reason")).items():
        quarter = per_quarter[quarter_of_month(month)]
        quarter[status] += sums[0]
        if status == "lost":
            quarter["reasons"][reason or "(no reason)"] += sums[0]
    for (sector,), sums in counters.cells(CLOSINGS, scope, start, end, keep=("sector",),
                                          where="status = 'won'").items():
        _add_facts(landed[sector], sums)
    planned = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (status, sector, _), sums in counters.all_time(TOTALS, scope).items():
        if status in OPEN_STATUSES:
            _add_facts(planned[sector], sums)
    return {
        "quarters": [(q, per_quarter[q]["won"], per_quarter[q]["lost"], dict(per_quarter[q]["reasons"]))
                     for q in sorted(per_quarter)],
        "sectors": [{"sector": s, "landed": landed.get(s, [0] * 5), "pipeline": planned.get(s, [0] * 5)}
                    for s in SECTORS],
    }


def _add_facts(row, sums):
    """[count, planned jobs, realised jobs, planned capex, realised capex] from a counter's
    [n, planned_jobs, planned_capex_eur, realised_jobs, realised_capex_eur]."""
    n, planned_jobs, planned_capex, realised_jobs, realised_capex = sums[:5]
    for i, value in enumerate((n, planned_jobs, realised_jobs, planned_capex, realised_capex)):
        row[i] += value


def dashboard(scope, start, end, now, today_end):
    """Every figure of one scope, the month counter read once."""
    cells = received(scope, start, end)
    return {"pipeline": pipeline(scope, start, end, cells), "intake": intake(scope, start, end, cells),
            "response": response(scope, start, end, now, today_end, cells),
            "outcomes": outcomes(scope, start, end)}
