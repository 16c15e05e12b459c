"""The canonical layout of rule files, as printed by ``segdsl fmt`` and :func:`segdsl.format`.

Formatting parses the text and prints the syntax tree back, so it never changes
what rules mean; every comment is kept, and formatting formatted text changes
nothing: ``format_text(format_text(t)) == format_text(t)``.

The layout:

Files
    * Statements are separated by exactly one blank line. Consecutive one-line
      ``period`` statements, and consecutive one-line ``def`` statements, stay
      adjacent when they were adjacent in the source.
    * Never more than one blank line; none at the top; the file ends with
      exactly one newline; no line ends with spaces.

Statements
    * ``segment name "description" = body`` stays on one line when it fits in
      :data:`LINE_WIDTH` (88) columns. Otherwise the line breaks after ``=``
      and the body is indented 4 spaces. ``def`` works the same way.
    * A body that still does not fit breaks its ``and``/``or`` chain one
      operand per line, the operator leading each continuation line. An
      ``and`` chain inside an ``or`` chain hangs 4 spaces deeper; a
      parenthesised chain that does not fit puts ``(`` and ``)`` at the ends
      of their lines and its operands 4 spaces deeper, and so on down.
    * Calls, lists and ``def`` parameters that do not fit put one item per
      line, indented 4 spaces, with a trailing comma; a keyword argument
      whose value does not fit breaks after its ``=``.

Expressions
    * Binary operators are spaced (``a >= 4``, ``now - 90d``), keyword
      arguments too (``within = 30d``); ``, `` after commas; no space inside
      parentheses and brackets; ranges are ``2026-06-24 .. 2026-07-21``.
    * Parentheses only where precedence needs them (``or`` < ``and`` <
      ``not`` < comparisons < ``+ -`` < ``* / %`` < unary minus), which
      includes a chain written inside a chain of the same operator:
      ``(a and b) and c``; and around an ``and`` inside an ``or``
      (``a or (b and c)``) and around a comparison under ``not``
      (``not (country == "FR")``), for readers who do not recall which binds
      tighter.
    * Strings in double quotes with the fewest escapes (``\\"``, ``\\\\``,
      ``\\n``, ``\\t``, ``\\r``, ``\\0``, and ``\\uXXXX`` for other invisible
      characters). Numbers as written (``1_000`` and ``1.5e3`` stay so); in a
      tree built in Python, integers as plain digits and decimals as Python's
      ``repr`` (``0.1``, ``1e+20``), which reads back as the same float. Dates
      and datetimes in ISO 8601, ``Z`` for UTC.
    * Line endings as in the source: a file whose first line ends with
      ``\\r\\n`` is written with ``\\r\\n`` throughout. A UTF-8 byte-order mark
      at the start stays.

Comments
    * Comments keep their text exactly (trailing spaces aside) and stay with
      their statement.
    * A comment on its own line before a statement stays above it; blank lines
      between such comments and the statement are kept (one at most).
      Comments after the last statement stay at the end.
    * A comment after code stays at the end of that code's line, two spaces
      before the ``#``.
    * A comment inside an expression sticks to the nearest operand, argument,
      list item or parameter: on its own line before it, or at the end of its
      line. The chain, call or list around it is broken so that it can.
    * A comment with no such place (inside a ``period``, after the last code
      of a call, a second comment after the same operand) moves onto its own
      line: before the next operand of its statement, else above the statement.

How it works: each node becomes a *document* (text, line breaks that may or
may not be taken, groups that print flat when they fit), in the manner of
Wadler's "prettier printer" and the prettier tool; a single dispatch table maps
node classes to the functions that build them. Comments are placed first, by
position, in slots of the nodes they stick to; the documents print them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import re
from typing import Any, Callable, Iterable, Sequence, Union

import attrs

from segdsl import nodes as n
from segdsl.parser import BOM, parse, parse_expression, strip_bom

#: Longest line the layout aims for, in characters.
LINE_WIDTH = 88

#: Spaces per level of indentation.
INDENT = 4


# ------------------------------------------------------------------ public API


def format_text(text: str, *, file: str | None = None) -> str:
    """Formats a rule file in the canonical layout, keeping every comment.

    Args:
        text: the rule file.
        file: the file name shown in error messages.

    Returns:
        The formatted text: empty for a file with neither statements nor
        comments, otherwise ending with exactly one newline.

    Raises:
        ParseError: the text is not a well-formed rule file.
        LimitError: the text is too long or too deeply nested.
    """
    bom = BOM if text.startswith(BOM) else ""
    text, newline = _split_line_ending(strip_bom(text))
    tree = parse(text, file=file)
    units = [_Unit.for_statement(statement, text) for statement in tree.statements]
    comments = [(comment.span.start, comment.text) for comment in tree.comments]
    ending = _place_comments(units, comments, text)
    formatted = _join_lines(_layout_lines(units, ending), final_newline=True)
    return bom + formatted.replace("\n", newline) if formatted else formatted


def _split_line_ending(text: str) -> tuple[str, str]:
    """``text`` with ``\\n`` line endings, and the ending its first line had."""
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        return text.replace("\r\n", "\n"), "\r\n"
    return text, "\n"


def format_expression(text: str) -> str:
    """Formats a single expression, such as a rule typed in the REPL.

    The result has no final newline; it spans several lines only when the
    expression is too long for one or holds comments, which are kept.

    Raises:
        ParseError: the text is not a well-formed expression.
        LimitError: the text is too long or too deeply nested.
    """
    text = strip_bom(text).replace("\r\n", "\n")
    expression = parse_expression(text)
    unit = _Unit.for_expression(expression, text)
    ending = _place_comments([unit], _scan_comments(text), text)
    return _join_lines(_layout_lines([unit], ending), final_newline=False)


def render(node: n.Node) -> str:
    """Prints a syntax tree in the canonical layout, without comments.

    Args:
        node: a :class:`~segdsl.nodes.RuleFile`, a statement or an expression.

    Returns:
        Text that parses back to an equal tree. A rule file ends with a
        newline; a statement or an expression does not.

    Raises:
        TypeError: ``node`` is not a syntax tree node.
        ValueError: the tree holds a value that cannot be written: a number
            that is infinite or not a number, a string with a lone surrogate.
    """
    if isinstance(node, n.RuleFile):
        units = [_Unit(statement) for statement in node.statements]
        return _join_lines(_layout_lines(units, []), final_newline=True)
    return _print(_doc(node, _Slots()))


# --------------------------------------------------------------- literal text

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _string_text(value: str) -> str:
    """A string literal: double quotes and the fewest escapes."""
    return '"' + "".join(_escaped(character) for character in value) + '"'


def _escaped(character: str) -> str:
    if character in _ESCAPES:
        return _ESCAPES[character]
    # \uXXXX cannot spell a character beyond the basic plane, so those stay as they are.
    if character.isprintable() or ord(character) > 0xFFFF:
        return character
    if 0xD800 <= ord(character) <= 0xDFFF:
        raise ValueError(f"the string holds {character!r}, half of a UTF-16 surrogate pair, "
                         "which cannot be written in a rule")
    return f"\\u{ord(character):04x}"


_NUMBER = re.compile(r"\d+(\.\d+)?(e[+-]?\d+)?")


def _number_text(value: int | float) -> str:
    """Digits for an integer, Python's ``repr`` for a float (it reads back exactly)."""
    if value < 0:
        return "-" + _number_text(-value)
    text = str(value) if isinstance(value, int) else repr(value + 0.0)  # + 0.0: -0.0 is 0.0
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"the number {value!r} cannot be written in a rule")
    return text


