"""Wrong-typed arguments of the public API are usage errors with a clear
message, or are accepted sensibly; never a Python exception from deep inside."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"
RULES = 'segment undecided = visits(30d) >= 1\nsegment french = country == "FR"'
CUSTOMERS = [{"id": 1, "country": "FR", "events": [{"type": "visit", "at": "2026-07-14T10:00:00Z"}]},
             {"id": 2, "country": "BE"}]


def usage_error(action) -> str:
    with pytest.raises(segdsl.UsageError) as raised:
        action()
    return raised.value.message


# ------------------------------------------------------------ compile options


def test_a_plain_dict_schema_builds_a_schema():
    """schema= a dict of fields is read as segdsl.Schema(that dict)."""
    segment = segdsl.compile('country == "FR"', schema={"id": "number", "country": "string"})
    assert segment.matches({"id": 1, "country": "FR"}, now=NOW)
    with pytest.raises(segdsl.CheckError, match="unknown name 'contry'"):
        segdsl.compile('contry == "FR"', schema={"id": "number", "country": "string"})


@pytest.mark.parametrize(("options", "message"), [
    ({"schema": 5}, "schema must be a segdsl.Schema or a dict of fields such as "
                    "{'country': 'string'}, not int 5"),
    ({"schema": ["country"]}, "schema must be a segdsl.Schema or a dict of fields such as "
                              "{'country': 'string'}, not list ['country']"),
    ({"functions": 5}, "functions must be a segdsl.Functions registry, not int 5"),
    ({"functions": "lower"}, "functions must be a segdsl.Functions registry, not str 'lower'"),
    ({"timezone": 5}, "timezone must be a zone name such as 'Europe/Paris' or a tzinfo, not int 5"),
    ({"timezone": ""}, "timezone must be a zone name such as 'Europe/Paris' or a tzinfo, not "
                       "str ''"),
    ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus': use a name such as "
                                   "'Europe/Paris' or 'UTC'"),
    ({"rfm_window": 365}, "the RFM window must be a duration such as '365d' or '2y', not int 365"),
    ({"rfm_window": "365"}, "the RFM window must be a duration such as 365d or 2y, not '365'"),
    ({"rfm_window": "(("}, "the RFM window must be a duration such as 365d or 2y, not '(('"),
    ({"rfm_window": dt.timedelta(days=1.5)}, "the RFM window must be a positive whole number of "
     "days, such as timedelta(days=365), not datetime.timedelta(days=1, seconds=43200)"),
])
def test_wrong_options_are_usage_errors(options, message):
    """compile, loads and check refuse wrong-typed options with one clear message."""
    assert usage_error(lambda: segdsl.compile('country == "FR"', **options)) == message
    assert usage_error(lambda: segdsl.loads(RULES, **options)) == message
    assert usage_error(lambda: segdsl.check(RULES, **options)) == message


def test_a_whole_day_timedelta_is_an_rfm_window():
    """rfm_window= a timedelta of whole days is that many days."""
    by_text = segdsl.loads("segment s = rfm.frequency >= 3", rfm_window="30d")
    by_delta = segdsl.loads("segment s = rfm.frequency >= 3", rfm_window=dt.timedelta(days=30))
    customers = [{"id": i, "orders": [{"at": "2026-07-01T00:00:00Z", "total": 1.0}] * i}
                 for i in range(1, 6)]
    assert by_text.evaluate(customers, now=NOW).members == by_delta.evaluate(
        customers, now=NOW).members


@pytest.mark.parametrize(("action", "message"), [
    (lambda: segdsl.load(None), "load takes the path of a rule file, not NoneType None"),
    (lambda: segdsl.load(5), "load takes the path of a rule file, not int 5"),
    (lambda: segdsl.loads(None), "loads takes the rule text as a str, not NoneType None"),
    (lambda: segdsl.loads(b"segment a = true"), "loads takes the rule text as a str, not bytes "
                                                "b'segment a = true'"),
    (lambda: segdsl.compile(5), "compile takes the rule text as a str, not int 5"),
    (lambda: segdsl.check(None), "check takes the rule text as a str, not NoneType None"),
    (lambda: segdsl.loads("segment a = true", file=5), "file must be a file name, not int 5"),
    (lambda: segdsl.load("examples/summer_sale.seg", shema={}), "unknown option 'shema'"),
])
def test_rule_text_and_paths_are_checked(action, message):
    """load, loads, compile and check say what they take when given something else."""
    assert usage_error(action) == message


# ------------------------------------------------------------ evaluate options


def test_one_segment_name_is_one_name():
    """segments="undecided" evaluates that one segment, not nine one-letter names."""
    result = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW, segments="undecided")
    assert result.members == {"undecided": [1]}


def test_a_name_given_twice_is_evaluated_once():
    """segments=["french", "french"] lists each member once."""
    result = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW, segments=["french", "french"])
    assert result.members == {"french": [1]}


@pytest.mark.parametrize(("options", "message"), [
    ({"segments": 5}, "segments must be a segment name or a list of names, not int 5"),
    ({"segments": {"french": 1}}, "segments must be a segment name or a list of names, not "
                                  "dict {'french': 1}"),
    ({"segments": [5]}, "segments must be segment names, not int 5"),
    ({"segments": "frenh"}, "no segment named 'frenh'; did you mean 'french'? the segments are "
                            "undecided, french"),
    ({"progress": 5}, "progress must be a function called with the number of customers done, "
                      "not int 5"),
    ({"now": 5}, "now must be a datetime, a date or ISO text, not int 5"),
    ({"now": True}, "now must be a datetime, a date or ISO text, not bool True"),
    ({"now": pd.NaT}, "now must be a datetime, a date or ISO text, not NaT"),
    ({"now": "2026-07-00"}, "now must be a date or datetime such as 2026-07-15 or "
                            "2026-07-15T12:00:00Z, not '2026-07-00'"),
    ({"now": "0001-01-01T00:00:00+05:00"}, "now '0001-01-01T00:00:00+05:00' is out of the "
                                           "years 1 to 9999 in UTC"),
])
def test_wrong_evaluate_options_are_usage_errors(options, message):
    """evaluate refuses wrong-typed options before reading any customer."""
    untouched = iter(lambda: pytest.fail("a customer was read"), None)
    arguments = {"now": NOW, **options}
    assert usage_error(lambda: segdsl.loads(RULES).evaluate(untouched, **arguments)) == message


def test_now_may_be_a_numpy_datetime():
    """now= a numpy datetime64 is read as the naive datetime it holds."""
    rules = segdsl.loads(RULES)
    expected = rules.evaluate(CUSTOMERS, now="2026-07-15T12:00:00").members
    assert rules.evaluate(CUSTOMERS, now=np.datetime64("2026-07-15T12:00:00")).members == expected


@pytest.mark.parametrize("wrong", [5, "now", [NOW]])
def test_matches_filter_and_explain_refuse_a_wrong_now(wrong):
    """Every entry point reads now= the same way."""
    segment = segdsl.compile('country == "FR"')
    for action in (lambda: segment.matches(CUSTOMERS[0], now=wrong),
                   lambda: segment.filter(CUSTOMERS, now=wrong),
                   lambda: segment.explain(CUSTOMERS[0], now=wrong),
                   lambda: segdsl.loads(RULES).population(CUSTOMERS, now=wrong)):
        assert usage_error(action).startswith("now must be")


def test_a_population_that_is_not_customers_is_refused():
    """population= a number is a DataError saying what to pass, not a TypeError."""
    segment = segdsl.compile("ntile(age, 4) == 4")
    with pytest.raises(segdsl.DataError, match="population got int 5 as customers"):
        segment.matches({"id": 1, "age": 3}, now=NOW, population=5)


# ---------------------------------------------------------- Functions.register


def email_domain(email):
    return email.rpartition("@")[2]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"params": 5, "returns": "string"},
     "register: params must be a dict of parameter names to types, such as {'email': 'string'}, "
     "not int"),
    ({"params": ["email"], "returns": "string"},
     "register: params must be a dict of parameter names to types, such as {'email': 'string'}, "
     "not list"),
    ({"returns": "string"},
     "register: params must be a dict of parameter names to types, such as {'email': 'string'}, "
     "not nothing"),
    ({"params": {"email": "string"}}, "register: returns= must name the result's type, such as "
                                      "'number'"),
    ({"params": {"email": 5}, "returns": "string"},
     "cannot read a type from 5: spell it like 'number', 'string|list[string]' or 'datetime'"),
    ({"params": {"email": "strng"}, "returns": "string"},
     "function a function: unknown type 'strng'; the types are any, bool, date, datetime, "
     "duration, number, period, string, record, list[T]"),
    ({"params": {"email": "string"}, "returns": "string|number"},
     "function a function: returns must be one type, not 'string|number'"),
    ({"params": {5: "string"}, "returns": "string"},
     "function a function: a parameter's name must be an identifier, not 5"),
    ({"params": {"email": "string"}, "returns": "string", "null_safe": "yes"},
     "register: null_safe must be True or False, not 'yes'"),
])
def test_register_refuses_malformed_arguments(arguments, message):
    """Functions.register checks its arguments when it is called."""
    assert usage_error(lambda: segdsl.Functions().register(**arguments)(email_domain)) == message


def test_register_refuses_parameters_the_function_does_not_take():
    """Declaring more or fewer parameters than the Python function takes is refused."""
    functions = segdsl.Functions()
    assert usage_error(lambda: functions.register(
        params={"email": "string", "fallback": "string"}, returns="string")(email_domain)) == (
        "function 'email_domain': params declare 2 parameters (email, fallback), but the "
        "Python function's signature is email_domain(email)")

    def two(first, second):
        return first

    assert usage_error(lambda: functions.register(params={"first": "string"},
                                                  returns="string")(two)) == (
        "function 'two': params declare 1 parameter (first), but the Python function's "
        "signature is two(first, second)")
    assert "email_domain" not in functions and "two" not in functions


def test_register_refuses_parameters_named_otherwise_than_the_function():
    """A declared parameter must carry the Python parameter's name (it is shown in messages)."""
    assert usage_error(lambda: segdsl.Functions().register(
        params={"address": "string"}, returns="string")(email_domain)) == (
        "function 'email_domain': parameter 1 is declared 'address', but the Python function "
        "calls it 'email' (email_domain(email))")


