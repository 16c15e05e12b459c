"""Turns Lark's parse failures into messages a rule author understands.

Lark reports failures as an unexpected character or token plus the set of
terminal names it would have accepted. This module looks at the text around
the failure (the previous token, unclosed brackets, a digit glued to a word)
and says what is wrong in the words of the language, never in terminal names.
"""

from __future__ import annotations

import difflib

import lark
from lark import Token

from segdsl import nodes as n
from segdsl.errors import ParseError
from segdsl.parser import RESERVED_WORDS, grammar_parser

KEYWORDS = tuple(sorted(RESERVED_WORDS))

_STATEMENT_KEYWORDS = {"SEGMENT", "PERIOD", "DEF"}

# Tokens after which an expression must follow, by terminal name.
_NEEDS_OPERAND = {
    "AND", "OR", "NOT", "EQ", "NE", "LT", "LE", "GT", "GE", "CONTAINS", "STARTS_WITH",
    "ENDS_WITH", "MATCHES", "PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "BETWEEN", "IN",
    "EQUAL", "LPAR", "LSQB", "COMMA",
}

_COMPARISON_TOKENS = {"EQ", "NE", "LT", "LE", "GT", "GE", "CONTAINS", "STARTS_WITH",
                      "ENDS_WITH", "MATCHES", "IN", "BETWEEN", "IS"}

# How each terminal is named in messages.
_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "DATE": "a date",
    "DATETIME": "a datetime", "DURATION": "a duration", "EQUAL": "'='", "COMMA": "','",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "RANGE": "'..'",
    "$END": "the end of the text", "EQ": "'=='", "NE": "'!='", "LT": "'<'", "LE": "'<='",
    "GT": "'>'", "GE": "'>='", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
    "SLASH": "'/'", "PERCENT": "'%'", "DOT": "'.'",
}

_EXPRESSION_STARTS = {"NUMBER", "STRING", "NAME", "LPAR"}

_CLOSERS = {"RPAR": "LPAR", "RSQB": "LSQB"}
_OPENER_TEXT = {"LPAR": "(", "LSQB": "["}
_CLOSER_TEXT = {"LPAR": ")", "LSQB": "]"}

_FOREIGN_OPERATORS = {
    "&&": "write 'and' instead of '&&'",
    "||": "write 'or' instead of '||'",
    "!": "write 'not' to negate, or '!=' to compare",
    "<>": "write '!=' to compare",
}


def translate(error: lark.exceptions.LarkError, text: str, file: str | None,
              start: str) -> ParseError:
    """The :class:`ParseError` that explains Lark's ``error`` in ``text``."""
    context = _Context(text, file, start)
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        found = context.unexpected_character(error)
    elif isinstance(error, lark.exceptions.UnexpectedToken):
        found = context.unexpected_token(error.token, set(error.expected))
    elif isinstance(error, lark.exceptions.UnexpectedEOF):
        found = context.unexpected_token(_end_token(text), set(error.expected))
    else:
        found = ParseError(f"cannot parse the rule: {error}", context.point(0))
    return found.located(text, file)


def _end_token(text: str) -> Token:
    return Token("$END", "", len(text), None, None, None, None, len(text))


