"""Warnings: rules that are valid but likely wrong, reported with their position.

Above all, a negation (``!=``, ``not in``, ``not ...``) over a value that can be null leaves out
the customers without a value: for them the negation is unknown, not true.
"""

from __future__ import annotations

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"


def null_warning(field: str) -> tuple[str, str]:
    """The message and hint of the null-negation warning about ``field``."""
    return (f"customers whose {field} is null are left out: the negation is unknown, not true, "
            f"for them", f"add 'or {field} is null' to keep them")


def warnings_of(rule: str) -> list[tuple]:
    """``(column, end column, message, hint)`` of each warning of a one-line rule."""
    return [(w.span.column, w.span.end_column, w.message, w.hint)
            for w in segdsl.compile(rule).warnings]


# ------------------------------------------------------------- negations over null


@pytest.mark.parametrize(("rule", "field", "end_column"), [
    ('country != "FR"', "country", 16),
    ('country not in ["FR", "BE"]', "country", 28),
    ('not (country == "FR")', "country", 22),
    ("not email_subscribed", "email_subscribed", 21),
    ('address.city != "Paris"', "address.city", 24),
    ('rfm.group != "champions"', "rfm.group", 25),
    ("not (rfm.frequency >= 4)", "rfm.frequency", 25),
], ids=["not-equal", "not-in", "not-of-comparison", "not-of-field", "dotted-field", "rfm-group",
        "rfm-score"])
def test_a_negation_over_a_nullable_value_warns_over_the_whole_negation(rule, field, end_column):
    """The warning spans the negation, names the value and suggests 'or FIELD is null'."""
    assert warnings_of(rule) == [(1, end_column, *null_warning(field))]


def test_the_warning_is_true_null_customers_are_left_out_and_the_guard_keeps_them():
    """``country != "FR"`` drops customers without country; the suggested guard keeps them."""
    customers = [{"id": 1, "country": "BE"}, {"id": 2, "country": None}, {"id": 3},
                 {"id": 4, "country": "FR"}]
    assert [c["id"] for c in segdsl.compile('country != "FR"').filter(customers, now=NOW)] == [1]
    guarded = segdsl.compile('country != "FR" or country is null')
    assert [c["id"] for c in guarded.filter(customers, now=NOW)] == [1, 2, 3]
    assert guarded.warnings == []


def test_two_nullable_fields_under_one_negation_are_both_named():
    """A negation over two fields names them both and suggests guarding the first."""
    assert warnings_of('not (age > 30 and country == "FR")') == [
        (1, 35, "customers whose age or country is null are left out: the negation is unknown, "
                "not true, for them", "add 'or age is null' to keep them")]


@pytest.mark.parametrize("rule", [
    'country != "FR" or country is null',
    'country is null or country not in ["FR", "BE"]',
    '(country != "FR" and visits(30d) > 3) or country is null',
    'rfm.group != "champions" or rfm.group is null',
    'not (country == "FR" or country is null)',
    'country != "FR" and country is not null',
    'coalesce(country, "none") != "FR"',
    "not purchased(30d)",
    "not abandoned_cart(30d) and visits(30d) >= 3",
    "not (visits(30d) >= 10)",
    'count(orders, where = not (total > 100)) >= 2',
    'exists(events, where = type != "visit")',
    'country == "FR"',
], ids=["guarded", "guard-first", "guard-in-enclosing-or", "guarded-rfm",
        "guard-inside-the-negation", "nulls-left-out-on-purpose", "coalesce", "purchased",
        "abandoned-cart", "count-is-never-null", "inside-where", "inside-exists-where",
        "no-negation"])
def test_no_warning_when_null_cannot_be_silently_dropped(rule):
    """Guards, values that are never null and element filters inside 'where' give no warning."""
    assert segdsl.compile(rule).warnings == []


def test_a_negation_in_a_def_warns_at_each_call_once():
    """A def hiding a negation warns at the call that uses it, once per call site."""
    text = ('def outside_france() = country != "FR"\n'
            "segment a = outside_france\n"
            "segment b = outside_france and visits(30d) > 3\n")
    errors, warnings = segdsl.check(text)
    assert errors == []
    assert [(w.span.line, w.span.column, w.span.end_column, w.message) for w in warnings] == [
        (2, 13, 27, null_warning("country")[0]), (3, 13, 27, null_warning("country")[0])]


# --------------------------------------------------------------- where they show


RULES = """\
segment foreign = country != "FR"
segment engaged = visits(30d) >= 3
segment lapsed = not (rfm.recency >= 3) and engaged
"""


def test_check_returns_warnings_in_source_order_beside_no_errors():
    """``segdsl.check`` gives every warning of the file, first to last."""
    errors, warnings = segdsl.check(RULES)
    assert errors == []
    assert [(w.span.line, w.span.column, w.message) for w in warnings] == [
        (1, 19, null_warning("country")[0]), (3, 18, null_warning("rfm.recency")[0])]


def test_rule_set_and_segments_expose_their_warnings():
    """``RuleSet.warnings`` holds them all; each ``Segment.warnings`` holds its own."""
    rules = segdsl.loads(RULES)
    assert [w.span.line for w in rules.warnings] == [1, 3]
    assert [w.hint for w in rules["foreign"].warnings] == ["add 'or country is null' to keep them"]
    assert rules["engaged"].warnings == []
    assert [w.span.line for w in rules["lapsed"].warnings] == [3]


