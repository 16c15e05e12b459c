"""Turns Lark's parse failures into messages a rule author understands.

Lark reports a failure as an unexpected character or token. This module looks
at the text around it (the token before, brackets left open, a digit glued to
a word, the tokens the parser would have accepted instead) and says what is
wrong in the words of the language, never in terminal names::

    rules.seg:3:9: expected an expression after 'and', found 'or'

Each explanation is one small method of :class:`_Failure`; the first that
recognises the situation wins, and a summary of what was expected ("an
operator or ')'") is the last resort.
"""

from __future__ import annotations

import difflib
import re

import lark
from lark import Token

from segdsl import nodes as n
from segdsl.errors import ParseError
from segdsl.parser import RESERVED_WORDS, tokenize

KEYWORDS = tuple(sorted(RESERVED_WORDS))
_KEYWORD_TYPES = {word.upper() for word in RESERVED_WORDS}

_STATEMENT_KEYWORDS = {"SEGMENT", "PERIOD", "DEF"}
_FORMS = {"SEGMENT": 'segment NAME ["description"] = EXPRESSION',
          "PERIOD": "period NAME = 2026-06-24 .. 2026-07-21",
          "DEF": "def NAME(PARAMETERS) = EXPRESSION"}
_STATEMENT_FORMS = ", ".join(_FORMS.values())

# Tokens that can begin an expression.
_OPERAND_STARTS = {"NAME", "NUMBER", "STRING", "DATE", "DATETIME", "DURATION", "TRUE", "FALSE",
                   "NULL", "NOW", "TODAY", "LPAR", "LSQB", "MINUS", "NOT"}

_COMPARISONS = {"EQ", "NE", "LT", "LE", "GT", "GE", "CONTAINS", "STARTS_WITH", "ENDS_WITH",
                "MATCHES", "IN", "BETWEEN", "IS"}