def _datetime_text(value: dt.datetime) -> str:
    text = value.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def _range_text(node: n.DateRange) -> str:
    return f"{node.start.isoformat()} .. {node.end.isoformat()}"


# ---------------------------------------------------------------- documents
# A document is text (a str without newlines), a tuple of documents, or one of
# the classes below. A group prints flat when it fits in the rest of the line,
# otherwise each of its lines breaks; nested groups decide for themselves.

Doc = Union[str, tuple, "_Group", "_Indent", "_Line", "_IfBroken", "_LineSuffix", "_Marker"]


@attrs.frozen
class _Group:
    """Lines that break together. ``broken`` when a comment inside forces it."""

    contents: Doc
    broken: bool


@attrs.frozen
class _Indent:
    """Contents whose line breaks indent one level deeper."""

    contents: Doc


@attrs.frozen
class _Line:
    """A line break, or ``flat`` when its group prints flat."""

    flat: str


@attrs.frozen
class _IfBroken:
    """Text printed only when its group breaks (a trailing comma)."""

    text: str


@attrs.frozen
class _LineSuffix:
    """Text held back until the end of the line (a trailing comment)."""

    text: str


class _Marker(enum.Enum):
    HARD_LINE = "a line break, always"
    BREAK_PARENT = "breaks every group around it"


