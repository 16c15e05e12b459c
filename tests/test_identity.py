"""Identity: every customer evaluated has its own id, or the caller says how
to name customers (``id_field=`` or ``ids="position"``); a missing, null or
repeated id is a DataError naming the rows, never a silent position."""

from __future__ import annotations

import collections
import dataclasses
import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"
RULES = 'segment french = country == "FR"'
ADVICE = ('give every customer an id, name the field holding it (id_field="..."), or pass '
          'ids="position" to name customers by position')
TWICE = 'every customer needs its own id, or pass ids="position" to name customers by position'


def evaluate(customers, **options):
    return segdsl.loads(RULES).evaluate(customers, now=NOW, **options)


def refused(customers, **options) -> segdsl.DataError:
    with pytest.raises(segdsl.DataError) as raised:
        evaluate(customers, **options)
    return raised.value


def test_a_customer_without_id_is_refused_naming_its_position():
    """A customer with no id field is a DataError naming its position, even if not a member."""
    error = refused([{"id": 1, "country": "FR"}, {"country": "BE"}])
    assert error.message == f"the customer at position 1 has no id field: {ADVICE}"
    assert (error.customer_id, error.field_path) == (None, "id")


@pytest.mark.parametrize("null", [None, float("nan"), np.float64("nan"), pd.NA])
def test_a_null_id_is_refused_naming_its_position(null):
    """A null id (None, NaN, pandas.NA) is a DataError naming the position."""
    error = refused([{"id": 1, "country": "FR"}, {"id": 2}, {"id": null, "country": "FR"}])
    assert error.message == f"the customer at position 2 has a null id: {ADVICE}"


def test_two_customers_with_one_id_are_refused_naming_both_positions_and_the_id():
    """A repeated id names both positions and the id (as ``customer_id``)."""
    error = refused([{"id": 7, "country": "FR"}, {"id": 8}, {"id": 7, "country": "BE"}])
    assert error.message == f"the customers at positions 0 and 2 have the same id 7: {TWICE}"
    assert (error.customer_id, error.field_path) == (7, "id")


def test_text_and_number_ids_are_told_apart_but_equal_numbers_are_one_id():
    """``"1"`` and ``1`` are two ids; ``1`` and ``1.0`` are the same one."""
    assert evaluate([{"id": "1", "country": "FR"}, {"id": 1, "country": "FR"}])["french"] == [
        "1", 1]
    error = refused([{"id": 1}, {"id": 1.0}])
    assert error.message == f"the customers at positions 0 and 1 have the same id 1.0: {TWICE}"


@pytest.mark.parametrize(("identity", "shown"), [(True, "bool True"), ([1], "list [1]"),
                                                 ({"a": 1}, "dict {'a': 1}")])
def test_an_id_that_is_not_text_or_a_number_is_refused(identity, shown):
    """A bool, a list or a dict is no id."""
    error = refused([{"id": identity}])
    assert error.message == f"the customer at position 0 has id {shown}: an id is text or a number"


def test_numpy_ids_become_python_numbers():
    """Ids read as numpy integers are plain ints in the result."""
    result = evaluate([{"id": np.int64(5), "country": "FR"}])
    assert result["french"] == [5] and type(result["french"][0]) is int


def test_the_id_field_can_be_named():
    """id_field= names the field holding the ids; it is held to the same rules."""
    customers = [{"customer_id": "c-1", "country": "FR"}, {"customer_id": "c-2", "country": "BE"}]
    assert evaluate(customers, id_field="customer_id").members == {"french": ["c-1"]}
    error = refused(customers + [{"country": "FR"}], id_field="customer_id")
    assert error.message == (
        'the customer at position 2 has no customer_id field: give every customer an id, name the '
        'field holding it (id_field="..."), or pass ids="position" to name customers by position')
    assert error.field_path == "customer_id"


def test_positional_ids_are_asked_for_explicitly():
    """ids="position" names customers by position from 0, whatever ids they have."""
    customers = [{"country": "BE"}, {"id": 3, "country": "FR"}, {"id": 3, "country": "FR"}]
    assert evaluate(customers, ids="position").members == {"french": [1, 2]}


