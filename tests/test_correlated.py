"""Correlated conditions: `as` names an aggregation's elements for its (nested) wheres."""

from __future__ import annotations

import pytest
from agreement import members

import segdsl
from segdsl.parser import parse_expression

NOW = "2026-07-15T12:00:00Z"

SCHEMA = segdsl.Schema({
    "id": "number",
    "tags": "list[string]",
    "events": segdsl.ListOf({"type": "string", "at": "datetime"}),
    "orders": segdsl.ListOf({"at": "datetime", "total": "number"}),
})


def _event(type_: str, at: str) -> dict:
    return {"type": type_, "at": at}


def _order(at: str, total: float = 10) -> dict:
    return {"at": at, "total": total}


# Worked out by hand for NOW = 2026-07-15T12:00:00Z; orders after NOW are never seen.
CUSTOMERS = [
    # 1: cart 07-01 10:00, then an order 07-02 09:00 (within 2 days), the last order.
    {"id": 1, "events": [_event("cart_abandoned", "2026-07-01T10:00:00Z")],
     "orders": [_order("2026-06-20T09:00:00Z"), _order("2026-07-02T09:00:00Z")]},
    # 2: cart 07-10 10:00, after the only order (07-01); nothing bought since.
    {"id": 2, "events": [_event("cart_abandoned", "2026-07-10T10:00:00Z")],
     "orders": [_order("2026-07-01T09:00:00Z")]},
    # 3: carts 07-05 (an order 07-06 follows within 2 days) and 07-12 (none follows).
    {"id": 3, "events": [_event("cart_abandoned", "2026-07-05T10:00:00Z"),
                         _event("cart_abandoned", "2026-07-12T10:00:00Z")],
     "orders": [_order("2026-07-06T08:00:00Z")]},
    # 4: e-mail opened 07-01 08:00, bought 4 days later.
    {"id": 4, "events": [_event("email_open", "2026-07-01T08:00:00Z")],
     "orders": [_order("2026-07-05T08:00:00Z")]},
    # 5: e-mail opened 07-01 08:00; orders the day before and 8 days after.
    {"id": 5, "events": [_event("email_open", "2026-07-01T08:00:00Z")],
     "orders": [_order("2026-06-30T08:00:00Z"), _order("2026-07-09T08:00:00Z")]},
    # 6: nothing at all.
    {"id": 6},
    # 7: cart yesterday; the only order is after NOW (not seen): no last order.
    {"id": 7, "events": [_event("cart_abandoned", "2026-07-14T10:00:00Z")],
     "orders": [_order("2026-07-16T10:00:00Z")]},
    # 8: e-mail opened 07-10 08:00 and an order at that very instant (bounds included).
    {"id": 8, "events": [_event("email_open", "2026-07-10T08:00:00Z")],
     "orders": [_order("2026-07-10T08:00:00Z")]},
]

AFTER_LAST_ORDER = ('exists(events as e, where = e.type == "cart_abandoned" '
                    'and e.at > last(orders.at))')
NO_ORDER_WITHIN_2_DAYS = ('exists(events as e, where = e.type == "cart_abandoned" and not '
                          'exists(orders, where = at between e.at and e.at + 2d))')
BOUGHT_WITHIN_7_DAYS_OF_EMAIL = ('exists(events as e, where = e.type == "email_open" and '
                                 'exists(orders, where = at between e.at and e.at + 7d))')



@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
@pytest.mark.parametrize(("rule", "expected"), [
    (AFTER_LAST_ORDER, [2, 3]),
    (NO_ORDER_WITHIN_2_DAYS, [2, 3, 7]),
    (BOUGHT_WITHIN_7_DAYS_OF_EMAIL, [4, 8]),
], ids=["after-last-order", "no-order-within-2-days", "bought-within-7-days-of-email"])
def test_the_issues_three_examples_have_the_hand_checked_members(rule, expected, schema):
    """Each of the issue's correlated examples selects exactly the customers worked out by hand."""
    assert members(rule, CUSTOMERS, NOW, schema=schema) == expected


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_an_outer_name_is_seen_two_wheres_deep(schema):
    """A name bound by the outermost aggregation is read in a where nested two levels down."""
    rule = ('exists(events as e, where = e.type == "cart_abandoned" and exists(orders as o, '
            'where = o.at > e.at and exists(events, where = type == "email_open" and at > o.at)))')
    customers = [
        {"id": 1, "events": [_event("cart_abandoned", "2026-07-01T00:00:00Z"),
                             _event("email_open", "2026-07-03T00:00:00Z")],
         "orders": [_order("2026-07-02T00:00:00Z")]},
        {"id": 2, "events": [_event("cart_abandoned", "2026-07-01T00:00:00Z"),
                             _event("email_open", "2026-07-01T12:00:00Z")],
         "orders": [_order("2026-07-02T00:00:00Z")]},
    ]
    assert members(rule, customers, NOW, schema=schema) == [1]


