"""Explanations cost little whatever the rules and data, and never fail where `matches` answers."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl
from segdsl.explain import Explanation

NOW = "2026-07-15T12:00:00Z"


def tree(*lines: str) -> str:
    """The lines of a rendered explanation, joined."""
    return "\n".join(lines)


def diamond(levels: int) -> segdsl.RuleSet:
    """Segments s0 = x > 1 and s{i} = s{i-1} and s{i-1}, up to s{levels}."""
    lines = ["segment s0 = x > 1"]
    lines += [f"segment s{i} = s{i - 1} and s{i - 1}" for i in range(1, levels + 1)]
    return segdsl.loads("\n".join(lines))


def test_a_24_level_diamond_of_segments_explains_in_little_time_and_memory():
    """Each segment's rule is shown once, so 24 doubling levels stay fast and small."""
    rules = diamond(24)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        text = rules["s24"].explain({"x": 2}, now=NOW).render()
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20_000_000
    assert len(text.splitlines()) == 75


def test_a_segment_referred_to_twice_shows_its_rule_once_then_see_above():
    """The second reference to a segment says `see above` instead of repeating its rule."""
    text = diamond(2)["s2"].explain({"x": 2}, now=NOW).render()
    assert text == tree(
        "s2 -> true",
        "└── s1 and s1 -> true",
        "    ├── s1 -> true",
        "    │   └── s0 and s0 -> true",
        "    │       ├── s0 -> true",
        "    │       │   └── x > 1 -> true",
        "    │       │       └── x = 2",
        "    │       └── s0 -> true  (see above)",
        "    └── s1 -> true  (see above)",
    )


def test_see_above_in_plain_data():
    """to_dict carries the `see above` note of a repeated reference."""
    data = diamond(1)["s1"].explain({"x": 2}, now=NOW).to_dict()
    repeated = data["children"][0]["children"][1]
    assert repeated == {"text": "s0", "value": "true", "note": "see above", "children": []}


def test_a_short_circuited_reference_is_not_evaluated_and_does_not_count_as_shown():
    """A reference `or` never needed shows as not evaluated, the next one shows the rule."""
    rules = segdsl.loads("segment a = x > 1\nsegment b = (x > 0 or a) and a")
    text = rules["b"].explain({"x": 5}, now=NOW).render()
    assert text == tree(
        "b -> true",
        "└── (x > 0 or a) and a -> true",
        "    ├── x > 0 or a -> true",
        "    │   ├── x > 0 -> true",
        "    │   │   └── x = 5",
        "    │   └── a -> not evaluated",
        "    └── a -> true",
        "        └── x > 1 -> true",
        "            └── x = 5",
    )


# ------------------------------------------------- short-circuit like matches

RAISING = segdsl.loads("""
segment guarded_and = x > 1 and y matches "a"
segment guarded_or = x > 1 or y matches "a"
segment nested = not (x > 1 and y matches "a") or z == 1
""")


@pytest.mark.parametrize("name, customer", [
    ("guarded_and", {"id": 1, "x": 0, "y": 5}),
    ("guarded_or", {"id": 1, "x": 3, "y": 5}),
    ("nested", {"id": 1, "x": 0, "y": 5, "z": 2}),
])
def test_explain_equals_matches_when_the_second_operand_would_raise(name, customer):
    """A short-circuited operand that would be bad data is not evaluated, as in matches."""
    with pytest.raises(segdsl.DataError):
        RAISING["guarded_and"].matches({"id": 1, "x": 5, "y": 5}, now=NOW)
    expected = RAISING[name].matches(customer, now=NOW)
    explanation = RAISING[name].explain(customer, now=NOW)
    assert explanation.matched is expected
    assert "not evaluated" in explanation.render()


def test_the_parts_not_evaluated_are_shown_as_such_without_their_parts():
    """`false and ...` shows its right side once, as not evaluated."""
    text = RAISING["guarded_and"].explain({"id": 1, "x": 0, "y": 5}, now=NOW).render()
    assert text == tree(
        "guarded_and -> false",
        '└── x > 1 and y matches "a" -> false',
        "    ├── x > 1 -> false",
        "    │   └── x = 0",
        '    └── y matches "a" -> not evaluated',
    )


def test_explain_raises_where_matches_raises():
    """When matches meets bad data, explain reports the same DataError."""
    customer = {"id": 7, "x": 5, "y": 5}
    with pytest.raises(segdsl.DataError) as by_matches:
        RAISING["guarded_and"].matches(customer, now=NOW)
    with pytest.raises(segdsl.DataError) as by_explain:
        RAISING["guarded_and"].explain(customer, now=NOW)
    assert by_explain.value.message == by_matches.value.message


# ------------------------------------------------------------ values shown

CONTAINS = segdsl.loads('segment tagged = tags contains "vip"')


def test_a_list_containing_itself_is_shown_bounded():
    """A cyclic list in the data shows as `[...]` where it repeats."""
    tags: list = ["a"]
    tags.append(tags)
    explanation = CONTAINS["tagged"].explain({"tags": tags}, now=NOW)
    assert explanation.render().splitlines()[-1] == '    └── tags = ["a", [...]]'


