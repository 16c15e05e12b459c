"""Whatever the text, the parser returns a tree or raises SegdslError pointing
into that text: never a Lark exception, a RecursionError or anything else."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import nodes as n

# ------------------------------------------------------------------ helpers

PARSERS = {"file": segdsl.parse, "expression": segdsl.parse_expression}


def parse_or_error(text: str, mode: str):
    """The tree, or the SegdslError the parser raised."""
    try:
        return PARSERS[mode](text, file="fuzz.seg")
    except segdsl.SegdslError as error:
        return error


def assert_points_inside(error: segdsl.SegdslError, text: str) -> None:
    """The error's position is a real place in ``text``, and it renders."""
    lines = text.split("\n")
    assert error.span is not None, error
    assert 1 <= error.line <= len(lines), (error.line, len(lines))
    assert 1 <= error.column <= len(lines[error.line - 1]) + 1, (error.column, error.line)
    assert error.file == "fuzz.seg"
    assert error.span.start <= len(text)
    rendered = error.render()
    assert rendered.startswith(f"fuzz.seg:{error.line}:{error.column}: {error.message}")


def check(text: str) -> None:
    """Both entry points either parse ``text`` or raise a positioned error."""
    for mode in PARSERS:
        result = parse_or_error(text, mode)
        if isinstance(result, segdsl.SegdslError):
            assert_points_inside(result, text)
        else:
            assert isinstance(result, n.Node)


# --------------------------------------------------------------- strategies

KEYWORDS = ["segment", "period", "def", "and", "or", "not", "in", "is", "null", "true", "false",
            "now", "between", "contains", "starts_with", "ends_with", "matches"]
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "=", "..", ".", ",",
             "(", ")", "[", "]", "&&", "||", "!", "<>", "=>", ";", "@", "$", "{", "}"]
LITERALS = ["0", "4", "1_000", "1.5e3", "1e999", "9" * 400, '"FR"', "'x'", '"a\\nb"', '"\\q"',
            '"open', "'open", "2026-06-24", "2026-02-30", "2026-13-01", "2026-06-24T10:00:00Z",
            "2026-06-24T25:00", "2026-06-24T", "30d", "12h", "2w", "6m", "1y", "30x", "30days",
            "99999999999y"]
NAMES = ["country", "rfm.frequency", "visits", "orders", "notable", "index", "a", "segmnt", "nul",
         "café"]
LAYOUT = [" ", " ", "", "\n", "\n  ", "  # a comment\n", "\t", "\r\n"]
FRAGMENTS = KEYWORDS + OPERATORS + LITERALS + NAMES

token_soup = st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(LAYOUT)),
                      max_size=40).map(lambda pairs: "".join(a + b for a, b in pairs))

VALID_RULES = [
    'segment loyal_buyers "RFM 4-5" =\n    rfm.recency >= 4 and rfm.frequency >= 4',
    "segment undecided =\n    visits(30d) >= 10 and not purchased(30d)",
    'segment vip = loyal_buyers and country in ["FR", "BE"] and spent(365d) > 500',
    "period summer_sale = 2026-06-24 .. 2026-07-21",
    "def bought_in(cat, window) = orders(window, category = cat) >= 2",
    'segment s = count(events, within = 30d, where = type == "visit") between 1 and 5',
    "segment t = last_order_at < now - 90d or email is not null  # lapsed",
    'segment u = -(a + b) * 2 / c % 3 != 1.5e3 and x not in [1, 2,] and e matches "^a"',
]
# Words, numbers, strings and single punctuation: a rough cut of the tokens.
PIECES = re.compile(r'"[^"]*"|\d[\w.-]*|\w+|\.\.|[<>=!]=|\S')


@st.composite
def mutated_rules(draw) -> str:
    """A valid rule with one token deleted, duplicated or swapped with its neighbour."""
    pieces = PIECES.findall(draw(st.sampled_from(VALID_RULES)))
    index = draw(st.integers(0, len(pieces) - 2))
    how = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
    if how == "delete":
        del pieces[index]
    elif how == "duplicate":
        pieces.insert(index, pieces[index])
    elif how == "swap":
        pieces[index], pieces[index + 1] = pieces[index + 1], pieces[index]
    else:
        pieces[index] = draw(st.sampled_from(FRAGMENTS))
    return draw(st.sampled_from([" ", "\n"])).join(pieces)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------- fuzzing


