"""The canonical formatter: exact layouts, and round trips over random trees and texts."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import nodes as n
from segdsl.errors import ParseError
from segdsl.formatter import LINE_WIDTH, format_expression, format_text, render
from segdsl.parser import parse, parse_expression

from strategies import expressions, relaid_expressions, relaid_rule_files, rule_files

_FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _text(block: str) -> str:
    """A golden text written as an indented triple-quoted block."""
    return textwrap.dedent(block).lstrip("\n")


def _case(source: str, expected: str, id: str):
    return pytest.param(_text(source), _text(expected), id=id)


# ---------------------------------------------------------------- spelling

SPELLING = [
    _case("segment a=x>=4 and y<now-90d", """
        segment a = x >= 4 and y < now - 90d
    """, "operators-spaced"),
    _case("""segment q = a == 'it\\'s' or a == "say \\"hi\\"" or a == '\\u00e9\\t\\u0001\\\\'""", r"""
        segment q = a == "it's" or a == "say \"hi\"" or a == "é\t\u0001\\"
    """, "quotes-normalised"),
    _case("segment n = a in [1_000, 1.50, 1e3, 0.000001, 1_0.0_1, 1E300, 007]", """
        segment n = a in [1_000, 1.50, 1e3, 0.000001, 1_0.0_1, 1E300, 007]
    """, "numbers"),
    _case("segment d = at > 2026-06-24T10:00+00:00 and at < 2026-06-24T10:00:00.5-02:30", """
        segment d = at > 2026-06-24T10:00:00Z and at < 2026-06-24T10:00:00.500000-02:30
    """, "datetimes"),
    _case("segment u = 1_0d > 3h and 2w < 6m and 1y != 0d and d in 2026-01-01..2026-01-31", """
        segment u = 10d > 3h and 2w < 6m and 1y != 0d and d in 2026-01-01 .. 2026-01-31
    """, "durations-and-ranges"),
    _case("""segment c = orders(365d,category="shoes")>=2 and f( ) and g(a,) and [ 1 , 2 , ]==[ ]""", """
        segment c = orders(365d, category = "shoes") >= 2 and f() and g(a) and [1, 2] == []
    """, "calls-and-lists"),
    _case("segment w = a contains 'x' and b starts_with 'y' and not c matches 'z' and e not in f", """
        segment w = a contains "x" and b starts_with "y" and not (c matches "z") and e not in f
    """, "word-operators"),
    _case("segment k = x  is  not  null or y is null or z between 1 and 2", """
        segment k = x is not null or y is null or z between 1 and 2
    """, "null-tests-and-between"),
    _case("def f( a , b , ) = a . b + 1", """
        def f(a, b) = a.b + 1
    """, "def-and-dotted-path"),
]


@pytest.mark.parametrize(("source", "expected"), SPELLING)
def test_spelling(source: str, expected: str) -> None:
    """Tokens are spelled one canonical way."""
    assert format_text(source) == expected


PARENTHESES = [
    ("((a))", "a"),
    ("(a and b) and c", "(a and b) and c"),
    ("a and (b and c)", "a and (b and c)"),
    ("a or (b and c)", "a or (b and c)"),
    ("a or b and c", "a or (b and c)"),
    ("(a or b) and c", "(a or b) and c"),
    ("(a or b) or c", "(a or b) or c"),
    ("not (a == b)", "not (a == b)"),
    ("not a == b", "not (a == b)"),
    ("(not a) == b", "(not a) == b"),
    ("not (a and b)", "not (a and b)"),
    ("(a + b) * c", "(a + b) * c"),
    ("a + (b * c)", "a + b * c"),
    ("(a - b) - c", "a - b - c"),
    ("a - (b - c)", "a - (b - c)"),
    ("a / (b * c) % d", "a / (b * c) % d"),
    ("-(a)", "-a"),
    ("-(a + b)", "-(a + b)"),
    ("- -x", "--x"),
    ("a - -5", "a - -5"),
    ("(a < b) == c", "(a < b) == c"),
    ("(a in b) in c", "(a in b) in c"),
    ("x between (a and b) and c", "x between (a and b) and c"),
    ("x between a + 1 and b * 2", "x between a + 1 and b * 2"),
    ("(x is null) is null", "(x is null) is null"),
    ("f((a or b), k = (c and d))", "f(a or b, k = c and d)"),
    ("[(a or b)]", "[a or b]"),
]


@pytest.mark.parametrize(("source", "expected"), PARENTHESES)
def test_parentheses_only_where_needed(source: str, expected: str) -> None:
    """Parentheses are dropped unless the tree needs them."""
    assert format_expression(source) == expected


# ------------------------------------------------------------ blank lines

BLANK_LINES = [
    _case("""
        period a = 2026-01-01 .. 2026-01-31
        period b = 2026-02-01 .. 2026-02-28


        period c = 2026-03-01 .. 2026-03-31
        def f(x) = x > 1
        def g(x) = x < 1
        segment s = f(1)
        segment t = g(2)
    """, """
        period a = 2026-01-01 .. 2026-01-31
        period b = 2026-02-01 .. 2026-02-28

        period c = 2026-03-01 .. 2026-03-31

        def f(x) = x > 1
        def g(x) = x < 1

        segment s = f(1)

        segment t = g(2)
    """, "statements"),
    _case("period a = 2026-01-01 .. 2026-01-31 period b = 2026-02-01 .. 2026-02-28", """
        period a = 2026-01-01 .. 2026-01-31
        period b = 2026-02-01 .. 2026-02-28
    """, "periods-on-one-line"),
    _case("""
        def f(x) = x > 1
        def g(an_argument_with_a_long_name) = an_argument_with_a_long_name > 1 and an_argument_with_a_long_name < 5
        def h(x) = x
    """, """
        def f(x) = x > 1

        def g(an_argument_with_a_long_name) =
            an_argument_with_a_long_name > 1 and an_argument_with_a_long_name < 5

        def h(x) = x
    """, "multi-line-def-separated"),
    _case("\n\n\nsegment a = x\n\n\n\n", """
        segment a = x
    """, "blank-lines-at-ends"),
    pytest.param("", "", id="empty-file"),
    pytest.param("\n  \n\t\n", "", id="whitespace-only"),
]


@pytest.mark.parametrize(("source", "expected"), BLANK_LINES)
def test_blank_lines(source: str, expected: str) -> None:
    """One blank line between statements; one-line periods and defs may touch."""
    assert format_text(source) == expected


# --------------------------------------------------------------- long lines

LONG_LINES = [
    _case("""
        segment loyal_buyers "RFM recency and frequency 4-5" = rfm.recency >= 4 and rfm.frequency >= 4
    """, """
        segment loyal_buyers "RFM recency and frequency 4-5" =
            rfm.recency >= 4 and rfm.frequency >= 4
    """, "break-after-equals"),
    _case("""
        segment vip = loyal_buyers and country in ["FR", "BE"] and spent(365d) > 500 and (clicked_recommendation(30d) or opened_email(30d))
    """, """
        segment vip =
            loyal_buyers
            and country in ["FR", "BE"]
            and spent(365d) > 500
            and (clicked_recommendation(30d) or opened_email(30d))
    """, "chain-one-operand-per-line"),
    _case("""
        segment nested = a_long_field_name > 1 and (another_long_field == 2 or (third_long_field_name == 3 and fourth_long_field_name == 4 and fifth_long_field_name == 5))
    """, """
        segment nested =
            a_long_field_name > 1
            and (
                another_long_field == 2
                or (
                    third_long_field_name == 3
                    and fourth_long_field_name == 4
                    and fifth_long_field_name == 5
                )
            )
    """, "nested-chains"),
    _case("""
        segment or_of_ands = first_condition_here == 1 and second_condition_here == 2 or third_condition_here == 3 and fourth == 4
    """, """
        segment or_of_ands =
            (first_condition_here == 1 and second_condition_here == 2)
            or (third_condition_here == 3 and fourth == 4)
    """, "and-inside-or-parenthesised"),
    _case("""
        segment long_call = count(events, within = 30d, where = type == "visit" and at > now - 30d and source == "newsletter") >= 10
    """, """
        segment long_call =
            count(
                events,
                within = 30d,
                where = type == "visit" and at > now - 30d and source == "newsletter",
            ) >= 10
    """, "call-one-argument-per-line"),
    _case("""
        segment k = count(events, where = type == "visit" and at > now - 30d and source == "newsletter" and medium == "email")
    """, """
        segment k =
            count(
                events,
                where =
                    type == "visit"
                    and at > now - 30d
                    and source == "newsletter"
                    and medium == "email",
            )
    """, "keyword-breaks-after-equals"),
    _case("""
        segment long_list = country in ["FR", "BE", "DE", "NL", "LU", "IT", "ES", "PT", "AT", "CH", "DK", "SE", "FI", "NO"]
    """, """
        segment long_list =
            country in [
                "FR",
                "BE",
                "DE",
                "NL",
                "LU",
                "IT",
                "ES",
                "PT",
                "AT",
                "CH",
                "DK",
                "SE",
                "FI",
                "NO",
            ]
    """, "list-one-item-per-line"),
    _case("""
        def a_rather_long_function_name(first_parameter, second_parameter, third_parameter, fourth) = 1
    """, """
        def a_rather_long_function_name(
            first_parameter,
            second_parameter,
            third_parameter,
            fourth,
        ) = 1
    """, "def-parameters"),
    _case("""
        segment s "a description long enough to take the whole line, and more than the whole line" = a
    """, """
        segment s "a description long enough to take the whole line, and more than the whole line" =
            a
    """, "header-too-long-stays"),
]


@pytest.mark.parametrize(("source", "expected"), LONG_LINES)
def test_long_lines(source: str, expected: str) -> None:
    """Lines longer than 88 columns break, outermost structure first."""
    assert format_text(source) == expected


def test_a_line_of_exactly_the_width_stays_whole() -> None:
    """88 columns fit; 89 do not."""
    fits = "segment s = " + "x" * (LINE_WIDTH - len("segment s = ")) + "\n"
    assert format_text(fits) == fits
    too_long = "segment s = " + "x" * (LINE_WIDTH + 1 - len("segment s = "))
    assert format_text(too_long) == too_long.replace(" = ", " =\n    ") + "\n"


# ----------------------------------------------------------------- comments

COMMENTS = [
    _case("""
        # File header.

        # About a.
        segment a = x   # trailing a
        # About b, right below a.
        segment b = y
        # The end.
    """, """
        # File header.

        # About a.
        segment a = x  # trailing a

        # About b, right below a.
        segment b = y
        # The end.
    """, "around-statements"),
    _case("#no space   \nsegment a = x #tight", """
        #no space
        segment a = x  #tight
    """, "text-kept-trailing-spaces-dropped"),
    _case("""
        segment a = x


        # The end, after blank lines.
    """, """
        segment a = x

        # The end, after blank lines.
    """, "at-the-end"),
    pytest.param("# only a comment\n\n\n# and another", "# only a comment\n\n# and another\n",
                 id="comments-only"),
    _case("""
        segment s = a  # after a
          and b
    """, """
        segment s =
            a  # after a
            and b
    """, "after-an-operand"),
    _case("""
        segment s = a and
          # before b
          b and c
    """, """
        segment s =
            a
            # before b
            and b
            and c
    """, "before-an-operand"),
    _case("""
        segment s =
            # before the body
            a and b
    """, """
        segment s =
            # before the body
            a and b
    """, "before-the-body"),
    _case("""
        segment s = f(1,  # one
          2)
    """, """
        segment s =
            f(
                1,  # one
                2,
            )
    """, "after-an-argument"),
    _case("""
        segment s = f(
          # first
          1, 2)
    """, """
        segment s =
            f(
                # first
                1,
                2,
            )
    """, "before-an-argument"),
    _case("""
        segment s = [1, 2  # two
        ]
    """, """
        segment s =
            [
                1,
                2,  # two
            ]
    """, "after-the-last-item"),
    _case("""
        segment s = count(events, where = type == "visit"  # visits only
          , within = 30d)
    """, """
        segment s =
            count(
                events,
                where = type == "visit",  # visits only
                within = 30d,
            )
    """, "after-a-keyword-argument"),
    _case("""
        segment s = x and (a or
          # before b
          b) and y
    """, """
        segment s =
            x
            and (
                a
                # before b
                or b
            )
            and y
    """, "inside-parentheses"),
    _case("""
        segment s = (a or b  # after b
        ) and c
    """, """
        segment s =
            (a or b)  # after b
            and c
    """, "after-a-parenthesised-operand"),
    _case("""
        segment s = a and (b  # after b, the end of the body
        )
    """, """
        segment s = a and b  # after b, the end of the body
    """, "after-the-last-operand"),
    _case("""
        def f(a,  # first parameter
          b) = a
    """, """
        def f(
            a,  # first parameter
            b,
        ) = a
    """, "after-a-parameter"),
    _case("""
        segment # in the header
          s = a
    """, """
        segment s =
            # in the header
            a
    """, "in-a-segment-header"),
    _case("""
        period p = 2026-01-01 ..  # inside a period
          2026-01-31
    """, """
        # inside a period
        period p = 2026-01-01 .. 2026-01-31
    """, "inside-a-period"),
    _case("""
        segment s = a and f(x
          # before the closing parenthesis
        )
    """, """
        # before the closing parenthesis
        segment s = a and f(x)
    """, "after-the-last-code"),
    _case("""
        segment s = f(a  # one
          ,  # two
          b)
    """, """
        segment s =
            f(
                a,  # one
                # two
                b,
            )
    """, "two-after-one-argument"),
    _case("""
        period a = 2026-01-01 .. 2026-01-31  # a
        # about b
        period b = 2026-02-01 .. 2026-02-28
    """, """
        period a = 2026-01-01 .. 2026-01-31  # a
        # about b
        period b = 2026-02-01 .. 2026-02-28
    """, "between-adjacent-periods"),
]


@pytest.mark.parametrize(("source", "expected"), COMMENTS)
def test_comments(source: str, expected: str) -> None:
    """Comments stay with their statement, on their own line or at a line's end."""
    assert format_text(source) == expected


