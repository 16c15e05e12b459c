"""Every construct of the grammar parses to the exact tree, with exact spans."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

import segdsl
from segdsl import nodes as n
from segdsl.nodes import ArithmeticOp as A
from segdsl.nodes import CompareOp as C
from segdsl.nodes import DurationUnit as U

UTC = dt.timezone.utc


def parse(text: str) -> n.Node:
    """The tree of a single expression."""
    return segdsl.parse_expression(text)


def ref(dotted: str) -> n.Reference:
    """A reference node for a dotted path such as ``rfm.frequency``."""
    return n.Reference(tuple(dotted.split(".")))


def num(value) -> n.Number:
    return n.Number(value)


def where(node: n.Node) -> tuple[int, int, int, int]:
    """A node's span as (line, column, end line, end column)."""
    return node.span.line, node.span.column, node.span.end_line, node.span.end_column


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("42", 42), ("1_000", 1000), ("1_000_000", 1_000_000), ("89.9", 89.9),
    ("1.5e3", 1500.0), ("2E-2", 0.02), ("1_0.2_5", 10.25),
])
def test_numbers(text, value):
    """Integers stay int, decimals and exponents become float, '_' separates digits."""
    node = parse(text)
    assert node == num(value) and type(node.value) is type(value)


@pytest.mark.parametrize("text, value", [
    ('"FR"', "FR"), ("'FR'", "FR"), ('""', ""),
    (r'"say \"hi\""', 'say "hi"'), (r"'it\'s'", "it's"), (r'"a\\b"', "a\\b"),
    (r'"tab\tnew\nline\rnull\0"', "tab\tnew\nline\rnull\0"), (r'"caf\u00e9"', "café"),
    ('"café 😀 ünï"', "café 😀 ünï"), ('"# not a comment"', "# not a comment"),
    ("'double \" inside'", 'double " inside'),
])
def test_strings_with_escapes_and_unicode(text, value):
    """Both quote kinds, every escape, and raw unicode decode to the intended text."""
    assert parse(text) == n.String(value)


@pytest.mark.parametrize("text, node", [
    ("true", n.Boolean(True)), ("false", n.Boolean(False)), ("null", n.Null()), ("now", n.Now()),
])
def test_constants(text, node):
    """true, false, null and now are their own nodes."""
    assert parse(text) == node


def test_dates():
    """A date literal is a calendar date, leap days included."""
    assert parse("2026-06-24") == n.Date(dt.date(2026, 6, 24))
    assert parse("2028-02-29") == n.Date(dt.date(2028, 2, 29))


@pytest.mark.parametrize("text, value", [
    ("2026-06-24T10:00:00Z", dt.datetime(2026, 6, 24, 10, tzinfo=UTC)),
    ("2026-06-24T10:00Z", dt.datetime(2026, 6, 24, 10, tzinfo=UTC)),
    ("2026-06-24T10:00:00+02:00",
     dt.datetime(2026, 6, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ("2026-06-24T10:00:00-05:30",
     dt.datetime(2026, 6, 24, 10, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30)))),
    ("2026-06-24T10:00:00", dt.datetime(2026, 6, 24, 10)),
    ("2026-06-24T10:00:00.250", dt.datetime(2026, 6, 24, 10, 0, 0, 250_000)),
])
def test_datetimes_with_z_offsets_or_naive(text, value):
    """Datetimes keep their offset ('Z' is UTC) or stay naive when written without one."""
    node = parse(text)
    assert node == n.DateTime(value)
    assert node.value.utcoffset() == value.utcoffset()


@pytest.mark.parametrize("text, amount, unit", [
    ("12h", 12, U.HOURS), ("30d", 30, U.DAYS), ("2w", 2, U.WEEKS), ("6m", 6, U.MONTHS),
    ("1y", 1, U.YEARS), ("1_000d", 1000, U.DAYS), ("0d", 0, U.DAYS),
])
def test_durations_of_each_unit(text, amount, unit):
    """A duration is a whole amount and one of the five units."""
    assert parse(text) == n.Duration(amount, unit)