def test_a_compiled_rule_exposes_its_warnings():
    """``segdsl.compile(...).warnings`` lists the warnings of a standalone rule."""
    assert [w.message for w in segdsl.compile('tags contains "vip" and not vip').warnings] == [
        null_warning("vip")[0]]


def test_a_warning_renders_like_an_error_with_the_word_warning():
    """``render()`` gives ``file:line:col: warning: ...``, the source line, carets and the hint."""
    _, warnings = segdsl.check(RULES, file="rules/lifecycle.seg")
    assert warnings[1].render() == (
        "rules/lifecycle.seg:3:18: warning: customers whose rfm.recency is null are left out: "
        "the negation is unknown, not true, for them\n"
        "  segment lapsed = not (rfm.recency >= 3) and engaged\n"
        "                   ^^^^^^^^^^^^^^^^^^^^^^\n"
        "  hint: add 'or rfm.recency is null' to keep them")


def test_warnings_do_not_stop_a_rule_from_running():
    """A rule with a warning compiles and evaluates as written."""
    result = segdsl.loads(RULES).evaluate(
        [{"id": 1, "country": "BE", "events": []}, {"id": 2, "country": "FR"}], now=NOW,
        segments=["foreign"])
    assert result.members == {"foreign": [1]}


# ------------------------------------------------------------ rules never true


def test_equal_null_is_never_true_and_suggests_is_null():
    """``x == null`` is unknown for every customer: the warning suggests ``x is null``."""
    assert warnings_of("loyalty_points == null") == [
        (1, 23, "'== null' is never true: a comparison with null is always unknown",
         "write loyalty_points is null")]
    assert segdsl.compile("loyalty_points == null").filter([{"loyalty_points": None}, {}]) == []


def test_not_equal_null_warns_once_and_suggests_is_not_null():
    """``x != null`` gets the never-true warning only, not the null-negation one as well."""
    assert warnings_of("null != address.city") == [
        (1, 21, "'!= null' is never true: a comparison with null is always unknown",
         "write address.city is not null")]


def test_equal_null_inside_where_warns_too():
    """A null comparison in an element filter never matches an element either."""
    assert warnings_of("count(orders, where = total == null) > 0") == [
        (23, 36, "'== null' is never true: a comparison with null is always unknown",
         "write total is null")]


@pytest.mark.parametrize(("rule", "message", "hint"), [
    ("age between 65 and 18", "'between 65 and 18' is never true: the smaller bound comes first",
     "age between 18 and 65"),
    ("balance between -1 and -50", "'between -1 and -50' is never true: the smaller bound comes "
     "first", "balance between -50 and -1"),
    ("signed_up_at between 2026-07-01 and 2026-06-01", "'between 2026-07-01 and 2026-06-01' is "
     "never true: the smaller bound comes first", "signed_up_at between 2026-06-01 and 2026-07-01"),
    ('city between "Z" and "A"', "'between \"Z\" and \"A\"' is never true: the smaller bound "
     "comes first", 'city between "A" and "Z"'),
], ids=["numbers", "negative-numbers", "dates", "strings"])
def test_between_with_reversed_constant_bounds(rule, message, hint):
    """Constant bounds in the wrong order make ``between`` false for everyone."""
    assert warnings_of(rule) == [(1, len(rule) + 1, message, hint)]


@pytest.mark.parametrize(("rule", "hint"), [
    ("last_order_at > now + 30d", "to look back, subtract: last_order_at > now - 30d"),
    ("first_order_at >= now + 1w", "to look back, subtract: first_order_at >= now - 1w"),
    ("now + 2m < last(events.at)", "to look back, subtract: last(events.at) > now - 2m"),
], ids=["last-order", "first-order", "mirrored"])
def test_a_list_timestamp_is_never_after_now(rule, hint):
    """Aggregations ignore elements dated after now, so their timestamps are never in the future."""
    [(column, end, message, found_hint)] = warnings_of(rule)
    assert (column, end, found_hint) == (1, len(rule) + 1, hint)
    assert message.endswith("dated after now are not counted), so this is never true")


@pytest.mark.parametrize("rule", [
    "age between 18 and 65",
    "age between 18 and 18",
    "age between low and high",
    "last_order_at > now - 30d",
    "last_order_at <= now + 30d",
    "renews_at < now + 30d",
    "signed_up_at > now + 30d",
    "loyalty_points is null",
], ids=["ordered-bounds", "equal-bounds", "field-bounds", "looking-back", "always-true-side",
        "customer-field-in-the-future", "customer-field-after-now", "is-null"])
def test_no_never_true_warning_where_the_rule_can_hold(rule):
    """Rules that can be true for some customer give no warning."""
    assert segdsl.compile(rule).warnings == []


def test_segdsl_check_prints_warnings_and_still_succeeds(tmp_path, capsys):
    """``segdsl check`` shows each warning rendered with its caret and exits 0."""
    from segdsl.cli import main

    path = tmp_path / "rules.seg"
    path.write_text('segment foreign = country != "FR"\n', encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().err.splitlines()[:3] == [
        f"{path}:1:19: warning: {null_warning('country')[0]}",
        '  segment foreign = country != "FR"',
        "                    ^^^^^^^^^^^^^^^"]
