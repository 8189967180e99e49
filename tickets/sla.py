"""Deadlines in working days, counted in Vietnam time, and overdue detection.

A ticket of a kind with an SLA of N working days is due at the end (23:59:59, UTC+7) of the N-th
working day after the day it came in; with N = 0 it is due at the end of the day it came in, or
of the next working day when it came in on a day off. Working days are Monday to Friday minus the
public holidays.

Holidays come from the bundled file ``tickets/data/holidays.json`` (one list per year, each date
marked statutory, announced or computed); an admin overrides a whole year by writing its days to
the ``holidays`` table, which then replaces the file's list for that year.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

from search.errors import ConfigurationError
from tickets.workflow import PENDING_STATUSES

logger = logging.getLogger(__name__)

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
"""Deadlines and periods are counted in this offset (Vietnam has no daylight saving time)."""

END_OF_DAY = time(23, 59, 59)
_MAX_DAYS = 3660


@dataclass(frozen=True)
class HolidayEntry:
    """One holiday of the bundled file."""

    day: date
    name: str
    basis: str


def load_holiday_file(path: str | Path) -> dict[int, list[HolidayEntry]]:
    """The holidays of a bundled file, by year.

    Raises:
        ConfigurationError: the file is missing or malformed.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        years: dict[int, list[HolidayEntry]] = {}
        for year, entries in data["years"].items():
            days = [
                HolidayEntry(
                    day=date.fromisoformat(entry["date"]),
                    name=str(entry["name"]),
                    basis=str(entry.get("basis", "computed")),
                )
                for entry in entries
            ]
            wrong = [entry.day for entry in days if entry.day.year != int(year)]
            if wrong:
                raise ValueError(f"year {year} lists days of another year: {wrong}")
            years[int(year)] = days
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the holiday file {file}: {exc}") from exc
    return years


class WorkingCalendar:
    """Which days are working days, and deadlines counted in them.

    Args:
        holidays: Days off besides Saturdays and Sundays.

    Usage example:
        ```python
        calendar = WorkingCalendar([date(2026, 4, 30), date(2026, 5, 1)])
        calendar.due_at(datetime(2026, 4, 29, 9, tzinfo=VIETNAM_TIME), 2)  # Tue 5 May, 23:59:59
        ```
    """

    def __init__(
        self, holidays: Iterable[date] = (), *, known_years: Iterable[int] | None = None
    ) -> None:
        self._holidays = frozenset(holidays)
        self.known_years = None if known_years is None else frozenset(known_years)

    def knows(self, first: date, last: date) -> bool:
        """Whether the holidays of every year from ``first`` to ``last`` are known.

        A calendar built without ``known_years`` claims to know every year.
        """
        if self.known_years is None:
            return True
        return all(year in self.known_years for year in range(first.year, last.year + 1))

    def unknown_years(self, first: date, last: date) -> list[int]:
        """The years from ``first`` to ``last`` whose holidays are not known."""
        if self.known_years is None:
            return []
        return [y for y in range(first.year, last.year + 1) if y not in self.known_years]

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a holiday."""
        return day.weekday() < 5 and day not in self._holidays

    def add_working_days(self, day: date, days: int) -> date:
        """The ``days``-th working day after ``day`` (``day`` itself or the next one for 0)."""
        if days < 0:
            raise ValueError(f"days must be 0 or more, got {days}")
        current = day
        for _ in range(_MAX_DAYS):
            if days == 0 and self.is_working_day(current):
                return current
            current += timedelta(days=1)
            if days > 0 and self.is_working_day(current):
                days -= 1
                if days == 0:
                    return current
        raise ValueError("no working day found within ten years; check the holiday list")

    def due_at(self, start: datetime, working_days: int) -> datetime:
        """The deadline, in UTC, for something that came in at ``start`` (aware)."""
        local_day = start.astimezone(VIETNAM_TIME).date()
        due_day = self.add_working_days(local_day, working_days)
        return datetime.combine(due_day, END_OF_DAY, VIETNAM_TIME).astimezone(UTC)

    def working_days_between(self, first: date, last: date) -> int:
        """Working days after ``first`` up to and including ``last`` (0 when ``last <= first``)."""
        count, current = 0, first
        while current < last:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count


def merge_holidays(
    bundled: Mapping[int, list[HolidayEntry]], overrides: Mapping[int, list[tuple[date, str]]]
) -> dict[int, list[tuple[date, str, str]]]:
    """Holidays per year as ``(day, name, source)``: an overridden year replaces the file's."""
    years: dict[int, list[tuple[date, str, str]]] = {
        year: [(e.day, e.name, "bundled") for e in entries] for year, entries in bundled.items()
    }
    for year, days in overrides.items():
        years[year] = [(day, name, "override") for day, name in days]
    return {year: sorted(days) for year, days in sorted(years.items())}


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    """Whether a ticket still waiting for its answer is past its deadline."""
    return status in PENDING_STATUSES and due_at is not None and now > due_at


def vietnam_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in Vietnam."""
    return moment.astimezone(VIETNAM_TIME).date()