@FUZZ
@given(st.text())
def test_arbitrary_text_parses_or_raises_a_positioned_error(text):
    """Any string at all parses or raises SegdslError pointing inside it."""
    check(text)


@FUZZ
@given(token_soup)
def test_token_soup_parses_or_raises_a_positioned_error(text):
    """Random sequences of the language's own tokens and fragments never crash the parser."""
    check(text)


@FUZZ
@given(mutated_rules())
def test_mutated_rules_parse_or_raise_a_positioned_error(text):
    """A valid rule with one token deleted, duplicated, swapped or replaced never crashes."""
    check(text)


@pytest.mark.parametrize("text", VALID_RULES)
def test_the_valid_rules_used_for_mutation_parse(text):
    """The seeds of the mutation test are themselves valid rule files."""
    assert isinstance(segdsl.parse(text), n.RuleFile)


# ------------------------------------------------------------- deep nesting

DEPTH = 10_000
TOO_DEEP = {
    "parentheses": "(" * DEPTH + "a" + ")" * DEPTH,
    "not": "not " * DEPTH + "a",
    "unary minus": "-" * DEPTH + "a",
    "lists": "[" * DEPTH + "]" * DEPTH,
    "calls": "f(" * DEPTH + ")" * DEPTH,
    "keyword arguments": "f(k = " * DEPTH + "a" + ")" * DEPTH,
}


@pytest.mark.parametrize("text", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_deep_nesting_raises_a_limit_error_at_its_position(text):
    """10,000 levels of nesting are refused with a LimitError, not a RecursionError."""
    with pytest.raises(segdsl.LimitError) as caught:
        segdsl.parse_expression(text, file="deep.seg")
    error = caught.value
    assert error.message == f"expression nested too deeply: more than {segdsl.MAX_NESTING} levels"
    assert error.line == 1 and 1 <= error.column <= len(text)
    assert error.file == "deep.seg"


@pytest.mark.parametrize("opener, closer", [("(", ")"), ("not ", ""), ("-", ""), ("[", "]")])
def test_nesting_up_to_the_limit_parses(opener, closer):
    """Exactly MAX_NESTING levels parse; one more is refused."""
    depth = segdsl.MAX_NESTING
    segdsl.parse_expression(opener * depth + "a" * (closer != "]") + closer * depth)
    with pytest.raises(segdsl.LimitError):
        segdsl.parse_expression(opener * (depth + 1) + "a" * (closer != "]") + closer * (depth + 1))


def test_nesting_error_in_a_file_points_at_its_line():
    """The LimitError of a deeply nested statement names the file and the line it is on."""
    text = "segment a = b\n\nsegment c =\n  " + "(" * 200 + "x" + ")" * 200
    with pytest.raises(segdsl.LimitError) as caught:
        segdsl.parse(text, file="rules.seg")
    assert (caught.value.file, caught.value.line) == ("rules.seg", 4)


def test_unclosed_parentheses_point_at_the_innermost_opener():
    """10,000 unclosed '(' are a ParseError at the last one, found without recursion."""
    with pytest.raises(segdsl.ParseError) as caught:
        segdsl.parse_expression("(" * DEPTH + "a")
    assert (caught.value.line, caught.value.column) == (1, DEPTH)
    assert caught.value.message == "'(' is never closed"


def test_long_chains_of_and_and_plus():
    """A 100,000-term 'and' chain parses flat; a 100,000-term '+' chain nests too deep.

    Both are parsed once here: each takes a few seconds.
    """
    terms = 100_000
    tree = segdsl.parse_expression(" and ".join(["a"] * terms))
    assert isinstance(tree, n.And) and len(tree.operands) == terms
    with pytest.raises(segdsl.LimitError) as caught:
        segdsl.parse_expression(" + ".join(["a"] * terms))
    # The operator that takes the chain past the limit: the 101st '+'.
    assert caught.value.column == len("a + ") * segdsl.MAX_NESTING + 3


def test_over_long_text_raises_a_limit_error():
    """Text longer than MAX_SOURCE_LENGTH is refused before parsing."""
    with pytest.raises(segdsl.LimitError) as caught:
        segdsl.parse(" " * (segdsl.MAX_SOURCE_LENGTH + 1), file="big.seg")
    assert caught.value.message.startswith(f"rule text is {segdsl.MAX_SOURCE_LENGTH + 1:,} "
                                           f"characters long")
    assert (caught.value.file, caught.value.line, caught.value.column) == ("big.seg", 1, 1)
