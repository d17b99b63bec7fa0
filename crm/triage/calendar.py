"""The agency's working-day calendar: when a first response is due, what "today" is locally.

Working time is counted in whole working days of 24 hours, in CRM_TIMEZONE: Monday to Friday,
except the public holidays of CRM_HOLIDAYS (the `holidays` package). CRM_RESPONSE_TARGET_HOURS
of working time after an enquiry arrives, it is due:

- received on a working day, the clock runs from that moment: 48 hours = the same local time
  two working days later (Friday 15:00 → Tuesday 15:00; Wednesday before Easter 10:00 →
  the Wednesday after 10:00);
- received on a weekend or holiday, the clock starts at 00:00 of the next working day
  (Saturday → Wednesday 00:00, i.e. by the end of Tuesday).

Times are counted on the wall clock, so a daylight-saving change never shifts the due time.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask import current_app

from crm.core.db import utcnow


def agency_zone():
    return ZoneInfo(current_app.config["CRM_TIMEZONE"])


@lru_cache(maxsize=8)
def _holidays(country):
    return holidays.country_holidays(country)


def is_working_day(day, country=None):
    return _is_working_day(day, country or current_app.config["CRM_HOLIDAYS"])


@lru_cache(maxsize=4096)
def _is_working_day(day, country):
    # Cached: a holidays lookup costs ~10 µs, and the seed asks for 200,000 due dates.
    return day.weekday() < 5 and day not in _holidays(country)


def next_working_day(day, country=None):
    """The first working day after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day, country):
        day += timedelta(days=1)
    return day


def local_now(clock=utcnow):
    return clock().astimezone(agency_zone())


def local_today(clock=utcnow):
    return local_now(clock).date()


def response_due(received_at, hours=None):
    """When a first response to an enquiry received at `received_at` (aware) is due, in UTC."""
    config = current_app.config
    hours = config["CRM_RESPONSE_TARGET_HOURS"] if hours is None else hours
    zone, country = agency_zone(), config["CRM_HOLIDAYS"]
    cursor = received_at.astimezone(zone).replace(tzinfo=None)  # local wall-clock time
    if not is_working_day(cursor.date(), country):
        cursor = datetime.combine(next_working_day(cursor.date(), country), time())
    remaining = timedelta(hours=hours)
    while True:
        day_end = datetime.combine(cursor.date() + timedelta(days=1), time())
        if remaining <= day_end - cursor:
            due = cursor + remaining
            break
        remaining -= day_end - cursor
        cursor = datetime.combine(next_working_day(cursor.date(), country), time())
    return due.replace(tzinfo=zone).astimezone(UTC)


def add_months(day, months):
    """`day` plus `months` calendar months, clamped to the month's last day (31 Aug + 6 → 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")
