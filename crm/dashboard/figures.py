"""The dashboard's figures: indexed GROUP BYs over a bounded period (or over the few open
enquiries), never a scan of the whole history.

Each function takes `scope`, a WHERE clause on Enquiry (everyone's, or one manager's), so that
the same code gives "mine" and "the team's". Spam is not an enquiry: it is left out of every
figure. Months, weeks and quarters are counted in UTC; response times in whole hours.
"""

import math
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from crm.enquiries.models import CLOSED_STATUSES, STATUSES, Enquiry
from crm.enquiries.options import SECTORS
from crm.extensions import db
from crm.staff.models import User

OPEN_STATUSES = tuple(s for s in STATUSES if s not in CLOSED_STATUSES)
QUALIFIED_STATUSES = ("qualified", "meeting", "proposal", "won")  # reached qualified or beyond
SOURCES = ("form", "api", "manual", "import")
NOT_SPAM = Enquiry.status != "spam"


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def month_of(column):
    if _postgresql():
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def week_of(column):
    """The Monday of the column's week, as YYYY-MM-DD."""
    if _postgresql():
        return sa.func.to_char(sa.func.date_trunc("week", sa.func.timezone("UTC", column)), "YYYY-MM-DD")
    return sa.func.date(column, "-6 days", "weekday 1")


def hours_to_first_response():
    """Whole hours from receipt to the first response (a hair added against float rounding)."""
    if _postgresql():
        hours = sa.extract("epoch", Enquiry.first_response_at - Enquiry.created_at) / 3600
        return sa.func.floor(hours + 0.000001).cast(sa.Integer)
    hours = (sa.func.julianday(Enquiry.first_response_at) - sa.func.julianday(Enquiry.created_at)) * 24
    return sa.cast(hours + 0.000001, sa.Integer)


def quarter_of_month(month):
    year, number = month.split("-")
    return f"{year}-Q{(int(number) - 1) // 3 + 1}"


def received(start, end):
    return sa.and_(Enquiry.created_at >= start, Enquiry.created_at < end, NOT_SPAM)


def pipeline(scope, start, end):
    """Enquiries received in the period: open ones by status, and the funnel received →
    answered → qualified or beyond → landed (by their status now)."""
    rows = db.session.execute(
        sa.select(Enquiry.status, sa.func.count(), sa.func.count(Enquiry.first_response_at))
        .where(scope, received(start, end)).group_by(Enquiry.status)).all()
    by_status = {status: n for status, n, _ in rows}
    return {
        "open": [(status, by_status.get(status, 0)) for status in OPEN_STATUSES],
        "funnel": [
            ("received", sum(by_status.values())),
            ("answered", sum(answered for _, _, answered in rows)),
            ("qualified", sum(by_status.get(s, 0) for s in QUALIFIED_STATUSES)),
            ("won", by_status.get("won", 0)),
        ],
    }


def intake(scope, start, end):
    """Enquiries per week by sector over the 26 weeks up to the period's end, and by source
    over the period."""
    weeks_start = end - timedelta(weeks=26)
    week = week_of(Enquiry.created_at)
    rows = db.session.execute(
        sa.select(week, Enquiry.sector, sa.func.count())
        .where(scope, received(weeks_start, end)).group_by(week, Enquiry.sector)).all()
    per_week = defaultdict(lambda: dict.fromkeys(SECTORS, 0))
    for monday, sector, n in rows:
        per_week[str(monday)][sector] = n
    first_monday = (weeks_start - timedelta(days=weeks_start.weekday())).date()
    weeks = [(first_monday + timedelta(weeks=i)).isoformat() for i in range(27)]
    weeks = [w for w in weeks if w <= end.date().isoformat()]
    sources = dict(db.session.execute(
        sa.select(Enquiry.source, sa.func.count()).where(scope, received(start, end))
        .group_by(Enquiry.source)).all())
    return {"weeks": [(w, per_week[w]) for w in weeks],
            "sources": [(s, sources.get(s, 0)) for s in SOURCES if s in sources or s != "import"]}