def test_comment_markers_inside_strings_are_not_comments() -> None:
    """A # inside a string is text, in files and in expressions."""
    assert format_text("segment s = a == '#x' # real\n") == 'segment s = a == "#x"  # real\n'
    assert format_expression("a == '#x' # real") == 'a == "#x"  # real'


# -------------------------------------------------------------- expressions


def test_format_expression_keeps_comments() -> None:
    """Comments before, inside and after an expression are kept in place."""
    source = "# lead\na and # after a\n b # end\n# last"
    assert format_expression(source) == "# lead\na  # after a\nand b  # end\n# last"


def test_format_expression_breaks_long_expressions() -> None:
    """A long expression breaks like a segment body, without indentation."""
    source = " and ".join(f"field_number_{i} > {i}" for i in range(6))
    assert format_expression(source) == "\nand ".join(f"field_number_{i} > {i}" for i in range(6))


def test_format_is_format_text() -> None:
    """segdsl.format is the formatter of rule files."""
    assert segdsl.format("segment a=b") == "segment a = b\n"


def test_syntax_errors_are_raised() -> None:
    """Text that does not parse is not formatted."""
    with pytest.raises(ParseError):
        format_text("segment a = b and")
    with pytest.raises(ParseError):
        format_expression("a and")


# ------------------------------------------------------------------- render

