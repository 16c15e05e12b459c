"""RE2 patterns as POSIX advanced regular expressions (PostgreSQL's ``~``).

Only what means the same in both is translated; anything else is refused, so
that a search never finds another answer. Whether a match exists does not
depend on greediness, so lazy quantifiers become greedy ones. Translated:

- literal characters (special ones escaped), ``.`` (any character but a
  newline, as in RE2: ``[^\\n]``), ``^``, ``$``, ``\\A``, ``\\z``, ``|``,
  groups (captures dropped), ``*``, ``+``, ``?``, ``{n}``, ``{n,}``,
  ``{n,m}`` up to 255 (PostgreSQL's limit);
- bracket expressions of characters and ranges, negated or not;
- ``\\d``, ``\\w``, ``\\s`` and their negations outside brackets (ASCII, as in
  RE2), escapes of punctuation, ``\\n``, ``\\t``, ``\\r``, ``\\f``, ``\\v``,
  ``\\xHH``, ``\\x{H...}``.

Refused: flags (``(?i)``: case folding beyond ASCII differs), word boundaries
(``\\b``: PostgreSQL's word characters are not ASCII only), Unicode and POSIX
classes (``\\pL``, ``[[:alpha:]]``), ``\\Q...\\E``, ``\\C``, octal escapes, a
repetition of an anchor or of nothing, counts beyond 255.
"""

from __future__ import annotations

_CLASSES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_CONTROL = {"n": "\\n", "t": "\\t", "r": "\\r", "f": "\\f", "v": "\\v", "a": "\\a"}
_SPECIAL = set(".^$|()[]{}*+?\\")
_SAFE = set(" !\"#%&',-/:;<=>@_`~")
_MAX_COUNT = 255


class _Refused(Exception):
    pass


def translate(pattern: str) -> str | tuple[str]:
    """``pattern`` (RE2) as a PostgreSQL ARE, or ``(why,)`` when it may mean otherwise."""
    try:
        return _Translator(pattern).run()
    except _Refused as why:
        return (str(why),)