def test_long_lists_and_texts_are_cut():
    """A 100,000-element list shows ten elements and how many more there are."""
    tags = [f"t{i}" for i in range(100_000)]
    line = CONTAINS["tagged"].explain({"tags": tags}, now=NOW).render().splitlines()[-1]
    assert line.endswith('"t8", "t9", ... (99,990 more)]')
    long = segdsl.loads('segment s = name == "x"')["s"].explain({"name": "n" * 10_000}, now=NOW)
    assert long.render().splitlines()[-1] == '    └── name = "' + "n" * 200 + '..."'


def test_deeply_nested_lists_are_shown_to_three_levels():
    """Lists nested 100,000 deep show three levels, then `[...]`."""
    value: list = []
    for _ in range(100_000):
        value = [value]
    line = CONTAINS["tagged"].explain({"tags": value}, now=NOW).render().splitlines()[-1]
    assert line == "    └── tags = [[[[...]]]]"


def test_a_value_whose_str_raises_is_named_by_its_type():
    """A value that cannot describe itself shows as its type name."""
    class Opaque:
        def __str__(self) -> str:
            raise RuntimeError("no")

    rules = segdsl.loads("segment s = x is null")
    line = rules["s"].explain({"x": Opaque()}, now=NOW).render().splitlines()[-1]
    assert line == "    └── x = <Opaque>"


def test_a_lone_surrogate_in_the_data_shows_as_its_escape():
    """A lone surrogate in a data string is shown escaped, so the text encodes as UTF-8."""
    rules = segdsl.loads('segment s = name == "x"')
    text = str(rules["s"].explain({"name": "a\udc80b\nc"}, now=NOW))
    assert text.splitlines()[-1] == '    └── name = "a\\udc80b\\nc"'
    text.encode("utf-8")


def test_a_lone_surrogate_in_a_string_literal_is_refused_before_explain():
    """A literal holding a lone surrogate is a parse error at its position, so explain never meets it."""
    with pytest.raises(segdsl.ParseError) as raised:
        segdsl.loads('segment s = name == "x\ud800y"')
    assert (raised.value.line, raised.value.column) == (1, 23)
    str(raised.value).encode("utf-8")


# ------------------------------------------------------------- deep trees


def test_a_tree_three_thousand_levels_deep_renders_and_converts():
    """render and to_dict walk the tree without recursion, so depth is no limit."""
    node = Explanation("x > 1", True, True)
    for level in range(3000):
        node = Explanation(f"s{level}", True, True, (node,))
    lines = node.render().splitlines()
    assert len(lines) == 3001
    assert lines[-1] == " " * 4 * 2999 + "└── x > 1 -> true"
    plain = node.to_dict()
    for _ in range(3000):
        plain = plain["children"][0]
    assert plain == {"text": "x > 1", "value": "true", "note": None, "children": []}


def test_a_chain_of_a_thousand_segments_builds_its_explanation():
    """Building the explanation of a 1,000-segment chain needs no deep recursion."""
    from segdsl import checked
    from segdsl import explain as explaining
    from segdsl.rules import _render

    lines = ["segment s0 = x > 1"] + [f"segment s{i} = s{i - 1} and x > 0" for i in range(1, 1000)]
    program = segdsl.loads("\n".join(lines))._program  # the compiled bodies
    trace = {id(node): True for i in range(1000) for node in checked.walk(program.body(f"s{i}"))}
    built = explaining.build(program.body("s999"), trace, _render, program.body)
    depth = 0
    while built.children:
        built, depth = built.children[0], depth + 1
    assert (depth, built.text) == (1999, "x")


# ---------------------------------------- explain agrees with matches, always

ATOMS = ["x > 1", "x < 1", "x is null", 'y matches "a"', "not (x > 1)", "z == 1"]


def rules_text(depth: int) -> st.SearchStrategy[str]:
    """Rules made of and/or/not over atoms, one of which raises when y is not text."""
    atom = st.sampled_from(ATOMS)
    if depth == 0:
        return atom
    smaller = rules_text(depth - 1)
    return st.one_of(
        atom,
        st.tuples(smaller, st.sampled_from(["and", "or"]), smaller).map(
            lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"),
        smaller.map(lambda text: f"not {text}"))


@settings(max_examples=150, deadline=None)
@given(rule=rules_text(3), x=st.sampled_from([0, 2, None]), y=st.sampled_from(["a", 5, None]),
       z=st.sampled_from([1, 2, None]))
def test_explain_answers_exactly_where_matches_answers(rule, x, y, z):
    """For and/or/not trees with an operand that raises, explain raises iff matches does, else agrees."""
    segment = segdsl.compile(rule)
    customer = {"id": 1, "x": x, "y": y, "z": z}
    try:
        expected = segment.matches(customer, now=NOW)
    except segdsl.DataError as error:
        with pytest.raises(segdsl.DataError) as raised:
            segment.explain(customer, now=NOW)
        assert raised.value.message == error.message
        return
    explanation = segment.explain(customer, now=NOW)
    assert explanation.matched is expected
    explanation.render()


def test_the_repr_of_an_explanation_is_its_first_line():
    """repr shows the top line and the number of parts, bounded whatever the tree holds."""
    tags: list = list(range(100_000))
    tags.append(tags)
    explanation = CONTAINS["tagged"].explain({"tags": tags}, now=NOW)
    assert repr(explanation) == "<Explanation 'tagged -> false', 1 part>"
    inner = explanation.children[0].children[0]
    assert repr(inner) == ("<Explanation 'tags = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (99,991 more)]', "
                           "0 parts>")