_A, _B, _C = (n.Reference((name,)) for name in "abc")

RENDERED = [
    (n.And((n.And((_A, _B)), _C)), "(a and b) and c"),
    (n.Or((n.Or((_A, _B)), n.Or((_B, _C)))), "(a or b) or (b or c)"),
    (n.And((n.Or((_A, _B)), n.Not(n.And((_B, _C))))), "(a or b) and not (b and c)"),
    (n.Arithmetic(n.ArithmeticOp.SUBTRACT, _A, n.Arithmetic(n.ArithmeticOp.ADD, _B, _C)),
     "a - (b + c)"),
    (n.Negate(n.Number(2.5)), "-2.5"),
    (n.Number(1e20), "1e+20"),
    (n.Number(5e-324), "5e-324"),
    (n.Number(10**30), "1000000000000000000000000000000"),
    (n.String("a\"b\\c\nd\u2028\U0001f600"), '"a\\"b\\\\c\\nd\\u2028\U0001f600"'),
    (n.DateTime(dt.datetime(2026, 6, 24, 10, tzinfo=dt.timezone.utc)), "2026-06-24T10:00:00Z"),
    (n.DateTime(dt.datetime(2026, 6, 24, 10, 30, 5)), "2026-06-24T10:30:05"),
    (n.DateTime(dt.datetime(2026, 6, 24, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),
     "2026-06-24T00:00:00-05:00"),
    (n.Call("f", (_A,), (n.Keyword("k", _B),)), "f(a, k = b)"),
    (n.PeriodDef("p", n.DateRange(dt.date(2026, 1, 1), dt.date(2026, 1, 2))),
     "period p = 2026-01-01 .. 2026-01-02"),
    (n.SegmentDef("s", _A, 'say "hi"'), 'segment s "say \\"hi\\"" = a'),
    (n.FunctionDef("f", (), _A), "def f() = a"),
    (n.RuleFile((n.SegmentDef("s", _A), n.SegmentDef("t", _B))),
     "segment s = a\n\nsegment t = b\n"),
    (n.RuleFile(()), ""),
]


@pytest.mark.parametrize(("tree", "expected"), RENDERED)
def test_render(tree: n.Node, expected: str) -> None:
    """Trees render to canonical text."""
    assert render(tree) == expected


def test_render_refuses_what_cannot_be_written() -> None:
    """An infinite number, half a surrogate pair or a value that is not a node
    raises, never prints junk."""
    with pytest.raises(ValueError, match="inf"):
        render(n.Number(float("inf")))
    with pytest.raises(ValueError, match="surrogate"):
        render(n.String("a\ud800"))
    with pytest.raises(TypeError, match="str"):
        render("a")  # type: ignore[arg-type]


def test_deep_arithmetic_chains_render_without_recursion() -> None:
    """A long chain such as 1 + 1 + ... + 1 nests deep to the left; it still renders."""
    chain: n.Node = n.Number(1)
    for _ in range(5000):
        chain = n.Arithmetic(n.ArithmeticOp.ADD, chain, n.Number(1))
    assert render(chain) == " + ".join(["1"] * 5001)


# --------------------------------------------------------------- properties


@settings(_FAST, max_examples=100)
@given(expressions(max_leaves=16))
def test_rendered_expressions_parse_back(tree: n.Node) -> None:
    """Rendering an expression gives canonical text that parses to the same tree."""
    text = render(tree)
    assert parse_expression(text) == tree
    assert format_expression(text) == text


@settings(_FAST, max_examples=30)
@given(rule_files())
def test_rendered_files_parse_back(tree: n.RuleFile) -> None:
    """Rendering a rule file gives canonical text that parses to the same tree."""
    text = render(tree)
    assert parse(text) == tree
    assert format_text(text) == text


@settings(_FAST, max_examples=200)
@given(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))
def test_every_finite_float_reads_back(value: float) -> None:
    """Every finite float is written so that it parses back to itself."""
    assert parse_expression(render(n.Number(value))) == n.Number(value)


