"""Values read from data: one answer on every API (matches, filter, evaluate, explain).

Every case states the rule's three-valued answer for one customer (true, false,
null, or bad data) and checks that ``Segment.matches``, ``Segment.filter``,
``RuleSet.evaluate`` (the rule as a segment) and ``Segment.explain`` all give it.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import decimal
import types

import numpy as np
import pandas as pd
import pytest

import segdsl
from segdsl import values

NOW = "2026-07-15T10:00:00Z"
ERROR = "DataError"


def _api_answers(rule: str, customer, schema=None) -> dict[str, object]:
    """The rule's value for ``customer`` through each API: True, False, None or ERROR."""
    segment = segdsl.compile(rule, schema=schema)
    negated = segdsl.compile(f"not ({rule})", schema=schema)
    rules = segdsl.loads(f"segment yes = {rule}\nsegment no = not ({rule})\n", schema=schema)

    def three(holds, fails):
        return True if holds else False if fails else None

    def attempt(ask):
        try:
            return ask()
        except segdsl.DataError:
            return ERROR

    def evaluated(result):
        return three(identity in result["yes"], identity in result["no"])

    try:
        identity = values.read_field(customer, "id")
    except values.FieldReadError:
        identity = None
    found = {
        "matches": attempt(lambda: three(segment.matches(customer, now=NOW),
                                         negated.matches(customer, now=NOW))),
        "filter": attempt(lambda: three(bool(segment.filter([customer], now=NOW)),
                                        bool(negated.filter([customer], now=NOW)))),
        "evaluate": attempt(lambda: evaluated(rules.evaluate([customer], now=NOW))),
        "explain": attempt(lambda: segment.explain(customer, now=NOW).value),
    }
    return found


def assert_answer(rule: str, customer, expected, schema=None) -> None:
    """All four APIs give ``expected`` for ``rule`` and ``customer``."""
    found = _api_answers(rule, customer, schema)
    assert found == dict.fromkeys(found, expected), (rule, customer)


# ------------------------------------------------------------ one semantics


@pytest.mark.parametrize(("rule", "expected"), [
    ("signed_up_at == 2024-10-17T11:31:59Z", True),
    ("signed_up_at != 2024-10-17T11:31:59Z", False),
    ("signed_up_at == 2024-10-17T11:32:00Z", False),
    ("signed_up_at in [2024-10-17T11:31:59Z, 2025-01-01T00:00:00Z]", True),
    ("signed_up_at not in [2024-10-17T11:31:59Z]", False),
    ("signed_up_at == 2024-10-17", True),
    ("signed_up_at == 2024-10-18", False),
    ("signed_up_at != 2024-10-18", True),
    ("signed_up_at in [2024-10-17, 2024-10-18]", True),
    ("signed_up_at not in [2024-10-16]", True),
])
def test_iso_text_compared_with_a_date_literal_is_read_as_a_date(rule, expected):
    """Untyped ISO text next to a date(time) literal is read as one on every API."""
    assert_answer(rule, {"id": 1, "signed_up_at": "2024-10-17T11:31:59Z"}, expected)


@pytest.mark.parametrize(("rule", "expected"), [
    ("signed_up_at == 2024-10-17T11:31:59Z", True),
    ("signed_up_at != 2024-10-17T11:31:59Z", False),
    ("signed_up_at in [2024-10-17T11:31:59Z]", True),
    ("signed_up_at not in [2024-10-17T11:31:59Z]", False),
    ("signed_up_at == 2024-10-17", True),
    ("signed_up_at != 2024-10-17", False),
])
def test_naive_datetimes_in_the_data_are_in_the_configured_zone(rule, expected):
    """A naive datetime object is read in UTC (the default zone) on every API."""
    assert_answer(rule, {"id": 1, "signed_up_at": dt.datetime(2024, 10, 17, 11, 31, 59)},
                  expected)


