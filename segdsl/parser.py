"""Rule text to syntax tree.

The grammar lives in ``grammar/segdsl.lark`` (shipped inside the wheel as
``segdsl/grammar/segdsl.lark``) and is compiled once per process. Parsing runs
in three steps: Lark's LALR parser builds a parse tree without recursion, a
loop measures the tree's depth against :data:`MAX_NESTING`, and a transformer
turns it into the frozen nodes of :mod:`segdsl.nodes`. Lark's exceptions never
leave this module: :mod:`segdsl.syntax_errors` turns them into
:class:`~segdsl.errors.ParseError` with a position and a message in words.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import re
from pathlib import Path

import lark
from lark import Token, Transformer, v_args

from segdsl import nodes as n
from segdsl.errors import LimitError, ParseError, SegdslError

#: Longest rule text accepted, in characters.
MAX_SOURCE_LENGTH = 10_000_000

#: Deepest nesting accepted (parentheses, unary operators, calls and lists
#: inside one another, and long chains of arithmetic operators). A rule file
#: nested deeper than this is rejected with a ``LimitError``.
MAX_NESTING = 100

_GRAMMAR_NAME = "segdsl.lark"


def _grammar_path() -> Path:
    """The grammar file: inside the installed package, or at the repository
    top for a source checkout or an editable install."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "grammar" / _GRAMMAR_NAME,
                      package_dir.parent / "grammar" / _GRAMMAR_NAME):
        if candidate.is_file():
            return candidate
    raise SegdslError(f"the segdsl grammar file {_GRAMMAR_NAME} is missing from the installation")


# Comments are ignored by the grammar; the lexer hands each one to this
# callback so the formatter can put them back. A context variable keeps
# concurrent parses apart.
_comment_sink: contextvars.ContextVar[list[Token]] = contextvars.ContextVar("comments")


def _collect_comment(token: Token) -> Token:
    _comment_sink.get().append(token)
    return token


@functools.cache
def grammar_parser() -> lark.Lark:
    """The Lark parser for rule files and single expressions, built once."""
    return lark.Lark(
        _grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["rule_file", "expression_only"],
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def parse(text: str, *, file: str | None = None) -> n.RuleFile:
    """Parse a rule file.

    Args:
        text: the rule file's text (``segment``, ``period`` and ``def``
            statements).
        file: the file name shown in error messages and kept in spans.

    Returns:
        The file's syntax tree, comments included.

    Raises:
        ParseError: the text is not a well-formed rule file.
        LimitError: the text is too long or too deeply nested.
    """
    comments: list[Token] = []
    tree = _parse_tree(text, "rule_file", file, comments)
    rule_file = _build(tree, text, file)
    return n.RuleFile(
        rule_file.statements,
        tuple(n.Comment(c.value, span=_token_span(c, file)) for c in comments),
        span=rule_file.span,
    )


def parse_expression(text: str, *, file: str | None = None) -> n.Expression:
    """Parse a single expression such as ``visits(30d) >= 10``.

    Raises:
        ParseError: the text is not a well-formed expression.
        LimitError: the text is too long or too deeply nested.
    """
    return _build(_parse_tree(text, "expression_only", file, []), text, file)


def _parse_tree(text: str, start: str, file: str | None, comments: list[Token]) -> lark.Tree:
    from segdsl.syntax_errors import translate  # the error tables load only when needed

    if not isinstance(text, str):
        raise SegdslError(f"rule text must be a string, not {type(text).__name__}")
    if len(text) > MAX_SOURCE_LENGTH:
        raise LimitError(f"rule text is {len(text):,} characters long; the limit is "
                         f"{MAX_SOURCE_LENGTH:,}", _point(text, 0, file), source=text)
    token = _comment_sink.set(comments)
    try:
        tree = grammar_parser().parse(text, start=start)
    except lark.exceptions.LarkError as error:
        raise translate(error, text, file, start) from None
    finally:
        _comment_sink.reset(token)
    _check_nesting(tree, text, file)
    return tree


def _check_nesting(tree: lark.Tree, text: str, file: str | None) -> None:
    depth: dict[int, int] = {}
    for subtree in tree.iter_subtrees():  # bottom-up, without recursion
        below = [depth[id(c)] for c in subtree.children if isinstance(c, lark.Tree)]
        depth[id(subtree)] = here = 1 + max(below, default=0)
        if here > MAX_NESTING:
            meta = subtree.meta
            raise LimitError(
                f"expression nested too deeply: more than {MAX_NESTING} levels",
                _meta_span(meta, file) if not meta.empty else _point(text, 0, file),
                source=text,
                hint="split it into smaller segments or defs and refer to them by name",
            )


def _build(tree: lark.Tree, text: str, file: str | None):
    try:
        return _TreeBuilder(file).transform(tree)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, SegdslError):
            raise error.orig_exc.located(text, file) from None
        raise