def test_date_ranges():
    """Two dates joined by '..' are a range, both ends included; one day is fine."""
    assert parse("2026-06-24 .. 2026-07-21") == n.DateRange(dt.date(2026, 6, 24),
                                                            dt.date(2026, 7, 21))
    assert parse("2026-06-24..2026-06-24") == n.DateRange(dt.date(2026, 6, 24),
                                                          dt.date(2026, 6, 24))


@pytest.mark.parametrize("text, items", [
    ("[]", ()), ('["FR"]', (n.String("FR"),)), ('["FR", "BE"]', (n.String("FR"), n.String("BE"))),
    ('["FR", "BE",]', (n.String("FR"), n.String("BE"))),
    ("[1, [2, 3]]", (num(1), n.ListLiteral((num(2), num(3))))),
    ("[\n  a,\n  b + 1,\n]", (ref("a"), n.Arithmetic(A.ADD, ref("b"), num(1)))),
])
def test_lists_with_trailing_comma_and_nesting(text, items):
    """Lists hold any expressions, may nest, and accept a trailing comma."""
    assert parse(text) == n.ListLiteral(items)


# ------------------------------------------------------ names and calls


@pytest.mark.parametrize("text", ["country", "notable", "index", "order_count", "android",
                                  "isbn", "nowhere", "true_value", "_private", "x1", "between_2"])
def test_words_that_start_with_a_keyword_are_names(text):
    """Only whole keywords are reserved: 'notable' or 'index' are ordinary names."""
    assert parse(text) == ref(text)


def test_dotted_field_paths():
    """A field path is names joined by dots, kept as written."""
    node = parse("address.city.zip_code")
    assert node == n.Reference(("address", "city", "zip_code"))
    assert node.dotted == "address.city.zip_code"


def test_calls_with_positional_and_keyword_arguments():
    """Positional arguments come first; keyword arguments keep their order."""
    assert parse("purchased()") == n.Call("purchased")
    assert parse("visits(30d)") == n.Call("visits", (n.Duration(30, U.DAYS),))
    assert parse('orders(365d, category = "shoes", within = 30d,)') == n.Call(
        "orders", (n.Duration(365, U.DAYS),),
        (n.Keyword("category", n.String("shoes")), n.Keyword("within", n.Duration(30, U.DAYS))))


def test_keyword_argument_values_are_full_expressions():
    """A keyword's value may be a comparison: where = type == "visit"."""
    assert parse('count(events, where = type == "visit" and not x)') == n.Call(
        "count", (ref("events"),),
        (n.Keyword("where", n.And((n.Comparison(C.EQ, ref("type"), n.String("visit")),
                                   n.Not(ref("x"))))),))


def test_nested_calls():
    """Calls nest inside arguments."""
    assert parse("max(orders.total, within = days(3))") == n.Call(
        "max", (ref("orders.total"),), (n.Keyword("within", n.Call("days", (num(3),))),))


# ------------------------------------------------------------ operators


@pytest.mark.parametrize("op", list(C))
def test_every_comparison_operator(op):
    """Each comparison operator, symbol or word, builds a Comparison."""
    assert parse(f"a {op.value} b") == n.Comparison(op, ref("a"), ref("b"))


def test_membership_between_and_null_tests():
    """in, not in, between ... and ..., is null and is not null."""
    assert parse('country in ["FR"]') == n.Membership(ref("country"), n.ListLiteral((n.String("FR"),)))
    assert parse("tag not in tags") == n.Membership(ref("tag"), ref("tags"), negated=True)
    assert parse("age between 18 and 30 + 5") == n.Between(
        ref("age"), num(18), n.Arithmetic(A.ADD, num(30), num(5)))
    assert parse("email is null") == n.IsNull(ref("email"))
    assert parse("email is not null") == n.IsNull(ref("email"), negated=True)


def test_between_binds_its_and_before_the_boolean_and():
    """In 'x between 1 and 2 and y', the first 'and' belongs to between."""
    assert parse("x between 1 and 2 and y") == n.And(
        (n.Between(ref("x"), num(1), num(2)), ref("y")))


