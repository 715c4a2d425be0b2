"""Round slots from a cadence, in the scheme's time zone (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.core.schedule import Cadence, latest_slot, next_slot

LONDON = ZoneInfo("Europe/London")
MONTHLY = Cadence("monthly", 0, time(9, 0))
FORTNIGHTLY = Cadence("weekly", 2, time(9, 30), every=2)


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 11, 22, 10, 0, tzinfo=UTC), datetime(2026, 11, 2, 9, 0, tzinfo=LONDON)),
    (datetime(2026, 11, 2, 9, 0, tzinfo=UTC), datetime(2026, 11, 2, 9, 0, tzinfo=LONDON)),
    (datetime(2026, 11, 2, 8, 59, tzinfo=UTC), datetime(2026, 10, 5, 9, 0, tzinfo=LONDON)),
    # 09:00 in London is 08:00 UTC in summer time
    (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)),
    (datetime(2026, 1, 3, 12, 0, tzinfo=UTC), datetime(2025, 12, 1, 9, 0, tzinfo=LONDON)),
])  # fmt: skip
def test_monthly_is_the_first_weekday_of_the_month(now, expected):
    assert latest_slot(MONTHLY, now, LONDON) == expected


def test_every_two_weeks_skips_alternate_weeks():
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    slot = latest_slot(FORTNIGHTLY, now, LONDON)
    assert slot == datetime(2026, 11, 18, 9, 30, tzinfo=LONDON)
    assert next_slot(FORTNIGHTLY, now, LONDON) == datetime(2026, 12, 2, 9, 30, tzinfo=LONDON)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from([MONTHLY, FORTNIGHTLY, Cadence("weekly", 4, time(23, 30))]),
)
def test_latest_is_at_or_before_now_and_next_is_after(now, cadence):
    latest = latest_slot(cadence, now, LONDON)
    following = next_slot(cadence, now, LONDON)
    assert latest <= now < following
    assert latest_slot(cadence, following, LONDON) == following


SINCE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("now, last, due", [
    # on time
    (datetime(2026, 3, 2, 9, 5, tzinfo=UTC), None, True),
    # a manual round the Friday before stands in for Monday's slot
    (datetime(2026, 3, 2, 9, 5, tzinfo=UTC), datetime(2026, 2, 27, 15, 0, tzinfo=UTC), False),
    # a round last month does not
    (datetime(2026, 3, 2, 9, 5, tzinfo=UTC), datetime(2026, 2, 2, 9, 0, tzinfo=UTC), True),
    # back after a week's downtime: catch up, at the configured time of day
    (datetime(2026, 3, 9, 8, 0, tzinfo=UTC), None, False),
    (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), None, True),
    # back days before the next slot: skip the catch-up, the next round is close
    (datetime(2026, 3, 30, 12, 0, tzinfo=UTC), None, False),
    # before the schedule started
    (datetime(2025, 12, 2, 9, 0, tzinfo=UTC), None, False),
])  # fmt: skip
def test_due_slot(now, last, due):
    from mailbot.core.schedule import due_slot

    assert (due_slot(MONTHLY, now, LONDON, SINCE, last) is not None) == due
