"""Rule text to syntax tree.

The grammar lives in ``grammar/segdsl.lark`` (shipped inside the wheel as
``segdsl/grammar/segdsl.lark``) and is compiled once per process. Lark's LALR
parser reads the text without recursion and calls the tree builder below at
each reduction, so the frozen nodes of :mod:`segdsl.nodes` are built while
parsing, with no intermediate parse tree to walk. The builder computes every
span from the tokens it is handed and measures nesting as it goes.

Lark's exceptions never leave this module: :mod:`segdsl.syntax_errors` turns
them into :class:`~segdsl.errors.ParseError` with a position and a message in
words.

Limits:
    :data:`MAX_SOURCE_LENGTH` characters of rule text, and
    :data:`MAX_NESTING` levels of nesting in one expression. Beyond either,
    parsing stops with a :class:`~segdsl.errors.LimitError`. Numbers must fit a
    double (about 1.8e308) and durations 9999 years, the span of the dates the
    language can write.
"""

from __future__ import annotations

import calendar
import contextvars
import datetime as dt
import functools
import os
import re
import sys
from pathlib import Path

import lark
from lark import Token

from segdsl import nodes as n
from segdsl.errors import LimitError, ParseError, SegdslError

#: Longest rule text accepted, in characters.
MAX_SOURCE_LENGTH = 10_000_000

#: Deepest nesting accepted in one expression. A name or literal is level 0;
#: each construct around it adds one: a pair of parentheses, ``not``, unary
#: minus, a comparison, a call, a keyword argument, a list, and each operator
#: of an arithmetic chain (``a + b + c`` nests as ``(a + b) + c``). ``and`` and
#: ``or`` chains stay flat, one level however long. So ``(((a)))`` is 3 levels
#: and ``f(x, within = [1 + 2])`` is 4. Deeper expressions are rejected with a
#: ``LimitError``, which keeps every later stage clear of recursion limits.
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


class _ParseState:
    """What one parse collects: its file name, comments, and for the nodes
    built so far their nesting depth and their extent including parentheses."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.comments: list[Token] = []
        # Keyed by id(): every node built stays referenced by the parser's
        # stack or by its parent until the parse ends, so ids are not reused.
        self.depth: dict[int, int] = {}
        self.parenthesized: dict[int, n.Span] = {}


# The tree builder and the comment callback are bound into the one shared Lark
# parser; a context variable hands them the state of the parse in progress, so
# concurrent parses (threads or tasks) stay apart.
_state: contextvars.ContextVar[_ParseState] = contextvars.ContextVar("segdsl_parse_state")


def _collect_comment(token: Token) -> Token:
    _state.get().comments.append(token)
    return token


@functools.cache
def grammar_parser() -> lark.Lark:
    """The Lark parser for rule files and single expressions, built once.

    The basic lexer (not the contextual one) always reads a keyword as a
    keyword: ``a and and b`` fails at the second ``and``, where the mistake
    is, instead of reading it as a name and failing later.
    """
    return build_parser(_grammar_path().read_text(encoding="utf-8"), tables_cache())


def build_parser(grammar: str, cache: str | bool = False) -> lark.Lark:
    """The LALR parser of ``grammar``; with ``cache`` a file path, its tables
    are read from that file when Lark wrote it for the same grammar, options
    and Lark version, and written there otherwise (a file that cannot be read
    or written is passed over: the tables are then computed, about 0.1 s)."""
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        start=["rule_file", "expression_only"],
        maybe_placeholders=False,
        transformer=_TreeBuilder(),
        lexer_callbacks={"COMMENT": _collect_comment},
        cache=cache,
    )


def tables_cache() -> str | bool:
    """Where the parser's tables are kept between runs: ``segdsl/`` in the
    user's cache folder (``$XDG_CACHE_HOME``, else ``~/.cache``); False when
    ``SEGDSL_NO_CACHE`` is set or the folder cannot be made."""
    if os.environ.get("SEGDSL_NO_CACHE"):
        return False
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "segdsl"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    return str(folder / f"parser-tables-lark-{lark.__version__}.pickle")


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
    state = _ParseState(file)
    rule_file = _parse(text, "rule_file", state)
    return n.RuleFile(
        rule_file.statements,
        # A comment ends before the \r of a CRLF line ending.
        tuple(n.Comment(c.value.removesuffix("\r"), span=_token_span(c, file))
              for c in state.comments),
        span=rule_file.span,
    )


def parse_expression(text: str, *, file: str | None = None) -> n.Expression:
    """Parse a single expression such as ``visits(30d) >= 10``.

    Raises:
        ParseError: the text is not a well-formed expression.
        LimitError: the text is too long or too deeply nested.
    """
    return _parse(text, "expression_only", _ParseState(file))


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, comments left out, up to the first character
    no token matches. Used to explain syntax errors."""
    tokens: list[Token] = []
    marker = _state.set(_ParseState(None))  # comments met here belong to no parse
    try:
        tokens.extend(grammar_parser().lex(text))
    except lark.exceptions.LarkError:
        pass
    finally:
        _state.reset(marker)
    return tokens


