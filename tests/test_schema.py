"""Schemas: the declared or inferred shape of customers, and what the checker makes of it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal

import pytest

import segdsl
from segdsl import types as t

NOW = "2026-07-15T12:00:00Z"

SHOP = segdsl.Schema({
    "id": "number",
    "country": "string",
    "tags": "list[string]",
    "address": {"city": "string", "geo": {"lat": "number"}},
    "orders": [{"at": "datetime", "total": "number"}],
    "payments": segdsl.ListOf({"created_at": "datetime", "amount": "number"},
                              timestamp="created_at"),
    "notes": [{"text": "string"}],
})


def check_error(rule: str, schema: segdsl.Schema | None) -> tuple:
    """``(column, message, hint)`` of the error compiling ``rule`` raises."""
    with pytest.raises(segdsl.CheckError) as raised:
        segdsl.compile(rule, schema=schema)
    return raised.value.column, raised.value.message, raised.value.hint


def member_ids(rule: str, customers: list, schema: segdsl.Schema | None = None) -> list:
    """Ids of the customers matching ``rule`` at ``NOW``."""
    return [c["id"] for c in segdsl.compile(rule, schema=schema).filter(customers, now=NOW)]


# ---------------------------------------------------------------- declared


def test_a_declared_schema_lists_its_fields_and_their_types():
    """Spellings, nested dicts and lists of records become language types."""
    fields = SHOP.fields
    assert [str(fields[name]) for name in ("id", "tags", "address", "orders")] == [
        "number", "list[string]", "record", "list[record]"]
    assert fields["address"].field("geo").field("lat") == t.NUMBER
    assert repr(segdsl.Schema({"a": "date"}, open=True)) == "Schema({a: date}, open=True)"


def test_lists_of_records_take_their_timestamp_from_at_or_from_list_of():
    """``[{...}]`` is stamped by ``at`` when it has one; ``ListOf`` names another field or none."""
    timestamps = {name: SHOP.fields[name].element.timestamp
                  for name in ("orders", "payments", "notes")}
    assert timestamps == {"orders": "at", "payments": "created_at", "notes": None}


def test_windows_over_a_list_of_use_its_declared_timestamp():
    """``within`` cuts ``payments`` by ``created_at``: later than now - 7d, not after now."""
    customer = {"id": 1, "payments": [
        {"created_at": "2026-07-08T12:00:00Z", "amount": 1},     # exactly now - 7d: out
        {"created_at": "2026-07-08T12:00:01Z", "amount": 20},
        {"created_at": "2026-07-15T12:00:00Z", "amount": 300},   # exactly now: in
        {"created_at": "2026-07-15T12:00:01Z", "amount": 4000},  # after now: never counted
    ]}
    assert segdsl.compile("sum(payments.amount, within = 7d) == 320",
                          schema=SHOP).matches(customer, now=NOW)
    assert segdsl.compile("count(payments) == 3", schema=SHOP).matches(customer, now=NOW)


def test_a_list_without_timestamp_is_counted_but_not_windowed():
    """``notes`` has no timestamp: counting works, a window is a check error."""
    assert member_ids("count(notes) == 2", [{"id": 1, "notes": [{"text": "a"}, {"text": "b"}]}],
                      SHOP) == [1]
    assert check_error("count(notes, within = 30d) > 0", SHOP) == (
        14, "the elements of notes have no timestamp, so they cannot be windowed",
        "declare the list's timestamp field in the schema")


def test_types_may_be_given_as_type_objects():
    """A field's type may be a ``segdsl.types.Type`` instead of a spelling."""
    schema = segdsl.Schema({"score": t.NUMBER, "labels": t.list_of(t.STRING)})
    assert check_error('labels contains 3', schema)[1] == "a list[string] cannot contain a number"


# ----------------------------------------------------------- unknown fields


@pytest.mark.parametrize(("rule", "column", "message", "hint"), [
    ('cuntry == "FR"', 1, "unknown name 'cuntry'", "did you mean 'country'?"),
    ('address.cty == "Lyon"', 1, "unknown field 'cty' of address", "did you mean 'city'?"),
    ("address.geo.lt > 45", 1, "unknown field 'lt' of address.geo", "did you mean 'lat'?"),
    ("count(orders, where = totl > 5) > 0", 23, "unknown name 'totl'", "did you mean 'total'?"),
    ("sum(payments.amout) > 5", 5, "unknown field 'amout' of the elements of payments",
     "did you mean 'amount'?"),
    ("count(payment) > 0", 7, "unknown name 'payment'", "did you mean 'payments'?"),
    ("loyalty_points > 100", 1, "unknown name 'loyalty_points'", None),
], ids=["top-level", "nested", "nested-twice", "in-where", "value-path", "list-name", "no-hint"])
def test_with_a_schema_unknown_fields_are_check_errors(rule, column, message, hint):
    """Every field path is resolved against the schema, with a did-you-mean when one is close."""
    assert check_error(rule, SHOP) == (column, message, hint)


