"""Regular expressions of ``matches``: RE2 syntax, matched in linear time.

A pattern is compiled once, when the rule is checked, by RE2 (the
``google-re2`` package): its matching time grows with the length of the text,
never exponentially, so ``email matches "(a+)+$"`` answers at once on any
input. RE2 is also the engine of DuckDB and BigQuery, so an SQL translation of
a rule finds the same matches. RE2 refuses what it cannot match in linear time,
backreferences (``\\1``) and lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``);
those are check errors.

Text is matched as Unicode characters (UTF-8 inside RE2); ``.`` matches one
character, ``(?i)`` folds case beyond ASCII, but ``\\w``, ``\\d``, ``\\s`` and
``\\b`` are ASCII only (write ``\\pL`` for any letter). ``$`` matches only at
the very end of the text, not before a final newline as in Python. A lone
UTF-16 surrogate in the data (not a character) is matched as U+FFFD.
"""

from __future__ import annotations

import re
from typing import Any

import re2

_SURROGATE = re.compile("[\ud800-\udfff]")


class RegexError(ValueError):
    """RE2 refused the pattern.

    Attributes:
        reason: RE2's message, e.g. ``invalid perl operator: (?=``.
        hint: what to write instead, when known.
    """

    def __init__(self, reason: str, hint: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class Regex:
    """A compiled pattern offering ``search(text)`` like :class:`re.Pattern`.

    Args:
        pattern: the pattern, in RE2 syntax.

    Raises:
        RegexError: RE2 refuses the pattern.
    """

    __slots__ = ("_anchor", "_compiled", "_match", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        options = re2.Options()
        options.log_errors = False  # RE2 would print every refused pattern on stderr
        try:
            self._compiled = re2.compile(_matchable(pattern), options)
        except re2.error as error:
            raise _refused(error) from None
        # The public search decodes every group's position; deciding whether
        # there is a match at all needs none, so do that through RE2 directly.
        internals = getattr(re2, "_re2", None)
        self._match = None
        self._anchor: Any = None
        if internals is not None and hasattr(internals, "RE2"):
            options.never_capture = True
            bare = internals.RE2(_matchable(pattern).encode("utf-8"), options)
            if bare.ok():
                self._match = bare.Match
                self._anchor = internals.RE2.Anchor.UNANCHORED

    def search(self, text: str) -> Any:
        """The first match of the pattern in ``text`` (an RE2 match object), or None."""
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate is no character
            text = _SURROGATE.sub("\ufffd", text)
            encoded = text.encode("utf-8")
        if self._match is not None and self._match(self._anchor, encoded, 0,
                                                   len(encoded))[0][0] < 0:
            return None
        return self._compiled.search(text)

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"

    def __reduce__(self) -> tuple:
        return Regex, (self.pattern,)


def _matchable(pattern: str) -> str:
    return _SURROGATE.sub("\ufffd", pattern)


_HINTS = (
    ("invalid perl operator: (?<",
     ("RE2 has no lookbehind (it matches in linear time): match the text itself, or combine "
     "two conditions with 'and'")),
    ("invalid perl operator: (?=",
     ("RE2 has no lookahead (it matches in linear time): combine two conditions, e.g. "
     "x matches \"a\" and not (x matches \"b\")")),
    ("invalid perl operator: (?!",
     "RE2 has no negative lookahead (it matches in linear time): write not (x matches \"...\")"),
    ("invalid repetition size", "RE2 repeats at most 1000 times: {1,1000}"),
    ("pattern too large", "the pattern is too large for RE2: simplify it"),
)
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[0-9]")
_DEFAULT_HINT = "the syntax is RE2's (no backreferences, no lookaround): see the README"


def _refused(error: Exception) -> RegexError:
    raw = error.args[0] if error.args else str(error)
    reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if _BACKREFERENCE.match(reason):
        return RegexError(reason, "RE2 has no backreferences (it matches in linear time): "
                                  "compare the parts with separate conditions")
    hint = next((text for prefix, text in _HINTS if reason.startswith(prefix)), _DEFAULT_HINT)
    return RegexError(reason, hint)
