"""Why a customer is or is not in a segment: every sub-expression and its value.

    >>> print(seg.explain(customer, now=now))
    undecided -> false
    └── visits(30d) >= 10 and not purchased(30d) -> false
        ├── visits(30d) >= 10 -> true
        │   └── visits(30d) = 12
        └── not purchased(30d) -> false
            └── purchased(30d) = true

Boolean sub-expressions show ``->`` and their truth (``unknown`` for null),
other values show ``=``. A null that made a condition unknown is pointed out,
since that is how customers silently fall out of segments.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from segdsl import checked as c
from segdsl import nodes as n
from segdsl.timeline import iso_text

NOT_EVALUATED = object()


@attrs.frozen(repr=False)
class Explanation:
    """One sub-expression of a rule, its value for a customer, and its parts.

    Attributes:
        text: the sub-expression as written (canonical layout).
        value: its value (None for null); :data:`NOT_EVALUATED` when the
            evaluation never needed it.
        is_condition: whether it is a true/false condition.
        children: the explanations of its parts.
        note: why a condition is unknown, when a null made it so; ``see
            above`` for a segment whose rule an earlier line shows.
    """

    text: str
    value: Any
    is_condition: bool
    children: tuple[Explanation, ...] = ()
    note: str | None = None

    @property
    def matched(self) -> bool:
        """True when this condition holds (a member: true, not unknown)."""
        return self.value is True

    def render(self) -> str:
        """The explanation as an indented tree."""
        # Iterative, like to_dict: a chain of a thousand segments is a tree
        # a thousand levels deep.
        lines = [self._line()]
        pending = [(child, "", index == len(self.children) - 1)
                   for index, child in enumerate(self.children)][::-1]
        while pending:
            node, prefix, last = pending.pop()
            lines.append(f"{prefix}{'└── ' if last else '├── '}{node._line()}")
            inner = prefix + ("    " if last else "│   ")
            pending.extend((child, inner, index == len(node.children) - 1)
                           for index, child in reversed(list(enumerate(node.children))))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        # Bounded like the rendered values, whatever the depth of the tree.
        parts = len(self.children)
        return f"<Explanation {self._line()!r}, {parts} part{'' if parts == 1 else 's'}>"

    def _line(self) -> str:
        shown = show_value(self.value, self.is_condition)
        line = f"{self.text} {'->' if self.is_condition else '='} {shown}"
        return f"{line}  ({self.note})" if self.note else line

    def to_dict(self) -> dict:
        """Plain data: text, value (as shown), children."""
        root = self._plain()
        pending = [(self, root)]
        while pending:
            node, plain = pending.pop()
            for child in node.children:
                child_plain = child._plain()
                plain["children"].append(child_plain)
                pending.append((child, child_plain))
        return root

    def _plain(self) -> dict:
        return {"text": self.text, "value": show_value(self.value, self.is_condition),
                "note": self.note, "children": []}


def show_value(value: Any, is_condition: bool) -> str:
    """A value as the explanation shows it: bounded in length and depth, safe
    for cyclic lists and for text no encoding can write (a lone surrogate
    shows as its escape, ``\\udc80``)."""
    if value is NOT_EVALUATED:
        return "not evaluated"
    if value is None:
        return "unknown (null)" if is_condition else "null"
    return _shown(value, _DEPTH, set())


_DEPTH = 3  # levels of nested lists and records shown
_ITEMS = 10  # elements of a list, fields of a record shown
_TEXT = 200  # characters of a text shown
_OTHER = 80  # characters of any other value's own text shown


def _shown(value: Any, depth: int, inside: set[int]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.datetime):
        return iso_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _show_timedelta(value)
    if isinstance(value, relativedelta):
        months = value.years * 12 + value.months
        return f"{months} month{'' if abs(months) == 1 else 's'}"
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, (list, tuple, dict)):
        return _container(value, depth, inside)
    return _other(value)


def _quoted(text: str) -> str:
    shown = text[:_TEXT].replace("\\", "\\\\").replace('"', '\\"')
    shown = _UNWRITABLE.sub(_escape, shown)
    return '"' + shown + ('..."' if len(text) > _TEXT else '"')


def _escape(match: re.Match) -> str:
    character = match.group()
    return _ESCAPES.get(character) or f"\\u{ord(character):04x}"


# Characters that would break the tree's lines or that no encoding can write
# (controls and lone surrogates), shown as escapes.
_UNWRITABLE = re.compile("[\\x00-\\x08\\x0a-\\x1f\\x7f\\ud800-\\udfff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def _container(value: list | tuple | dict, depth: int, inside: set[int]) -> str:
    is_record = isinstance(value, dict)
    opening, closing = ("{", "}") if is_record else ("[", "]")
    if id(value) in inside or depth == 0:
        return f"{opening}...{closing}" if value else opening + closing
    inside.add(id(value))
    try:
        if isinstance(value, dict):
            parts = [f"{_shown(key, 0, inside)}: {_shown(item, depth - 1, inside)}"
                     for key, item in itertools.islice(value.items(), _ITEMS)]
        else:
            parts = [_shown(item, depth - 1, inside) for item in value[:_ITEMS]]
    finally:
        inside.discard(id(value))
    if len(value) > _ITEMS:
        parts.append(f"... ({len(value) - _ITEMS:,} more)")
    return opening + ", ".join(parts) + closing


def _other(value: Any) -> str:
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a value's own __str__ may raise anything
        return f"<{type(value).__name__}>"
    text = _UNWRITABLE.sub(_escape, text[:_OTHER + 1])
    return text if len(text) <= _OTHER else text[:_OTHER] + "..."


def _show_timedelta(value: dt.timedelta) -> str:
    days = value.total_seconds() / 86400
    if days == int(days):
        return f"{int(days)} days"
    return f"{value.total_seconds() / 3600:g} hours"


SEE_ABOVE = "see above"


def build(node: c.Checked, trace: dict[int, Any], render: Callable[[n.Node], str],
          segment_body: Callable[[str], c.Checked]) -> Explanation:
    """The explanation of checked ``node`` from the values in ``trace``.

    A segment referred to more than once shows its rule at its first
    evaluated reference only; later references say ``see above`` (a
    diamond of references stays linear in size instead of doubling at each
    level). The same goes for a def called again with the same arguments. Parts the evaluation never needed (the right side of
    ``false and ...``) show as ``not evaluated``, without their parts.
    """
    return _Builder(trace, render, segment_body).build(node)


class _Builder:
    """Builds one explanation, remembering the segments already shown."""

    def __init__(self, trace: dict[int, Any], render: Callable[[n.Node], str],
                 segment_body: Callable[[str], c.Checked]) -> None:
        self.trace = trace
        self.render = render
        self.segment_body = segment_body
        self.shown: set[str] = set()
        self.expanded: set[int] = set()

    def build(self, root: c.Checked) -> Explanation:
        # Depth first and iterative: parts are built in reading order (the
        # first reference to a segment is the one showing its rule), and a
        # chain of a thousand segments needs no deep recursion.
        stack = [self.start(root)]
        while True:
            frame = stack[-1]
            if len(frame.built) < len(frame.parts):
                stack.append(self.start(frame.parts[len(frame.built)]))
                continue
            stack.pop()
            done = frame.finish()
            if not stack:
                return done
            stack[-1].built.append(done)

    def start(self, node: c.Checked) -> _Frame:
        value = self.trace.get(id(node), NOT_EVALUATED)
        is_condition = node.type.name == "bool"
        note = None
        parts: tuple[c.Checked, ...] = ()
        if value is NOT_EVALUATED:
            pass
        elif isinstance(node, c.SegmentRef):
            parts, note = self.segment(node.name)
        else:
            parts = _shown_children(node)
            if parts and id(node) in self.expanded:
                # A def called twice with the same arguments is one shared
                # node: its parts are shown at its first place only.
                parts, note = (), SEE_ABOVE
            self.expanded.add(id(node))
        if is_condition and value is None:
            note = _null_note(node, self.trace, self.render)
        return _Frame(self.text(node), value, is_condition, note, parts)

    def segment(self, name: str) -> tuple[tuple[c.Checked, ...], str | None]:
        if name in self.shown:
            return (), SEE_ABOVE
        self.shown.add(name)
        return (self.segment_body(name),), None

    def text(self, node: c.Checked) -> str:
        if node.syntax is None:
            return type(node).__name__
        try:
            return self.render(node.syntax)
        except ValueError:
            # A lone surrogate in a string literal cannot be written in a
            # rule; the explanation shows U+FFFD in its place.
            return self.render(_without_surrogates(node.syntax))


@attrs.define
class _Frame:
    """An explanation being built: its own line, and its parts built so far."""

    text: str
    value: Any
    is_condition: bool
    note: str | None
    parts: tuple[c.Checked, ...]
    built: list[Explanation] = attrs.Factory(list)

    def finish(self) -> Explanation:
        return Explanation(self.text, self.value, self.is_condition, tuple(self.built),
                           self.note)


def _without_surrogates(node: Any) -> Any:
    """``node`` with every lone surrogate of its string literals replaced by U+FFFD."""
    if isinstance(node, n.String):
        return attrs.evolve(node, value=_SURROGATE.sub("\ufffd", node.value))
    if isinstance(node, tuple):
        return tuple(_without_surrogates(item) for item in node)
    kind: Any = type(node)
    if not isinstance(node, n.Node) or not attrs.has(kind):
        return node
    changes = {field.name: _without_surrogates(getattr(node, field.name))
               for field in attrs.fields(kind) if field.init and field.name != "span"}
    return attrs.evolve(node, **changes)  # type: ignore[misc]


_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _shown_children(node: c.Checked) -> tuple[c.Checked, ...]:
    if isinstance(node, (c.Aggregate, c.Population, c.Constant, c.Field, c.Now,
                         c.Today)):
        return ()
    shown = []
    for child in c.checked_children(node):
        if isinstance(child, (c.Constant, c.Now, c.Today)):
            continue
        if isinstance(child, (c.ToDate, c.Coerce)):
            child = child.operand
        shown.append(child)
    return tuple(shown)


def _null_note(node: c.Checked, trace: dict[int, Any],
               render: Callable[[n.Node], str]) -> str | None:
    nulls = []
    for sub in _outside_aggregates(node):
        if isinstance(sub, (c.Field, c.Population, c.Aggregate)) and \
                trace.get(id(sub), 0) is None:
            if isinstance(sub, c.Field):
                name = sub.dotted
            elif isinstance(sub, c.Population):
                name = sub.kind
            else:
                name = render(sub.syntax) if sub.syntax is not None else sub.function
            if name not in nulls:
                nulls.append(name)
    if not nulls:
        return None
    return f"{', '.join(nulls)} {'is' if len(nulls) == 1 else 'are'} null"


def _outside_aggregates(node: c.Checked):
    """``node`` and its sub-expressions, parents first, without entering
    aggregations (a missing list is an empty one, not a null, and the
    elements' values are not traced), ``is null`` tests (never unknown) or
    population scores (named themselves)."""
    return c.walk(node, lambda sub: not isinstance(sub, (c.Aggregate, c.IsNull, c.Population)))