def percentile(histogram, share):
    """Nearest-rank percentile of a {whole hours: count} histogram; None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(share * total), 0
    for hours in sorted(histogram):
        seen += histogram[hours]
        if seen >= rank:
            return hours
    return None


def response(scope, start, end, now, today_end):
    """Per month of receipt: median and 90th percentile hours to the first response, and the
    share answered by the promised time (late = answered after it, or unanswered past it).
    Today: how many open enquiries are unanswered past their time, and how many fall due today."""
    month = month_of(Enquiry.created_at)
    hours = hours_to_first_response()
    histograms = defaultdict(dict)
    for m, h, n in db.session.execute(
            sa.select(month, hours, sa.func.count())
            .where(scope, received(start, end), Enquiry.first_response_at.is_not(None))
            .group_by(month, hours)).all():
        histograms[m][h] = n
    on_time = sa.and_(Enquiry.first_response_at.is_not(None), Enquiry.first_response_at <= Enquiry.response_due_at)
    late = sa.or_(Enquiry.first_response_at > Enquiry.response_due_at,
                  sa.and_(Enquiry.first_response_at.is_(None), Enquiry.response_due_at < now))
    shares = {m: (int(a or 0), int(b or 0)) for m, a, b in db.session.execute(
        sa.select(month, sa.func.sum(sa.case((on_time, 1), else_=0)), sa.func.sum(sa.case((late, 1), else_=0)))
        .where(scope, received(start, end), Enquiry.response_due_at.is_not(None)).group_by(month)).all()}
    months = []
    for m in sorted(set(histograms) | set(shares)):
        kept, missed = shares.get(m, (0, 0))
        months.append({"month": m, "median": percentile(histograms[m], 0.5),
                       "p90": percentile(histograms[m], 0.9), "on_time": kept, "late": missed,
                       "share": round(100 * kept / (kept + missed)) if kept + missed else None})
    unanswered = sa.and_(scope, Enquiry.first_response_at.is_(None), Enquiry.status.not_in(CLOSED_STATUSES))
    late_now = db.session.scalar(sa.select(sa.func.count()).where(unanswered, Enquiry.response_due_at < now))
    due_today = db.session.scalar(sa.select(sa.func.count()).where(
        unanswered, Enquiry.response_due_at >= now, Enquiry.response_due_at < today_end))
    return {"months": months, "late_now": late_now, "due_today": due_today}


def workload(scope, today, now):
    """Per assignee (None: unassigned), over the open enquiries: how many, follow-ups past
    due, and first responses past due; and the managers who are away."""
    overdue = sa.and_(Enquiry.next_follow_up_on.is_not(None), Enquiry.next_follow_up_on < today)
    late = sa.and_(Enquiry.first_response_at.is_(None), Enquiry.response_due_at < now)
    rows = db.session.execute(
        sa.select(Enquiry.assignee_id, sa.func.count(), sa.func.sum(sa.case((overdue, 1), else_=0)),
                  sa.func.sum(sa.case((late, 1), else_=0)))
        .where(scope, Enquiry.status.in_(OPEN_STATUSES)).group_by(Enquiry.assignee_id)).all()
    return {assignee: {"open": n, "overdue": int(o or 0), "late": int(lt or 0)} for assignee, n, o, lt in rows}


def staff_away(today):
    return db.session.scalars(sa.select(User).where(User.active.is_(True), User.away_until.is_not(None),
                                                    User.away_until >= today).order_by(User.name)).all()


def outcomes(scope, start, end):
    """Landed (won) and lost per quarter of closing, lost with their reasons; jobs and capex
    landed in the period and planned in the open pipeline, by sector."""
    month = month_of(Enquiry.closed_at)
    per_quarter = defaultdict(lambda: {"won": 0, "lost": 0, "reasons": defaultdict(int)})
    for m, status, reason, n in db.session.execute(
            sa.select(month, Enquiry.status, Enquiry.lost_reason, sa.func.count())
            .where(scope, Enquiry.status.in_(("won", "lost")), Enquiry.closed_at >= start, Enquiry.closed_at < end)
            .group_by(month, Enquiry.status, Enquiry.lost_reason)).all():
        quarter = per_quarter[quarter_of_month(m)]
        quarter[status] += n
        if status == "lost":
            quarter["reasons"][reason or "(no reason)"] += n
    sums = (sa.func.count(), sa.func.sum(Enquiry.planned_jobs), sa.func.sum(Enquiry.realised_jobs),
            sa.func.sum(Enquiry.planned_capex_eur), sa.func.sum(Enquiry.realised_capex_eur))
    landed = {row[0]: [int(v or 0) for v in row[1:]] for row in db.session.execute(
        sa.select(Enquiry.sector, *sums).where(scope, Enquiry.status == "won", Enquiry.closed_at >= start,
                                               Enquiry.closed_at < end).group_by(Enquiry.sector)).all()}
    planned = {row[0]: [int(v or 0) for v in row[1:]] for row in db.session.execute(
        sa.select(Enquiry.sector, *sums).where(scope, Enquiry.status.in_(OPEN_STATUSES))
        .group_by(Enquiry.sector)).all()}
    zero = [0, 0, 0, 0, 0]
    return {
        "quarters": [(q, per_quarter[q]["won"], per_quarter[q]["lost"], dict(per_quarter[q]["reasons"]))
                     for q in sorted(per_quarter)],
        "sectors": [{"sector": s, "landed": landed.get(s, zero), "pipeline": planned.get(s, zero)}
                    for s in SECTORS],
    }
