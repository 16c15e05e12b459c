"""Customers in every shape a Python user holds them: lists of dicts, pandas,
polars and pyarrow tables (one customer per row, list columns as lists of
records), namedtuples, ``itertuples()`` rows and dataclasses; anything else is
a DataError saying what it got and what to pass instead."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import types

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl

NOW = "2026-07-15T12:00:00Z"
UTC = dt.timezone.utc

CUSTOMERS = [
    {"id": 1, "country": "FR", "age": 41, "tags": ["vip"], "address": {"city": "Lyon"},
     "signed_up_at": dt.datetime(2026, 7, 5, tzinfo=UTC),
     "orders": [{"at": "2026-07-01T10:00:00Z", "total": 120.0},
                {"at": "2026-07-10T09:00:00Z", "total": 30.0}]},
    {"id": 2, "country": "BE", "age": None, "tags": [], "address": {"city": "Paris"},
     "signed_up_at": None, "orders": []},
    {"id": 3, "country": None, "age": 25, "tags": ["new", "vip"], "address": None,
     "signed_up_at": dt.datetime(2024, 3, 1, tzinfo=UTC),
     "orders": [{"at": "2025-01-01T00:00:00Z", "total": 500.0}]},
    {"id": 4, "country": "FR", "age": 19, "tags": ["new"], "address": {"city": "Lyon"},
     "signed_up_at": dt.datetime(2026, 7, 14, tzinfo=UTC),
     "orders": [{"at": "2026-07-14T08:00:00Z", "total": 15.5}]},
]

RULES = """
segment french = country == "FR"
segment adult = age >= 30
segment no_country = country is null
segment no_age = age is null
segment vip = tags contains "vip"
segment lyon = address.city == "Lyon"
segment new_signup = signed_up_at >= 2026-07-01T00:00:00Z
segment recent_buyer = count(orders, within = 30d) >= 1
segment big_spender = sum(orders.total, within = 365d) > 100
segment top_spenders = ntile(sum(orders.total), 2) == 2
"""

# Checked by hand against CUSTOMERS at NOW.
EXPECTED = {
    "french": [1, 4], "adult": [1], "no_country": [3], "no_age": [2], "vip": [1, 3],
    "lyon": [1, 4], "new_signup": [1, 4], "recent_buyer": [1, 4], "big_spender": [1],
    "top_spenders": [1, 3],
}

TABLES = {
    "pandas": lambda rows: pd.DataFrame(rows),
    "polars": lambda rows: pl.DataFrame(rows),
    "polars-lazy": lambda rows: pl.DataFrame(rows).lazy(),
    "pyarrow-table": lambda rows: pa.Table.from_pylist(rows),
    "pyarrow-batch": lambda rows: pa.RecordBatch.from_pylist(rows),
}


@pytest.fixture(scope="module")
def rules() -> segdsl.RuleSet:
    return segdsl.loads(RULES)


def test_the_dicts_give_the_hand_checked_memberships(rules):
    """The reference: the same customers as a list of dicts."""
    assert rules.evaluate(CUSTOMERS, now=NOW).members == EXPECTED


@pytest.mark.parametrize("kind", list(TABLES))
def test_a_table_is_one_customer_per_row(rules, kind):
    """pandas, polars and pyarrow tables evaluate exactly like the same data as dicts."""
    assert rules.evaluate(TABLES[kind](CUSTOMERS), now=NOW).members == EXPECTED


@pytest.mark.parametrize("kind", list(TABLES))
def test_filter_of_a_table_is_a_table_of_the_members(rules, kind):
    """filter() of a table keeps the members' rows, as a table of the same library."""
    table = TABLES[kind](CUSTOMERS)
    kept = rules["lyon"].filter(table, now=NOW)
    if kind == "pandas":
        assert isinstance(kept, pd.DataFrame) and kept["id"].tolist() == [1, 4]
    elif kind.startswith("polars"):
        assert isinstance(kept, pl.DataFrame) and kept["id"].to_list() == [1, 4]
    else:
        assert type(kept) is type(table) and kept.column("id").to_pylist() == [1, 4]