def test_without_a_schema_orders_inside_another_lists_where_is_the_customers_list():
    """The issue's bug: `orders` in a where over events reads the customer's orders, not orders()."""
    rule = 'exists(events, where = type == "cart_abandoned" and count(orders) == 0)'
    assert members(rule, CUSTOMERS, NOW) == [7]  # its only order is after NOW
    assert members(rule, [{"id": 1, "events": [_event("cart_abandoned", "2026-07-01T00:00:00Z")]},
                           CUSTOMERS[1]], NOW) == [1]
    assert members('exists(events, where = type == "cart_abandoned" and at > last(orders.at))',
                    CUSTOMERS, NOW) == [2, 3]


def test_without_a_schema_an_elements_own_id_is_still_the_elements():
    """Only the default schema's lists beat an open element's names: `id` in a where is the element's."""
    customers = [{"id": 1, "orders": [{"id": 7, "at": "2026-07-01T00:00:00Z"}]},
                 {"id": 7, "orders": [{"id": 1, "at": "2026-07-01T00:00:00Z"}]}]
    assert members("exists(orders, where = id == 7)", customers, NOW) == [1]


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_a_named_element_of_a_list_of_strings_is_the_string_itself(schema):
    """With a name, where runs over a list of plain values and the name is the item."""
    customers = [{"id": 1, "tags": ["vip-gold", "new"]}, {"id": 2, "tags": ["new", None]},
                 {"id": 3, "tags": []}, {"id": 4}]
    assert members('count(tags as tag, where = tag starts_with "vip") == 1', customers, NOW,
                    schema=schema) == [1]
    assert members('count(tags as tag, where = tag != "vip-gold") == 1', customers, NOW,
                    schema=schema) == [1, 2]


def test_the_bound_name_shadows_fields_segments_and_parameters():
    """Inside the where, `e` is the element, whatever else is called `e` outside it."""
    rules = segdsl.loads(
        "segment e = true\n"
        "def has_type(e) = exists(events as e, where = e.type == \"visit\")\n"
        "segment s = exists(events as e, where = e.type == \"visit\") and has_type(1)\n")
    customers = [{"id": 1, "e": {"type": "other"}, "events": [_event("visit", "2026-07-01T00:00:00Z")]},
                 {"id": 2, "e": {"type": "visit"}, "events": [_event("order", "2026-07-01T00:00:00Z")]}]
    assert sorted(rules.evaluate(customers, now=NOW).members["s"]) == [1]


def _check_error(rule: str, schema=SCHEMA) -> segdsl.CheckError:
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile(rule, schema=schema)
    return caught.value


MISPLACED = ("'as' names the elements of a list, so it goes after the list of an aggregation "
             "(count, count_distinct, sum, avg, min, max, first, last or exists)")