def test_not_binds_tighter_than_and_which_binds_tighter_than_or():
    """not > and > or."""
    assert parse("not a and b or c") == n.Or((n.And((n.Not(ref("a")), ref("b"))), ref("c")))
    assert parse("a or b and not c") == n.Or((ref("a"), n.And((ref("b"), n.Not(ref("c"))))))


def test_not_applies_to_a_whole_comparison():
    """'not a == b' negates the comparison, not just 'a'."""
    assert parse("not a == b") == n.Not(n.Comparison(C.EQ, ref("a"), ref("b")))
    assert parse("not not a") == n.Not(n.Not(ref("a")))


def test_and_and_or_chains_are_flat_but_parentheses_nest():
    """a and b and c is one And of three; parentheses keep their grouping."""
    assert parse("a and b and c") == n.And((ref("a"), ref("b"), ref("c")))
    assert parse("a or b or c") == n.Or((ref("a"), ref("b"), ref("c")))
    assert parse("(a and b) and c") == n.And((n.And((ref("a"), ref("b"))), ref("c")))
    assert parse("a and (b or c)") == n.And((ref("a"), n.Or((ref("b"), ref("c")))))


def test_comparison_binds_tighter_than_and():
    """a > 1 and b < 2 is a conjunction of two comparisons."""
    assert parse("a > 1 and b < 2") == n.And((n.Comparison(C.GT, ref("a"), num(1)),
                                              n.Comparison(C.LT, ref("b"), num(2))))


def test_arithmetic_precedence():
    """* / % bind tighter than + -, which bind tighter than comparisons."""
    assert parse("a + b * c") == n.Arithmetic(A.ADD, ref("a"), n.Arithmetic(A.MULTIPLY, ref("b"),
                                                                            ref("c")))
    assert parse("(a + b) * c") == n.Arithmetic(A.MULTIPLY, n.Arithmetic(A.ADD, ref("a"), ref("b")),
                                                ref("c"))
    assert parse("a % 2 == b - 1") == n.Comparison(
        C.EQ, n.Arithmetic(A.MODULO, ref("a"), num(2)), n.Arithmetic(A.SUBTRACT, ref("b"), num(1)))


@pytest.mark.parametrize("text, op", [("a - b - c", A.SUBTRACT), ("a / b / c", A.DIVIDE),
                                      ("a + b - c", None), ("a * b % c", None)])
def test_arithmetic_is_left_associative(text, op):
    """a - b - c is (a - b) - c, and a / b / c is (a / b) / c."""
    node = parse(text)
    assert isinstance(node.left, n.Arithmetic) and node.right == ref("c")
    assert node.left.left == ref("a") and node.left.right == ref("b")
    if op is not None:
        assert node.op == node.left.op == op


def test_unary_minus():
    """Unary minus applies to one operand; a negative literal is Negate of a Number."""
    assert parse("-4") == n.Negate(num(4))
    assert parse("--a") == n.Negate(n.Negate(ref("a")))
    assert parse("-a * b") == n.Arithmetic(A.MULTIPLY, n.Negate(ref("a")), ref("b"))
    assert parse("a - -b") == n.Arithmetic(A.SUBTRACT, ref("a"), n.Negate(ref("b")))


def test_date_arithmetic_with_now():
    """now - 90d is a subtraction like any other."""
    assert parse("last_order_at < now - 90d") == n.Comparison(
        C.LT, ref("last_order_at"), n.Arithmetic(A.SUBTRACT, n.Now(), n.Duration(90, U.DAYS)))


def test_comparisons_do_not_chain():
    """a < b < c is a syntax error, not (a < b) < c."""
    with pytest.raises(segdsl.ParseError):
        parse("a < b < c")


# -------------------------------------------------------------- statements


RULES = '''# Summer sale rules
period summer_sale = 2026-06-24 .. 2026-07-21

def bought_in(cat, window,) = orders(window, category = cat) >= 2
def anyone() = true

segment loyal_buyers "RFM recency and frequency 4-5" =
    rfm.recency >= 4 and rfm.frequency >= 4  # both scores

segment undecided =
    visits(30d) >= 10 and not purchased(30d)
'''