_LINE = _Line(" ")
_SOFT_LINE = _Line("")
_HARD_LINE = _Marker.HARD_LINE
_BREAK_PARENT = _Marker.BREAK_PARENT


def _group(*contents: Doc) -> _Group:
    return _Group(contents, broken=_forces_break(contents))


def _forces_break(doc: Doc) -> bool:
    if isinstance(doc, tuple):
        return any(_forces_break(part) for part in doc)
    if isinstance(doc, _Group):
        return doc.broken
    if isinstance(doc, _Indent):
        return _forces_break(doc.contents)
    return isinstance(doc, _Marker)


class _Mode(enum.Enum):
    FLAT = "flat"
    BREAK = "break"


def _print(doc: Doc, width: int = LINE_WIDTH) -> str:
    """Prints a document, breaking the groups that do not fit in ``width`` columns."""
    out: list[str] = []
    suffixes: list[str] = []
    column = 0
    stack: list[tuple[int, _Mode, Doc]] = [(0, _Mode.BREAK, doc)]
    while stack:
        indent, mode, item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            column += len(item)
        elif isinstance(item, tuple):
            stack.extend((indent, mode, part) for part in reversed(item))
        elif isinstance(item, _Indent):
            stack.append((indent + INDENT, mode, item.contents))
        elif isinstance(item, _Group):
            flat = mode is _Mode.FLAT or (
                not item.broken and _fits(item.contents, stack, width - column))
            stack.append((indent, _Mode.FLAT if flat else _Mode.BREAK, item.contents))
        elif isinstance(item, _Line) and mode is _Mode.FLAT:
            out.append(item.flat)
            column += len(item.flat)
        elif isinstance(item, _Line) or item is _HARD_LINE:
            out.extend(suffixes)
            suffixes.clear()
            out.append("\n" + " " * indent)
            column = indent
        elif isinstance(item, _IfBroken) and mode is _Mode.BREAK:
            out.append(item.text)
            column += len(item.text)
        elif isinstance(item, _LineSuffix):
            suffixes.append(item.text)
    out.extend(suffixes)
    return "".join(out)


def _fits(contents: Doc, rest: list[tuple[int, _Mode, Doc]], width: int) -> bool:
    """Whether ``contents``, printed flat, and what follows up to the next line
    break fit in ``width`` columns. Trailing comments do not count."""
    pending: list[tuple[_Mode, Doc]] = [(_Mode.FLAT, contents)]
    rest_index = len(rest)
    while width >= 0:
        if not pending:
            if rest_index == 0:
                return True
            rest_index -= 1
            pending.append(rest[rest_index][1:])
            continue
        mode, item = pending.pop()
        if isinstance(item, str):
            width -= len(item)
        elif isinstance(item, tuple):
            pending.extend((mode, part) for part in reversed(item))
        elif isinstance(item, _Indent):
            pending.append((mode, item.contents))
        elif isinstance(item, _Group):
            pending.append((_Mode.BREAK if item.broken else mode, item.contents))
        elif isinstance(item, _Line):
            if mode is _Mode.BREAK:
                return True
            width -= len(item.flat)
        elif item is _HARD_LINE:
            return True
        elif isinstance(item, _IfBroken) and mode is _Mode.BREAK:
            width -= len(item.text)
    return False


# ---------------------------------------------------------------- precedence

_OR, _AND, _NOT, _COMPARISON, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)

_LEVELS = {
    n.Or: _OR, n.And: _AND, n.Not: _NOT,
    n.Comparison: _COMPARISON, n.Membership: _COMPARISON, n.Between: _COMPARISON,
    n.IsNull: _COMPARISON, n.Negate: _UNARY,
}

_PRODUCT_OPS = frozenset((n.ArithmeticOp.MULTIPLY, n.ArithmeticOp.DIVIDE, n.ArithmeticOp.MODULO))

_CHAINS = (n.And, n.Or)


