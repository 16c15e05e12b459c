"""Without a schema, names that look like literals or keywords, and parenthesised strings after
`in`, are warnings with the fix; warnings caused inside the prelude point at the user's call."""

import pytest

import segdsl


def _warnings(rule):
    errors, warnings = segdsl.check(f"segment s = {rule}", file="rules.seg")
    assert errors == []
    return [(w.message, w.span.line, w.span.column, w.span.end_column, w.hint) for w in warnings]


@pytest.mark.parametrize("name, literal", [
    ("True", "true"), ("FALSE", "false"), ("NULL", "null"), ("Null", "null"), ("NOW", "now"),
])
def test_literal_in_another_case_is_a_warning(name, literal):
    """`True`, `FALSE`, `NULL`, `NOW` read as fields are warnings saying to write the literal."""
    assert _warnings(f"flag == {name}") == [
        ((f"'{name}' is read as a field of the customer, not the literal '{literal}': names "
         f"and keywords are case-sensitive"), 1, 21, 21 + len(name), f"write {literal}")]


@pytest.mark.parametrize("name", ["Today", "TODAY"])
def test_today_in_another_case_is_a_warning(name):
    """`Today` read as a field is the case warning other keywords get, saying to write `today`."""
    assert _warnings(f"seen_at > {name}") == [
        ((f"'{name}' is read as a field of the customer, not the literal 'today': names and "
          f"keywords are case-sensitive"), 1, 23, 23 + len(name), "write today")]


def test_today_is_a_keyword_and_warns_of_nothing():
    """`today` is the keyword for the evaluation day: no lookalike warning."""
    assert _warnings("seen_at > today") == []


def test_lookalike_inside_where_names_the_element():
    """A lookalike name inside a `where` is read from the element, and the warning says so."""
    assert _warnings("exists(orders, where = discounted == TRUE)")[0][0] == (
        "'TRUE' is read as a field of the element, not the literal 'true': names and keywords "
        "are case-sensitive")


def test_lowercase_literals_and_declared_fields_give_no_warning():
    """`true`, `now` and a field declared in a schema named `Today` warn of nothing."""
    assert _warnings("flag == true and seen_at < now") == []
    schema = segdsl.Schema({"id": "number", "Today": "datetime"})
    assert segdsl.check("segment s = Today < now", schema=schema) == ([], [])


@pytest.mark.parametrize("rule, keyword", [('country in ("FR")', "in"),
                                           ('country not in ("FR")', "not in")])
def test_parenthesised_string_after_in_is_a_warning(rule, keyword):
    """`country in ("FR")` is a substring test: a warning suggests the list `["FR"]`."""
    found = _warnings(rule)
    assert found[0] == ((f"'{keyword} (\"FR\")' tests whether country is part of the text \"FR\": "
                        f"parentheses make no list"), 1, 13, 13 + len(rule),
                        f'for a list, write country {keyword} ["FR"]')


def test_string_after_in_without_parentheses_is_no_warning():
    """`country in "FR"` is written as the substring test it is: no warning."""
    assert _warnings('country in "FRANCE"') == []


def test_warning_inside_the_prelude_points_at_the_users_call():
    """A warning about the body of a prelude def points at the user's call, in the user's file."""
    errors, warnings = segdsl.check("segment a = country == \"FR\"\nsegment b = events(null, 30d) > 0",
                                    file="rules.seg")
    assert errors == []
    [warning] = warnings
    assert (warning.span.file, warning.span.line, warning.span.column) == ("rules.seg", 2, 13)
    assert str(warning).splitlines()[:3] == [
        ("rules.seg:2:13: warning: '== null' is never true: a comparison with null is always "
        "unknown"),
        "  segment b = events(null, 30d) > 0",
        "              ^^^^^^^^^^^^^^^^^"]


def test_error_inside_the_prelude_points_at_the_users_call():
    """A check error in a prelude body (the schema lacks events.type) points at the user's call."""
    schema = segdsl.Schema({"id": "number",
                            "events": segdsl.ListOf({"at": "datetime", "kind": "string"})})
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.loads("segment a =\n  visits(30d) > 1", file="rules.seg", schema=schema)
    error = caught.value
    assert (error.file, error.line, error.column) == ("rules.seg", 2, 3)
    assert error.message == "unknown name 'type' (in the prelude's visits)"