def _parse(text: str, start: str, state: _ParseState):
    from segdsl.syntax_errors import translate  # the error tables load only when needed

    if not isinstance(text, str):
        raise SegdslError(f"rule text must be a string, not {type(text).__name__}")
    text = strip_bom(text)
    if len(text) > MAX_SOURCE_LENGTH:
        # No source attached: rendering would print the whole oversized text.
        raise LimitError(f"rule text is {len(text):,} characters long; the limit is "
                         f"{MAX_SOURCE_LENGTH:,}", _point(text, 0, state.file),
                         hint="split the rules over several files")
    _refuse_surrogates(text, state.file)
    token = _state.set(state)
    try:
        return grammar_parser().parse(text, start=start)
    except lark.exceptions.LarkError as error:
        raise translate(error, text, state.file, start) from None
    except SegdslError as error:  # raised by the tree builder, already positioned
        raise error.located(text, state.file) from None
    finally:
        _state.reset(token)


BOM = "\ufeff"


def strip_bom(text: str) -> str:
    """``text`` without the UTF-8 byte-order mark some editors write first.

    Positions are counted after the mark, as editors show them.
    """
    return text[1:] if text.startswith(BOM) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(text: str, file: str | None) -> None:
    # Half of a UTF-16 pair is no character: it could not be written out again.
    found = _SURROGATE.search(text)
    if found is not None:
        raise ParseError(f"the text holds '\\u{ord(found.group()):04x}', half of a UTF-16 "
                         f"surrogate pair, which is not a character",
                         _point(text, found.start(), file), source=text,
                         hint="save the file as UTF-8 text, or write the character itself")


# ------------------------------------------------------------------ spans


def _token_span(token: Token, file: str | None) -> n.Span:
    return n.Span(token.line, token.column, token.end_line, token.end_column,
                  token.start_pos, token.end_pos, file)