def _precedence(node: n.Node) -> int:
    """How tightly ``node`` binds: an operand binding less tightly than its
    place needs is written in parentheses."""
    if isinstance(node, n.Arithmetic):
        return _PRODUCT if node.op in _PRODUCT_OPS else _SUM
    return _LEVELS.get(type(node), _ATOM)


def _head(node: n.Node) -> n.Node:
    """The first operand at the bottom of nested chains: the node a line
    starting with ``node`` starts with."""
    while isinstance(node, _CHAINS):
        node = node.operands[0]
    return node


# ----------------------------------------------------------- node documents


def _doc(node: n.Node, slots: _Slots) -> Doc:
    """The document of any node, through the dispatch table."""
    try:
        build = _DOCS[type(node)]
    except KeyError:
        raise TypeError(f"cannot render {type(node).__name__!r}: not a syntax tree node") from None
    return build(node, slots)


def _operand(node: n.Node, slots: _Slots, minimum: int) -> Doc:
    """``node`` as an operand of a place that needs precedence ``minimum``."""
    chain = isinstance(node, _CHAINS)
    if _precedence(node) >= minimum:
        return _chain_doc(node, slots, hanging=True) if chain else _doc(node, slots)
    if chain:
        return _group("(", _Indent((_SOFT_LINE, _chain_doc(node, slots))), _SOFT_LINE, ")")
    return ("(", _doc(node, slots), ")")


def _chain_doc(node: n.And | n.Or, slots: _Slots, hanging: bool = False) -> Doc:
    """``a and b and c``, or when broken one operand per line, the operator
    leading; ``hanging`` indents the continuation lines (an ``and`` in an ``or``)."""
    word = "and " if isinstance(node, n.And) else "or "
    # An `and` inside an `or` is always parenthesised, so readers never need
    # to remember which binds tighter.
    minimum = _NOT if isinstance(node, n.Or) else _precedence(node) + 1
    first, *others = node.operands
    head = (slots.leading(first), _operand(first, slots, minimum), slots.trailing(first))
    rest = tuple((_LINE, slots.leading(operand), word, _operand(operand, slots, minimum),
                  slots.trailing(operand))
                 for operand in others)
    return _group(head, _Indent(rest) if hanging else rest)


def _bracketed(opening: str, items: Sequence[n.Node], closing: str, slots: _Slots,
               item_doc: Callable[[Any, _Slots], Doc] | None = None) -> Doc:
    """``f(a, b)``, or when broken one item per line with a trailing comma."""
    if not items:
        return opening + closing
    item_doc = item_doc or _doc
    last = len(items) - 1
    lines = tuple(
        (_LINE if index else _SOFT_LINE, slots.leading(item), item_doc(item, slots),
         "," if index < last else _IfBroken(","), slots.trailing(item))
        for index, item in enumerate(items))
    return _group(opening, _Indent(lines), _SOFT_LINE, closing)


def _body(expression: n.Node, slots: _Slots) -> Doc:
    """`` body`` after a statement's ``=``: on the same line when it fits,
    otherwise on the next lines, indented."""
    return _group(_Indent((_LINE, slots.leading(expression), _doc(expression, slots))))


def _segment_doc(node: n.SegmentDef, slots: _Slots) -> Doc:
    description = "" if node.description is None else " " + _string_text(node.description)
    return (f"segment {node.name}{description} =", _body(node.body, slots))


def _period_doc(node: n.PeriodDef, slots: _Slots) -> Doc:
    return f"period {node.name} = {_range_text(node.range)}"


def _function_doc(node: n.FunctionDef, slots: _Slots) -> Doc:
    header = _bracketed(f"def {node.name}(", node.params, ") =", slots, _parameter_doc)
    return (header, _body(node.body, slots))


def _parameter_doc(node: n.Parameter, slots: _Slots) -> Doc:
    return node.name


def _call_doc(node: n.Call, slots: _Slots) -> Doc:
    return _bracketed(f"{node.name}(", node.args + node.keywords, ")", slots)


def _keyword_doc(node: n.Keyword, slots: _Slots) -> Doc:
    return _group(f"{node.name} =", _Indent((_LINE, _doc(node.value, slots))))


def _alias_doc(node: n.Alias, slots: _Slots) -> Doc:
    return (_doc(node.value, slots), f" as {node.name}")


def _list_doc(node: n.ListLiteral, slots: _Slots) -> Doc:
    return _bracketed("[", node.items, "]", slots)


