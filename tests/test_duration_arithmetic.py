"""Duration arithmetic: durations times and divided by numbers, divided by durations, added up;
months and years (no fixed length) multiplied by whole numbers only, never divided or mixed with
fixed lengths; division by zero is null, overflow and bad values are DataErrors."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from agreement import check_error, located, members

import segdsl
from segdsl import codegen

NOW = "2026-07-15T12:00:00Z"

SIGNUPS = [
    {"id": "36h ago", "signed_up_at": "2026-07-14T00:00:00Z"},
    {"id": "59 days ago", "signed_up_at": "2026-05-17T12:00:00Z"},
    {"id": "61 days ago", "signed_up_at": "2026-05-15T12:00:00Z"},
    {"id": "never", "signed_up_at": None},
]


@pytest.mark.parametrize("rule, expected", [
    ("(now - signed_up_at) / 1d == 1.5", ["36h ago"]),
    ("(now - signed_up_at) / 1h == 36", ["36h ago"]),
    ("(now - signed_up_at) / 1w > 8.5", ["61 days ago"]),
    ("now - signed_up_at > 30d * 2", ["61 days ago"]),
    ("now - signed_up_at > 2 * 30d", ["61 days ago"]),
    ("now - signed_up_at < 180d / 3", ["36h ago", "59 days ago"]),
    ("now - signed_up_at < 8w + 4d", ["36h ago", "59 days ago"]),
    ("now - signed_up_at < 9w - 3d", ["36h ago", "59 days ago"]),
    ("now - signed_up_at == 1d + 12h", ["36h ago"]),
    ("now - signed_up_at == 3d / 2 * -1 * -1", ["36h ago"]),
])
def test_fixed_durations_compute_and_compare(rule, expected):
    """Fixed durations multiply, divide, add up and compare; a duration over a duration is a
    number, fractional where it falls so."""
    assert members(rule, SIGNUPS, NOW) == expected


def test_calendar_durations_times_whole_numbers():
    """`3m * 2` is six calendar months, `1y + 6m` eighteen, `3m * 2.0` six too."""
    customers = [{"id": "6m and a day", "at": "2026-01-14T12:00:00Z"},
                 {"id": "6m less a day", "at": "2026-01-16T12:00:00Z"},
                 {"id": "19m", "at": "2024-12-15T12:00:00Z"}]
    assert members("at < now - 3m * 2", customers, NOW) == ["6m and a day", "19m"]
    assert members("at < now - 3m * 2.0", customers, NOW) == ["6m and a day", "19m"]
    assert members("at < now - 2 * 3m", customers, NOW) == ["6m and a day", "19m"]
    assert members("at < now - (1y + 6m)", customers, NOW) == ["19m"]
    assert members("at < now - (2y - 6m)", customers, NOW) == ["19m"]


def test_a_number_from_the_data_times_a_duration():
    """An untyped field times a duration is a duration: `now - grace * 1d`."""
    customers = [{"id": 1, "grace": 2, "at": "2026-07-14T12:00:00Z"},
                 {"id": 2, "grace": 0.5, "at": "2026-07-14T12:00:00Z"},
                 {"id": 3, "grace": None, "at": "2026-07-14T12:00:00Z"}]
    assert members("at > now - grace * 1d", customers, NOW) == [1]
    assert members("at > now - 1d * grace", customers, NOW) == [1]


def test_days_between_mixes_with_durations():
    """`days_between` returns a number, which times `1d` is a duration again."""
    customers = [{"id": 1, "a": "2026-07-01T12:00:00Z"}]
    assert members("now - days_between(a, now) * 1d == a", customers, NOW) == [1]


def test_division_by_zero_is_null():
    """A duration divided by zero, or by a zero duration, is null, as `/` on numbers."""
    customers = [{"id": 1, "at": "2026-07-14T00:00:00Z", "zero": 0}]
    assert members("(now - at) / zero is null", customers, NOW) == [1]
    assert members("(now - at) / (now - now) is null", customers, NOW) == [1]
    assert members("30d / 0 is null", customers, NOW) == [1]
    assert members("(now - at) / zero > 1d or (now - at) / zero <= 1d", customers, NOW) == []


@pytest.mark.parametrize("rule, expected", [
    ("now - at > 3m * 1.5", (
        ("months and years have no fixed length, so 3m can be multiplied only by a whole "
        "number, not 1.5"), 17, 20, "for a fraction, use days: 90d * 1.5")),
    ("now - at > 1.5 * 1y", (
        ("months and years have no fixed length, so 1y can be multiplied only by a whole "
        "number, not 1.5"), 12, 15, "for a fraction, use days: 90d * 1.5")),
    ("at < now - 3m / 2", (
        "months and years have no fixed length, so 3m cannot be divided", 12, 14,
        "divide days instead: 90d / 3")),
    ("(now - at) / 1m > 2", (
        "months and years have no fixed length, so nothing can be divided by 1m", 14, 16,
        "divide by days instead: (now - signed_up_at) / 1d")),
    ("at < now - (1m + 2d)", (
        "months and years have no fixed length, so 1m + 2d is not a duration", 13, 20,
        "subtract each from a date instead: now - 1m - 2d")),
    ("at < now - (1m - 2d)", (
        "months and years have no fixed length, so 1m - 2d is not a duration", 13, 20,
        "subtract each from a date instead: now - 1m + 2d")),
    # an operand that is itself an operation keeps its parentheses in the hint
    ("(now - at) + 1m > 3d", (
        "months and years have no fixed length, so (now - at) + 1m is not a duration", 1, 16,
        "subtract each from a date instead: now - (now - at) - 1m")),
    ("at < now - (2m + (1d - 2d))", (
        "months and years have no fixed length, so 2m + (1d - 2d) is not a duration", 13, 27,
        "subtract each from a date instead: now - 2m - (1d - 2d)")),
    ("now - at > 3m * 2", (
        ("months and years have no fixed length, so 3m * 2 cannot be compared with another "
        "duration"), 12, 18, "compare dates instead: last_order_at < now - 3m, or use days: 90d")),
    ("now - at between 1d and 1m", (
        ("months and years have no fixed length, so 1m cannot be compared with another "
        "duration"), 25, 27, "compare dates instead: last_order_at < now - 3m, or use days: 90d")),
    ("now - at > 30d * 1e300", ("30d * 1e300 is too long a duration", 12, 23, None)),
    ("now - at > 30d * 30d", (
        "cannot apply '*' to a duration and a duration", 12, 21,
        "multiply a duration by a number: 30d * 2; divide one by another: 90d / 1d")),
    ("now - at > 2 / 30d", ("cannot apply '/' to a number and a duration", 12, 19,
                            "divide a duration by a number: 90d / 3")),
    ("now - at > 30d % 7", ("cannot apply '%' to a duration and a number", 12, 19, None)),
    ("today + 1d / 2 == at", ("a date has no hours: add hours to a datetime instead", 1, 15,
                              None)),
    ("today - now > 3d", ("cannot apply '-' to a date and a datetime", 1, 12,
                         "subtract a date from a date, or a datetime from a datetime: "
                         "now - 2026-07-01T00:00:00Z")),
    ("now - today > 3d", ("cannot apply '-' to a datetime and a date", 1, 12,
                         "subtract a date from a date, or a datetime from a datetime: "
                         "now - 2026-07-01T00:00:00Z")),
    ("today + 3 > at", ("cannot apply '+' to a date and a number", 1, 10,
                        "give the unit: now - 30d")),
    ("now + 3 > at", ("cannot apply '+' to a datetime and a number", 1, 8,
                      "give the unit: now - 30d")),
])
def test_meaningless_duration_arithmetic_is_a_check_error(rule, expected):
    """Calendar durations are multiplied by whole numbers only, never divided, divided by, mixed
    with fixed ones or compared; each refusal has its caret and hint."""
    assert located(check_error(rule)) == expected


@pytest.mark.parametrize("rule, record, message", [
    ("at < now - 3m * k", {"k": 1.5},
     ("customer 7, field k: months and years have no fixed length, so 3m can be multiplied "
     "only by a whole number, not 1.5")),
    ("at < now - k * 30d", {"k": 1e300},
     "customer 7, field k: 1e+300 * 30d is too long a duration"),
    ("at < now - k * 30d", {"k": "ten"},
     "customer 7, field k: cannot evaluate str 'ten' * timedelta 30d"),
    ("at < today - k * 1d", {"k": 1.5},
     "customer 7, field k: a date has no hours, and 36h is not a whole number of days"),
])
def test_bad_values_in_duration_arithmetic_are_data_errors(rule, record, message):
    """Values that make no duration are DataErrors naming the customer and the field."""
    segment = segdsl.compile(rule)
    customer = {"id": 7, "at": "2026-07-01T00:00:00Z", **record}
    with pytest.raises(segdsl.DataError) as raised:
        segment.matches(customer, now=NOW)
    assert str(raised.value) == message
    with pytest.raises(segdsl.DataError):
        segment.filter([customer], now=NOW)


def test_explain_shows_durations_and_their_ratio():
    """The explanation shows the duration computed and the number of days it makes."""
    segment = segdsl.compile("(now - signed_up_at) / 1d > 1")
    assert segment.explain(SIGNUPS[0], now=NOW).render() == (
        "(now - signed_up_at) / 1d > 1 -> true\n"
        "└── (now - signed_up_at) / 1d = 1.5\n"
        "    └── now - signed_up_at = 36 hours\n"
        "        └── signed_up_at = \"2026-07-14T00:00:00Z\"")


def test_duration_arithmetic_inside_a_where_agrees_everywhere():
    """Inside a `where`, the generated fast path leaves duration arithmetic to the evaluator."""
    customers = [{"id": 1, "events": [{"type": "visit", "at": "2026-07-14T00:00:00Z"},
                                      {"type": "visit", "at": "2026-07-01T00:00:00Z"}]},
                 {"id": 2, "events": [{"type": "visit", "at": "2026-07-01T00:00:00Z"}]}]
    rule = 'exists(events, where = type == "visit" and (now - at) / 1d < 2)'
    assert members(rule, customers, NOW) == [1]


def test_duration_arithmetic_formats_and_round_trips():
    """`fmt` prints duration arithmetic faithfully."""
    text = "segment s = (now-signed_up_at)/1d>30d*2/1d\n"
    formatted = segdsl.format(text)
    assert formatted == "segment s = (now - signed_up_at) / 1d > 30d * 2 / 1d\n"
    assert segdsl.parse(formatted) == segdsl.parse(text)
    assert segdsl.loads(formatted).evaluate(SIGNUPS, now=NOW)["s"] == ["61 days ago"]


@pytest.mark.parametrize("rule", [
    "seen_at >= today - 2w", "year(seen_at) == 2026", "(now - seen_at) / 1d > 1",
    "now - seen_at > 30d * 2", "visits_per_day * 1d > 2h",
])
def test_the_fast_path_leaves_time_to_the_evaluator(rule):
    """The generated code writes no new time construct: the closures decide them."""
    assert codegen.predicate(segdsl.compile(rule)._program.body("rule")) is None


def test_a_folded_ratio_is_a_plain_number_on_the_fast_path():
    """`90d / 1d` folds to the number 90, which the generated code compares exactly."""
    segment = segdsl.compile("sessions > 90d / 1d")
    assert codegen.predicate(segment._program.body("rule")) is not None
    customers = [{"id": 1, "sessions": 91}, {"id": 2, "sessions": 90}, {"id": 3, "sessions": None}]
    assert members("sessions > 90d / 1d", customers, NOW) == [1]


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.dates(), st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    st.timedeltas(), st.lists(st.integers(), max_size=2),
)
_RULES = [
    "d < now - 3m * k", "now - d > k * 1d", "(now - d) / k > 1d", "(now - d) / 1d > k",
    "count(orders, within = k * 1d) >= 1", "year(d) == k", "anniversary(d) >= today",
    "years_between(d, today) >= k", "weekday(d) == 7 or day_of_year(d) > k",
    "today - k * 1d <= d", "months_between(d, now) > 3",
]

_SEGMENTS = [segdsl.compile(rule, timezone="Europe/Paris") for rule in _RULES]


@settings(max_examples=60, deadline=None)
@given(k=_VALUES, d=_VALUES)
def test_any_value_gives_an_answer_or_a_segdsl_error(k, d):
    """Whatever the data holds, time rules answer true or false or raise a SegdslError."""
    customer = {"id": 1, "k": k, "d": d, "orders": [{"at": "2026-07-01T00:00:00Z"}]}
    for segment in _SEGMENTS:
        for path in ("matches", "filter", "explain"):
            try:
                if path == "matches":
                    segment.matches(customer, now=NOW)
                elif path == "filter":
                    segment.filter([customer], now=NOW)
                else:
                    segment.explain(customer, now=NOW).render()
            except segdsl.SegdslError:
                pass