def test_register_accepts_functions_that_take_what_is_declared():
    """Defaults, *args and positional-only parameters accept the declared call."""
    functions = segdsl.Functions()

    def with_default(text, suffix="!"):
        return text + suffix

    functions.register(params={"text": "string"}, returns="string")(with_default)
    functions.register("any_of", params={"a": "any", "b": "any"}, returns="any")(
        lambda *values: values[0])
    functions.register("shout", params={"text": "string"}, returns="string")(str.upper)
    segment = segdsl.compile('with_default(name) == "Ann!" and shout(name) == "ANN"',
                             functions=functions)
    assert segment.matches({"name": "Ann"}, now=NOW)


def test_register_refuses_names_that_are_not_identifiers_or_built_ins():
    """A lambda needs a name; a built-in's name is refused at registration."""
    functions = segdsl.Functions()
    assert usage_error(lambda: functions.register(params={"x": "number"}, returns="number")(
        lambda x: x)) == "a function's name must be an identifier such as 'email_domain', not " \
                         "'<lambda>'"
    assert usage_error(lambda: functions.register("count", params={"x": "number"},
                                                  returns="number")(lambda x: x)) == (
        "function 'count' is already a built-in of segdsl: register it under another name")
    assert usage_error(lambda: functions.register(5, params={}, returns="number")) == (
        "a function's name must be an identifier such as 'email_domain', not 5")


def test_register_without_arguments_says_how_to_call_it():
    """``@functions.register`` without parentheses is refused with the right spelling."""
    assert usage_error(lambda: segdsl.Functions().register(email_domain)) == (
        "register needs the parameters' and result's types: "
        "@functions.register(params={...}, returns=...)")


def test_register_refuses_what_is_not_a_function():
    """Decorating a value that cannot be called is refused."""
    assert usage_error(lambda: segdsl.Functions().register(
        "five", params={}, returns="number")(5)) == (
        "register decorates a Python function, not int")