def _arithmetic_doc(node: n.Arithmetic, slots: _Slots) -> Doc:
    # A chain such as 1 + 2 + 3 nests to the left, as deep as it is long: walk
    # it in a loop, not by recursion.
    level = _precedence(node)
    steps = []
    while isinstance(node, n.Arithmetic) and _precedence(node) == level:
        steps.append((node.op, node.right))
        node = node.left
    parts: list[Doc] = [_operand(node, slots, level)]
    for op, right in reversed(steps):
        parts += [f" {op.value} ", _operand(right, slots, level + 1)]
    return tuple(parts)


def _negate_doc(node: n.Negate, slots: _Slots) -> Doc:
    return ("-", _operand(node.operand, slots, _UNARY))


def _comparison_doc(node: n.Comparison, slots: _Slots) -> Doc:
    return (_operand(node.left, slots, _SUM), f" {node.op.value} ",
            _operand(node.right, slots, _SUM))


def _membership_doc(node: n.Membership, slots: _Slots) -> Doc:
    word = " not in " if node.negated else " in "
    return (_operand(node.element, slots, _SUM), word, _operand(node.container, slots, _SUM))


def _between_doc(node: n.Between, slots: _Slots) -> Doc:
    return (_operand(node.operand, slots, _SUM), " between ", _operand(node.low, slots, _SUM),
            " and ", _operand(node.high, slots, _SUM))


def _is_null_doc(node: n.IsNull, slots: _Slots) -> Doc:
    return (_operand(node.operand, slots, _SUM), " is not null" if node.negated else " is null")


def _not_doc(node: n.Not, slots: _Slots) -> Doc:
    # `not (country == "FR")` keeps its parentheses: without them it reads
    # as if `not` applied to `country` alone.
    minimum = _NOT if isinstance(node.operand, n.Not) else _SUM
    return ("not ", _operand(node.operand, slots, minimum))


def _text(function: Callable[[Any], str]) -> Callable[[Any, _Slots], Doc]:
    """A document builder for a node printed as one piece of text."""
    return lambda node, slots: function(node)


_DOCS: dict[type, Callable[[Any, _Slots], Doc]] = {
    n.SegmentDef: _segment_doc,
    n.PeriodDef: _period_doc,
    n.FunctionDef: _function_doc,
    n.Parameter: _parameter_doc,
    n.Or: _chain_doc,
    n.And: _chain_doc,
    n.Not: _not_doc,
    n.Comparison: _comparison_doc,
    n.Membership: _membership_doc,
    n.Between: _between_doc,
    n.IsNull: _is_null_doc,
    n.Arithmetic: _arithmetic_doc,
    n.Negate: _negate_doc,
    n.Call: _call_doc,
    n.Keyword: _keyword_doc,
    n.Alias: _alias_doc,
    n.ListLiteral: _list_doc,
    n.Reference: _text(lambda node: node.dotted),
    n.Number: _text(lambda node: node.text if node.text is not None else _number_text(node.value)),
    n.String: _text(lambda node: _string_text(node.value)),
    n.Boolean: _text(lambda node: "true" if node.value else "false"),
    n.Null: _text(lambda node: "null"),
    n.Now: _text(lambda node: "now"),
    n.Today: _text(lambda node: "today"),
    n.Date: _text(lambda node: node.value.isoformat()),
    n.DateTime: _text(lambda node: _datetime_text(node.value)),
    n.Duration: _text(lambda node: f"{node.amount}{node.unit.value}"),
    n.DateRange: _text(_range_text),
    n.Comment: _text(lambda node: node.text.rstrip()),
}


# ------------------------------------------------------------------ comments
# Inside a statement, a comment sticks to an *anchor*: the body, an operand of
# an and/or chain, a call argument, a list item or a parameter. A comment on
# its own line goes before the first anchor after it; a comment after code
# goes at the end of the line of the last anchor before it. Both choices are
# normalised through the tree's structure, so that reading the formatted text
# again puts every comment in the same slot: formatting is idempotent.