_ARITHMETIC = {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT"}
_OPERATORS = _COMPARISONS | _ARITHMETIC | {"AND", "OR", "NOT"}

# Tokens that can end an operand.
_OPERAND_ENDS = {"NAME", "NUMBER", "STRING", "DATE", "DATETIME", "DURATION", "TRUE", "FALSE",
                 "NULL", "NOW", "TODAY", "RPAR", "RSQB"}

# Tokens after which an expression must follow.
_NEEDS_OPERAND = _OPERATORS - {"IS"} | {"EQUAL", "LPAR", "LSQB", "COMMA"}

_OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB"}
_CLOSERS = {"RPAR": "LPAR", "RSQB": "LSQB"}
_TEXT = {"LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]"}

# Operators of other languages, and what to write instead.
_FOREIGN_OPERATORS = {
    "&&": "write 'and' instead of '&&'",
    "||": "write 'or' instead of '||'",
    "&": "write 'and' instead of '&'",
    "|": "write 'or' instead of '|'",
    "!": "write 'not' to negate a condition, or '!=' to compare",
    "<>": "write '!=' to test that two values differ",
    "=>": "write '>=' for 'greater than or equal to'",
    "=<": "write '<=' for 'less than or equal to'",
    "===": "write '==' to compare",
    "!==": "write '!=' to compare",
}

_DURATION_HINT = ("durations are a whole number and one of h (hours), d (days), w (weeks), "
                  "m (months), y (years): 30d, 12h, 6m")
# Unit words authors write out, and the letter the language uses.
_UNIT_WORDS = {
    "h": ("hour", "hours", "hr", "hrs"), "d": ("day", "days"), "w": ("week", "weeks", "wk", "wks"),
    "m": ("month", "months", "mo", "mos"), "y": ("year", "years", "yr", "yrs"),
}
_UNIT_OF_WORD = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_TOO_SMALL_UNITS = ("s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes")

_DATETIME_HINT = "datetimes are written like 2026-06-24T10:00:00Z"


def translate(error: lark.exceptions.LarkError, text: str, file: str | None,
              start: str) -> ParseError:
    """The :class:`ParseError` that explains Lark's ``error`` in ``text``.

    Args:
        error: what Lark raised.
        text: the text being parsed.
        file: its file name, if any.
        start: ``"rule_file"`` or ``"expression_only"``.
    """
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        found = _Failure(text, file, start, error.pos_in_stream, set()).unexpected_character()
    elif isinstance(error, lark.exceptions.UnexpectedInput):
        token = getattr(error, "token", None)
        if token is None or token.type == "$END":
            token = _end_token(text)
        found = _Failure(text, file, start, token.start_pos, _expected(error)).unexpected_token(
            token)
    else:
        found = ParseError(f"cannot parse the rule: {error}", _point(text, 0, file))
    return found.located(text, file)


def _expected(error: lark.exceptions.UnexpectedInput) -> set[str]:
    """The terminals the parser would have accepted where it failed.

    ``accepts()`` tries each candidate on a copy of the parser, which is
    exact; ``expected`` comes from merged LALR states and may list tokens
    that only fit elsewhere (a ']' when no '[' is open).
    """
    parser = getattr(error, "interactive_parser", None)
    if parser is not None:
        try:
            return set(parser.accepts())
        except lark.exceptions.LarkError:
            pass
    return set(getattr(error, "expected", ()))


def _end_token(text: str) -> Token:
    return Token("$END", "", len(text), None, None, None, None, len(text))


def _point(text: str, offset: int, file: str | None, length: int = 1) -> n.Span:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return n.Span(line, column, line, column + length, offset, offset + length, file)


def _shorten(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _describe(token: Token) -> str:
    """A token as a message names it: ``name 'x'``, ``number 2``, ``'and'``."""
    kind = {"NAME": "name", "NUMBER": "number", "DURATION": "duration", "DATE": "date",
            "DATETIME": "datetime", "STRING": "string"}.get(token.type)
    if token.type == "$END":
        return "the end of the text"
    if token.type == "NAME":
        return f"name '{_shorten(token.value)}'"
    if kind is not None:
        return f"{kind} {_shorten(token.value)}"
    return f"'{token.value}'"


def describe_expected(expected: set[str], start: str = "expression_only") -> str:
    """What the parser wanted, in words: ``an expression``, ``an operator or ')'``."""
    words = []
    if "NUMBER" in expected:
        words.append("an expression")
    elif expected & _OPERATORS:
        words.append("an operator")
    elif expected & {"NULL", "NOT", "IN"}:
        words.extend(f"'{t.lower()}'" for t in sorted(expected & {"NULL", "NOT", "IN"}))
    if "NAME" in expected and "NUMBER" not in expected:
        words.append("a name")
    if "DATE" in expected and "NUMBER" not in expected:
        words.append("a date")
    for terminal, word in (("RANGE", "'..'"), ("LPAR", "'('"), ("EQUAL", "'='"), ("COMMA", "','"),
                           ("RPAR", "')'"), ("RSQB", "']'")):
        if terminal in expected and not (words and terminal in ("LPAR", "EQUAL")):
            words.append(word)
    if expected & _STATEMENT_KEYWORDS:
        words.append("a new statement")
    if "$END" in expected:
        words.append("the end of the file" if start == "rule_file" else "the end of the expression")
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _close_keyword(word: str, candidates=KEYWORDS) -> str | None:
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    return close[0] if close else None


class _Failure:
    """One parse failure: the text, where it failed, and what would have fit.

    Attributes:
        offset: where the offending text starts.
        expected: terminal names the parser would have accepted there.
        before: the tokens before ``offset``, comments left out.
        previous: the last of them, or None at the start of the text.
    """

    def __init__(self, text: str, file: str | None, start: str, offset: int,
                 expected: set[str]) -> None:
        self.text = text
        self.file = file
        self.start = start
        self.in_file = start == "rule_file"
        self.offset = offset
        self.expected = expected
        self.before = tokenize(text[:offset])
        self.previous = self.before[-1] if self.before else None

    # --- positions

    def point(self, offset: int, length: int = 1) -> n.Span:
        return _point(self.text, offset, self.file, length)

    def span(self, token: Token) -> n.Span:
        if token.type != "$END":
            return self.point(token.start_pos, max(1, len(token.value)))
        # Just after the last token: trailing blank lines and comments say nothing.
        return self.point(self.previous.end_pos if self.previous is not None else 0)

    def error(self, message: str, where: Token, hint: str | None = None) -> ParseError:
        return ParseError(message, self.span(where), hint=hint)

    def at_boundary(self, token: Token) -> bool:
        """The text, or in a file the statement, ended at ``token``: what is
        missing belongs to what came before, and the caret goes there."""
        return token.type == "$END" or (self.in_file and token.type in _STATEMENT_KEYWORDS)

    def anchor(self, token: Token) -> Token:
        """Where to point: at ``token``, or at the token before an ending."""
        if self.at_boundary(token) and self.previous is not None:
            return self.previous
        return token

    def found(self, token: Token) -> str:
        """``, found name 'x'``, or nothing when the text simply ended."""
        return "" if self.at_boundary(token) else f", found {_describe(token)}"

    def token_before(self, steps: int) -> Token | None:
        """The token ``steps`` places before the failure (1 is the previous one)."""
        return self.before[-steps] if len(self.before) >= steps else None

    def scan_back(self, stop_at_and: bool = True):
        """The tokens before the failure, nearest first, inside the innermost
        open bracket and down to the start of the current condition."""
        depth = 0
        for seen in reversed(self.before):
            if seen.type in _CLOSERS:
                depth += 1
            elif seen.type in _OPENERS:
                if depth == 0:
                    return
                depth -= 1
            elif depth == 0:
                if seen.type in ("OR", "COMMA", "EQUAL") or seen.type in _STATEMENT_KEYWORDS:
                    return
                if seen.type == "AND" and stop_at_and:
                    return
                yield seen

    def open_brackets(self) -> list[Token]:
        """The ``(`` and ``[`` still open where parsing failed, outermost first."""
        stack: list[Token] = []
        for seen in self.before:
            if seen.type in _OPENERS:
                stack.append(seen)
            elif seen.type in _CLOSERS and stack:
                stack.pop()
        return stack

    # --- unexpected characters

    def unexpected_character(self) -> ParseError:
        offset, char = self.offset, self.text[self.offset]
        following = self.text[offset + 1:offset + 2]
        if char in "\"'":
            return self.unterminated_string(offset, char)
        for operator in sorted(_FOREIGN_OPERATORS, key=len, reverse=True):
            if self.text.startswith(operator, offset):
                return ParseError(f"unknown operator '{operator}'",
                                  self.point(offset, len(operator)), hint=_FOREIGN_OPERATORS[operator])
        if char in "$@" and (following.isalpha() or following == "_"):
            return ParseError(f"names do not start with '{char}'", self.point(offset),
                              hint="write the name alone, e.g. country")
        hint = self.character_hint(char)
        if char.isspace():
            return ParseError(f"unexpected whitespace character {ascii(char)}", self.point(offset),
                              hint="replace it with a plain space")
        shown = char if char.isprintable() else ascii(char)[1:-1]
        return ParseError(f"unexpected character '{shown}'", self.point(offset), hint=hint)

    def character_hint(self, char: str) -> str | None:
        if char == ";":
            if self.in_file:
                return "statements need no ';': start the next one with 'segment', 'period' or 'def'"
            return "join conditions with 'and' or 'or'"
        if char in "{}":
            return "lists are written with square brackets: [\"FR\", \"BE\"]"
        if char == ":":
            return "a time belongs inside a datetime, with a 'T': 2026-06-24T10:00:00Z"
        if char == "\\":
            return "a backslash starts an escape only inside a string"
        if char == "@":
            return "put e-mail addresses and other text in a string: \"a@shop.fr\""
        if char == "`":
            return "strings are quoted with \" or '"
        if char.isalpha():
            return "names use ASCII letters, digits and '_'; put other text in a string"
        return None

    def unterminated_string(self, offset: int, quote: str) -> ParseError:
        end = self.text.find("\n", offset)
        end = len(self.text) if end < 0 else end
        literal = self.text[offset:end].rstrip("\r")
        if literal.endswith("\\" + quote) and not literal.endswith("\\\\" + quote):
            hint = f"the last {quote} is escaped by the backslash before it; write \\\\ for a backslash"
        else:
            hint = f"close it with {quote} on the same line; a line break in a string is written \\n"
        return ParseError("unterminated string", self.point(offset, max(1, len(literal))), hint=hint)

    # --- unexpected tokens

    def unexpected_token(self, token: Token) -> ParseError:
        for explain in (self.foreign_operator, self.malformed_literal, self.after_is,
                        self.after_postfix_not, self.between_without_and, self.unbalanced,
                        self.single_equals, self.chained_comparison, self.statement_header,
                        self.field_name, self.missing_operand, self.after_complete_operand,
                        self.statement_expected, self.missing_operator,
                        self.comma_in_parentheses, self.end_date):
            found = explain(token)
            if found is not None:
                return found
        return self.error(f"expected {describe_expected(self.expected, self.start)}"
                          f"{self.found(token)}", token)

    def foreign_operator(self, token: Token) -> ParseError | None:
        """``<>``, ``=>``, ``===``: operators glued from other languages."""
        if token.type not in ("EQUAL", "EQ", "NE", "LT", "GT", "LE", "GE"):
            return None
        start = end = token.start_pos
        while start > 0 and self.text[start - 1] in "<>=!":
            start -= 1
        while end < len(self.text) and self.text[end] in "<>=!":
            end += 1
        operator = self.text[start:end]
        if operator not in _FOREIGN_OPERATORS:
            return None
        return ParseError(f"unknown operator '{operator}'", self.point(start, len(operator)),
                          hint=_FOREIGN_OPERATORS[operator])

    def malformed_literal(self, token: Token) -> ParseError | None:
        """A word glued to a number: ``30x``, ``30days``, ``2026-06-24T1``."""
        previous = self.previous
        if (token.type != "NAME" or previous is None or previous.end_pos != token.start_pos
                or previous.type not in ("NUMBER", "DATE")):
            return None
        end = token.end_pos
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in ":.+-_"):
            end += 1
        line_start = self.text.rfind("\n", 0, token.start_pos) + 1
        datetime = re.search(r"\d{4}-\d{1,2}-\d{1,2}T[\w:.+\-]*\Z", self.text[line_start:end])
        if datetime is not None:
            start = line_start + datetime.start()
            return ParseError(f"malformed datetime '{_shorten(datetime.group())}'",
                              self.point(start, end - start), hint=_DATETIME_HINT)
        if previous.type != "NUMBER":
            return None
        return self.duration_unit(previous, token)

    def duration_unit(self, number: Token, word: Token) -> ParseError:
        literal = number.value + word.value
        span = self.point(number.start_pos, len(literal))
        unit = word.value if word.value in _UNIT_WORDS else _UNIT_OF_WORD.get(word.value.lower())
        if unit is not None and not number.value.replace("_", "").isdigit():
            return ParseError(f"a duration is a whole number of units: '{_shorten(literal)}'", span,
                              hint="use a smaller unit, e.g. 36h for a day and a half")
        if unit is not None:
            hint = f"write {number.value}{unit}"
        elif word.value.lower() in _TOO_SMALL_UNITS:
            hint = "the smallest duration unit is the hour: 1h"
        else:
            hint = _DURATION_HINT
        return ParseError(f"unknown duration unit '{_shorten(word.value)}' in '{_shorten(literal)}'",
                          span, hint=hint)

    def after_is(self, token: Token) -> ParseError | None:
        """``x is nul``, ``x is``: only ``null`` and ``not null`` follow ``is``."""
        previous = self.previous
        if previous is None or not self.expected or not self.expected <= {"NULL", "NOT"}:
            return None
        close = token.type == "NAME" and _close_keyword(token.value, ("null",))
        hint = ("did you mean 'null'?" if close else
                "'is' only tests for null: x is null, x is not null; compare values with '=='")
        if previous.type == "NOT":
            return self.error(f"expected 'null' after 'is not'{self.found(token)}",
                              self.anchor(token), hint)
        return self.error(f"expected 'null' or 'not null' after 'is'{self.found(token)}",
                          self.anchor(token), hint)

    def after_postfix_not(self, token: Token) -> ParseError | None:
        """``x not``, ``x not y``: after a value, ``not`` can only start ``not in``."""
        if self.expected != {"IN"} or self.previous is None or self.previous.type != "NOT":
            return None
        return self.error(f"expected 'in' after 'not'{self.found(token)}", self.anchor(token),
                          hint="write 'x not in [...]' to test membership, or put 'not' before a "
                               "condition to negate it: not purchased(30d)")

    def between_without_and(self, token: Token) -> ParseError | None:
        """``x between 1``, ``x between 1 or 2``: the upper bound is missing."""
        if "AND" not in self.expected or "OR" in self.expected:
            return None
        between = next((t for t in self.scan_back() if t.type == "BETWEEN"), None)
        if between is None:
            return None
        where = between if self.at_boundary(token) else token
        return self.error(f"'between' needs 'and' before its upper bound{self.found(token)}", where,
                          hint="x between 10 and 20 (both bounds included)")

    def unbalanced(self, token: Token) -> ParseError | None:
        """A bracket never closed, closed by the wrong kind, or never opened."""
        stack = self.open_brackets()
        if token.type in _CLOSERS:
            if stack and stack[-1].type == _CLOSERS[token.type]:
                return None
            if stack:
                opener = stack[-1]
                closer = _TEXT[_OPENERS[opener.type]]
                return self.error(f"'{opener.value}' is never closed: expected '{closer}' before "
                                  f"'{token.value}'", opener, hint=f"add '{closer}' to close it")
            return self.error(f"unmatched '{token.value}'", token,
                              hint=f"remove it, or add the '{_TEXT[_CLOSERS[token.type]]}' it closes")
        if not stack or not self.at_boundary(token):
            return None
        if self.previous.type in _NEEDS_OPERAND - {"LPAR", "LSQB", "COMMA"}:
            return None  # "expected an expression after 'and'" says more
        opener = stack[-1]
        closer = _TEXT[_OPENERS[opener.type]]
        where = " before the next statement" if token.type != "$END" else ""
        return self.error(f"'{opener.value}' is never closed", opener,
                          hint=f"add '{closer}' to close it{where}")

    def single_equals(self, token: Token) -> ParseError | None:
        """``country = "FR"``: one ``=`` where a comparison was meant."""
        if token.type != "EQUAL" or "EQ" not in self.expected:
            return None
        return self.error("'=' is not a comparison operator", token,
                          hint="write '==' to compare; a single '=' only defines statements and "
                               "names keyword arguments")

    def chained_comparison(self, token: Token) -> ParseError | None:
        """``a < b < c``: comparisons do not chain."""
        if token.type not in _COMPARISONS or token.type in self.expected or "NUMBER" in self.expected:
            return None
        earlier = next((t for t in self.scan_back(stop_at_and=False) if t.type in _COMPARISONS),
                       None)
        if earlier is None:
            return None
        # `a between 1 and 2 < 3` reaches 'between' across its own 'and' only.
        crossed_and = any(t.type == "AND" for t in self.scan_back(stop_at_and=False)
                          if t.start_pos > earlier.start_pos)
        if crossed_and and earlier.type != "BETWEEN":
            return None
        return self.error(f"comparisons cannot be chained: '{token.value}' follows "
                          f"'{earlier.value}'", token,
                          hint="join two comparisons with 'and': a < b and b < c")

    # --- statements

    def statement_header(self, token: Token) -> ParseError | None:
        """Mistakes before the ``=`` of a statement, and in a period's dates."""
        if not self.in_file:
            return None
        header = self.statement_so_far()
        if not header:
            return None
        keyword = header[0]
        kind = {"SEGMENT": "segment", "PERIOD": "period", "DEF": "function"}[keyword.type]
        if len(header) == 1:
            return self.statement_name(token, keyword, kind)
        if keyword.type == "SEGMENT":
            return self.segment_header(token, header)
        if keyword.type == "PERIOD":
            return self.period_header(token, header)
        return self.def_header(token, header)

    def statement_so_far(self) -> list[Token]:
        """The tokens of the current statement, when it has not reached its
        body yet (the ``=`` of a segment or def, the dates of a period)."""
        start = next((i for i in range(len(self.before) - 1, -1, -1)
                      if self.before[i].type in _STATEMENT_KEYWORDS), None)
        if start is None:
            return []
        header = self.before[start:]
        if header[0].type == "PERIOD":
            return header if len(header) < 6 else []
        if header[0].type == "DEF":
            closed = [i for i, t in enumerate(header) if t.type == "RPAR"]
            return header if not closed or closed[0] == len(header) - 1 else []
        return header if all(t.type != "EQUAL" for t in header) else []

    def statement_name(self, token: Token, keyword: Token, kind: str) -> ParseError:
        if token.type in _KEYWORD_TYPES:
            return self.error(f"'{token.value}' is a reserved word and cannot name a {kind}", token,
                              hint="choose another name")
        return self.error(f"expected a {kind} name after '{keyword.value}'{self.found(token)}",
                          self.anchor(token), hint=_FORMS[keyword.type])

    def segment_header(self, token: Token, header: list[Token]) -> ParseError:
        form = _FORMS["SEGMENT"]
        if header[-1].type == "STRING":
            return self.error(f"expected '=' after the description{self.found(token)}",
                              self.anchor(token), hint=form)
        name = header[1].value
        if token.type == "NAME":
            hint = f"a segment name is one word: join words with '_', e.g. {name}_{token.value}"
        elif token.type == "EQ":
            hint = "a segment is defined with a single '='"
        elif token.type == "DOT":
            hint = "a segment name cannot contain '.'; use '_'"
        else:
            hint = form
        return self.error(f"expected '=' after the segment name '{name}'{self.found(token)}",
                          self.anchor(token), hint=hint)

    def period_header(self, token: Token, header: list[Token]) -> ParseError:
        form = _FORMS["PERIOD"]
        last = header[-1]
        if len(header) == 2:
            message = f"expected '=' after the period name '{last.value}'"
        elif last.type == "EQUAL":
            message = "a period is two dates joined by '..'"
            if token.type == "DATETIME":
                form = "a period is made of whole days: write dates without a time"
        elif last.type == "DATE":
            message = f"expected '..' and an end date after {last.value}"
        else:
            message = "expected an end date after '..'"
        return self.error(f"{message}{self.found(token)}", self.anchor(token), hint=form)

    def def_header(self, token: Token, header: list[Token]) -> ParseError:
        name = header[1].value
        form = _FORMS["DEF"]
        last = header[-1]
        if len(header) == 2:
            return self.error(f"expected '(' after the function name '{name}'{self.found(token)}",
                              self.anchor(token),
                              hint=f"list the parameters in parentheses, even when there are "
                                   f"none: def {name}() = ...")
        if last.type == "RPAR":
            return self.error(f"expected '=' after the parameters of '{name}'{self.found(token)}",
                              self.anchor(token), hint=form)
        if last.type == "NAME":
            return self.error(f"expected ',' or ')' after parameter '{last.value}'"
                              f"{self.found(token)}", self.anchor(token), hint=form)
        if token.type in _KEYWORD_TYPES:
            return self.error(f"'{token.value}' is a reserved word and cannot name a parameter",
                              token, hint="choose another name")
        return self.error(f"expected a parameter name{self.found(token)}", self.anchor(token),
                          hint="parameters are plain names: def bought_in(category, window) = ...")

    def statement_expected(self, token: Token) -> ParseError | None:
        """Text at the top of a rule file that does not start a statement."""
        if not self.in_file or not self.expected & _STATEMENT_KEYWORDS:
            return None
        if self.expected & _OPERATORS:
            return None  # a statement's expression could go on: an operator may be missing
        first = not any(t.type in _STATEMENT_KEYWORDS for t in self.before)
        close = token.type == "NAME" and _close_keyword(token.value, ("segment", "period", "def"))
        if close:
            hint = f"did you mean '{close}'?"
        elif first and token.type in _OPERAND_STARTS:
            hint = ("a rule file holds named statements: write 'segment NAME = ...' around "
                    "this expression, or parse a lone expression with segdsl.parse_expression")
        else:
            hint = f"a rule file holds statements: {_STATEMENT_FORMS}"
        what = "a statement" if first else "a new statement"
        return self.error(f"expected {what} ('segment', 'period' or 'def'), found "
                          f"{_describe(token)}", token, hint=hint)

    # --- expressions

    def field_name(self, token: Token) -> ParseError | None:
        """``address.``, ``a.1``, ``a.and``: a dot must be followed by a name."""
        if self.previous is None or self.previous.type != "DOT":
            return None
        if token.type in _KEYWORD_TYPES:
            return self.error(f"'{token.value}' is a reserved word and cannot be a field name",
                              token, hint="choose another name")
        return self.error(f"expected a field name after '.'{self.found(token)}", self.anchor(token),
                          hint="a field path is names joined by '.': address.city")

    def missing_operand(self, token: Token) -> ParseError | None:
        """An operator, bracket or ``=`` with no expression after it."""
        if "NUMBER" not in self.expected or token.type in _OPERAND_STARTS:
            return None
        previous = self.previous
        if token.type in _KEYWORD_TYPES and previous is not None and previous.type in (
                "LPAR", "COMMA") and re.match(r"\s*=(?!=)", self.text[token.end_pos:]):
            return self.error(f"'{token.value}' is a reserved word and cannot name an argument",
                              token, hint="choose another name")
        if previous is None or previous.type not in _NEEDS_OPERAND:
            return self.expression_start(token)
        if self.at_boundary(token):
            return self.error(f"expected an expression after '{previous.value}'", previous)
        if previous.type == "LPAR" and token.type == "RPAR":
            return self.error("empty parentheses: expected an expression between '(' and ')'",
                              previous, hint="parentheses group an expression: (a or b)")
        return self.error(f"expected an expression after '{previous.value}', found "
                          f"{_describe(token)}", token, hint=self.operand_hint(token, previous))

    def expression_start(self, token: Token) -> ParseError:
        """The expression is empty, or starts with something that cannot start one."""
        if token.type == "$END":
            return self.error("the expression is empty", token,
                              hint="write a condition, e.g. visits(30d) >= 10")
        if token.type in _OPERATORS:
            return self.error(f"expected an expression before '{token.value}'", token,
                              hint=f"'{token.value}' needs an operand on each side")
        return self.error(f"expected an expression, found {_describe(token)}", token,
                          hint=self.operand_hint(token, None))

    def operand_hint(self, token: Token, previous: Token | None) -> str | None:
        if token.type in _STATEMENT_KEYWORDS:
            return (f"'{token.value}' starts a statement of a rule file and cannot appear in an "
                    f"expression; parse rule files with segdsl.parse")
        if previous is not None and previous.type == token.type:
            return f"'{token.value}' is written twice"
        if previous is not None and previous.type == "BETWEEN":
            return "x between 10 and 20 (both bounds included)"
        if previous is not None and {previous.type, token.type} <= {"AND", "OR", "NOT"}:
            return f"put a condition between '{previous.value}' and '{token.value}'"
        if token.type in _KEYWORD_TYPES:
            return f"'{token.value}' is a reserved word and cannot be used as a name"
        return None

    def missing_operator(self, token: Token) -> ParseError | None:
        """Two operands side by side: ``a > 1 b``, ``f(a b)``, ``segment s = a adn b``."""
        if not self.expected & _OPERATORS or self.at_boundary(token):
            return None
        expected = self.expected - {"DOT", "LPAR", "EQUAL"}  # name continuations say nothing here
        return self.error(f"expected {describe_expected(expected, self.start)}, found "
                          f"{_describe(token)}", token, hint=self.operator_hint(token, expected))

    def operator_hint(self, token: Token, expected: set[str]) -> str:
        previous = self.previous
        # `as` is too short a word to be a likely typo of anything (`days` is not it).
        candidates = [w for w in KEYWORDS if w.upper() in self.expected and w != "as"] + [
            "and", "or"]
        close = token.type == "NAME" and _close_keyword(token.value, candidates)
        if close:
            return f"did you mean '{close}'?"
        unit = token.type == "NAME" and (token.value if token.value in _UNIT_WORDS
                                         else _UNIT_OF_WORD.get(token.value.lower()))
        if unit and previous.type == "NUMBER":
            return f"write a duration without a space: {previous.value}{unit}"
        if previous.type == "DATE" and token.type == "NUMBER" and self.text.startswith(
                ":", token.end_pos):
            time = re.match(r"[0-9:]*", self.text[token.start_pos:]).group()
            return f"join the date and the time with 'T': {previous.value}T{time}"
        if token.type == "DOT":
            return "a field path is names joined by '.': address.city"
        if token.type == "RANGE":
            return "'..' joins the two dates of a date range: 2026-06-24 .. 2026-07-21"
        if token.type == "LPAR" and self.token_before(2) is not None and \
                self.token_before(2).type == "DOT":
            return "a function name has no '.': call it as f(...)"
        if "COMMA" in expected:
            return "separate items with ','"
        return "join conditions with 'and' or 'or'"

    def after_complete_operand(self, token: Token) -> ParseError | None:
        """A statement keyword or a ',' right after an operand, where the parser
        had already closed the expression (so only its end would fit)."""
        previous = self.previous
        if (previous is None or previous.type not in _OPERAND_ENDS or "NUMBER" in self.expected
                or token.type not in _STATEMENT_KEYWORDS | {"COMMA"}):
            return None
        if token.type == "COMMA" and self.open_brackets():
            return None
        statement = next((t for t in reversed(self.before) if t.type in _STATEMENT_KEYWORDS), None)
        if statement is not None and statement.type == "PERIOD":
            return None  # a period's dates take no operator
        hint = (self.operand_hint(token, None) if token.type != "COMMA" else
                "',' separates list items and arguments; join conditions with 'and' or 'or'")
        # An operator would fit after the operand, though the parser no longer says so.
        return self.error(f"expected {describe_expected(self.expected | {'AND'}, self.start)}, "
                          f"found {_describe(token)}", token, hint=hint)

    def end_date(self, token: Token) -> ParseError | None:
        """``2026-06-24 ..``: a date range needs its end date."""
        if self.previous is None or self.previous.type != "RANGE":
            return None
        return self.error(f"expected an end date after '..'{self.found(token)}", self.anchor(token),
                          hint="a date range is written 2026-06-24 .. 2026-07-21")

    def comma_in_parentheses(self, token: Token) -> ParseError | None:
        """``(a, b)``: parentheses hold one expression."""
        stack = self.open_brackets()
        if token.type != "COMMA" or self.expected != {"RPAR"} or not stack:
            return None
        return self.error("expected ')', found ','", token,
                          hint="parentheses hold one expression; a list is written [a, b]")
