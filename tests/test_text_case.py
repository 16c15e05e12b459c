"""Case-insensitive matching: lower/upper of texts and of lists of texts, and the case warning."""

from __future__ import annotations

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"

SCHEMA = segdsl.Schema({"id": "number", "tags": "list[string]", "email": "string",
                        "scores": "list[number]"})

CUSTOMERS = [
    {"id": 1, "tags": ["VIP", "new"], "email": "Ann@Shop.FR"},
    {"id": 2, "tags": ["vip", None], "email": "bob@shop.fr"},
    {"id": 3, "tags": ["Vipper"], "email": "cy@shop.de"},
    {"id": 4, "tags": [], "email": None},
    {"id": 5},
]


def _members(rule: str, customers: list, **options) -> list:
    """The ids in the segment by matches, filter, evaluate and explain (all must agree)."""
    seg = segdsl.compile(rule, **options)
    rules = segdsl.loads(f"segment s = {rule}", **options)
    by_matches = [c["id"] for c in customers if seg.matches(c, now=NOW)]
    by_filter = [c["id"] for c in seg.filter(customers, now=NOW)]
    by_evaluate = sorted(rules.evaluate(customers, now=NOW).members["s"])
    by_explain = [c["id"] for c in customers if seg.explain(c, now=NOW).value is True]
    assert by_matches == by_filter == by_evaluate == by_explain, rule
    return by_matches


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_the_documented_recipes(schema):
    """lower(tags) contains "vip" ignores case item by item; lower(email) ends_with too."""
    assert _members('lower(tags) contains "vip"', CUSTOMERS, schema=schema) == [1, 2]
    assert _members('upper(tags) contains "NEW"', CUSTOMERS, schema=schema) == [1]
    assert _members('lower(email) ends_with "@shop.fr"', CUSTOMERS, schema=schema) == [1, 2]
    assert _members('upper(email) == "CY@SHOP.DE"', CUSTOMERS, schema=schema) == [3]


def test_null_items_stay_null_and_the_list_is_typed():
    """lower of a list keeps its nulls in place and is a list of strings for the checker."""
    assert _members("length(lower(tags)) == 2", CUSTOMERS, schema=SCHEMA) == [1, 2]
    assert segdsl.functions.BUILTINS.get("lower").implementation(["A", None, "b"]) == [
        "a", None, "b"]
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile("lower(tags) + 1 > 0", schema=SCHEMA)
    assert caught.value.message == "cannot apply '+' to a list[string] and a number"


def test_lower_refuses_a_list_of_numbers_when_checking():
    """A declared list of numbers has no case: a CheckError at the argument."""
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile('lower(scores) contains "a"', schema=SCHEMA)
    error = caught.value
    assert (error.message, error.column, error.span.end_column) == (
        "'lower' changes the case of text, but this is a list[number]", 7, 13)


def test_a_number_among_the_texts_is_bad_data():
    """Without a schema, lower of a list holding a number is a DataError naming the field."""
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile('lower(tags) contains "a"').matches({"id": 8, "tags": ["a", 3]}, now=NOW)
    assert str(caught.value) == ("customer 8, field tags: function lower failed: TypeError: "
                                 "expected a list of texts, found int 3 in it")


@pytest.mark.parametrize(("rule", "message", "hint"), [
    ('lower(tags) contains "VIP"',
     'lower(tags) has no upper-case letters, so it never contains "VIP"', 'write "vip"'),
    ('lower(email) == "Ann@shop.fr"',
     'lower(email) has no upper-case letters, so it never equals "Ann@shop.fr"',
     'write "ann@shop.fr"'),
    ('"A@shop.fr" == lower(email)',
     'lower(email) has no upper-case letters, so it never equals "A@shop.fr"', 'write "a@shop.fr"'),
    ('lower(email) != "X"', 'lower(email) has no upper-case letters, so it always differs from "X"',
     'write "x"'),
    ('lower(email) starts_with "Ann"',
     'lower(email) has no upper-case letters, so it never starts with "Ann"', 'write "ann"'),
    ('lower(email) ends_with "@Shop.fr"',
     'lower(email) has no upper-case letters, so it never ends with "@Shop.fr"',
     'write "@shop.fr"'),
    ('lower(email) in ["a", "B"]', 'lower(email) has no upper-case letters, so it never equals "B"',
     'write "b"'),
    ('"VIP" in lower(tags)', 'lower(tags) has no upper-case letters, so it never contains "VIP"',
     'write "vip"'),
    ('upper(tags) contains "vip"',
     'upper(tags) has no lower-case letters, so it never contains "vip"', 'write "VIP"'),
])
def test_a_constant_of_the_other_case_is_warned_about(rule, message, hint):
    """lower(...) meeting a constant with an upper-case letter (or upper the mirror) warns."""
    warnings = [w for w in segdsl.compile(rule).warnings if "letters" in w.message]
    assert [(w.message, w.hint) for w in warnings] == [(message, hint)]
    assert warnings[0].span.column == 1


@pytest.mark.parametrize("rule", ['lower(tags) contains "vip"', 'upper(email) == "A@B.FR"',
                                  'lower(email) == "@1"', 'email == "VIP"',
                                  'lower(email) in ["a", "b"]'])
def test_constants_of_the_right_case_are_not_warned_about(rule):
    """No case warning where the constant can match."""
    assert [w for w in segdsl.compile(rule).warnings if "letters" in w.message] == []


def test_lower_keeps_its_signature_in_messages():
    """The signature shown for lower says it takes a string or a list of strings."""
    assert segdsl.functions.BUILTINS.get("lower").signature == \
        "lower(text: string or list[string]) -> string"