@pytest.mark.parametrize("kind", list(TABLES))
def test_filter_of_a_table_ranks_against_the_table(rules, kind):
    """A ranking rule filters a table against the table's own customers."""
    kept = rules["top_spenders"].filter(TABLES[kind](CUSTOMERS), now=NOW)
    ids = kept["id"].tolist() if kind == "pandas" else list(kept["id"]) if kind.startswith(
        "polars") else kept.column("id").to_pylist()
    assert ids == EXPECTED["top_spenders"]


@pytest.mark.parametrize("kind", list(TABLES))
def test_population_of_a_table_scores_single_customers(rules, kind):
    """Population statistics of a table score a customer as those of the dicts do."""
    stats = rules.population(TABLES[kind](CUSTOMERS), now=NOW)
    assert stats.size == 4
    segment = rules["top_spenders"]
    assert [segment.matches(c, now=NOW, population=stats) for c in CUSTOMERS] == [
        True, False, True, False]
    assert [segment.matches(c, now=NOW, population=TABLES[kind](CUSTOMERS))
            for c in CUSTOMERS] == [True, False, True, False]


@pytest.mark.parametrize("kind", list(TABLES))
def test_matches_and_explain_take_a_one_row_table(rules, kind):
    """A table of exactly one row is one customer for matches and explain."""
    one_row = TABLES[kind](CUSTOMERS[:1])
    assert rules["lyon"].matches(one_row, now=NOW) is True
    assert rules["lyon"].explain(one_row, now=NOW).value is True


@pytest.mark.parametrize("kind", list(TABLES))
def test_matches_refuses_a_table_of_several_rows(rules, kind):
    """matches() of a table of four rows says it takes one customer and what to use instead."""
    with pytest.raises(segdsl.DataError, match="matches takes one customer, and this "
                                               r"\w+ has (4|several) rows: pass one row, or use "
                                               r"filter"):
        rules["lyon"].matches(TABLES[kind](CUSTOMERS), now=NOW)


def test_a_pandas_row_is_one_customer(rules):
    """A pandas Series (``df.iloc[i]``) is read as one customer, as its dict is."""
    frame = pd.DataFrame(CUSTOMERS)
    assert [rules["lyon"].matches(frame.iloc[i], now=NOW) for i in range(4)] == [
        True, False, False, True]


def test_arrow_and_polars_nulls_arrive_as_none():
    """A null in an Arrow or polars column is None in the record the rules read."""
    from segdsl.customers import records

    rows = [{"id": 1, "age": None, "orders": [{"at": None, "total": 1.0}]}]
    for table in (pa.Table.from_pylist(rows), pl.DataFrame(rows)):
        assert list(records(table, "evaluate")) == rows


def test_pandas_missing_values_arrive_as_none():
    """NaN, NaT and pandas.NA in a DataFrame's columns are None in the records."""
    from segdsl.customers import records

    frame = pd.DataFrame({
        "id": [1, 2], "score": [1.5, float("nan")],
        "at": pd.to_datetime(["2026-07-01T10:00:00Z", None], utc=True),
        "count": pd.array([3, None], dtype="Int64"), "name": ["a", None]})
    assert list(records(frame, "evaluate")) == [
        {"id": 1, "score": 1.5, "at": dt.datetime(2026, 7, 1, 10, tzinfo=UTC), "count": 3,
         "name": "a"},
        {"id": 2, "score": None, "at": None, "count": None, "name": None}]


def test_a_named_pandas_index_is_a_field():
    """A DataFrame indexed by id (``set_index("id")``) still has its ids."""
    frame = pd.DataFrame(CUSTOMERS).set_index("id")
    assert segdsl.loads(RULES).evaluate(frame, now=NOW).members == EXPECTED


def test_a_table_with_two_columns_of_one_name_is_refused():
    """Duplicate column names would silently drop a column: they are a DataError."""
    frame = pd.DataFrame([[1, "FR", "BE"]], columns=["id", "country", "country"])
    with pytest.raises(segdsl.DataError, match="the table has two columns named 'country'"):
        segdsl.loads(RULES).evaluate(frame, now=NOW)