def test_object_customers_have_ids_too():
    """A dataclass or namedtuple's id attribute is its id; without one it is refused."""
    Customer = collections.namedtuple("Customer", "id country")

    @dataclasses.dataclass
    class Anonymous:
        country: str

    assert evaluate([Customer(4, "FR"), Customer(5, "BE")])["french"] == [4]
    error = refused([Customer(4, "FR"), Anonymous("FR")])
    assert error.message == f"the customer at position 1 has no id field: {ADVICE}"


def test_an_id_property_that_raises_is_a_data_error():
    """A customer object whose id property raises is a DataError naming the position."""
    class Broken:
        country = "FR"

        @property
        def id(self):
            raise RuntimeError("not loaded")

    error = refused([Broken()])
    assert error.message == ("the customer at position 0: reading its id raised RuntimeError: "
                             "not loaded")


@pytest.mark.parametrize("table", [pd.DataFrame, pl.DataFrame, pa.Table.from_pylist])
def test_tables_follow_the_same_identity_rules(table):
    """A table with a repeated or a null id is refused like a list of dicts."""
    twice = table([{"id": 1, "country": "FR"}, {"id": 1, "country": "BE"}])
    assert refused(twice).message == (
        f"the customers at positions 0 and 1 have the same id 1: {TWICE}")
    null = table([{"id": 1, "country": "FR"}, {"id": None, "country": "BE"}])
    assert refused(null).message == f"the customer at position 1 has a null id: {ADVICE}"
    assert evaluate(null, ids="position")["french"] == [0]


def test_jsonl_and_in_memory_customers_are_held_to_the_same_rules(tmp_path):
    """Customers read from JSON Lines without ids are refused as the same dicts are."""
    rows = [{"id": 1, "country": "FR"}, {"country": "FR"}]
    path = tmp_path / "customers.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    from_file = refused(segdsl.read_customers(path))
    assert from_file.message == refused(rows).message == (
        f"the customer at position 1 has no id field: {ADVICE}")


def test_csv_customers_without_ids_are_refused_when_read(tmp_path):
    """The CSV reader refuses an empty id, as evaluate refuses a null one."""
    path = tmp_path / "customers.csv"
    path.write_text("id,country\n1,FR\n,BE\n")
    with pytest.raises(segdsl.UsageError, match="customers.csv:3: empty id"):
        segdsl.read_customers(path)


@pytest.mark.parametrize(("options", "message"), [
    ({"id_field": ""}, "id_field must be the name of the field holding the customers' ids, "
                       "not str ''"),
    ({"id_field": 5}, "id_field must be the name of the field holding the customers' ids, "
                      "not int 5"),
    ({"ids": "positions"}, 'ids must be "position" (name customers by their position) or '
                           '"field" (by id_field, the default), not str \'positions\''),
    ({"ids": "position", "id_field": "key"}, 'give either id_field= or ids="position", not both'),
])
def test_identity_options_are_checked(options, message):
    """Wrong id_field= or ids= values are usage errors before any data is read."""
    with pytest.raises(segdsl.UsageError) as raised:
        evaluate([{"id": 1}], **options)
    assert raised.value.message == message


def test_result_members_are_ids_in_input_order():
    """Members are the customers' ids, in the order the customers came."""
    customers = [{"id": "z", "country": "FR"}, {"id": "a", "country": "FR"},
                 {"id": "m", "country": "BE"}]
    assert evaluate(customers).members == {"french": ["z", "a"]}


def test_bad_data_names_the_customer_by_the_id_field_given():
    """With id_field=, a DataError names the customer by that field, not by a missing `id`."""
    rules = segdsl.loads("segment s = age > 3")
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate([{"code": "A1", "age": 5}, {"code": "B2", "age": "old"}],
                       now="2026-07-15", id_field="code")
    assert raised.value.customer_id == "B2"
    assert str(raised.value).startswith("customer 'B2', field age: ")
