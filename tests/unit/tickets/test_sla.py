"""Working-day deadlines in Vietnam time, with the bundled Vietnamese holidays."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from search.errors import ConfigurationError
from tickets.settings import BUNDLED_HOLIDAYS, DEFAULT_SLA_DAYS, TicketSettings
from tickets.sla import (
    VIETNAM_TIME,
    WorkingCalendar,
    is_overdue,
    load_holiday_file,
    merge_holidays,
)


@pytest.fixture(scope="module")
def bundled() -> dict[int, list]:
    return load_holiday_file(BUNDLED_HOLIDAYS)


@pytest.fixture(scope="module")
def calendar(bundled: dict[int, list]) -> WorkingCalendar:
    return WorkingCalendar(entry.day for entries in bundled.values() for entry in entries)


def test_bundled_file_covers_2026_and_2027_with_the_statutory_days(bundled: dict) -> None:
    assert set(bundled) >= {2026, 2027}
    for year in (2026, 2027):
        days = {entry.day for entry in bundled[year]}
        for month, day in ((1, 1), (4, 30), (9, 2)):
            assert date(year, month, day) in days
        assert all(entry.basis in {"statutory", "announced", "computed"} for entry in bundled[year])
        assert all(entry.day.weekday() < 5 for entry in bundled[year])  # weekends are not listed
    # 1 May 2027 is a Saturday: its compensatory Monday is listed instead.
    assert date(2026, 5, 1) in {e.day for e in bundled[2026]}
    assert date(2027, 5, 3) in {e.day for e in bundled[2027]}


def test_tet_2026_is_the_announced_break_and_gio_to_falls_on_10_3_lunar(bundled: dict) -> None:
    tet = {e.day for e in bundled[2026] if "Nguyên đán" in e.name}
    assert tet == {date(2026, 2, d) for d in range(16, 21)}
    assert all(e.basis == "announced" for e in bundled[2026] if "Nguyên đán" in e.name)
    # 10/3 of the lunar year Bính Ngọ is Sunday 26/4/2026: the Monday after is the day off.
    assert date(2026, 4, 27) in {e.day for e in bundled[2026] if "Hùng Vương" in e.name}
    assert date(2027, 4, 16) in {e.day for e in bundled[2027] if "Hùng Vương" in e.name}


def test_every_file_entry_says_whether_it_is_announced_or_computed() -> None:
    data = json.loads(BUNDLED_HOLIDAYS.read_text(encoding="utf-8"))
    entries = [entry for year in data["years"].values() for entry in year]
    assert entries and all("basis" in entry for entry in entries)
    assert set(data["basis"]) == {"statutory", "announced", "computed"}


def test_deadline_skips_weekends(calendar: WorkingCalendar) -> None:
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=VIETNAM_TIME)
    due = calendar.due_at(friday, 2)
    assert due == datetime(2026, 3, 10, 23, 59, 59, tzinfo=VIETNAM_TIME)
    assert due.tzinfo == UTC


def test_deadline_skips_the_april_holidays(calendar: WorkingCalendar) -> None:
    # Wed 29/4/2026 + 2 working days: 30/4 and 1/5 are holidays, 2-3/5 a weekend → Tue 5/5.
    start = datetime(2026, 4, 29, 10, 0, tzinfo=VIETNAM_TIME)
    assert calendar.due_at(start, 2) == datetime(2026, 5, 5, 23, 59, 59, tzinfo=VIETNAM_TIME)


def test_deadline_skips_tet(calendar: WorkingCalendar) -> None:
    # Fri 13/2/2026 + 1 working day: the whole Tết break and its weekends → Mon 23/2.
    start = datetime(2026, 2, 13, 11, 0, tzinfo=VIETNAM_TIME)
    assert calendar.due_at(start, 1) == datetime(2026, 2, 23, 23, 59, 59, tzinfo=VIETNAM_TIME)


def test_day_is_taken_in_vietnam_time_not_utc(calendar: WorkingCalendar) -> None:
    # 18:00 UTC on Friday is already Saturday 01:00 in Vietnam: counting starts from Saturday.
    late_friday_utc = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    assert calendar.due_at(late_friday_utc, 1) == datetime(
        2026, 3, 9, 23, 59, 59, tzinfo=VIETNAM_TIME
    )


def test_zero_days_means_end_of_this_or_next_working_day(calendar: WorkingCalendar) -> None:
    monday = datetime(2026, 3, 2, 8, 0, tzinfo=VIETNAM_TIME)
    assert calendar.due_at(monday, 0) == datetime(2026, 3, 2, 23, 59, 59, tzinfo=VIETNAM_TIME)
    holiday = datetime(2026, 9, 2, 8, 0, tzinfo=VIETNAM_TIME)
    assert calendar.due_at(holiday, 0) == datetime(2026, 9, 3, 23, 59, 59, tzinfo=VIETNAM_TIME)


def test_working_days_between(calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(date(2026, 4, 29), date(2026, 5, 5)) == 2
    assert calendar.working_days_between(date(2026, 5, 5), date(2026, 5, 5)) == 0


def test_negative_days_are_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        calendar.add_working_days(date(2026, 3, 2), -1)


def test_overdue_only_while_waiting_for_an_answer() -> None:
    due = datetime(2026, 3, 2, 16, 59, 59, tzinfo=UTC)
    later = datetime(2026, 3, 3, tzinfo=UTC)
    assert is_overdue("classified", due, later)
    assert is_overdue("agency_processing", due, later)
    assert not is_overdue("answered", due, later)
    assert not is_overdue("closed", due, later)
    assert not is_overdue("classified", due, due)
    assert not is_overdue("new", None, later)


def test_override_replaces_a_whole_year(bundled: dict) -> None:
    merged = merge_holidays(bundled, {2026: [(date(2026, 6, 1), "Ngày nghỉ thử")]})
    assert merged[2026] == [(date(2026, 6, 1), "Ngày nghỉ thử", "override")]
    assert all(source == "bundled" for _, _, source in merged[2027])


def test_broken_holiday_file_is_a_configuration_error(tmp_path: Path) -> None:
    broken = tmp_path / "holidays.json"
    broken.write_text('{"years": {"2026": [{"date": "2027-01-01", "name": "x"}]}}', "utf-8")
    with pytest.raises(ConfigurationError, match="another year"):
        load_holiday_file(broken)
    with pytest.raises(ConfigurationError):
        load_holiday_file(tmp_path / "missing.json")


def test_sla_days_are_configurable_per_kind() -> None:
    settings = TicketSettings(sla_working_days={"complaint": 45})
    assert settings.sla_working_days["complaint"] == 45
    assert settings.sla_working_days["question"] == DEFAULT_SLA_DAYS["question"]
    with pytest.raises(ValueError, match="unknown kinds"):
        TicketSettings(sla_working_days={"gossip": 1})


def test_calendar_knows_only_its_years() -> None:
    calendar = WorkingCalendar([], known_years=[2026, 2027])
    assert calendar.knows(date(2026, 12, 30), date(2027, 1, 4))
    assert not calendar.knows(date(2027, 12, 30), date(2028, 1, 4))
    assert calendar.unknown_years(date(2027, 12, 30), date(2029, 1, 4)) == [2028, 2029]
    assert WorkingCalendar([]).knows(date(1990, 1, 1), date(2100, 1, 1))


def test_bundled_file_has_2025_to_2028() -> None:
    years = load_holiday_file(BUNDLED_HOLIDAYS)
    assert {2025, 2026, 2027, 2028} <= set(years)
    for year in (2025, 2028):
        assert all(entry.day.weekday() < 5 for entry in years[year])
        assert {entry.basis for entry in years[year]} <= {"statutory", "computed"}
    tet_2028 = {entry.day for entry in years[2028] if "mùng 1 Tết" in entry.name}
    assert tet_2028 == {date(2028, 1, 26)}