# ------------------------------------------------------------------ spans


def _token_span(token: Token, file: str | None) -> n.Span:
    return n.Span(token.line, token.column, token.end_line, token.end_column,
                  token.start_pos, token.end_pos, file)


def _meta_span(meta, file: str | None) -> n.Span:
    return n.Span(meta.line, meta.column, meta.end_line, meta.end_column,
                  meta.start_pos, meta.end_pos, file)


def _point(text: str, offset: int, file: str | None, length: int = 1) -> n.Span:
    """A span of ``length`` characters at character ``offset`` of ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return n.Span(line, column, line, column + length, offset, offset + length, file)


# --------------------------------------------------------------- literals

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)")


def _decode_string(token: Token, file: str | None) -> str:
    body = token.value[1:-1]

    def replace(match: re.Match) -> str:
        escape = match.group(1)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        if escape.startswith("u") and len(escape) == 5:
            return chr(int(escape[1:], 16))
        offset = token.start_pos + 1 + match.start()
        raise ParseError(f"unknown escape '\\{escape}' in string",
                         n.Span(token.line, token.column + 1 + match.start(), token.line,
                                token.column + 1 + match.end(), offset, offset + 2, file),
                         hint='the escapes are \\" \\\' \\\\ \\n \\t \\r \\0 and \\uXXXX')

    return _ESCAPE.sub(replace, body)


def _decode_number(token: Token, file: str | None) -> int | float:
    text = token.value.replace("_", "")
    if re.fullmatch(r"\d+", text):
        return int(text)
    value = float(text)
    if value == float("inf"):
        raise ParseError(f"number {token.value} is too large", _token_span(token, file))
    return value


def _decode_date(token: Token, file: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(token.value)
    except ValueError as error:
        raise ParseError(f"invalid date {token.value}: {error}", _token_span(token, file),
                         hint="dates are written YYYY-MM-DD, e.g. 2026-06-24") from None


def _decode_datetime(token: Token, file: str | None) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(token.value)
    except ValueError as error:
        raise ParseError(f"invalid datetime {token.value}: {error}", _token_span(token, file),
                         hint="datetimes are written like 2026-06-24T10:00:00Z") from None


_COMPARE_OPS = {op.value: op for op in n.CompareOp}
_ARITHMETIC_OPS = {op.value: op for op in n.ArithmeticOp}


# ------------------------------------------------------------ tree builder

RESERVED_WORDS = frozenset(
    ("segment", "period", "def", "and", "or", "not", "in", "is", "null", "true", "false", "now",
     "between", "contains", "starts_with", "ends_with", "matches")
)


def _name(token: Token, file: str | None) -> str:
    # The contextual lexer reads a keyword as a NAME where no keyword fits
    # (`segment in = ...`); such a name could never be referred to, so refuse it.
    if token.value in RESERVED_WORDS:
        raise ParseError(f"'{token.value}' is a reserved word and cannot be used as a name",
                         _token_span(token, file), hint="choose another name")
    return token.value


@v_args(meta=True)
class _TreeBuilder(Transformer):
    """Builds :mod:`segdsl.nodes` from Lark's parse tree, spans included."""

    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta) -> n.Span:
        return _meta_span(meta, self.file)

    def _tspan(self, token: Token) -> n.Span:
        return _token_span(token, self.file)

    # files and statements

    def rule_file(self, meta, statements):
        return n.RuleFile(tuple(statements), span=None if meta.empty else self._span(meta))

    def expression_only(self, meta, children):
        return children[0]

    def segment_def(self, meta, children):
        _, name, *rest = children
        description = rest[0] if len(rest) == 2 else None
        return n.SegmentDef(_name(name, self.file), rest[-1], description, span=self._span(meta),
                            name_span=self._tspan(name))

    def description(self, meta, children):
        return _decode_string(children[0], self.file)

    def period_def(self, meta, children):
        _, name, date_range = children
        return n.PeriodDef(_name(name, self.file), date_range, span=self._span(meta),
                           name_span=self._tspan(name))

    def function_def(self, meta, children):
        _, name, *rest = children
        params = rest[0] if len(rest) == 2 else ()
        return n.FunctionDef(_name(name, self.file), params, rest[-1], span=self._span(meta),
                             name_span=self._tspan(name))

    def params(self, meta, names):
        seen: set[str] = set()
        for name in names:
            if name.value in seen:
                raise ParseError(f"parameter '{name.value}' is listed twice", self._tspan(name))
            seen.add(name.value)
        return tuple(n.Parameter(_name(name, self.file), span=self._tspan(name)) for name in names)

    # boolean logic

    def or_expr(self, meta, children):
        return n.Or(tuple(children[::2]), span=self._span(meta))

    def and_expr(self, meta, children):
        return n.And(tuple(children[::2]), span=self._span(meta))

    def not_(self, meta, children):
        return n.Not(children[1], span=self._span(meta))

    # comparisons

    def compare(self, meta, children):
        left, op, right = children
        return n.Comparison(_COMPARE_OPS[op.value], left, right, span=self._span(meta))

    def membership(self, meta, children):
        return n.Membership(children[0], children[-1], negated=len(children) == 4,
                            span=self._span(meta))

    def between(self, meta, children):
        operand, _, low, _, high = children
        return n.Between(operand, low, high, span=self._span(meta))

    def is_null(self, meta, children):
        return n.IsNull(children[0], negated=len(children) == 4, span=self._span(meta))

    # arithmetic

    def _arithmetic_chain(self, children):
        # Left-associative: a - b - c is (a - b) - c.
        node = children[0]
        for op, right in zip(children[1::2], children[2::2]):
            span = node.span.merge(right.span)
            node = n.Arithmetic(_ARITHMETIC_OPS[op.value], node, right, span=span)
        return node

    def sum(self, meta, children):
        return self._arithmetic_chain(children)

    def product(self, meta, children):
        return self._arithmetic_chain(children)

    def negate(self, meta, children):
        return n.Negate(children[1], span=self._span(meta))

    # atoms

    def parenthesized(self, meta, children):
        return children[1]

    def now(self, meta, children):
        return n.Now(span=self._span(meta))

    def reference(self, meta, names):
        return n.Reference(tuple(_name(name, self.file) for name in names), span=self._span(meta))

    def call(self, meta, children):
        name, _, *rest = children
        arguments = rest[0] if len(rest) == 2 else []
        positional = tuple(a for a in arguments if not isinstance(a, n.Keyword))
        keywords = tuple(a for a in arguments if isinstance(a, n.Keyword))
        self._check_argument_order(arguments)
        return n.Call(_name(name, self.file), positional, keywords, span=self._span(meta))

    def _check_argument_order(self, arguments) -> None:
        seen_keyword = False
        names: set[str] = set()
        for argument in arguments:
            if isinstance(argument, n.Keyword):
                if argument.name in names:
                    raise ParseError(f"argument '{argument.name}' is given twice", argument.span)
                names.add(argument.name)
                seen_keyword = True
            elif seen_keyword:
                raise ParseError("a positional argument cannot follow a keyword argument",
                                 argument.span,
                                 hint="put positional arguments first: f(30d, category = \"shoes\")")

    def arguments(self, meta, children):
        return children

    def keyword(self, meta, children):
        name, value = children
        return n.Keyword(_name(name, self.file), value, span=self._span(meta))

    def list(self, meta, children):
        return n.ListLiteral(tuple(children[1:-1]), span=self._span(meta))

    def date_range(self, meta, children):
        start_token, _, end_token = children
        start = _decode_date(start_token, self.file)
        end = _decode_date(end_token, self.file)
        if end < start:
            raise ParseError(f"period ends on {end} before it starts on {start}",
                             self._span(meta), hint="write the earlier date first")
        return n.DateRange(start, end, span=self._span(meta))

    # literals

    def number(self, meta, children):
        return n.Number(_decode_number(children[0], self.file), span=self._span(meta))

    def string(self, meta, children):
        return n.String(_decode_string(children[0], self.file), span=self._span(meta))

    def true(self, meta, children):
        return n.Boolean(True, span=self._span(meta))

    def false(self, meta, children):
        return n.Boolean(False, span=self._span(meta))

    def null(self, meta, children):
        return n.Null(span=self._span(meta))

    def date(self, meta, children):
        return n.Date(_decode_date(children[0], self.file), span=self._span(meta))

    def datetime(self, meta, children):
        return n.DateTime(_decode_datetime(children[0], self.file), span=self._span(meta))

    def duration(self, meta, children):
        token = children[0]
        amount = int(token.value[:-1].replace("_", ""))
        return n.Duration(amount, n.DurationUnit(token.value[-1]), span=self._span(meta))
