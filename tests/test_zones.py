"""The rules' zone reads wall clocks one way (segdsl.zones), whatever python-dateutil's
version, as the SQL dialects read them."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import io
import zoneinfo
from pathlib import Path

import pytest
from dateutil import tz

import segdsl
from segdsl.timeline import as_timezone, read_datetime
from segdsl.zones import Zone

UTC = dt.UTC


@pytest.mark.parametrize("given", ["Europe/Paris", zoneinfo.ZoneInfo("Europe/Paris"),
                                   tz.gettz("Europe/Paris")],
                         ids=["name", "zoneinfo", "dateutil"])
@pytest.mark.parametrize(("wall", "instant"), [
    ("2026-03-29T01:59:59", "2026-03-29T00:59:59"),   # the last second before the change
    ("2026-03-29T02:00:00", "2026-03-29T00:00:00"),   # skipped: the offset after it
    ("2026-03-29T02:30:00", "2026-03-29T00:30:00"),
    ("2026-03-29T03:00:00", "2026-03-29T01:00:00"),
    ("2026-10-25T02:30:00", "2026-10-25T00:30:00"),   # repeated: its first occurrence
    ("2026-10-25T03:00:00", "2026-10-25T02:00:00"),
    ("2026-07-01T12:00:00", "2026-07-01T10:00:00"),
])
def test_skipped_and_repeated_wall_clocks_have_one_reading(given, wall, instant):
    """Read in Paris, each wall clock is the instant the SQL dialects give it."""
    zone = as_timezone(given)
    assert isinstance(zone, Zone) and zone.key == "Europe/Paris"
    assert read_datetime(wall, zone) == dt.datetime.fromisoformat(instant).replace(tzinfo=UTC)


def test_instants_keep_their_place_through_the_zone():
    """An instant of the repeated hour, seen in Paris (its second occurrence, fold 1),
    is the same instant back in UTC; one Zone per name."""
    zone = as_timezone("Europe/Paris")
    moment = dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    local = moment.astimezone(zone)
    assert (local.hour, local.fold, local.tzname()) == (2, 1, "CET")
    assert local.astimezone(UTC) == moment
    assert as_timezone("Europe/Paris") is zone


def test_a_rule_reads_a_skipped_wall_clock_after_the_change():
    """A naive stamp of the skipped hour counts in a window as 00:30 UTC does."""
    rules = segdsl.loads("segment s = count(events, within = 1h) == 1", timezone="Europe/Paris")
    customer = {"id": 1, "events": [{"type": "visit", "at": "2026-03-29T02:30:00"}]}
    assert rules.evaluate([customer], now="2026-03-29T01:00:00Z")["s"] == [1]
    assert rules.evaluate([customer], now="2026-03-29T00:29:59Z")["s"] == []


def _paris_file() -> bytes:
    """Paris's zone file: the system's, else the tzdata package's."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "Europe" / "Paris"
        if path.is_file():
            return path.read_bytes()
    return importlib.resources.files("tzdata").joinpath("zoneinfo/Europe/Paris").read_bytes()


@pytest.mark.parametrize("filename", ["Europe/Paris", "/usr/share/zoneinfo/Europe/Paris",
                                      "/opt/zoneinfo/share/zoneinfo/Europe/Paris"])
def test_a_dateutil_zone_is_named_after_its_file(filename):
    """dateutil names a zone by the file it read: a system path, or the bare name
    when it read its own copy of the database."""
    zone = as_timezone(tz.tzfile(io.BytesIO(_paris_file()), filename=filename))
    assert isinstance(zone, Zone) and zone.key == "Europe/Paris"


def test_a_zone_without_a_name_is_kept_as_it_is():
    fixed = dt.timezone(dt.timedelta(hours=2))
    assert as_timezone(fixed) is fixed
    unnamed = tz.tzoffset(None, 7200)
    assert as_timezone(unnamed) is unnamed


@pytest.mark.parametrize("given", [None, "UTC", "utc", dt.UTC])
def test_utc_by_any_name_is_the_standard_librarys(given):
    """One UTC object, which the aggregations' shortcut for UTC recognises."""
    assert as_timezone(given) is dt.UTC


def test_an_unknown_zone_name_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=r"^unknown timezone 'Mars/Base'$"):
        as_timezone("Mars/Base")