@settings(_FAST, max_examples=200)
@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_every_string_reads_back(value: str) -> None:
    """Every string of characters is written so that it parses back to itself."""
    assert parse_expression(render(n.String(value))) == n.String(value)


def _comment_owners(tree: n.RuleFile, text: str) -> dict[str, int]:
    """Which statement each comment goes with: the one it is in, before, or
    at the end of the last line of (the number of statements: the file's end)."""
    statements = tree.statements
    owners = {}
    for comment in tree.comments:
        offset = comment.span.start
        index = next((i for i, s in enumerate(statements) if s.span.end > offset),
                     len(statements))
        previous_end = statements[index - 1].span.end if index else None
        outside = index == len(statements) or statements[index].span.start >= offset
        if outside and previous_end is not None and "\n" not in text[previous_end:offset]:
            index -= 1
        owners[comment.text.rstrip()] = index
    return owners


def _assert_tidy(text: str) -> None:
    lines = text.split("\n")
    assert text == "" or text.endswith("\n") and not text.endswith("\n\n")
    assert "\n\n\n" not in text and not text.startswith("\n")
    assert all(line == line.rstrip() for line in lines)


@settings(_FAST, max_examples=60)
@given(relaid_rule_files())
def test_relaid_files_format_the_same(case: tuple[n.RuleFile, str]) -> None:
    """Whatever the layout and comments, formatting keeps the statements, every
    comment with its statement, gives tidy text, and is idempotent."""
    tree, text = case
    source = parse(text)
    formatted = format_text(text)
    result = parse(formatted)
    assert result.statements == tree.statements
    kept = sorted(c.text for c in result.comments)
    assert kept == sorted(c.text.rstrip() for c in source.comments)
    assert _comment_owners(result, formatted) == _comment_owners(source, text)
    first_line = text.split("\n", 1)[0]
    if "\n" in text and first_line.endswith("\r"):  # a CRLF text stays CRLF throughout
        assert "\n" not in formatted.replace("\r\n", "")
        formatted_lf = formatted.replace("\r\n", "\n")
    else:
        formatted_lf = formatted
    assert "\r" not in formatted_lf
    _assert_tidy(formatted_lf)
    assert format_text(formatted) == formatted


@settings(_FAST, max_examples=40)
@given(relaid_expressions())
def test_relaid_expressions_format_the_same(case: tuple[n.Node, str]) -> None:
    """Formatting an expression keeps its tree and comments, and is idempotent."""
    tree, text = case
    formatted = format_expression(text)
    assert parse_expression(formatted) == tree
    as_file = "segment s =\n"
    comments = sorted(c.text.rstrip() for c in parse(as_file + text).comments)
    assert sorted(c.text for c in parse(as_file + formatted).comments) == comments
    assert format_expression(formatted) == formatted