def test_an_open_schema_accepts_undeclared_fields_and_runs_them():
    """``open=True`` accepts fields it does not declare, typed ``any``, checked at run time."""
    schema = segdsl.Schema({"country": "string"}, open=True)
    customers = [{"id": 1, "country": "FR", "loyalty_points": 250}, {"id": 2, "country": "FR"}]
    assert member_ids('country == "FR" and loyalty_points > 100', customers, schema) == [1]


def test_an_open_schema_still_refuses_a_near_miss_of_a_declared_field():
    """An undeclared name one typo away from a declared field is taken for that typo."""
    schema = segdsl.Schema({"country": "string"}, open=True)
    assert check_error('cuntry == "FR"', schema) == (
        1, "unknown name 'cuntry'",
        "did you mean 'country'? (a field really named 'cuntry' must be declared in a schema)")


def test_a_closed_schema_types_its_fields_for_the_checker():
    """With a schema, comparing a declared number with a string is refused before any data."""
    assert check_error('address.geo.lat > "45"', SHOP)[1] == "cannot compare a number with a string"


def test_without_a_schema_any_field_runs():
    """Without a schema every field is accepted and the rule runs on what the records hold."""
    customers = [{"id": 1, "loyalty_points": 250, "address": {"city": "Lyon"}},
                 {"id": 2, "loyalty_points": 50}, {"id": 3}]
    assert member_ids('loyalty_points > 100 or address.city == "Lyon"', customers) == [1]


# --------------------------------------------------------------- inferred

RECORDS = [
    {"id": 1, "country": "FR", "signed_up_at": "2025-02-11T18:03:41Z", "birth_date": "1988-03-02",
     "points": 12, "referrer": None, "tags": [], "address": {"city": "Lyon"},
     "orders": [{"at": "2026-07-01T10:12:00Z", "total": 89.9}],
     "payments": [{"amount": 5, "paid_on": "2026-07-01"}]},
    {"id": 2, "country": None, "signed_up_at": "2025-03-01", "birth_date": "1990-01-31",
     "points": "many", "referrer": None, "tags": ["vip"],
     "address": {"city": "Paris", "zip": "75001"},
     "orders": []},
]


def test_infer_reads_iso_text_as_dates_and_datetimes():
    """ISO datetimes become datetime, ISO dates become date, and a mix of both datetime."""
    fields = segdsl.Schema.infer(RECORDS).fields
    assert (fields["signed_up_at"], fields["birth_date"]) == (t.DATETIME, t.DATE)


def test_infer_types_disagreeing_and_never_seen_values_as_any():
    """A field that is a number in one record and text in another, or always null, is ``any``."""
    fields = segdsl.Schema.infer(RECORDS).fields
    assert (fields["points"], fields["referrer"], fields["country"]) == (t.ANY, t.ANY, t.STRING)


def test_infer_merges_lists_and_nested_records_across_records():
    """Empty lists take the element type seen elsewhere; nested records gather every field."""
    fields = segdsl.Schema.infer(RECORDS).fields
    assert str(fields["tags"]) == "list[string]"
    assert sorted(fields["address"].fields) == ["city", "zip"]
    assert str(segdsl.Schema.infer([{"id": 1, "tags": []}]).fields["tags"]) == "list[any]"


def test_infer_stamps_lists_by_at_or_by_their_first_date_field():
    """A list of records is windowed by ``at``, else by its first date or datetime field."""
    fields = segdsl.Schema.infer(RECORDS).fields
    assert (fields["orders"].element.timestamp, fields["payments"].element.timestamp) == (
        "at", "paid_on")
    single = segdsl.Schema.infer(RECORDS[:1])
    assert single.fields["orders"].element.timestamp == "at"


def test_an_inferred_schema_catches_typos_and_windows_its_lists():
    """Rules checked against an inferred schema get did-you-mean hints and working windows."""
    schema = segdsl.Schema.infer(RECORDS)
    assert check_error("count(payments, within = 30d) > 0 and pints > 3", schema) == (
        39, "unknown name 'pints'", "did you mean 'points'?")
    assert member_ids("count(payments, within = 30d) == 1", RECORDS, schema) == [1]


def test_infer_reads_at_most_limit_records():
    """Fields that first appear after ``limit`` records are not in the schema."""
    records = [{"id": 1}, {"id": 2}, {"id": 3, "late": True}]
    assert list(segdsl.Schema.infer(records, limit=2).fields) == ["id"]
    assert list(segdsl.Schema.infer(records).fields) == ["id", "late"]


def test_infer_open_accepts_fields_the_sample_did_not_show():
    """``infer(..., open=True)`` keeps the inferred types but accepts other fields."""
    schema = segdsl.Schema.infer([{"id": 1, "country": "FR"}], open=True)
    assert member_ids('city == "Lyon"', [{"id": 1, "city": "Lyon"}], schema) == [1]
    assert check_error('country == 3', schema)[1] == "cannot compare a string with a number"


