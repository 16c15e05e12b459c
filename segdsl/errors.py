"""Errors a user can cause, each rendered like a compiler's message.

Every failure that reaches a user is a :class:`SegdslError`. Errors about rule
text carry the source and a span, and render as::

    rules.seg:3:17: expected an expression after 'and'
      segment s = a > 1 and
                            ^
      hint: ...

Errors about data (a string where a number was expected) name the customer and
the field path instead.
"""

from __future__ import annotations

import re

from segdsl.nodes import Span

_SURROGATE = re.compile("[\ud800-\udfff]")


class SegdslError(Exception):
    """Base class of every error segdsl raises for bad rules, data or usage.

    Attributes:
        message: what went wrong, in one line.
        span: where, when the error is about rule text.
        source: the text the span points into.
        hint: an optional suggestion ("did you mean `frequency`?").
        errors: every error found in the same text, this one first (a
            syntax error stops the search, so it comes alone).
    """

    def __init__(self, message: str, span: Span | None = None, *, source: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.hint = hint
        #: every error found with this one, in source order (this one first)
        self.errors: list[SegdslError] = [self]

    @property
    def line(self) -> int | None:
        """1-based line of the error, when it points into rule text."""
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        """1-based column of the error, when it points into rule text."""
        return self.span.column if self.span else None

    @property
    def file(self) -> str | None:
        """Name of the rule file, when the rules came from a file."""
        return self.span.file if self.span else None

    def located(self, source: str, file: str | None = None) -> SegdslError:
        """Attach the source text (and file name) if not known yet; returns self."""
        if self.source is None:
            self.source = source
        if file is not None and self.span is not None and self.span.file is None:
            self.span = Span(self.span.line, self.span.column, self.span.end_line,
                             self.span.end_column, self.span.start, self.span.end, file)
        return self

    @property
    def location(self) -> str:
        """``file:line:col`` (``<rule>`` stands for text not read from a file)."""
        if self.span is None:
            return self.file or "<rule>"
        return f"{self.span.file or '<rule>'}:{self.span.line}:{self.span.column}"

    def render(self) -> str:
        """The full message: location, source line, carets and hint."""
        lines = [f"{self.location}: {self.message}" if self.span else self.message]
        if self.span is not None and self.source is not None:
            lines.extend(_caret_lines(self.source, self.span))
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _caret_lines(source: str, span: Span) -> list[str]:
    """The source line of ``span`` and a row of carets under its text."""
    source_lines = source.removeprefix("\ufeff").split("\n")  # positions follow the BOM
    if not 1 <= span.line <= len(source_lines):
        return []
    text = source_lines[span.line - 1].rstrip("\r").expandtabs(1)
    # A lone surrogate would make printing the message fail: show it as U+FFFD.
    text = _SURROGATE.sub("\ufffd", text)
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == span.line else len(text)
    width = max(1, min(end, len(text)) - start)
    text, start, width = _around(text, start, width)
    return [f"  {text}", "  " + " " * start + "^" * width]


def _around(text: str, start: int, width: int) -> tuple[str, int, int]:
    """A long line cut to the part around the offending text, with the
    caret's new start and width."""
    if len(text) <= _SHOWN_WIDTH:
        return text, start, width
    left = max(0, min(start - _SHOWN_WIDTH // 4, len(text) - _SHOWN_WIDTH))
    prefix = "..." if left else ""
    suffix = "..." if left + _SHOWN_WIDTH < len(text) else ""
    shown = text[left:left + _SHOWN_WIDTH]
    width = max(1, min(width, len(shown) - (start - left)))
    return prefix + shown + suffix, start - left + len(prefix), width


_SHOWN_WIDTH = 120


class ParseError(SegdslError):
    """The rule text is not well formed."""


class CheckError(SegdslError):
    """The rule is well formed but wrong: an unknown name, a type mismatch,
    a cycle between segments."""


class LimitError(SegdslError):
    """The rule text is larger or more deeply nested than segdsl accepts."""


class DataError(SegdslError):
    """A customer record holds a value the rules cannot use.

    Attributes:
        customer_id: the ``id`` of the offending customer, when it has one.
        field_path: the dotted path of the offending field.
    """

    def __init__(self, message: str, *, customer_id: object = None, field_path: str | None = None,
                 span: Span | None = None, source: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, span, source=source, hint=hint)
        self.customer_id = customer_id
        self.field_path = field_path


class EvaluationError(SegdslError):
    """Rules cannot be evaluated as asked (e.g. a population function on a
    single record without a population)."""


class UsageError(SegdslError):
    """The library or command line was called with bad arguments or files."""