@pytest.mark.parametrize(("rule", "message", "column", "end_column"), [
    ('exists(events as e, where = exists(orders as e, where = at > e.at))',
     "'e' already names the elements of events", 46, 47),
    ('lower(email as e) == "a"', MISPLACED, 7, 17),
    ("orders(30d as e) > 1", MISPLACED, 8, 16),
    ("ntile(count(orders) as x, 10) > 1", MISPLACED, 7, 25),
    ("count(orders, events as e) > 1",
     "'as' names the elements of a list, so it goes after the list, the first argument of count",
     15, 26),
    ('exists(events as e, where = e.typo == "x")',
     "unknown field 'typo' of e (an element of events)", 29, 35),
    ("count(tags as t, where = t.x == 1) > 0",
     "'t' is a string (an element of tags) and has no field 'x'", 26, 29),
])
@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_misplaced_or_rebound_names_are_check_errors_at_the_name(rule, message, column,
                                                                  end_column, schema):
    """`as` outside an aggregation's list, a rebinding and a wrong field are refused where
    written; without a schema an element is open, so any field of it is accepted."""
    if schema is None and ("typo" in rule or "t.x" in rule):
        segdsl.compile(rule)
        return
    error = _check_error(rule, schema)
    assert (error.message, error.line, error.column, error.span.end_column) == (
        message, 1, column, end_column)


def test_a_rebinding_hint_proposes_another_name():
    """The rebinding error says how to fix it."""
    error = _check_error('exists(events as e, where = exists(orders as e, where = at > e.at))')
    assert error.hint == "give the elements of orders another name: orders as e2"


def test_the_name_is_unknown_outside_its_where():
    """With a schema, the bound name means nothing in the window or after the call."""
    assert _check_error("count(orders as o) > 0 and o.total > 1").message == "unknown name 'o'"
    assert _check_error("exists(events as e, within = e.at, where = true)").message == \
        "unknown name 'e'"


def test_bad_data_read_through_the_name_names_the_element():
    """An impossible stamp read as `e.at` is a DataError naming the customer and events[0].at."""
    customer = {"id": 9, "events": [_event("cart_abandoned", "2026-02-30T10:00:00Z")],
                "orders": [_order("2026-01-01T00:00:00Z")]}
    for schema in (None, SCHEMA):
        with pytest.raises(segdsl.DataError) as caught:
            segdsl.compile(NO_ORDER_WITHIN_2_DAYS, schema=schema).matches(customer, now=NOW)
        assert (caught.value.customer_id, caught.value.field_path) == (9, "events[0].at")


def test_a_bad_item_read_as_the_element_itself_names_its_index():
    """A number among declared strings, read as `tag`, is bad data at tags[1]."""
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile('count(tags as tag, where = tag == "a") > 0',
                       schema=SCHEMA).matches({"id": 3, "tags": ["a", 5]}, now=NOW)
    assert str(caught.value) == "customer 3, field tags[1]: expected a string, found 5"


def test_fmt_prints_the_name_and_round_trips():
    """The formatter writes `value as name`, and its output parses to an equal tree."""
    text = NO_ORDER_WITHIN_2_DAYS.replace("events as e", "events   as    e")
    formatted = segdsl.format(f"segment s = {text}\n")
    assert formatted.splitlines()[2] == "        events as e,"
    assert segdsl.parse(formatted) == segdsl.parse(f"segment s = {text}\n")
    assert parse_expression("count(tags as t)").args[0] == segdsl.nodes.Alias(
        segdsl.nodes.Reference(("tags",)), "t")


def test_explain_shows_the_named_list():
    """The explanation's line for the aggregation is the rule as written, `as` included."""
    explanation = segdsl.compile(BOUGHT_WITHIN_7_DAYS_OF_EMAIL).explain(CUSTOMERS[3], now=NOW)
    assert explanation.value is True
    assert str(explanation).splitlines()[:2] == ["exists(", "    events as e,"]


def test_the_repl_completes_as_and_count_distinct():
    """The REPL offers `as`, the named element's fields, and count_distinct."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from segdsl.repl import Session, SessionCompleter

    session = Session(now=NOW)

    def offered(text: str) -> list[str]:
        found = SessionCompleter(session).get_completions(Document(text), CompleteEvent(True))
        return [completion.text for completion in found]

    session.use_customers([{"id": 1, "tags": ["a"],
                            "events": [{"type": "visit", "at": "2026-07-01T00:00:00Z"}]}],
                          "shop.jsonl")
    assert "as" in offered("count(tags a")
    assert offered("exists(events as e, where = exists(orders, where = at > e.") == [
        "e.at", "e.type"]
    assert "count_distinct" in offered("count_d")
    assert session.run('count(tags as t, where = t == "a") == 1').startswith("1 of 1 customers")
