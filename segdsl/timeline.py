"""Time at run time: durations, periods, timestamps read from data, windows.

Durations in hours, days and weeks are exact lengths of time; months and
years are calendar steps (``1m`` back from March 31 is February 28 or 29),
computed with dateutil's ``relativedelta``. Datetimes are compared as aware
datetimes: naive ones in the data or in rules are read in the configured
timezone (UTC unless told otherwise).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from segdsl.zones import Zone, wrapped

UTC = dt.timezone.utc


@attrs.frozen
class Duration:
    """A duration literal's value: ``amount`` of ``unit`` (h, d, w, m, y)."""

    amount: int
    unit: str

    @property
    def is_calendar(self) -> bool:
        """Months and years have no fixed length."""
        return self.unit in ("m", "y")

    def step(self) -> dt.timedelta | relativedelta:
        """The value to add to or subtract from a date or datetime."""
        if self.unit == "h":
            return dt.timedelta(hours=self.amount)
        if self.unit == "d":
            return dt.timedelta(days=self.amount)
        if self.unit == "w":
            return dt.timedelta(weeks=self.amount)
        if self.unit == "m":
            return relativedelta(months=self.amount)
        return relativedelta(years=self.amount)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@attrs.frozen
class Period:
    """Whole days from ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


def as_timezone(zone: str | dt.tzinfo | None) -> dt.tzinfo:
    """A tzinfo from a name (``"Europe/Paris"``), a tzinfo, or None for UTC.

    Raises:
        ValueError: the name is not a known timezone.
    """
    if zone is None:
        return UTC
    if isinstance(zone, (Zone, dt.timezone)):
        return zone
    if isinstance(zone, dt.tzinfo):
        name = _name_of(zone)
        return zone if name is None else wrapped(zone, name)
    if zone.upper() == "UTC":
        return UTC
    from dateutil import tz

    found = tz.gettz(zone)
    if found is None:
        raise ValueError(f"unknown timezone {zone!r}")
    return wrapped(found, zone)


def _name_of(zone: dt.tzinfo) -> str | None:
    """The IANA name of a zone from zoneinfo or dateutil (None: a zone without one)."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    filename = getattr(zone, "_filename", None)
    if isinstance(filename, str):
        return filename.split("zoneinfo/")[-1]  # the name after the last zoneinfo/ folder
    return None


def iso_text(moment: dt.datetime) -> str:
    """A datetime as ISO 8601 text, ``Z`` for UTC: ``2026-07-15T12:00:00Z``."""
    return moment.isoformat().replace("+00:00", "Z")