def test_a_large_table_streams_in_batches():
    """A table of more rows than one batch gives every row, in order."""
    from segdsl import customers

    rows = [{"id": i, "country": "FR" if i % 3 == 0 else "BE"} for i in range(customers.BATCH * 2 + 5)]
    french = [r["id"] for r in rows if r["country"] == "FR"]
    rules = segdsl.loads('segment french = country == "FR"')
    for table in (pd.DataFrame(rows), pl.DataFrame(rows), pa.Table.from_pylist(rows)):
        assert rules.evaluate(table, now=NOW)["french"] == french


def test_an_arrow_stream_is_read_once_batch_by_batch():
    """A pyarrow RecordBatchReader (a stream) is evaluated as its rows."""
    table = pa.Table.from_pylist(CUSTOMERS)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=1))
    assert segdsl.loads(RULES).evaluate(reader, now=NOW).members == EXPECTED


# ------------------------------------------------------------------ objects


Customer = collections.namedtuple("Customer", "id country age")


@dataclasses.dataclass
class Person:
    id: int
    country: str | None
    age: int | None


SIMPLE = [(1, "FR", 41), (2, "BE", 30), (3, None, 25)]
SIMPLE_RULES = 'segment french = country == "FR"\nsegment older = ntile(age, 2) == 2'
SIMPLE_EXPECTED = {"french": [1], "older": [1]}


@pytest.mark.parametrize("make", [
    lambda: [Customer(*row) for row in SIMPLE],
    lambda: [Person(*row) for row in SIMPLE],
    lambda: [types.SimpleNamespace(id=i, country=c, age=a) for i, c, a in SIMPLE],
    lambda: list(pd.DataFrame(SIMPLE, columns=["id", "country", "age"]).itertuples()),
    lambda: pd.DataFrame(SIMPLE, columns=["id", "country", "age"]).itertuples(index=False),
], ids=["namedtuple", "dataclass", "namespace", "itertuples", "itertuples-iterator"])
def test_objects_are_customers(make):
    """namedtuples, itertuples() rows, dataclasses and namespaces evaluate like dicts."""
    assert segdsl.loads(SIMPLE_RULES).evaluate(make(), now=NOW).members == SIMPLE_EXPECTED


def test_namedtuples_work_with_every_api():
    """matches, explain and filter read a namedtuple's fields; filter gives back the tuples."""
    people = [Customer(*row) for row in SIMPLE]
    segment = segdsl.compile('country == "FR"')
    assert [segment.matches(p, now=NOW) for p in people] == [True, False, False]
    assert segment.explain(people[0], now=NOW).value is True
    assert segment.filter(people, now=NOW) == [people[0]]
    assert segment.filter(iter(people), now=NOW) == [people[0]]


def test_filter_gives_back_the_objects_it_was_given():
    """filter() of mixed dicts and objects returns the very objects, in input order."""
    mixed = [{"id": 1, "country": "FR"}, Customer(2, "FR", 3), Person(3, "FR", 4),
             types.MappingProxyType({"id": 4, "country": "BE"})]
    kept = segdsl.compile('country == "FR"').filter(mixed, now=NOW)
    assert [id(k) for k in kept] == [id(m) for m in mixed[:3]]


# -------------------------------------------------------------- not customers


HOW = ("a customer is a dict (or another mapping) or an object with attributes "
       "(a dataclass, a namedtuple)")
PASS = ("pass a list of customers (dicts or objects), or a pandas, polars or pyarrow table "
        "with one customer per row")


@pytest.mark.parametrize(("given", "message"), [
    (None, f"evaluate got None as customers: {PASS}"),
    ("customers.jsonl", f"evaluate got str 'customers.jsonl' as customers: {PASS}"),
    (5, f"evaluate got int 5 as customers: {PASS}"),
    ([1, 2], f"the customer at position 0 is int 1, not a customer: {HOW}"),
    ([{"id": 1}, None], f"the customer at position 1 is NoneType None, not a customer: {HOW}"),
    ([{"id": 1}, "x"], f"the customer at position 1 is str 'x', not a customer: {HOW}"),
    ([[{"id": 1}]], f"the customer at position 0 is list [{{'id': 1}}], not a customer: {HOW}"),
    ({"id": 1, "country": "FR"}, f"evaluate got one dict as customers: {PASS}; for one "
                                 f"customer pass [customer], for a dict of customers by id "
                                 f"pass its .values()"),
    (Customer(1, "FR", 3), "evaluate got one customer (Customer) as customers: pass a list of "
                           "customers, e.g. [customer]"),
    (pd.Series([1, 2]), "evaluate got a Series (one column or one row) as customers: pass the "
                        "whole DataFrame, one customer per row"),
    ([pd.DataFrame(SIMPLE)], "the customer at position 0 is a pandas DataFrame, not a customer: "
                             "a table inside the customers: pass the table itself, one "
                             "customer per row"),
])
def test_what_is_not_customers_is_named_with_what_to_pass(given, message):
    """Anything else than customers is a DataError saying what it got and what to pass."""
    rules = segdsl.loads('segment french = country == "FR"')
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate(given, now=NOW)
    assert raised.value.message == message