@attrs.define
class _Slots:
    """The comments placed inside one statement, keyed by ``id()`` of the node
    they stick to; each is handed out once, to the document that prints it."""

    before: dict[int, list[str]] = attrs.Factory(dict)
    after: dict[int, str] = attrs.Factory(dict)

    def leading(self, node: n.Node) -> Doc:
        """The comments on their own lines before the line that starts with ``node``."""
        return tuple((text, _HARD_LINE) for text in self.before.pop(id(_head(node)), ()))

    def trailing(self, node: n.Node) -> Doc:
        """The comment at the end of ``node``'s last line; it breaks the group around."""
        text = self.after.pop(id(node), None)
        return () if text is None else (_LineSuffix("  " + text), _BREAK_PARENT)

    def is_empty(self) -> bool:
        return not self.before and not self.after


@attrs.frozen
class _Note:
    """A comment on a line of its own between statements."""

    text: str
    blank_before: bool = False


@attrs.frozen
class _Anchor:
    """A node a comment inside a statement can stick to.

    ``tail`` is the outermost anchor ending where this one ends (``c`` in
    ``a and (b or c)`` has the whole body as its tail): a comment after it
    belongs at the end of that anchor's line.
    """

    node: n.Node
    start: int
    end: int
    tail: n.Node


@attrs.define(eq=False)
class _Unit:
    """A statement, or a lone expression, with the comments that go with it."""

    node: n.Node
    body: n.Node | None = None
    start: int = 0
    end: int = 0
    blank_before: bool = True
    slots: _Slots = attrs.Factory(_Slots)
    leading: list[_Note] = attrs.Factory(list)
    trailing: str | None = None
    _anchors: _Anchors | None = None

    @classmethod
    def for_statement(cls, statement: n.Statement, text: str) -> _Unit:
        """The unit of a parsed statement."""
        span = statement.span
        return cls(statement, getattr(statement, "body", None), span.start, span.end,
                   _blank_line_before(text, span.start))

    @classmethod
    def for_expression(cls, expression: n.Node, text: str) -> _Unit:
        """The unit of a parsed expression (its own body)."""
        span = expression.span
        return cls(expression, expression, span.start, span.end,
                   _blank_line_before(text, span.start))

    def anchors(self) -> _Anchors:
        """The anchors inside the unit, found once."""
        if self._anchors is None:
            self._anchors = _Anchors(_find_anchors(self))
        return self._anchors


class _Anchors:
    """The anchors of a unit, sorted for the two questions comments ask."""

    def __init__(self, anchors: list[_Anchor]) -> None:
        # Ties go to the outermost anchor: the longest one starting (or ending) there.
        self._by_start = sorted(anchors, key=lambda a: (a.start, -a.end))
        self._starts = [a.start for a in self._by_start]
        self._by_end = sorted(anchors, key=lambda a: (a.end, -a.start))
        self._ends = [a.end for a in self._by_end]

    def first_from(self, offset: int) -> _Anchor | None:
        """The first anchor starting at or after ``offset``."""
        index = bisect.bisect_left(self._starts, offset)
        return self._by_start[index] if index < len(self._by_start) else None

    def last_until(self, offset: int) -> _Anchor | None:
        """The last anchor ending at or before ``offset``."""
        index = bisect.bisect_right(self._ends, offset)
        return self._by_end[index - 1] if index else None


def _find_anchors(unit: _Unit) -> list[_Anchor]:
    # A loop with a stack rather than recursion: arithmetic chains nest deep.
    roots = [*getattr(unit.node, "params", ()), *([unit.body] if unit.body is not None else [])]
    stack: list[tuple[n.Node, n.Node | None, bool]] = [(root, None, True) for root in roots]
    anchors = []
    while stack:
        node, tail, is_anchor = stack.pop()
        if is_anchor:
            tail = tail or node
            anchors.append(_Anchor(node, node.span.start, node.span.end, tail))
        if isinstance(node, _CHAINS):
            last = len(node.operands) - 1
            stack.extend((operand, tail if index == last else None, True)
                         for index, operand in enumerate(node.operands))
        elif isinstance(node, (n.Call, n.ListLiteral)):
            stack.extend((item, None, True) for item in n.children(node))
        elif isinstance(node, n.Keyword):
            stack.append((node.value, tail, False))
        else:
            stack.extend((child, None, False) for child in n.children(node))
    return anchors