def _word(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    return f"'{terminal.lower()}'"


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the text"
    if token.type in ("NAME",):
        return f"name '{token.value}'"
    if token.type in ("NUMBER", "DURATION", "DATE", "DATETIME"):
        return f"{_word(token.type)[2:] if token.type != 'DATE' else 'date'} {token.value}"
    if token.type == "STRING":
        return f"string {token.value}"
    return f"'{token.value}'"


def describe_expected(expected: set[str]) -> str:
    """What the parser wanted, in words: ``an expression``, ``')' or ','``."""
    if expected & _EXPRESSION_STARTS == _EXPRESSION_STARTS:
        return "an expression"
    words = sorted({_word(t) for t in expected if not t.startswith("__")})
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


class _Context:
    """The text being parsed, and the helpers that explain failures in it."""

    def __init__(self, text: str, file: str | None, start: str) -> None:
        self.text = text
        self.file = file
        self.start = start

    # positions

    def point(self, offset: int, length: int = 1) -> n.Span:
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return n.Span(line, column, line, column + length, offset, offset + length, self.file)

    def token_span(self, token: Token) -> n.Span:
        if token.type == "$END":
            return self.point(len(self.text))
        return self.point(token.start_pos, max(1, len(token.value)))

    def tokens_before(self, offset: int) -> list[Token]:
        """The tokens of the text before ``offset`` (comments left out)."""
        tokens = []
        try:
            for token in grammar_parser().lex(self.text[:offset]):
                tokens.append(token)
        except lark.exceptions.LarkError:
            pass
        return tokens

    # unexpected characters

    def unexpected_character(self, error: lark.exceptions.UnexpectedCharacters) -> ParseError:
        offset = error.pos_in_stream
        char = self.text[offset]
        if char in "\"'":
            end_of_line = self.text.find("\n", offset)
            end_of_line = len(self.text) if end_of_line < 0 else end_of_line
            return ParseError("unterminated string", self.point(offset, end_of_line - offset),
                              hint=f"close it with {char} before the end of the line")
        two = self.text[offset:offset + 2]
        for operator, advice in _FOREIGN_OPERATORS.items():
            if two.startswith(operator):
                return ParseError(f"unknown operator '{operator}'",
                                  self.point(offset, len(operator)), hint=advice)
        if char == ".":
            return ParseError("unexpected '.'", self.point(offset),
                              hint="a field path is written a.b, a date range 2026-06-24 .. 2026-07-21")
        if char.isdigit():
            return self.malformed_number(offset)
        shown = char if char.isprintable() else repr(char)
        return ParseError(f"unexpected character '{shown}'", self.point(offset))

    def malformed_number(self, offset: int) -> ParseError:
        end = offset
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "-:._+"):
            end += 1
        word = self.text[offset:end]
        return ParseError(f"malformed literal '{word}'", self.point(offset, end - offset),
                          hint="dates are written 2026-06-24, datetimes 2026-06-24T10:00:00Z")

    # unexpected tokens

    def unexpected_token(self, token: Token, expected: set[str]) -> ParseError:
        if self.start == "expression_only":
            # Parser states are shared with rule files; statements cannot start here.
            expected = expected - _STATEMENT_KEYWORDS
        before = self.tokens_before(token.start_pos if token.type != "$END" else len(self.text))
        previous = before[-1] if before else None
        for explain in (self.glued_unit, self.unbalanced, self.single_equals,
                        self.chained_comparison, self.missing_operand, self.period_syntax,
                        self.between_syntax, self.statement_expected, self.reserved_word,
                        self.missing_operator):
            found = explain(token, expected, previous, before)
            if found is not None:
                return found
        found = "end of text" if token.type == "$END" else _describe(token)
        return ParseError(f"unexpected {found}: expected {describe_expected(expected)}",
                          self.token_span(token))

    def glued_unit(self, token, expected, previous, before):
        """``30x``: a number directly followed by a word is a duration with a bad unit."""
        if (token.type == "NAME" and previous is not None and previous.type == "NUMBER"
                and previous.end_pos == token.start_pos):
            literal = previous.value + token.value
            return ParseError(
                f"unknown duration unit '{token.value}' in '{literal}'",
                self.point(previous.start_pos, len(literal)),
                hint="durations are a whole number and one of h (hours), d (days), w (weeks), "
                     "m (months), y (years): 30d, 12h, 6m",
            )
        return None

    def unbalanced(self, token, expected, previous, before):
        """Unclosed ``(`` or ``[`` at the end, or a closer with no opener."""
        open_stack: list[Token] = []
        for seen in before:
            if seen.type in _OPENER_TEXT:
                open_stack.append(seen)
            elif seen.type in _CLOSERS and open_stack:
                open_stack.pop()
        if token.type in _CLOSERS and not any(o.type == _CLOSERS[token.type] for o in open_stack):
            return ParseError(f"unmatched '{token.value}'", self.token_span(token),
                              hint="remove it, or add the opening bracket it closes")
        if open_stack and (token.type == "$END" or token.type in _STATEMENT_KEYWORDS):
            opener = open_stack[-1]
            if previous is not None and previous.type in _NEEDS_OPERAND - {"LPAR", "LSQB"}:
                return None  # "expected an expression after 'and'" says more
            closer = _CLOSER_TEXT[opener.type]
            return ParseError(f"'{opener.value}' is never closed", self.token_span(opener),
                              hint=f"add '{closer}' to close it")
        return None

    def single_equals(self, token, expected, previous, before):
        """``country = "FR"``: one ``=`` where a comparison was meant."""
        if token.type == "EQUAL" and ("EQ" in expected or "$END" in expected or "AND" in expected):
            return ParseError("'=' is not a comparison operator", self.token_span(token),
                              hint="write '==' to compare; '=' only defines statements and "
                                   "names keyword arguments")
        return None

    def chained_comparison(self, token, expected, previous, before):
        """``a < b < c``: comparisons do not chain."""
        if token.type not in _COMPARISON_TOKENS or token.type in expected:
            return None
        depth = 0
        for seen in reversed(before):
            if seen.type in _CLOSERS:
                depth += 1
            elif seen.type in _OPENER_TEXT:
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and seen.type in ("AND", "OR", "NOT", "COMMA", "EQUAL"):
                break
            elif depth == 0 and seen.type in _COMPARISON_TOKENS:
                return ParseError(f"comparisons cannot be chained: '{token.value}' follows "
                                  f"'{seen.value}'", self.token_span(token),
                                  hint="join two comparisons with 'and': a < b and b < c")
        return None

    def missing_operand(self, token, expected, previous, before):
        """``a and``, ``a and or b``, ``f(1,)``: an operator with nothing after it."""
        if previous is None or previous.type not in _NEEDS_OPERAND:
            return None
        if not expected & _EXPRESSION_STARTS:
            return None
        if previous.type == "LPAR" and token.type == "RPAR":
            return None
        what = _describe(token)
        if token.type == "$END":
            return ParseError(f"expected an expression after '{previous.value}'",
                              self.token_span(previous))
        return ParseError(f"expected an expression after '{previous.value}', found {what}",
                          self.token_span(token))

    def period_syntax(self, token, expected, previous, before):
        """``period p = 2026-06-24``: a period is two dates."""
        keywords = [t for t in before if t.type in _STATEMENT_KEYWORDS]
        if not keywords or keywords[-1].type != "PERIOD" or not expected <= {"DATE", "RANGE"}:
            return None
        return ParseError(f"a period is two dates joined by '..', found "
                          f"{'end of text' if token.type == '$END' else _describe(token)}",
                          self.token_span(token), hint="period NAME = 2026-06-24 .. 2026-07-21")

    def between_syntax(self, token, expected, previous, before):
        """``x between 1``: the upper bound is missing."""
        if expected != {"AND"}:
            return None
        return ParseError("'between' needs 'and' and an upper bound", self.token_span(token),
                          hint="x between 10 and 20 (both bounds included)")

    def statement_expected(self, token, expected, previous, before):
        """Text at the top of a rule file that does not start a statement."""
        if not expected & _STATEMENT_KEYWORDS or expected & _EXPRESSION_STARTS:
            return None
        if "AND" in expected and token.type == "NAME":
            return None  # after a complete rule: a missing operator is likelier
        hint = "a rule file holds statements: segment NAME = EXPRESSION, period NAME = DATE .. DATE, def NAME(PARAMS) = EXPRESSION"
        if previous is None and token.type == "NAME":
            close = difflib.get_close_matches(token.value, ("segment", "period", "def"), n=1)
            if close:
                hint = f"did you mean '{close[0]}'?"
        return ParseError(f"expected a statement ('segment', 'period' or 'def'), found "
                          f"{_describe(token)}", self.token_span(token), hint=hint)

    def reserved_word(self, token, expected, previous, before):
        """A keyword where a name was wanted: ``segment in = ...``."""
        if "NAME" in expected and token.value in KEYWORDS and token.type != "NAME":
            if previous is not None and previous.type in _STATEMENT_KEYWORDS:
                kind = previous.value if previous.value != "def" else "function"
                return ParseError(f"'{token.value}' is a reserved word and cannot name a {kind}",
                                  self.token_span(token), hint="choose another name")
        if previous is not None and previous.type in _STATEMENT_KEYWORDS and token.type != "NAME":
            kind = previous.value if previous.value != "def" else "function"
            return ParseError(f"expected a {kind} name after '{previous.value}', found "
                              f"{_describe(token)}", self.token_span(token))
        return None

    def missing_operator(self, token, expected, previous, before):
        """Two operands side by side: ``a > 1 b``, ``visits(30d) >= 10 an not x``."""
        if token.type != "NAME" or expected & _EXPRESSION_STARTS:
            return None
        close = difflib.get_close_matches(token.value, KEYWORDS, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "join conditions with 'and' or 'or'"
        return ParseError(f"unexpected name '{token.value}': expected an operator or the end of "
                          f"the rule", self.token_span(token), hint=hint)