@pytest.mark.parametrize("api", ["filter", "population"])
def test_filter_and_population_refuse_what_is_not_customers(api):
    """filter() and population() refuse None, a str and a bare dict as evaluate() does."""
    rules = segdsl.loads('segment french = country == "FR"')
    call = (lambda x: rules["french"].filter(x, now=NOW)) if api == "filter" else (
        lambda x: rules.population(x, now=NOW))
    for wrong, start in [(None, "got None"), ("abc", "got str 'abc'"), ({"id": 1}, "got one dict")]:
        with pytest.raises(segdsl.DataError, match=f"^{api} {start} as customers"):
            call(wrong)


def test_not_customers_is_also_a_usage_error():
    """Passing something that is not customers at all is a usage error too."""
    with pytest.raises(segdsl.UsageError):
        segdsl.loads('segment french = country == "FR"').evaluate(None, now=NOW)


@pytest.mark.parametrize("given", [None, "abc", 5, 2.5, [{"id": 1}], {1, 2}, b"x"])
def test_matches_refuses_what_is_not_one_customer(given):
    """matches() and explain() of a value or a list say they take one customer."""
    segment = segdsl.compile('country == "FR"')
    for call in (segment.matches, segment.explain):
        with pytest.raises(segdsl.DataError, match=r"^(matches|explain) takes one customer, not "):
            call(given, now=NOW)


def test_a_failing_iterator_is_a_data_error_naming_the_position():
    """A generator raising midway is a DataError naming where the reading stopped."""
    def customers():
        yield {"id": 1, "country": "FR"}
        yield {"id": 2, "country": "BE"}
        raise OSError("connection lost")

    segment = segdsl.compile('country == "FR"')
    with pytest.raises(segdsl.DataError, match=r"^the customers could not be read at position "
                                               r"2: OSError: connection lost$"):
        segment.filter(customers(), now=NOW)
    with pytest.raises(segdsl.DataError, match="could not be read at position 2"):
        segdsl.loads('segment s = country == "FR"').evaluate(customers(), now=NOW)


# ------------------------------------------------------------ odd objects


ODD_RULES = segdsl.loads("""
segment french = country == "FR"
segment adult = age >= 30 and not (score < 0.5)
segment a_name = name starts_with "A"
segment buyer = count(orders, within = 30d) >= 1
""")
# Ranking (ntile, percentile, rfm) over values that are not numbers is the
# population functions' concern, and a field read raising is the values';
# both are tested with them.


class Raising:
    """An object whose iteration, length and repr raise (a field read from one
    is the values' concern, tested with them)."""

    def __init__(self, error: type[Exception]) -> None:
        self.error = error

    def __iter__(self):
        raise self.error("__iter__")

    def __len__(self):
        raise self.error("__len__")

    def __repr__(self):
        raise self.error("__repr__")


class RaisingLength:
    """Iterable customers whose __len__ raises."""

    def __iter__(self):
        return iter([{"id": 1, "country": "FR"}])

    def __len__(self):
        raise ValueError("no length")


def raising_midway(count: int):
    """A generator of ``count`` good customers, then an error."""
    for index in range(count):
        yield {"id": index, "country": "FR", "age": index}
    raise RuntimeError("the source went away")


