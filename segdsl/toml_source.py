"""TOML files read with positions: project files, schema files and rule tests.

The standard library's :mod:`tomllib` gives values but no positions, so the
errors found in a value (an unknown type, a misspelt segment) are placed by
looking for the key or the quoted value in the text, within the lines of the
table it belongs to. A TOML syntax error becomes a :class:`UsageError` at the
line and column tomllib names.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from segdsl.errors import SegdslError, UsageError
from segdsl.nodes import Span

_SYNTAX_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_SYNTAX_AT_END = re.compile(r"\s*\(at end of document\)$")


class TomlSource:
    """The text of a TOML file, its values, and where things are in it.

    Args:
        text: the file's text.
        file: its name, as errors show it.
        error: the error class raised for problems found in values.

    Raises:
        UsageError: the text is not valid TOML (with its line and column).
    """

    def __init__(self, text: str, file: str, error: type[SegdslError] = UsageError) -> None:
        self.text = text
        self.file = file
        self.error = error
        self.lines = text.split("\n")
        self.data = self._parse()

    def _parse(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as failure:
            message = str(failure)
            found = _SYNTAX_POSITION.search(message)
            if found:
                line, column = int(found[1]), int(found[2])
                message = message[:found.start()]
            else:
                line, column = len(self.lines), len(self.lines[-1]) + 1
                message = _SYNTAX_AT_END.sub("", message)
            raise UsageError(f"not valid TOML: {message[:1].lower()}{message[1:]}",
                             self.span(line, column, 1), source=self.text) from None

    # ------------------------------------------------------------ places

    def span(self, line: int, column: int, width: int) -> Span:
        """A span of ``width`` characters at ``line``:``column`` (1-based)."""
        start = sum(len(each) + 1 for each in self.lines[:line - 1]) + column - 1
        return Span(line, column, line, column + width, start, start + width, self.file)

    def table_lines(self, header: str, index: int = 0) -> tuple[int, int]:
        """The lines (first, last; 1-based) of the ``index``-th table ``[header]``
        or ``[[header]]``; the whole file when there is no such header."""
        pattern = re.compile(r"^\s*\[\[?\s*" + _header_pattern(header) + r"\s*\]\]?\s*(#.*)?$")
        starts = [number for number, line in enumerate(self.lines, 1) if pattern.match(line)]
        if index >= len(starts):
            return 1, len(self.lines)
        first = starts[index]
        following = [number for number, line in enumerate(self.lines, 1)
                     if number > first and _is_header_of_another(line, header)]
        return first, (following[0] - 1 if following else len(self.lines))

    def find(self, word: str, lines: tuple[int, int] | None = None) -> Span | None:
        """Where ``word`` first appears as a quoted string or a bare key in ``lines``."""
        first, last = lines or (1, len(self.lines))
        quoted = re.compile(re.escape(_quoted(word)) + "|" + re.escape(f"'{word}'"))
        bare = re.compile(r"(?<![\w.\"'-])" + re.escape(word) + r"(?![\w\"'-])")
        for pattern in (quoted, bare):
            for number in range(first, min(last, len(self.lines)) + 1):
                line = self.lines[number - 1]
                code = line.split("#", 1)[0] if "#" in line and '"' not in line else line
                match = pattern.search(code)
                if match:
                    return self.span(number, match.start() + 1, match.end() - match.start())
        return None

    def fail(self, message: str, where: str | None = None, lines: tuple[int, int] | None = None,
             *, hint: str | None = None) -> SegdslError:
        """An error placed on ``where`` (a key or value) within ``lines``."""
        span = self.find(where, lines) if where is not None else None
        if span is None and where is not None and lines is not None:
            span = self.find(where)  # a key given once for the whole file
        if span is None and lines is not None:
            span = self.span(lines[0], 1, max(1, len(self.lines[lines[0] - 1].rstrip())))
        if span is None:
            return self.error(f"{self.file}: {message}", hint=hint)
        return self.error(message, span, source=self.text, hint=hint)

    def unknown_keys(self, table: Mapping[str, Any], known: Iterable[str], what: str,
                     lines: tuple[int, int] | None = None) -> None:
        """Fail on the first key of ``table`` that is not ``known``, with a did-you-mean."""
        known = list(known)
        for key in table:
            if key not in known:
                raise self.fail(f"unknown key '{key}' in {what}", key, lines,
                                hint=did_you_mean(key, known))


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``did you mean 'x'?``, or the list of the known words when none is close."""
    known = sorted(known)
    close = difflib.get_close_matches(word, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"expected one of {', '.join(known)}" if known else "nothing is expected here"


def _quoted(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _header_pattern(header: str) -> str:
    parts = [r"(?:" + re.escape(part) + "|" + re.escape(_quoted(part)) + ")"
             for part in _header_parts(header)]
    return r"\s*\.\s*".join(parts)


def _header_parts(header: str) -> list[str]:
    # A dotted header whose parts may be quoted: lists."orders.items".fields
    return [part.strip('"') for part in re.findall(r'"[^"]*"|[^.]+', header)]


def _is_header_of_another(line: str, header: str) -> bool:
    """A table header that does not open a subtable of ``header``."""
    stripped = line.strip()
    if not stripped.startswith("["):
        return False
    inner = stripped.strip("[] ")
    inner = inner.split("]", 1)[0]
    parts = [part.strip().strip('"') for part in re.findall(r'"[^"]*"|[^.]+', inner)]
    own = _header_parts(header)
    return parts[:len(own)] != own or stripped.startswith("[[") and parts == own
