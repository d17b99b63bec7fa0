"""The dashboard's counters: sums over `enquiries`, kept in step by database triggers.

Each table is a function of the rows of `enquiries` (crm/dashboard/counters.py says which
columns make its key and what it sums); the triggers of migration 20261127_1600 add a row's
contribution on insert, take it away on delete, and move it on an update of a column it
depends on, in the same transaction as the change, whoever writes. An erased enquiry stays
(anonymised, crm/gdpr/erasure.py), so its figures stay too. `assignee_id` is 0 for
unassigned (a key column cannot be NULL); no foreign key, so that a counter never blocks or
follows a change to a user. A row whose count falls to zero is deleted. The primary keys are
in the order the figures group by; on SQLite the tables are stored in that order (WITHOUT
ROWID), so that a period's rows are read and summed in one pass.
"""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db

Money = sa.BigInteger


class _Sums:
    """Project facts summed over the counted enquiries (an empty fact counts as 0)."""

    planned_jobs: Mapped[int] = mapped_column(Money, default=0)
    planned_capex_eur: Mapped[int] = mapped_column(Money, default=0)
    realised_jobs: Mapped[int] = mapped_column(Money, default=0)
    realised_capex_eur: Mapped[int] = mapped_column(Money, default=0)


class MonthCount(_Sums, db.Model):
    """Enquiries by UTC month of receipt, sector, source, status (spam included) and assignee."""

    __tablename__ = "dashboard_months"
    __table_args__ = {"sqlite_with_rowid": False}

    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    sector: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    answered: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Of those with a promised time: answered by it, answered after it, not answered yet.
    on_time: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    answered_late: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    unanswered_due: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class WeekCount(db.Model):
    """Enquiries (spam left out) by UTC week of receipt (its Monday), sector and assignee."""

    __tablename__ = "dashboard_weeks"
    __table_args__ = {"sqlite_with_rowid": False}

    week: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    sector: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ResponseHours(db.Model):
    """Answered enquiries (spam left out) by UTC month of receipt, assignee and whole hours to
    the first response: the histogram the median and the 90th percentile are read from."""

    __tablename__ = "dashboard_response_hours"
    __table_args__ = {"sqlite_with_rowid": False}

    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    hours: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ClosingCount(_Sums, db.Model):
    """Landed (won) and lost enquiries by UTC month of closing, sector, assignee and, for lost
    ones, the reason given ('' for none). The reason is the enquiry's own free text: when an
    erasure blanks it on the enquiry, the trigger moves the count to '' and the text's row goes
    with its last count (crm/gdpr/classification.py)."""

    __tablename__ = "dashboard_closings"
    __table_args__ = {"sqlite_with_rowid": False}

    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    lost_reason: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    sector: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class StatusCount(_Sums, db.Model):
    """Every enquiry by sector, status now and assignee: open workload and the pipeline's
    planned jobs and capex, whatever their month."""

    __tablename__ = "dashboard_totals"
    __table_args__ = {"sqlite_with_rowid": False}

    status: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    sector: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
