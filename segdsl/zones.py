"""Time zones with one reading of wall clocks, whatever the library beneath.

A wall clock that a daylight-saving change skips (02:30 on the last Sunday of
March in Paris) or repeats (02:30 on the last Sunday of October) has no single
instant. Libraries read them differently, and python-dateutil changed its
reading between versions, so the rules' zone is wrapped in :class:`Zone`,
which reads every such wall clock one way, the way the SQL dialects do:

- a repeated wall clock is its first occurrence (unless its ``fold`` is 1);
- a skipped wall clock takes the offset in effect after the change
  (02:30 in Paris is 00:30 UTC).

Formally: with ``before`` the offset a day earlier, the wall clock is read with
``before`` when that offset is in effect at the instant it gives, else with
the offset a day later.
"""

from __future__ import annotations

import datetime as dt

_DAY = dt.timedelta(days=1)
_UTC = dt.UTC


class Zone(dt.tzinfo):
    """A zone (any tzinfo) whose skipped and repeated wall clocks are read as above."""

    def __init__(self, base: dt.tzinfo, name: str) -> None:
        self.base = base
        self.key = name  # the IANA name, as zoneinfo calls it

    def __repr__(self) -> str:
        return f"Zone({self.key!r})"

    def __str__(self) -> str:
        return self.key

    def utcoffset(self, wall: dt.datetime | None) -> dt.timedelta | None:
        if wall is None:
            return None
        naive = wall.replace(tzinfo=None, fold=0)
        if wall.fold:
            return wall.replace(tzinfo=self.base).utcoffset()
        try:
            before = self._offset_at(naive - _DAY)
            if self._offset_at(naive - before) == before:
                return before
            return self._offset_at(naive + _DAY)
        except OverflowError:  # the first or last day of the calendar
            return naive.replace(tzinfo=self.base).utcoffset()

    def dst(self, wall: dt.datetime | None) -> dt.timedelta | None:
        if wall is None:
            return None
        return self._local(wall).dst()

    def tzname(self, wall: dt.datetime | None) -> str | None:
        if wall is None:
            return self.key
        return self._local(wall).tzname()

    def fromutc(self, moment: dt.datetime) -> dt.datetime:
        local = moment.replace(tzinfo=_UTC).astimezone(self.base)
        return local.replace(tzinfo=self)

    def _offset_at(self, instant: dt.datetime) -> dt.timedelta:
        """The offset in effect at ``instant`` (a naive UTC datetime)."""
        offset = instant.replace(tzinfo=_UTC).astimezone(self.base).utcoffset()
        assert offset is not None
        return offset

    def _local(self, wall: dt.datetime) -> dt.datetime:
        """``wall`` in the base zone, at the instant :meth:`utcoffset` reads."""
        offset = self.utcoffset(wall)
        assert offset is not None
        instant = wall.replace(tzinfo=None) - offset
        return instant.replace(tzinfo=_UTC).astimezone(self.base)


_ZONES: dict[tuple[int, str], Zone] = {}


def wrapped(base: dt.tzinfo, name: str) -> Zone:
    """The one :class:`Zone` of ``base``: wall-clock arithmetic keeps to one tzinfo.
    (dateutil's zones are not hashable: they are kept by identity, alive in the Zone.)"""
    key = (id(base), name)
    found = _ZONES.get(key)
    if found is None or found.base is not base:
        found = _ZONES[key] = Zone(base, name)
    return found