def _point(text: str, offset: int, file: str | None, length: int = 1) -> n.Span:
    """A span of ``length`` characters at character ``offset`` of ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return n.Span(line, column, line, column + length, offset, offset + length, file)


# --------------------------------------------------------------- literals

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_ESCAPE = re.compile(r"\\(u[dD][89abAB][0-9A-Fa-f]{2}\\u[dD][c-fC-F][0-9A-Fa-f]{2}"
                     r"|u[0-9A-Fa-f]{4}|.)")
_ESCAPES_HINT = 'the escapes are \\" \\\' \\\\ \\n \\t \\r \\0 and \\uXXXX'


def _decode_string(token: Token, file: str | None) -> str:
    body = token.value[1:-1]

    def replace(match: re.Match) -> str:
        escape = match.group(1)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        width = len(escape) + 1
        if escape.startswith("u") and len(escape) == 11:  # a surrogate pair: one character
            return chr(0x10000 + (int(escape[1:5], 16) - 0xD800) * 0x400
                       + int(escape[7:], 16) - 0xDC00)
        if escape.startswith("u") and len(escape) == 5:
            code = int(escape[1:], 16)
            if not 0xD800 <= code <= 0xDFFF:
                return chr(code)
            # A lone surrogate cannot be written out as UTF-8 later on.
            problem, hint = (f"'\\{escape}' is a UTF-16 surrogate, not a character",
                             ("write the character itself (\"😀\"), or both halves of its "
                             "pair: \"\\ud83d\\ude00\""))
        elif escape == "u":
            rest = body[match.end():match.end() + 4]
            width += len(rest) - len(rest.lstrip("0123456789abcdefABCDEF"))
            problem, hint = ("'\\u' needs four hexadecimal digits", "e.g. \\u00e9 for é")
        else:
            problem, hint = f"unknown escape '\\{escape}' in string", _ESCAPES_HINT
        offset = token.start_pos + 1 + match.start()
        column = token.column + 1 + match.start()
        raise ParseError(problem, n.Span(token.line, column, token.line, column + width,
                                         offset, offset + width, file), hint=hint)

    return _ESCAPE.sub(replace, body)


# Integers beyond the largest double could not mix with decimals in arithmetic.
_LARGEST_NUMBER = sys.float_info.max
_NUMBER_HINT = "numbers go up to about 1.8e308"


def _decode_number(token: Token, file: str | None) -> int | float:
    text = token.value.replace("_", "")
    if text.isdigit():
        # Checked before int(): Python refuses to convert over 4300 digits.
        if len(text) > 309 or int(text) > _LARGEST_NUMBER:
            raise ParseError(f"number {_shorten(token.value)} is too large",
                             _token_span(token, file), hint=_NUMBER_HINT)
        return int(text)
    value = float(text)
    if value == float("inf"):
        raise ParseError(f"number {_shorten(token.value)} is too large", _token_span(token, file),
                         hint=_NUMBER_HINT)
    return value


def _shorten(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


# The dates the language can write span years 1 to 9999; a longer duration
# could only overflow date arithmetic.
_LONGEST_DURATION = {"y": 9999, "m": 9999 * 12, "w": 9999 * 366 // 7, "d": 9999 * 366,
                     "h": 9999 * 366 * 24}


def _decode_duration(token: Token, file: str | None) -> n.Duration:
    digits, unit = token.value[:-1].replace("_", ""), token.value[-1]
    longest = _LONGEST_DURATION[unit]
    if len(digits) > len(str(longest)) or int(digits) > longest:
        raise ParseError(f"duration {_shorten(token.value)} is too long", _token_span(token, file),
                         hint=f"the longest duration is 9999 years ({longest}{unit})")
    return n.Duration(int(digits), n.DurationUnit(unit), span=_token_span(token, file))


_DATE_PARTS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME_PARTS = re.compile(r"T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
                         r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))?")


def _date_problem(text: str) -> str | None:
    """Why ``YYYY-MM-DD`` at the start of ``text`` is not a calendar date."""
    match = _DATE_PARTS.match(text)
    if match is None:
        return "write the digits 0 to 9"
    year, month, day = (int(part) for part in match.groups())
    if year == 0:
        return "there is no year 0"
    if not 1 <= month <= 12:
        return f"there is no month {match.group(2)}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    return None


def _time_problem(text: str) -> str | None:
    """Why the ``THH:MM[:SS][offset]`` part of ``text`` is not a time of day."""
    match = _TIME_PARTS.fullmatch(text, 10)
    if match is None:
        return "write the digits 0 to 9"
    hour, minute, second, offset_hours, offset_minutes = match.groups()
    for value, limit, what in ((hour, 23, "hour"), (minute, 59, "minute"), (second, 59, "second"),
                               (offset_hours, 23, "offset hour"),
                               (offset_minutes, 59, "offset minute")):
        if value is not None and int(value) > limit:
            return f"there is no {what} {value} (the last is {limit})"
    return None


def _decode_date(token: Token, file: str | None) -> dt.date:
    problem = _date_problem(token.value)
    if problem is not None:
        raise ParseError(f"invalid date {token.value}: {problem}", _token_span(token, file),
                         hint="dates are written YYYY-MM-DD, e.g. 2026-06-24")
    return dt.date.fromisoformat(token.value)


def _decode_datetime(token: Token, file: str | None) -> dt.datetime:
    problem = _date_problem(token.value) or _time_problem(token.value)
    if problem is not None:
        raise ParseError(f"invalid datetime {token.value}: {problem}", _token_span(token, file),
                         hint="datetimes are written like 2026-06-24T10:00:00Z")
    return dt.datetime.fromisoformat(token.value)


_COMPARE_OPS = {op.value: op for op in n.CompareOp}
_ARITHMETIC_OPS = {op.value: op for op in n.ArithmeticOp}


# ------------------------------------------------------------ tree builder

#: Words of the language that can never be names. The lexer reads them as
#: keywords wherever they appear, so no rule can refer to a field, segment or
#: parameter of that name.
RESERVED_WORDS = frozenset(
    ("segment", "period", "def", "and", "or", "not", "in", "is", "null", "true", "false", "now",
     "today", "between", "contains", "starts_with", "ends_with", "matches", "as")
)


class _TreeBuilder:
    """Builds :mod:`segdsl.nodes` at each reduction of Lark's parser.

    Each method gets the children of one grammar rule: tokens, and nodes built
    by earlier reductions. A node's span runs from its first to its last
    child, parentheses around a child included; ``(a)`` itself is the node
    ``a``, whose span stays inside the parentheses.
    """

    # --- helpers

    @staticmethod
    def _extent(state: _ParseState, child) -> n.Span:
        if isinstance(child, Token):
            return _token_span(child, state.file)
        return state.parenthesized.get(id(child)) or child.span

    def _span(self, state: _ParseState, first, last) -> n.Span:
        start, end = self._extent(state, first), self._extent(state, last)
        return n.Span(start.line, start.column, end.end_line, end.end_column, start.start,
                      end.end, state.file)

    @staticmethod
    def _depth(state: _ParseState, child) -> int:
        return state.depth.get(id(child), 0)

    def _nest(self, state: _ParseState, node, children, token: Token):
        """Record ``node``'s depth, one more than its deepest child's (a
        literal or a name has depth 0)."""
        depth = 1 + max((self._depth(state, c) for c in children if isinstance(c, n.Node)),
                        default=0)
        self._record_depth(state, node, depth, token)
        return node

    @staticmethod
    def _record_depth(state: _ParseState, node, depth: int, token: Token) -> None:
        if depth > MAX_NESTING:
            raise LimitError(f"expression nested too deeply: more than {MAX_NESTING} levels",
                             _token_span(token, state.file),
                             hint="split it into smaller segments or defs and refer to them "
                                  "by name")
        state.depth[id(node)] = depth

    # --- files and statements

    def rule_file(self, statements):
        state = _state.get()
        span = self._span(state, statements[0], statements[-1]) if statements else None
        return n.RuleFile(tuple(statements), span=span)

    def expression_only(self, children):
        return children[0]

    def segment_def(self, children):
        state = _state.get()
        keyword, name, *rest = children
        description = rest[0] if len(rest) == 2 else None
        return n.SegmentDef(name.value, rest[-1], description,
                            span=self._span(state, keyword, rest[-1]),
                            name_span=_token_span(name, state.file))

    def description(self, children):
        return _decode_string(children[0], _state.get().file)

    def period_def(self, children):
        state = _state.get()
        keyword, name, date_range = children
        return n.PeriodDef(name.value, date_range, span=self._span(state, keyword, date_range),
                           name_span=_token_span(name, state.file))

    def function_def(self, children):
        state = _state.get()
        keyword, name, *rest = children
        params = rest[0] if len(rest) == 2 else ()
        return n.FunctionDef(name.value, params, rest[-1],
                             span=self._span(state, keyword, rest[-1]),
                             name_span=_token_span(name, state.file))

    def params(self, names):
        state = _state.get()
        seen: set[str] = set()
        for name in names:
            if name.value in seen:
                raise ParseError(f"parameter '{name.value}' is listed twice",
                                 _token_span(name, state.file),
                                 hint="give each parameter its own name")
            seen.add(name.value)
        return tuple(n.Parameter(name.value, span=_token_span(name, state.file))
                     for name in names)

    # --- boolean logic

    def or_expr(self, children):
        state = _state.get()
        node = n.Or(tuple(children[::2]), span=self._span(state, children[0], children[-1]))
        return self._nest(state, node, children, children[1])

    def and_expr(self, children):
        state = _state.get()
        node = n.And(tuple(children[::2]), span=self._span(state, children[0], children[-1]))
        return self._nest(state, node, children, children[1])

    def not_(self, children):
        state = _state.get()
        node = n.Not(children[1], span=self._span(state, children[0], children[1]))
        return self._nest(state, node, children, children[0])

    # --- comparisons

    def compare(self, children):
        state = _state.get()
        left, op, right = children
        node = n.Comparison(_COMPARE_OPS[op.value], left, right,
                            span=self._span(state, left, right))
        return self._nest(state, node, children, op)

    def membership(self, children):
        state = _state.get()
        node = n.Membership(children[0], children[-1], negated=len(children) == 4,
                            span=self._span(state, children[0], children[-1]))
        return self._nest(state, node, children, children[1])

    def between(self, children):
        state = _state.get()
        operand, keyword, low, _, high = children
        node = n.Between(operand, low, high, span=self._span(state, operand, high))
        return self._nest(state, node, children, keyword)

    def is_null(self, children):
        state = _state.get()
        node = n.IsNull(children[0], negated=len(children) == 4,
                        span=self._span(state, children[0], children[-1]))
        return self._nest(state, node, children, children[1])

    # --- arithmetic

    def _arithmetic_chain(self, children):
        # Left-associative: a - b - c is (a - b) - c, one level deeper per operator.
        state = _state.get()
        node = children[0]
        depth = self._depth(state, node)
        for op, right in zip(children[1::2], children[2::2]):
            span = self._span(state, node, right)
            node = n.Arithmetic(_ARITHMETIC_OPS[op.value], node, right, span=span)
            depth = 1 + max(depth, self._depth(state, right))
            self._record_depth(state, node, depth, op)
        return node

    def sum(self, children):
        return self._arithmetic_chain(children)

    def product(self, children):
        return self._arithmetic_chain(children)

    def negate(self, children):
        state = _state.get()
        node = n.Negate(children[1], span=self._span(state, children[0], children[1]))
        return self._nest(state, node, children, children[0])

    # --- atoms

    def parenthesized(self, children):
        state = _state.get()
        opener, inner, closer = children
        state.parenthesized[id(inner)] = self._span(state, opener, closer)
        self._record_depth(state, inner, self._depth(state, inner) + 1, opener)
        return inner

    def now(self, children):
        return n.Now(span=_token_span(children[0], _state.get().file))

    def today(self, children):
        return n.Today(span=_token_span(children[0], _state.get().file))

    def reference(self, names):
        state = _state.get()
        span = (_token_span(names[0], state.file) if len(names) == 1
                else self._span(state, names[0], names[-1]))
        return n.Reference(tuple(name.value for name in names), span=span)

    def call(self, children):
        state = _state.get()
        name, _, *rest = children
        arguments = rest[0] if len(rest) == 2 else []
        self._check_argument_order(arguments)
        node = n.Call(name.value, tuple(a for a in arguments if not isinstance(a, n.Keyword)),
                      tuple(a for a in arguments if isinstance(a, n.Keyword)),
                      span=self._span(state, name, rest[-1]))
        return self._nest(state, node, arguments, name)

    @staticmethod
    def _check_argument_order(arguments) -> None:
        seen_keyword = False
        names: set[str] = set()
        for argument in arguments:
            if isinstance(argument, n.Keyword):
                if argument.name in names:
                    raise ParseError(f"argument '{argument.name}' is given twice", argument.span,
                                     hint="give each keyword argument once")
                names.add(argument.name)
                seen_keyword = True
            elif seen_keyword:
                raise ParseError("a positional argument cannot follow a keyword argument",
                                 argument.span,
                                 hint="put positional arguments first: f(30d, category = \"shoes\")")

    def arguments(self, children):
        return children

    def keyword(self, children):
        state = _state.get()
        name, value = children
        node = n.Keyword(name.value, value, span=self._span(state, name, value))
        return self._nest(state, node, children, name)

    def alias(self, children):
        state = _state.get()
        value, _, name = children
        node = n.Alias(value, name.value, span=self._span(state, value, name))
        return self._nest(state, node, children, name)

    def list(self, children):
        state = _state.get()
        node = n.ListLiteral(tuple(children[1:-1]),
                             span=self._span(state, children[0], children[-1]))
        return self._nest(state, node, children, children[0])

    def date_range(self, children):
        state = _state.get()
        start_token, _, end_token = children
        start = _decode_date(start_token, state.file)
        end = _decode_date(end_token, state.file)
        span = self._span(state, start_token, end_token)
        if end < start:
            raise ParseError(f"period ends on {end} before it starts on {start}", span,
                             hint="write the earlier date first")
        return n.DateRange(start, end, span=span)

    # --- literals

    def number(self, children):
        state = _state.get()
        return n.Number(_decode_number(children[0], state.file), text=children[0].value,
                        span=_token_span(children[0], state.file))

    def string(self, children):
        state = _state.get()
        return n.String(_decode_string(children[0], state.file),
                        span=_token_span(children[0], state.file))

    def true(self, children):
        return n.Boolean(True, span=_token_span(children[0], _state.get().file))

    def false(self, children):
        return n.Boolean(False, span=_token_span(children[0], _state.get().file))

    def null(self, children):
        return n.Null(span=_token_span(children[0], _state.get().file))

    def date(self, children):
        state = _state.get()
        return n.Date(_decode_date(children[0], state.file),
                      span=_token_span(children[0], state.file))

    def datetime(self, children):
        state = _state.get()
        return n.DateTime(_decode_datetime(children[0], state.file),
                          span=_token_span(children[0], state.file))

    def duration(self, children):
        return _decode_duration(children[0], _state.get().file)
