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
from typing import Any, Callable

import attrs

from segdsl import checked as c
from segdsl import nodes as n
from segdsl.timeline import iso_text

NOT_EVALUATED = object()


@attrs.frozen
class Explanation:
    """One sub-expression of a rule, its value for a customer, and its parts.

    Attributes:
        text: the sub-expression as written (canonical layout).
        value: its value (None for null); :data:`NOT_EVALUATED` when the
            evaluation never needed it.
        is_condition: whether it is a true/false condition.
        children: the explanations of its parts.
        note: why a condition is unknown, when a null made it so.
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
        lines = [self._line()]
        self._render_children(lines, "")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def _line(self) -> str:
        shown = show_value(self.value, self.is_condition)
        line = f"{self.text} {'->' if self.is_condition else '='} {shown}"
        return f"{line}  ({self.note})" if self.note else line

    def _render_children(self, lines: list[str], prefix: str) -> None:
        for index, child in enumerate(self.children):
            last = index == len(self.children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{child._line()}")
            child._render_children(lines, prefix + ("    " if last else "│   "))

    def to_dict(self) -> dict:
        """Plain data: text, value (as shown), children."""
        return {
            "text": self.text,
            "value": show_value(self.value, self.is_condition),
            "note": self.note,
            "children": [child.to_dict() for child in self.children],
        }


def show_value(value: Any, is_condition: bool) -> str:
    """A value as the explanation shows it."""
    if value is NOT_EVALUATED:
        return "not evaluated"
    if value is None:
        return "unknown (null)" if is_condition else "null"
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
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v, False) for v in value) + "]"
    return str(value)


def _show_timedelta(value: dt.timedelta) -> str:
    days = value.total_seconds() / 86400
    if days == int(days):
        return f"{int(days)} days"
    return f"{value.total_seconds() / 3600:g} hours"


def build(node: c.Checked, trace: dict[int, Any], render: Callable[[n.Node], str],
          segment_body: Callable[[str], c.Checked]) -> Explanation:
    """The explanation of checked ``node`` from the values in ``trace``."""
    value = trace.get(id(node), NOT_EVALUATED)
    is_condition = node.type.name == "bool"
    children = tuple(build(child, trace, render, segment_body) for child in _shown_children(node))
    if isinstance(node, c.SegmentRef):
        children = (build(segment_body(node.name), trace, render, segment_body),)
    note = _null_note(node, trace, render) if is_condition and value is None else None
    text = render(node.syntax) if node.syntax is not None else type(node).__name__
    return Explanation(text, value, is_condition, children, note)


def _shown_children(node: c.Checked) -> tuple[c.Checked, ...]:
    if isinstance(node, (c.Aggregate, c.Population, c.Constant, c.Field, c.Now)):
        return ()
    shown = []
    for child in c.checked_children(node):
        if isinstance(child, (c.Constant, c.Now)):
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
    yield node
    if isinstance(node, (c.Aggregate, c.IsNull, c.Population)):
        return
    for child in c.checked_children(node):
        yield from _outside_aggregates(child)