@pytest.mark.parametrize(("rule", "customer", "expected"), [
    ("flag == true", {"id": 1, "flag": 1}, False),
    ("flag != true", {"id": 1, "flag": 1}, True),
    ("flag == 1", {"id": 1, "flag": True}, False),
    ("score == false", {"id": 1, "score": -0.0}, False),
    ("score == 0", {"id": 1, "score": False}, False),
    ("score != 0", {"id": 1, "score": False}, True),
    ("flag in [1, 2]", {"id": 1, "flag": True}, False),
    ("flag not in [1, 2]", {"id": 1, "flag": True}, True),
    ("flag in [true]", {"id": 1, "flag": 1}, False),
    ("flag in [0.0]", {"id": 1, "flag": False}, False),
    ("flag == true", {"id": 1, "flag": np.bool_(True)}, True),
])
def test_a_boolean_never_equals_a_number(rule, customer, expected):
    """`true == 1` and `false == -0.0` are false, in `in` lists too, on every API."""
    assert_answer(rule, customer, expected)


@pytest.mark.parametrize("points", [np.float64(150), np.int64(150), np.float32(150),
                                    decimal.Decimal(150), np.uint8(150)],
                         ids=["float64", "int64", "float32", "Decimal", "uint8"])
@pytest.mark.parametrize(("rule", "expected"), [
    ("loyalty_points > 100", True),
    ("not (loyalty_points > 100)", False),
    ("loyalty_points == 150", True),
    ("loyalty_points in [150]", True),
    ("loyalty_points + 1 == 151", True),
    ("-loyalty_points < 0", True),
    ("loyalty_points between 100 and 200", True),
])
def test_numpy_and_decimal_values_are_numbers(points, rule, expected):
    """numpy scalars and Decimal values are numbers, the same on every API."""
    assert_answer(rule, {"id": 1, "loyalty_points": points}, expected)


@pytest.mark.parametrize("null", [float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT,
                                  np.datetime64("NaT"), decimal.Decimal("NaN"), None],
                         ids=["nan", "np.nan", "float32 nan", "NA", "NaT", "datetime64 NaT",
                              "Decimal NaN", "None"])
@pytest.mark.parametrize("rule", [
    "x > 1", "not (x > 1)", "x == 1", "x != 1", "x in [1, 2]", "x not in [1, 2]",
    "x between 0 and 2", "not (x between 0 and 2)", "x + 1 > 0", "x == \"a\"", "x != \"a\"",
])
def test_nan_na_and_nat_are_null(null, rule):
    """NaN, pandas.NA and NaT are null: every comparison with them is unknown."""
    assert_answer(rule, {"id": 1, "x": null}, None)


@pytest.mark.parametrize("null", [float("nan"), pd.NA, pd.NaT, np.datetime64("NaT")],
                         ids=["nan", "NA", "NaT", "datetime64 NaT"])
def test_is_null_sees_nan_na_and_nat(null):
    """`x is null` is true and `x is not null` false for NaN, pandas.NA and NaT."""
    assert_answer("x is null", {"id": 1, "x": null}, True)
    assert_answer("x is not null", {"id": 1, "x": null}, False)


def test_a_mapping_customer_is_read_like_a_dict():
    """A MappingProxyType customer is a record: `country == "FR"` holds on every API."""
    customer = types.MappingProxyType({"id": 1, "country": "FR"})
    assert_answer('country == "FR"', customer, True)
    assert_answer('country != "FR"', customer, False)


@pytest.mark.parametrize("rule", [
    'country == "FR"', "missing > 3", "not (missing > 3)", "missing is null",
    "nested.inner == 1", "orders[0] is null",
])
def test_defaultdict_customers_are_never_mutated(rule):
    """Reading a defaultdict customer (or element) never runs its factory."""
    element = collections.defaultdict(int, {"total": 10})
    customer = collections.defaultdict(list, {"id": 1, "country": "FR", "orders": [element]})
    if "[0]" in rule:
        rule = "missing_list is null"
    _api_answers(rule, customer)
    assert set(customer) == {"id", "country", "orders"}
    assert set(element) == {"total"}


def test_decimal_values_follow_number_semantics():
    """Decimals compare, add and tile like numbers; an infinite Decimal is bad data."""
    customer = {"id": 1, "x": decimal.Decimal("2.5")}
    assert_answer("x * 2 == 5", customer, True)
    assert_answer("x > 2", customer, True)
    assert_answer("x in [2.5]", customer, True)
    assert_answer("x == true", customer, False)
    assert_answer("x > 1", {"id": 1, "x": decimal.Decimal("Infinity")}, ERROR)
    assert_answer("x > 1", {"id": 1, "x": decimal.Decimal("1e400")}, ERROR)


