"""The working-day calendar: first responses due CRM_RESPONSE_TARGET_HOURS of working time after
receipt, in CRM_TIMEZONE, skipping weekends and the public holidays of CRM_HOLIDAYS."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from crm.enquiries.models import Enquiry
from crm.extensions import db
from crm.triage.calendar import add_months, is_working_day, response_due
from tests.helpers import valid_payload

CPH = ZoneInfo("Europe/Copenhagen")


def local(text):
    return datetime.fromisoformat(text).replace(tzinfo=CPH)


@pytest.mark.parametrize("received, due", [
    ("2026-11-24 10:00", "2026-11-26 10:00"),  # Tuesday → Thursday, same time
    ("2026-11-27 15:00", "2026-12-01 15:00"),  # Friday → Tuesday: the weekend does not count
    ("2026-11-26 23:59", "2026-11-30 23:59"),  # Thursday night → Monday night
    ("2026-11-28 10:00", "2026-12-02 00:00"),  # Saturday: counted from Monday 00:00, due by Tuesday's end
    ("2026-11-29 23:00", "2026-12-02 00:00"),  # Sunday likewise
    # Easter 2026: Maundy Thursday 2 April to Easter Monday 6 April are holidays in Denmark.
    ("2026-04-01 10:00", "2026-04-08 10:00"),
    ("2026-03-31 09:00", "2026-04-07 09:00"),
    # Christmas 2026: 25 and 26 December (Friday, Saturday) are holidays; 24 December is not.
    ("2026-12-23 14:00", "2026-12-28 14:00"),
    ("2026-12-24 14:00", "2026-12-29 14:00"),
    ("2026-12-31 12:00", "2027-01-05 12:00"),  # Thursday; New Year's Day (Friday) skipped too
    # Daylight saving ends on 25 October 2026: the due time keeps the wall clock.
    ("2026-10-23 09:00", "2026-10-27 09:00"),
])
def test_two_working_days(app, received, due):
    with app.app_context():
        assert response_due(local(received)) == local(due).astimezone(UTC)


def test_other_targets_and_countries(make_app):
    app = make_app(CRM_RESPONSE_TARGET_HOURS=12, CRM_HOLIDAYS="DE")
    with app.app_context():
        assert response_due(local("2026-11-27 20:00")) == local("2026-11-30 08:00").astimezone(UTC)
        # 3 October is German Unity Day (a Saturday in 2026); 1 January is a holiday in both.
        assert not is_working_day(date(2027, 1, 1)) and is_working_day(date(2026, 11, 24))


def test_add_months_clamps_to_the_months_end():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)


def test_submission_stores_the_due_time_with_a_frozen_clock(app):
    from crm.enquiries.services import submit_enquiry

    with app.app_context(), freeze_time("2026-12-23 13:00:00"):  # 14:00 in Copenhagen, before Christmas
        submission = submit_enquiry(valid_payload(), source="api")
        due = db.session.scalar(sa.select(Enquiry.response_due_at).where(
            Enquiry.reference == submission.reference))
    assert due == local("2026-12-28 14:00").astimezone(UTC)