def test_a_rule_file_parses_to_its_statements():
    """Periods, defs and segments, with descriptions and parameters, in source order."""
    tree = segdsl.parse(RULES)
    assert tree.statements == (
        n.PeriodDef("summer_sale", n.DateRange(dt.date(2026, 6, 24), dt.date(2026, 7, 21))),
        n.FunctionDef("bought_in", (n.Parameter("cat"), n.Parameter("window")),
                      n.Comparison(C.GE, n.Call("orders", (ref("window"),),
                                                (n.Keyword("category", ref("cat")),)), num(2))),
        n.FunctionDef("anyone", (), n.Boolean(True)),
        n.SegmentDef("loyal_buyers", n.And((n.Comparison(C.GE, ref("rfm.recency"), num(4)),
                                            n.Comparison(C.GE, ref("rfm.frequency"), num(4)))),
                     "RFM recency and frequency 4-5"),
        n.SegmentDef("undecided", n.And((
            n.Comparison(C.GE, n.Call("visits", (n.Duration(30, U.DAYS),)), num(10)),
            n.Not(n.Call("purchased", (n.Duration(30, U.DAYS),)))))),
    )
    assert tree.find("undecided") is tree.statements[-1]
    assert tree.find("missing") is None


def test_comments_are_collected_with_their_positions():
    """Each comment keeps its text and exact place; a '#' inside a string is not one."""
    tree = segdsl.parse(RULES + 'segment s = a == "#x" # last', file="r.seg")
    assert [(c.text, where(c)) for c in tree.comments] == [
        ("# Summer sale rules", (1, 1, 1, 20)),
        ("# both scores", (8, 46, 8, 59)),
        ("# last", (12, 23, 12, 29)),
    ]
    assert {c.span.file for c in tree.comments} == {"r.seg"}


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment", "  # one\n# two\n"])
def test_empty_rule_files(text):
    """A file with no statements is valid and has no span."""
    tree = segdsl.parse(text)
    assert tree.statements == () and tree.span is None


def test_windows_line_endings():
    """CRLF line endings parse like LF; lines are still counted from 1."""
    tree = segdsl.parse("segment a =\r\n  b and\r\n  c\r\n")
    assert tree.statements[0].body == n.And((ref("b"), ref("c")))
    assert where(tree.statements[0].body) == (2, 3, 3, 4)


# ------------------------------------------------------------------ spans


def test_spans_of_literals_and_operators():
    """Spans give line, column, end line, end column, offsets and file name."""
    node = segdsl.parse_expression('visits(30d) >= 10 and country == "FR"', file="r.seg")
    assert node.span == n.Span(1, 1, 1, 38, 0, 37, "r.seg")
    call = node.operands[0].left
    assert call.span == n.Span(1, 1, 1, 12, 0, 11, "r.seg")
    assert call.args[0].span == n.Span(1, 8, 1, 11, 7, 10, "r.seg")
    assert node.operands[1].right.span == n.Span(1, 34, 1, 38, 33, 37, "r.seg")


def test_spans_of_a_multi_line_expression():
    """A node spanning lines ends on its last line, at the column after its last character."""
    text = "segment vip =\n    spent(365d) > 500\n    and country in [\"FR\",\n\"BE\"]"
    segment = segdsl.parse(text, file="r.seg").statements[0]
    assert where(segment) == (1, 1, 4, 6)
    assert where(segment.body) == (2, 5, 4, 6)
    membership = segment.body.operands[1]
    assert where(membership) == (3, 9, 4, 6)
    assert where(membership.container) == (3, 20, 4, 6)
    assert segment.name_span == n.Span(1, 9, 1, 12, 8, 11, "r.seg")