def test_numpy_datetimes_and_timestamps_are_datetimes():
    """pandas.Timestamp and numpy.datetime64 values are datetimes on every API."""
    for moment in (pd.Timestamp("2024-10-17T11:31:59Z"), np.datetime64("2024-10-17T11:31:59"),
                   pd.Timestamp("2024-10-17T11:31:59")):
        assert_answer("x == 2024-10-17T11:31:59Z", {"id": 1, "x": moment}, True)
        assert_answer("x < 2024-10-17T11:32:00Z", {"id": 1, "x": moment}, True)


def test_tuples_and_arrays_are_lists():
    """A tuple or a numpy array is a list: `contains` and `count` see its items."""
    for tags in (("vip", "new"), np.array(["vip", "new"]), ["vip", "new"]):
        assert_answer('tags contains "vip"', {"id": 1, "tags": tags}, True)
        assert_answer('tags contains "old"', {"id": 1, "tags": tags}, False)


# ------------------------------------------------------------ operators


@pytest.mark.parametrize(("rule", "customer"), [
    ("x + 1 == 2", {"x": True}),
    ("x * 3 == y", {"x": "a", "y": "aaa"}),
    ("x * 3 == y", {"x": [1], "y": [1, 1, 1]}),
    ("x % 2 == y", {"x": "%s", "y": "2"}),
    ("-x < 0", {"x": True}),
    ("-x == y", {"x": "a", "y": "a"}),
    ("x - 1 > 0", {"x": "5"}),
    ("x > 0", {"x": True}),
    ("x between 0 and 2", {"x": True}),
])
def test_arithmetic_and_ordering_are_on_numbers_only(rule, customer):
    """No boolean arithmetic, no text or list repetition: bad data on every API."""
    assert_answer(rule, {"id": 1, **customer}, ERROR)


def test_repetition_of_text_never_allocates():
    """`x * 100000000` with text is bad data at once, not 800 MB of text."""
    message = _error("x * 100000000 == y", {"id": 7, "x": "abcdefgh", "y": ""})
    assert message.startswith("customer 7, field x: cannot evaluate str 'abcdefgh' * int")


def test_a_float_overflow_is_bad_data():
    """Arithmetic beyond the floats is a DataError, never an OverflowError."""
    assert_answer("x / 3 > 1", {"id": 1, "x": 10 ** 400}, ERROR)
    assert_answer("x + 0.5 > 1", {"id": 1, "x": 10 ** 400}, ERROR)
    assert_answer("x * 10 > 1", {"id": 1, "x": 1e308}, True)  # infinity is a number


@pytest.mark.parametrize(("customer", "expected"), [
    ({"tags": "xvipx"}, True), ({"tags": ["vip"]}, True), ({"tags": ["xvipx"]}, False),
    ({"tags": 5}, ERROR), ({"tags": {"vip": 1}}, ERROR), ({"tags": True}, ERROR),
])
def test_contains_without_a_schema(customer, expected):
    """Without a schema `contains` is a substring test on text, a membership test on a list,
    and bad data on anything else."""
    assert_answer('tags contains "vip"', {"id": 1, **customer}, expected)


def test_contains_on_a_list_uses_strict_equality():
    """`tags contains 1` does not find True in the list."""
    assert_answer("tags contains n", {"id": 1, "tags": [True], "n": 1}, False)
    assert_answer("tags contains n", {"id": 1, "tags": [1.0], "n": 1}, True)
    assert_answer("tags contains n", {"id": 1, "tags": [1], "n": True}, False)


SCHEMA = segdsl.Schema({"id": "number", "tags": "list[string]", "address": "record",
                        "age": "number", "flag": "bool"})


