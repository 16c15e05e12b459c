"""The static types of the language.

Every expression has one of: ``bool``, ``number``, ``string``, ``date``,
``datetime``, ``duration``, ``period``, ``list[T]`` or ``record``. ``any``
stands for a value whose type is not known before the data is read (a field
of a record without a schema); it is accepted wherever a type is expected and
checked at run time instead. ``null`` is the type of the literal ``null``: a
value of any type may be missing, so ``null`` fits everywhere.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Type:
    """A type of the language.

    Attributes:
        name: ``bool``, ``number``, ``string``, ``date``, ``datetime``,
            ``duration``, ``period``, ``list``, ``record``, ``any`` or ``null``.
        element: the type of a list's elements.
        fields: a record's field types by name (None for an open record,
            whose fields are not declared).
        timestamp: for a list of records, the field holding each element's
            time, used by windows (``within = 30d``).
        open: a record that may hold fields beyond ``fields`` (typed ``any``).
        values: for a string, the values a schema allows (None: any text);
            the checker refuses comparisons with any other literal.
    """

    name: str
    element: Type | None = None
    fields: dict[str, Type] | None = attrs.field(default=None, eq=False, hash=False)
    timestamp: str | None = attrs.field(default=None, eq=False, hash=False)
    open: bool = attrs.field(default=False, eq=False, hash=False)
    values: frozenset[str] | None = attrs.field(default=None, eq=False, hash=False)

    def __str__(self) -> str:
        if self.name == "list":
            return f"list[{self.element}]"
        return self.name

    @property
    def is_list(self) -> bool:
        return self.name == "list"

    @property
    def is_record(self) -> bool:
        return self.name == "record"

    def field(self, name: str) -> Type | None:
        """The type of field ``name`` of a record (``any`` for open records,
        None when a closed record has no such field)."""
        if self.name == "any":
            return ANY
        if not self.is_record:
            return None
        if self.fields and name in self.fields:
            return self.fields[name]
        return ANY if self.open or self.fields is None else None


BOOL = Type("bool")
NUMBER = Type("number")
STRING = Type("string")
DATE = Type("date")
DATETIME = Type("datetime")
DURATION = Type("duration")
PERIOD = Type("period")
ANY = Type("any")
NULL = Type("null")
OPEN_RECORD = Type("record")

SCALARS = {t.name: t for t in (BOOL, NUMBER, STRING, DATE, DATETIME, DURATION, PERIOD, ANY)}


def list_of(element: Type) -> Type:
    """The type of lists of ``element``."""
    return Type("list", element)


def record(fields: dict[str, Type] | None, timestamp: str | None = None, *,
           open: bool = False) -> Type:  # noqa: A002
    """A record type with the given field types (None: any field, typed ``any``)."""
    return Type("record", fields=fields, timestamp=timestamp, open=open)


def is_unknown(t: Type) -> bool:
    """True for ``any`` and ``null``, which fit every type."""
    return t.name in ("any", "null")


def fits(actual: Type, expected: Type) -> bool:
    """Whether a value of type ``actual`` may be used where ``expected`` is wanted."""
    if is_unknown(actual) or is_unknown(expected):
        return True
    if actual.name != expected.name:
        return actual.name == "date" and expected.name == "datetime"
    if actual.is_list:
        return fits(actual.element, expected.element)
    return True


def comparable(left: Type, right: Type) -> bool:
    """Whether two values of these types can be compared for order or equality.

    A date and a datetime compare by calendar day; a list compares with a list
    of comparable elements.
    """
    if is_unknown(left) or is_unknown(right):
        return True
    temporal = {"date", "datetime"}
    if left.name in temporal and right.name in temporal:
        return True
    if left.is_list and right.is_list:
        return comparable(left.element, right.element)
    return left.name == right.name


def unify(types: list[Type]) -> Type:
    """The common type of list items or branches: ``any`` when they disagree."""
    known = [t for t in types if t.name != "null"]
    if not known:
        return NULL if types else ANY
    first = known[0]
    if all(t == first for t in known):
        return first
    if {t.name for t in known} <= {"date", "datetime"}:
        return DATETIME
    return ANY


def parse_type(spelling: str) -> Type:
    """A type from its spelling: ``number``, ``list[string]``, ``datetime``.

    Raises:
        ValueError: the spelling names no type.
    """
    text = spelling.strip()
    if text.startswith("list[") and text.endswith("]"):
        return list_of(parse_type(text[5:-1]))
    if text == "record":
        return OPEN_RECORD
    if text in SCALARS:
        return SCALARS[text]
    names = ", ".join(sorted(SCALARS)) + ", record, list[T]"
    raise ValueError(f"unknown type {spelling!r}; the types are {names}")