def test_spans_of_each_statement_and_the_file():
    """Statements start at their keyword; the file spans first to last statement."""
    tree = segdsl.parse(RULES)
    assert [where(s) for s in tree.statements] == [
        (2, 1, 2, 46), (4, 1, 4, 66), (5, 1, 5, 20), (7, 1, 8, 44), (10, 1, 11, 45)]
    assert where(tree) == (2, 1, 11, 45)
    assert [where(p) for p in tree.statements[1].params] == [(4, 15, 4, 18), (4, 20, 4, 26)]


def test_parentheses_belong_to_the_enclosing_span():
    """'(a)' is the node a with its own span; the node around it covers the parentheses."""
    node = parse("(a or b) and (c + d) * 2")
    inner_or, product = node.operands
    assert where(inner_or) == (1, 2, 1, 8)
    assert where(node) == (1, 1, 1, 25)
    assert where(product) == (1, 14, 1, 25)
    assert where(product.left) == (1, 15, 1, 20)


def test_span_of_a_keyword_argument_and_a_negation():
    """A keyword argument spans name to value; a negation starts at its operator."""
    node = parse("not orders(within = 30d)")
    assert where(node) == (1, 1, 1, 25)
    assert where(node.operand.keywords[0]) == (1, 12, 1, 24)


def test_file_name_reaches_every_span():
    """Every node of a parsed file carries the file name in its span."""
    tree = segdsl.parse(RULES, file="rules/summer.seg")
    pending = [tree]
    while pending:
        node = pending.pop()
        assert node.span.file == "rules/summer.seg"
        pending.extend(n.children(node))


# ---------------------------------------------------------------- threads


def test_parses_in_threads_keep_their_comments_apart():
    """Concurrent parses each collect only their own comments."""
    results: dict[int, tuple[str, ...]] = {}

    def work(i: int) -> None:
        for _ in range(50):
            tree = segdsl.parse(f"# file {i}\nsegment s{i} = a and b # end {i}")
            results[i] = tuple(c.text for c in tree.comments)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: (f"# file {i}", f"# end {i}") for i in range(8)}


# ------------------------------------------------------- the parser's tables

RULE_FILE = "# spring\nsegment a = visits(30d) >= 10 and not purchased(30d)\n"


def test_the_parser_tables_are_read_back_from_their_cache(tmp_path, monkeypatch):
    """A second parser built over the same cache file computes no table, and parses alike."""
    import lark.parsers.lalr_analysis as analysis

    from segdsl import parser

    expected = segdsl.parse(RULE_FILE)
    grammar = parser._grammar_path().read_text(encoding="utf-8")
    cache = tmp_path / "tables.pickle"
    parser.build_parser(grammar, str(cache))
    assert cache.stat().st_size > 1000

    def computed(self):
        raise AssertionError("the tables were computed again")

    monkeypatch.setattr(analysis.LALR_Analyzer, "compute_lalr", computed)
    reloaded = parser.build_parser(grammar, str(cache))
    monkeypatch.setattr(parser, "grammar_parser", lambda: reloaded)
    assert segdsl.parse(RULE_FILE) == expected


def test_a_damaged_cache_file_is_passed_over(tmp_path, monkeypatch):
    from segdsl import parser

    expected = segdsl.parse(RULE_FILE)
    cache = tmp_path / "tables.pickle"
    cache.write_bytes(b"not tables at all")
    built = parser.build_parser(parser._grammar_path().read_text(encoding="utf-8"), str(cache))
    monkeypatch.setattr(parser, "grammar_parser", lambda: built)
    assert segdsl.parse(RULE_FILE) == expected


def test_the_tables_cache_lies_in_the_users_cache_folder(tmp_path, monkeypatch):
    import lark

    from segdsl import parser

    monkeypatch.delenv("SEGDSL_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parser.tables_cache() == str(tmp_path / "segdsl"
                                        / f"parser-tables-lark-{lark.__version__}.pickle")
    assert (tmp_path / "segdsl").is_dir()
    monkeypatch.setenv("SEGDSL_NO_CACHE", "1")
    assert parser.tables_cache() is False


def test_no_cache_when_its_folder_cannot_be_made(tmp_path, monkeypatch):
    from segdsl import parser

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.delenv("SEGDSL_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert parser.tables_cache() is False