@pytest.mark.parametrize(("rule", "customer", "message"), [
    ('tags contains "vip"', {"tags": "xvipx"}, "field tags: expected a list, found str"),
    ('tags contains "vip"', {"tags": ["vip", 5]}, "field tags[1]: expected a string, found 5"),
    ("address is not null", {"address": 5}, "field address: expected a record, found int 5"),
    ("age > 3", {"age": True}, "field age: expected a number, found True"),
    ("age > 3", {"age": "7"}, "field age: expected a number, found '7'"),
    ("flag == true", {"flag": 1}, "field flag: expected a boolean, found 1"),
])
def test_declared_types_are_enforced(rule, customer, message):
    """A field holding another type than the schema declares is bad data on every API."""
    assert_answer(rule, {"id": 1, **customer}, ERROR, schema=SCHEMA)
    assert _error(rule, {"id": 1, **customer}, SCHEMA) == f"customer 1, {message}"


def test_declared_types_accept_normalised_values():
    """numpy numbers, numpy booleans, tuples and arrays fit their declared types."""
    assert_answer("age > 3", {"id": 1, "age": np.int64(4)}, True, schema=SCHEMA)
    assert_answer("flag == true", {"id": 1, "flag": np.bool_(True)}, True, schema=SCHEMA)
    assert_answer('tags contains "vip"', {"id": 1, "tags": ("vip",)}, True, schema=SCHEMA)
    assert_answer('tags contains "vip"', {"id": 1, "tags": np.array(["vip"])}, True,
                  schema=SCHEMA)


# ------------------------------------------------------------ public data only


class _Customer:
    """A customer object as a user's code may hold it."""

    def __init__(self) -> None:
        self.id = 1
        self.country = "FR"
        self._secret = "s3"


API_KEY = "sk-live-0123456789"


def test_a_field_path_never_reads_private_attributes():
    """`__class__.__init__.__globals__.API_KEY` reads as null on an object, and explain
    does not show the secret."""
    rule = '__class__.__init__.__globals__.API_KEY starts_with "sk-live"'
    assert_answer(rule, _Customer(), None)
    assert_answer("_secret is null", _Customer(), True)
    assert_answer('country == "FR"', _Customer(), True)
    shown = str(segdsl.compile(rule).explain(_Customer(), now=NOW))
    assert "sk-live-0" not in shown


class _Hostile:
    """A customer whose code raises when read."""

    id = 3

    @property
    def country(self):
        raise RuntimeError("no country")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise KeyError(name)

    def __repr__(self):
        raise ValueError("no repr")


class _HostileMapping(collections.abc.Mapping):
    """A mapping whose lookups raise."""

    def __getitem__(self, key):
        raise RuntimeError("broken")

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __contains__(self, key):
        raise RuntimeError("broken contains")


@pytest.mark.parametrize(("customer", "rule"), [
    (_Hostile(), 'country == "FR"'),
    (_Hostile(), "age > 3"),
    (_HostileMapping(), 'country == "FR"'),
], ids=["property", "__getattr__", "mapping"])
def test_customers_whose_code_raises_are_bad_data(customer, rule):
    """A property, `__getattr__` or mapping lookup that raises is a DataError naming the field."""
    found = _api_answers(rule, customer)
    assert found == dict.fromkeys(found, ERROR)
    assert "field " in _error(rule, customer)


def test_a_repr_that_raises_does_not_escape():
    """Error messages show `<TypeName>` for a value whose repr raises."""

    class Odd:
        def __repr__(self):
            raise ValueError("no")

    message = _error("x + 1 > 2", {"id": 1, "x": Odd()})
    assert message == "customer 1, field x: cannot evaluate Odd <Odd> + int 1"
    assert values.safe_repr(Odd()) == "<Odd>"


# ------------------------------------------------------------ deep data


