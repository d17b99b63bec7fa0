"""The period a dashboard or report covers: this quarter, the last 12 months, or custom dates."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 3660  # ten years: the widest custom period


class PeriodInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    name: str  # "quarter", "12m" or "custom"
    first: date  # first day, inclusive (in CRM_TIMEZONE)
    last: date  # last day, inclusive

    @classmethod
    def from_args(cls, args, today):
        """Parse `period`, `from`, `to`; raises PeriodInvalid for anything else."""
        name = args.get("period") or "12m"
        if name == "12m":
            first = _month_start(today.year, today.month - 11)
            return cls(name, first, today)
        if name == "quarter":
            return cls(name, date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today)
        if name != "custom":
            raise PeriodInvalid("period")
        first, last = _iso_date(args.get("from"), "from"), _iso_date(args.get("to"), "to")
        if first > last or (last - first).days > MAX_DAYS:
            raise PeriodInvalid("to")
        return cls(name, first, last)

    def utc_bounds(self, zone):
        """[start, end) in UTC: from the first day's local midnight to the one after the last day."""
        tz = ZoneInfo(zone)
        start = datetime.combine(self.first, time(), tz)
        end = datetime.combine(self.last + timedelta(days=1), time(), tz)
        return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))

    def months(self):
        """Each month the period touches, as "YYYY-MM"."""
        months, year, month = [], self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def as_args(self):
        if self.name == "custom":
            return {"period": "custom", "from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"period": self.name}


def _month_start(year, month):
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def _iso_date(value, field):
    if not value or len(value) != 10:
        raise PeriodInvalid(field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodInvalid(field) from None