def _place_comments(units: list[_Unit], comments: Iterable[tuple[int, str]],
                    text: str) -> list[_Note]:
    """Gives each comment, at its offset in ``text``, a place in or around
    ``units``; returns the comments after the last unit."""
    ending: list[_Note] = []
    index = 0
    for offset, raw in sorted(comments):
        comment = raw.rstrip()
        while index < len(units) and units[index].end <= offset:
            index += 1
        if index < len(units) and units[index].start < offset:
            _place_inside(units[index], offset, comment, text)
        elif index and _same_line(text, units[index - 1].end, offset):
            _place_after_unit(units[index - 1], comment)
        else:
            note = _Note(comment, _blank_line_before(text, offset))
            (units[index].leading if index < len(units) else ending).append(note)
    return ending


def _place_after_unit(unit: _Unit, comment: str) -> None:
    if unit.trailing is None:
        unit.trailing = comment
    else:
        unit.leading.append(_Note(comment))


def _place_inside(unit: _Unit, offset: int, comment: str, text: str) -> None:
    anchors = unit.anchors()
    if not _on_own_line(text, offset):
        last = anchors.last_until(offset)
        if last is not None and _place_trailing(unit, last.tail, comment):
            return
    # On its own line, or after code whose line already has a comment.
    first = anchors.first_from(offset)
    if first is None:
        unit.leading.append(_Note(comment))
    else:
        unit.slots.before.setdefault(id(_head(first.node)), []).append(comment)


def _place_trailing(unit: _Unit, node: n.Node, comment: str) -> bool:
    """Puts ``comment`` at the end of ``node``'s last line, if that place is free."""
    if node is unit.body:
        if unit.trailing is not None:
            return False
        unit.trailing = comment
        return True
    if id(node) in unit.slots.after:
        return False
    unit.slots.after[id(node)] = comment
    return True


_STRING_OR_COMMENT = re.compile(r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"|\'[^\'\\\n]*+(?:\\.[^\'\\\n]*+)*+\'|#[^\n]*')


def _scan_comments(text: str) -> list[tuple[int, str]]:
    """The comments of well-formed rule text, with their offsets (strings may hold ``#``)."""
    return [(match.start(), match.group()) for match in _STRING_OR_COMMENT.finditer(text)
            if match.group().startswith("#")]


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _on_own_line(text: str, offset: int) -> bool:
    return not text[_line_start(text, offset):offset].strip()


def _same_line(text: str, start: int, end: int) -> bool:
    return "\n" not in text[start:end]


def _blank_line_before(text: str, offset: int) -> bool:
    """Whether the line holding ``offset`` starts there and follows a blank line."""
    line_start = _line_start(text, offset)
    if line_start == 0 or not _on_own_line(text, offset):
        return False
    previous_start = _line_start(text, line_start - 1)
    return not text[previous_start:line_start - 1].strip()


# --------------------------------------------------------------- file layout


def _layout_lines(units: list[_Unit], ending: list[_Note]) -> list[str]:
    """The lines of a file: each unit with its comments, then the final comments."""
    lines: list[str] = []
    previous: tuple[_Unit, str] | None = None
    for unit in units:
        printed = _print_unit(unit)
        items = [(note.text, note.blank_before) for note in unit.leading]
        items.append((printed, unit.blank_before))
        for position, (item, blank_before) in enumerate(items):
            separate = blank_before or (
                position == 0 and previous is not None and not _may_touch(*previous, unit, printed))
            if separate and lines:
                lines.append("")
            lines.extend(item.split("\n"))
        previous = (unit, printed)
    for note in ending:
        if note.blank_before and lines:
            lines.append("")
        lines.append(note.text)
    return lines


def _print_unit(unit: _Unit) -> str:
    node, slots = unit.node, unit.slots
    if isinstance(node, (n.SegmentDef, n.PeriodDef, n.FunctionDef)):
        doc = _doc(node, slots)
    else:
        doc = (slots.leading(node), _doc(node, slots))
    if unit.trailing is not None:
        doc = (doc, _LineSuffix("  " + unit.trailing))
    printed = _print(doc)
    assert slots.is_empty(), "every comment is printed"
    return printed


def _may_touch(previous: _Unit, previous_text: str, unit: _Unit, text: str) -> bool:
    """Whether two statements may stay on adjacent lines: both one-line periods,
    or both one-line defs."""
    kind = type(unit.node)
    return (kind is type(previous.node) and kind in (n.PeriodDef, n.FunctionDef)
            and "\n" not in previous_text and "\n" not in text)


def _join_lines(lines: list[str], final_newline: bool) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return text + "\n" if text and final_newline else text