def _deep_dict(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def _deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_data_nested_100000_deep_gives_no_recursion_error():
    """Paths into deeply nested dicts and deeply nested lists as values are answered."""
    deep = _deep_dict(100_000)
    assert_answer("a.a.a is not null", {"id": 1, "a": deep}, True)
    assert_answer('x == "a"', {"id": 1, "x": _deep_list(100_000)}, False)
    assert_answer('x contains "a"', {"id": 1, "x": _deep_list(100_000)}, False)
    assert_answer("x in [1, 2]", {"id": 1, "x": _deep_list(100_000)}, False)
    assert_answer("x == y", {"id": 1, "x": _deep_list(100_000), "y": _deep_list(100_000)},
                  ERROR)
    assert_answer("x + 1 > 0", {"id": 1, "x": _deep_list(100_000)}, ERROR)


# ------------------------------------------------------------ errors name the field


@pytest.mark.parametrize(("rule", "field"), [
    ('(age + bonus) contains "x"', "age"),
    ('(-age) starts_with "x"', "age"),
    ('(bonus - (-age)) ends_with "x"', "bonus"),
    ('((-age) * bonus) in "text"', "bonus"),
])
def test_a_data_error_after_arithmetic_or_a_call_names_the_field(rule, field):
    """The field inside arithmetic or a call is named in the error."""
    message = _error(rule, {"id": 5, "age": 3, "bonus": 2})
    assert message.startswith(f"customer 5, field {field}: "), message


def _error(rule: str, customer, schema=None) -> str:
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile(rule, schema=schema).matches(customer, now=NOW)
    return str(caught.value)


# ------------------------------------------------------------ the module itself


def test_normalise_maps_each_kind():
    """normalise turns each raw kind into the value rules see."""
    assert values.normalise(np.float64(1.5)) == 1.5 and type(values.normalise(np.float64(1.5))) \
        is float
    assert type(values.normalise(np.int64(3))) is int
    assert values.normalise(np.bool_(True)) is True
    assert values.normalise(decimal.Decimal("-0")) == 0.0
    assert values.normalise((1, 2)) == [1, 2]
    assert values.normalise(pd.Timestamp("2024-01-01T10:00Z")) == dt.datetime(
        2024, 1, 1, 10, tzinfo=dt.UTC)
    assert values.normalise(np.datetime64("2024-01-01")) == dt.datetime(2024, 1, 1)
    for null in (float("nan"), pd.NA, pd.NaT, np.datetime64("NaT"), decimal.Decimal("sNaN")):
        assert values.normalise(null) is None
    with pytest.raises(ValueError, match="not a finite number"):
        values.normalise(decimal.Decimal("-Infinity"))


def test_read_field_never_mutates_and_never_reads_private_names():
    """read_field: no defaultdict factory, no `_` names from objects, errors wrapped."""
    record = collections.defaultdict(list)
    assert values.read_field(record, "x") is None and not record
    assert values.read_field(_Customer(), "_secret") is None
    assert values.read_field({"_secret": 1}, "_secret") == 1  # a mapping's keys are data
    with pytest.raises(values.FieldReadError, match="raised RuntimeError: no country"):
        values.read_field(_Hostile(), "country")
    with pytest.raises(values.FieldReadError, match="expected a record with a field 'x'"):
        values.read_field(5, "x")
    assert copy.copy(values.read_field(None, "x")) is None


def test_an_undefined_result_of_arithmetic_is_null():
    """`x - y` with two infinities is NaN, read as null on every API."""
    customer = {"id": 1, "x": float("inf"), "y": float("inf")}
    assert_answer("x - y != 2", customer, None)
    assert_answer("not (x - y > 2)", customer, None)


def test_a_far_dated_value_compared_with_a_datetime_is_bad_data_not_an_overflow():
    """Year 1 at +05:00 is before the first UTC instant: a DataError, not an OverflowError."""
    far = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert_answer("x == 2024-10-17T11:31:59Z", {"id": 1, "x": far}, ERROR)
    assert_answer("x == 2024-10-17T11:31:59Z", {"id": 1, "x": "0001-01-01T00:00:00+05:00"},
                  ERROR)


def test_a_function_returning_another_type_than_declared_is_bad_data():
    """A registered function declared to return a number that returns text is a DataError
    naming the function; a numpy number it returns is a number."""
    functions = segdsl.Functions()

    @functions.register(params={"x": "number"}, returns="number")
    def doubled(x):
        return "twice" if x > 5 else np.float64(x * 2)

    segment = segdsl.compile("doubled(x) > 3", functions=functions)
    assert segment.matches({"id": 1, "x": 2}, now=NOW)
    with pytest.raises(segdsl.DataError) as caught:
        segment.matches({"id": 1, "x": 6}, now=NOW)
    assert str(caught.value) == ("customer 1, field x: function doubled returned str 'twice', "
                                 "not a number")