@dataclasses.dataclass
class Order:
    at: dt.datetime
    total: float


@dataclasses.dataclass
class Customer:
    id: int
    country: str
    orders: list


@dataclasses.dataclass(slots=True)
class SlottedCustomer:
    id: int
    country: str


class PlainCustomer:
    def __init__(self, id, country):  # noqa: A002 - the record's own field name
        self.id = id
        self.country = country


class Tier(enum.Enum):
    GOLD = "gold"


class Linked:
    def __init__(self):
        self.id = 1
        self.parent = self


def test_infer_reads_objects_with_attributes():
    """Dataclasses (with or without slots) and plain objects are read by their attributes."""
    when = dt.datetime(2026, 7, 1, 10, tzinfo=dt.timezone.utc)
    schema = segdsl.Schema.infer([Customer(1, "FR", [Order(when, 89.9)])])
    assert {name: str(type_) for name, type_ in schema.fields.items()} == {
        "id": "number", "country": "string", "orders": "list[record]"}
    assert schema.fields["orders"].element.timestamp == "at"
    assert list(segdsl.Schema.infer([SlottedCustomer(1, "FR")]).fields) == ["id", "country"]
    assert list(segdsl.Schema.infer([PlainCustomer(1, "FR")]).fields) == ["id", "country"]


def test_infer_gives_any_to_values_without_a_record_shape():
    """Enum members, decimals and objects that refer to themselves are ``any``, not an error."""
    fields = segdsl.Schema.infer([{"tier": Tier.GOLD, "amount": Decimal("1.5")}]).fields
    assert (fields["tier"], fields["amount"]) == (t.ANY, t.ANY)
    assert segdsl.Schema.infer([Linked()]).fields["parent"].field("parent") == t.ANY


def test_infer_keeps_text_that_only_looks_like_a_date_as_a_string():
    """``2026-13-45`` is not a date, so the field stays a string."""
    assert segdsl.Schema.infer([{"code": "2026-13-45"}]).fields["code"] == t.STRING


# ---------------------------------------------------------------- bad specs


@pytest.mark.parametrize(("build", "message"), [
    (lambda: segdsl.Schema({"age": "nmber"}),
     "schema field age: unknown type 'nmber'; the types are any, bool, date, datetime, duration, "
     "number, period, string, record, list[T]"),
    (lambda: segdsl.Schema({"tags": "list[strng]"}),
     "schema field tags: unknown type 'strng'; the types are any, bool, date, datetime, duration, "
     "number, period, string, record, list[T]"),
    (lambda: segdsl.Schema({"age": 3}), "schema field age: cannot read type 3"),
    (lambda: segdsl.Schema({"tags": ["string"]}), "schema field tags: cannot read type ['string']"),
    (lambda: segdsl.Schema({"address": {"geo": {"lat": None}}}),
     "schema field address.geo.lat: cannot read type None"),
    (lambda: segdsl.Schema({"payments": segdsl.ListOf({"amount": "number"}, timestamp="paid")}),
     "schema field payments: timestamp field 'paid' is not among its fields"),
    (lambda: segdsl.Schema({"payments": segdsl.ListOf("amount")}),
     "schema for payments must be a dict of field types"),
    (lambda: segdsl.Schema(["id", "country"]),
     "schema for the record must be a dict of field types"),
    (lambda: segdsl.Schema({1: "number"}), "schema field names are strings, not 1"),
    (lambda: segdsl.Schema.infer([]), "cannot infer a schema: no records given"),
    (lambda: segdsl.Schema.infer(None),
     "cannot infer a schema from NoneType: give a list of customer records"),
    (lambda: segdsl.Schema.infer({"id": 1}),
     "cannot infer a schema from dict: give a list of customer records"),
    (lambda: segdsl.Schema.infer([{"id": 1}, 42]),
     "a customer must be a dict or an object with attributes, not int"),
], ids=["unknown-type", "unknown-element-type", "number-as-type", "list-of-a-spelling",
        "null-type", "missing-timestamp", "list-of-a-string", "not-a-dict", "non-string-name",
        "infer-nothing", "infer-none", "infer-one-dict", "infer-a-number"])
def test_bad_schema_specs_raise_usage_errors_that_say_what_is_wrong(build, message):
    """A spec the library cannot read raises UsageError naming the field and the problem."""
    with pytest.raises(segdsl.UsageError) as raised:
        build()
    assert raised.value.message == message


def test_a_list_spelled_wrongly_gets_a_hint_about_list_spellings():
    """``["string"]`` is neither spelling of a list: the hint shows both."""
    with pytest.raises(segdsl.UsageError) as raised:
        segdsl.Schema({"tags": ["string"]})
    assert raised.value.hint == ('a type is a name ("number", "list[string]"), a dict of fields, '
                                 'or a list of records [{...}]')