ODD_FRAMES = [
    lambda: pd.DataFrame({"id": [1, 2], "age": [1 + 2j, 3j]}),
    lambda: pd.DataFrame({"id": [1, 2], "country": pd.Categorical(["FR", None])}),
    lambda: pd.DataFrame({"id": [1, 2], "age": pd.to_timedelta([1, 2], unit="D")}),
    lambda: pd.DataFrame({"id": [1, 2], "age": pd.period_range("2026-01", periods=2, freq="M")}),
    lambda: pd.DataFrame({"id": [1, 2], "name": [b"A", b"B"]}),
    lambda: pd.DataFrame({"id": [1, 2], "orders": [5, "x"]}),
    lambda: pd.DataFrame({"id": [1, 2], "age": [True, False]}),
    lambda: pd.DataFrame({"id": [1, 2], "age": pd.array([1, None], dtype="Int64")}),
    lambda: pd.DataFrame(),
    lambda: pd.DataFrame({0: [1], 1: ["FR"]}),
    lambda: pd.DataFrame([[1, "FR"]], columns=pd.MultiIndex.from_tuples([("a", "id"), ("a", "c")])),
    lambda: pd.DataFrame({"id": [1, 1], "country": ["FR", "BE"]}),
    lambda: pd.DataFrame({"id": [1.5, float("nan")]}),
    lambda: pl.DataFrame({"id": [1, 2], "age": [dt.timedelta(days=1), None]}),
    lambda: pl.DataFrame({"id": [1, 2], "name": [b"A", None]}),
    lambda: pl.DataFrame({"id": [1, 2], "orders": [[1, 2], None]}),
    lambda: pl.DataFrame({"id": [1, 2], "country": pl.Series(["FR", "BE"], dtype=pl.Categorical)}),
    lambda: pl.DataFrame(),
    lambda: pa.table({"id": [1, 2], "score": pa.array([1, 2], type=pa.decimal128(5, 2))}),
    lambda: pa.table({"id": [1, 2], "country": pa.array(["FR", "BE"]).dictionary_encode()}),
    lambda: pa.table({"id": [1], "orders": pa.array([[("a", 1)]], type=pa.map_(pa.string(),
                                                                                  pa.int64()))}),
    lambda: pa.table({"id": pa.array([None, None], type=pa.int64())}),
]

ODD_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.binary(max_size=3) | st.just(float("nan")) | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.sets(st.integers(), max_size=3)
    | st.dictionaries(st.sampled_from(["id", "country", "age", "score", "name", "orders"]),
                      inner, max_size=4),
    max_leaves=8)

ODD_CUSTOMERS = st.one_of(
    ODD_VALUES,
    st.lists(ODD_VALUES, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(["id", "country", "age", "name"]), ODD_VALUES,
                             max_size=4), max_size=4),
    st.sampled_from([ValueError, TypeError, KeyError, RuntimeError]).map(Raising),
    st.builds(RaisingLength),
    st.integers(0, 3).map(raising_midway),
    st.sampled_from(ODD_FRAMES).map(lambda make: make()),
    st.lists(st.sampled_from([ValueError, AttributeError]).map(Raising), max_size=2),
    st.sampled_from(ODD_FRAMES).map(lambda make: [make()]),
)


def answers_or_refuses(action) -> None:
    try:
        action()
    except segdsl.SegdslError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ODD_CUSTOMERS, st.sampled_from(list(ODD_RULES)))
def test_odd_objects_get_an_answer_or_a_segdsl_error(customers, name):
    """Whatever is thrown at the API as customers, only a SegdslError escapes."""
    segment = ODD_RULES[name]
    for action in (lambda: ODD_RULES.evaluate(customers, now=NOW),
                   lambda: ODD_RULES.evaluate(customers, now=NOW, ids="position"),
                   lambda: segment.filter(customers, now=NOW),
                   lambda: ODD_RULES.population(customers, now=NOW),
                   lambda: segment.matches(customers, now=NOW),
                   lambda: segment.explain(customers, now=NOW)):
        answers_or_refuses(action)


@pytest.mark.parametrize("kind", list(TABLES))
def test_filter_of_a_table_without_members_is_an_empty_table(kind):
    """No member: an empty table with the same columns, not an error."""
    table = TABLES[kind](CUSTOMERS)
    kept = segdsl.compile('country == "DE"').filter(table, now=NOW)
    assert len(kept) == 0 if kind != "pyarrow-batch" else kept.num_rows == 0
    assert list(kept.columns if kind in ("pandas", "polars", "polars-lazy") else
                kept.schema.names) == list(CUSTOMERS[0])