class _Translator:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0
        self.out: list[str] = []
        # Whether the last output can take a quantifier (an atom, not an anchor).
        self.atom = False

    def run(self) -> str:
        while self.at < len(self.text):
            self.step()
        return "".join(self.out)

    def peek(self, offset: int = 0) -> str:
        index = self.at + offset
        return self.text[index] if index < len(self.text) else ""

    def emit(self, text: str, atom: bool) -> None:
        self.out.append(text)
        self.atom = atom

    def step(self) -> None:
        ch = self.peek()
        if ch == "\\":
            self.escape()
        elif ch == "[":
            self.bracket()
        elif ch == "(":
            self.group()
        elif ch == ")":
            self.at += 1
            self.emit(")", True)
        elif ch == "|":
            self.at += 1
            self.emit("|", False)
        elif ch in "^$":
            self.at += 1
            self.emit(ch, False)
        elif ch == ".":
            self.at += 1
            self.emit("[^\\n]", True)
        elif ch in "*+?":
            self.at += 1
            self.quantifier(ch)
        elif ch == "{" and (repeat := self.count()) is not None:
            self.quantifier(repeat)
        else:
            self.at += 1
            self.emit(_literal(ch), True)

    def count(self) -> str | None:
        """The text of a repetition ``{n}``, ``{n,}`` or ``{n,m}`` at the cursor
        (advancing past it), or None when ``{`` is a literal there (as in RE2)."""
        end = self.text.find("}", self.at)
        if end < 0:
            return None
        inside = self.text[self.at + 1:end]
        low, _, high = inside.partition(",")
        if not (low.isascii() and low.isdigit()) or (high and not (
                high.isascii() and high.isdigit())):
            return None
        if max(int(low), int(high or 0)) > _MAX_COUNT:
            raise _Refused(f"PostgreSQL repeats at most {_MAX_COUNT} times")
        self.at = end + 1
        return "{" + inside + "}"

    def quantifier(self, text: str) -> None:
        if not self.atom:
            raise _Refused(f"'{text}' repeats no character there")
        if self.peek() == "?":  # lazy: whether there is a match is the same
            self.at += 1
        self.emit(text, False)

    def group(self) -> None:
        self.at += 1
        if self.peek() == "?":
            if self.peek(1) == ":":
                self.at += 2
                self.emit("(?:", False)
                return
            if self.peek(1) == "P" and self.peek(2) == "<" or self.peek(1) == "<":
                end = self.text.find(">", self.at)
                self.at = end + 1
                self.emit("(", False)
                return
            raise _Refused("flags such as (?i) fold case otherwise in PostgreSQL")
        self.emit("(", False)

    def escape(self) -> None:
        kind = self.peek(1)
        self.at += 2
        if kind in _CLASSES:
            self.emit(f"[{_CLASSES[kind]}]", True)
        elif kind.lower() in _CLASSES:
            self.emit(f"[^{_CLASSES[kind.lower()]}]", True)
        elif kind == "A":
            self.emit("^", False)
        elif kind == "z":
            self.emit("$", False)
        else:
            self.emit(_literal(self.character(kind)), True)

    def character(self, kind: str) -> str:
        """The character an escape (after its backslash, the cursor past ``kind``) stands for."""
        if kind in _CONTROL:
            return {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}[kind]
        if kind == "x":
            if self.peek() == "{":
                end = self.text.find("}", self.at)
                digits = self.text[self.at + 1:end]
                self.at = end + 1
            else:
                digits = self.text[self.at:self.at + 2]
                self.at += 2
            return chr(int(digits, 16))
        if kind and not kind.isalnum():
            return kind
        raise _Refused(f"'\\{kind}' has no equivalent of the same meaning in PostgreSQL")

    def bracket(self) -> None:
        self.at += 1
        negated = self.peek() == "^"
        if negated:
            self.at += 1
        items: list[str] = []
        first = True
        while True:
            ch = self.peek()
            if ch == "":
                raise _Refused("an unclosed '['")
            if ch == "]" and not first:
                self.at += 1
                break
            first = False
            if ch == "[" and self.peek(1) == ":":
                raise _Refused("POSIX classes such as [:alpha:] are not ASCII only in PostgreSQL")
            low = self.member()
            if len(low) > 1:  # a class: its ranges join the expression's items
                items.append(low)
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.at += 1
                high = self.member()
                if len(high) > 1:
                    raise _Refused("a range ending in a class")
                if low == "\0":
                    low = "\x01"  # no text holds NUL in PostgreSQL
                items.append(f"{_in_bracket(low)}-{_in_bracket(high)}")
            else:
                items.append(_in_bracket(low))
        self.emit("[" + ("^" if negated else "") + "".join(items) + "]", True)

    def member(self) -> str:
        """One character of a bracket expression, or the ranges of a class (``0-9``)."""
        ch = self.peek()
        if ch != "\\":
            self.at += 1
            return ch
        kind = self.peek(1)
        self.at += 2
        if kind in _CLASSES:
            return _CLASSES[kind]
        if kind.lower() in _CLASSES:
            raise _Refused(f"'\\{kind}' inside brackets")
        return self.character(kind)


def _literal(ch: str) -> str:
    if ch == "\0":
        raise _Refused("no text holds NUL in PostgreSQL")
    if ch in _SPECIAL:
        return "\\" + ch
    if ch.isalnum() or ch in _SAFE or (ord(ch) > 127 and ch.isprintable()):
        return ch
    return _code(ch)


def _in_bracket(ch: str) -> str:
    if ch == "\0":
        raise _Refused("no text holds NUL in PostgreSQL")
    if ch in "]\\^-[":
        return "\\" + ch
    if ch.isalnum() or ch in _SAFE or ch in _SPECIAL or (ord(ch) > 127 and ch.isprintable()):
        return ch
    return _code(ch)


def _code(ch: str) -> str:
    point = ord(ch)
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"