def aware(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``value`` with its timezone: naive datetimes are read in ``zone``."""
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def read_datetime(value: Any, zone: dt.tzinfo) -> dt.datetime | None:
    """A datetime from data: a datetime, a date (its midnight), or ISO 8601 text,
    as an aware datetime in UTC.

    Returns None for None. Raises ValueError or TypeError for anything else.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        found = aware(value, zone)
    elif isinstance(value, dt.date):
        found = dt.datetime(value.year, value.month, value.day, tzinfo=zone)
    elif isinstance(value, str):
        found = aware(dt.datetime.fromisoformat(value), zone)
    else:
        raise TypeError(f"expected a datetime, found {type(value).__name__}")
    # In UTC: Python subtracts and compares two datetimes that share a tzinfo by
    # their wall clocks, which makes a day 23 or 25 hours long across a DST change.
    return in_zone(found, UTC)


def in_zone(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """``moment`` in ``zone``.

    Raises:
        ValueError: the moment there falls outside years 1 to 9999
            (``0001-01-01T00:00:00+05:00`` in UTC).
    """
    try:
        return moment.astimezone(zone)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is outside the years 1 to 9999 in "
                         f"{zone}") from None


def read_date(value: Any, zone: dt.tzinfo) -> dt.date | None:
    """A calendar date from data: a date, a datetime's day in ``zone``, or ISO text."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return in_zone(aware(value, zone), zone).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return in_zone(aware(dt.datetime.fromisoformat(value), zone), zone).date()
    raise TypeError(f"expected a date, found {type(value).__name__}")


def shift(moment: Any, step: dt.timedelta | relativedelta, zone: dt.tzinfo) -> Any:
    """``moment + step``. Hours, days and weeks are exact lengths of time;
    months and years step the calendar of ``zone`` (so ``1m`` back from
    April 1st 00:30 in Paris is March 1st 00:30 in Paris)."""
    if isinstance(step, relativedelta) and isinstance(moment, dt.datetime):
        return (moment.astimezone(zone) + step).astimezone(UTC)
    return moment + step


def backwards(step: dt.timedelta | relativedelta) -> bool:
    """Whether adding ``step`` goes back in time (a window's length, negated)."""
    if isinstance(step, dt.timedelta):
        return step < dt.timedelta(0)
    return _months(step) < 0  # calendar durations hold months and years only


def day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The first instant of ``day`` in ``zone``."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone)


# ------------------------------------------------------- duration arithmetic
# Durations at run time: fixed lengths are timedelta, months and years
# relativedelta. A calendar duration met where only a fixed one means
# something raises ValueError: with the reason, shown to the user as it is,
# for a multiplication by a fraction (the factor may come from data); without
# one for a division or a sum of both kinds, which the checker refuses with its
# own message (whether a duration is of months or days is known from the rule),
# so that only folding constants meets them. OverflowError for a duration out of
# range and TypeError for a value that is no duration or no number carry no
# message either: the callers write their own.

_NO_FIXED_LENGTH = "months and years have no fixed length, so"
_UNIT_NAMES = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}


def is_duration(value: Any) -> bool:
    """Whether ``value`` is a duration's run-time value."""
    return isinstance(value, (dt.timedelta, relativedelta))


def duration_text(step: dt.timedelta | relativedelta) -> str:
    """A duration's run-time value written as rules write it where they can:
    ``30d``, ``12h``, ``6m``, ``2y``; other fixed lengths in days and hours."""
    if isinstance(step, relativedelta):
        months = _months(step)
        return f"{months // 12}y" if months and months % 12 == 0 else f"{months}m"
    if step % dt.timedelta(weeks=1) == dt.timedelta(0) and step:
        return f"{step // dt.timedelta(weeks=1)}w"
    if step % dt.timedelta(days=1) == dt.timedelta(0):
        return f"{step.days}d"
    hours = step / dt.timedelta(hours=1)
    return f"{hours:g}h"


def unit_words(duration: Duration) -> str:
    """``7 days``, ``1 month``: a duration literal in words."""
    name = _UNIT_NAMES[duration.unit]
    return f"{duration.amount} {name}{'' if duration.amount == 1 else 's'}"


def _months(step: relativedelta) -> int:
    return step.years * 12 + step.months


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise TypeError
    return value


def _step(value: Any) -> dt.timedelta | relativedelta:
    if not is_duration(value):
        raise TypeError
    return value


def scale(step: Any, factor: Any) -> dt.timedelta | relativedelta:
    """``step * factor``; a calendar duration by a whole number only."""
    step, factor = _step(step), _number(factor)
    if isinstance(step, relativedelta):
        if not float(factor).is_integer():
            raise ValueError(f"{_NO_FIXED_LENGTH} {duration_text(step)} can be multiplied only "
                             f"by a whole number, not {factor:g}")
        months = _months(step) * int(factor)
        if abs(months) > 12 * dt.MAXYEAR:
            raise OverflowError
        return relativedelta(months=months)
    try:
        return step * factor
    except (OverflowError, ValueError):
        raise OverflowError from None


def divide(step: Any, divisor: Any) -> dt.timedelta | None:
    """``step / divisor`` (null for zero); a calendar duration cannot be divided."""
    step, divisor = _step(step), _number(divisor)
    if isinstance(step, relativedelta):  # a duration, but not one to divide
        raise ValueError  # noqa: TRY004
    if divisor == 0:
        return None
    try:
        return step / divisor
    except (OverflowError, ValueError):
        raise OverflowError from None


def ratio(step: Any, other: Any) -> float | None:
    """``step / other``, two fixed durations: a number (null when ``other`` is zero)."""
    step, other = _step(step), _step(other)
    if isinstance(step, relativedelta) or isinstance(other, relativedelta):
        raise ValueError  # noqa: TRY004 - durations, but not ones to divide
    if not other:
        return None
    return step / other


def combine(left: Any, right: Any, symbol: str) -> dt.timedelta | relativedelta:
    """``left + right`` or ``left - right`` (``symbol``): both fixed or both calendar."""
    left, right = _step(left), _step(right)
    if isinstance(left, relativedelta) != isinstance(right, relativedelta):
        raise ValueError
    try:
        found = left + right if symbol == "+" else left - right
    except OverflowError:
        raise OverflowError from None
    if isinstance(found, relativedelta) and abs(_months(found)) > 12 * dt.MAXYEAR:
        raise OverflowError
    return found


def empty_window(step: Any) -> bool:
    """Whether a window of length ``step`` back from now holds nothing (zero or negative)."""
    if isinstance(step, dt.timedelta):
        return step <= dt.timedelta(0)
    return not step or backwards(step)


def duration_arithmetic(symbol: str, left: Any, right: Any) -> Any:
    """``left symbol right`` where one side at least is a duration's run-time
    value: ``*`` by a number, ``/`` by a number or a duration, ``+``/``-``."""
    if symbol == "*":
        return scale(left, right) if is_duration(left) else scale(right, left)
    if symbol == "/":
        return ratio(left, right) if is_duration(right) else divide(left, right)
    if symbol in ("+", "-"):
        return combine(left, right, symbol)
    raise TypeError


def as_duration(step: Any, unit: str) -> Duration | None:
    """A run-time duration as a literal's value, in ``unit`` when it is exact
    there, else days or hours; None when it is not a whole number of hours."""
    if isinstance(step, relativedelta):
        months = _months(step)
        if unit == "y" and months % 12 == 0:
            return Duration(months // 12, "y")
        return Duration(months, "m")
    for candidate in dict.fromkeys((unit, "d", "h")):  # a fixed length's unit: h, d or w
        length = Duration(1, candidate).step()
        if step % length == dt.timedelta(0):
            return Duration(step // length, candidate)
    return None
