"""Schemas: the fields of customer records and of the lists they carry.

A schema is declared in Python with plain spellings::

    schema = segdsl.Schema({
        "id": "number",
        "country": "string",
        "tags": "list[string]",
        "address": {"city": "string"},                    # a nested record
        "orders": segdsl.ListOf({"at": "datetime", "total": "number"}, timestamp="at"),
        "events": [{"type": "string", "at": "datetime"}], # a list of records
    })

or inferred from sample records with :meth:`Schema.infer`. With a schema,
unknown fields are compile errors with a did-you-mean hint. Without one the
checker uses :data:`DEFAULT_SCHEMA`, which knows the brief's ``orders`` and
``events`` lists and accepts any other field, checking its values at run time.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from segdsl import types as t
from segdsl.errors import UsageError

DEFAULT_TIMESTAMP = "at"


@attrs.frozen
class ListOf:
    """A list field whose elements are records.

    Attributes:
        fields: the element's fields, spelled as in :class:`Schema`.
        timestamp: the element field holding its time (default ``at``).
    """

    fields: Mapping[str, Any]
    timestamp: str | None = DEFAULT_TIMESTAMP


class OneOf:
    """A string field whose values are a fixed set: event types, countries.

    ``OneOf("visit", "cart_abandoned", "email_open")`` declares a string; a rule
    comparing it with any other literal (``type == "vist"``, also through the
    prelude: ``events("vist", 30d)``) is a check error with a did-you-mean
    hint. The data is not checked against the set: another value in the data
    simply equals none of the rule's literals.

    Args:
        values: the allowed strings, at least one.
    """

    __slots__ = ("values",)

    def __init__(self, *values: str) -> None:
        if len(values) == 1 and isinstance(values[0], (list, tuple, set, frozenset)):
            values = tuple(values[0])
        if not values or not all(isinstance(v, str) for v in values):
            raise UsageError("OneOf takes the allowed strings: OneOf(\"visit\", \"cart_abandoned\")")
        self.values = tuple(dict.fromkeys(values))

    def __repr__(self) -> str:
        return f"OneOf({', '.join(repr(v) for v in self.values)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OneOf) and set(self.values) == set(other.values)

    def __hash__(self) -> int:
        return hash(frozenset(self.values))


class Schema:
    """The declared shape of customer records.

    Args:
        fields: field name to type: a spelling (``"number"``,
            ``"list[string]"``), a :class:`~segdsl.types.Type`, a dict (a nested
            record), a one-element list holding a dict (a list of records), a
            :class:`ListOf`, or a :class:`OneOf` (a string with a fixed set of
            values).
        open: when true, fields not declared are still accepted (as ``any``).
    """

    def __init__(self, fields: Mapping[str, Any], *, open: bool = False) -> None:  # noqa: A002
        self.open = open
        self.root = t.record(_record_fields(fields, "", open), open=open)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}: {_shown(type_)}" for name, type_ in self.fields.items())
        return f"Schema({{{shown}}}{', open=True' if self.open else ''})"

    @property
    def fields(self) -> dict[str, t.Type]:
        """The declared top-level fields and their types."""
        return dict(self.root.fields or {})

    @classmethod
    def infer(cls, records: Iterable[Any], *, limit: int = 1000, open: bool = False) -> Schema:  # noqa: A002
        """A schema from sample records (dicts or objects with attributes).

        Strings that all read as ISO 8601 dates or datetimes are typed as such;
        a field whose values disagree gets type ``any``; a list of records takes
        ``at`` (or else its first datetime field) as its timestamp.

        A string field of list elements (``events.type``, ``orders.items.category``)
        seen at least :data:`ONE_OF_MIN_SEEN` times (50) with at most
        :data:`ONE_OF_MAX_VALUES` distinct values (20) is proposed as a
        :class:`OneOf` of the values seen, so that a misspelt event type is a
        check error. Fields of the customer itself (an id, an e-mail) are never
        proposed; nor is a field any of whose values is not a string. Review
        the proposal before relying on it: a value absent from the sample would
        be refused in rules.

        Args:
            records: sample customers; at most ``limit`` are read.
            limit: how many records to look at.
            open: accept fields that the sample did not show.
        """
        merged: t.Type | None = None
        if not isinstance(records, Iterable) or isinstance(records, (str, Mapping)):
            raise UsageError(f"cannot infer a schema from {type(records).__name__}: give a list "
                             f"of customer records")
        seen = _ValuesSeen()
        for index, record in enumerate(records):
            if index >= limit:
                break
            mapping = _as_mapping(record)
            merged = _merge(merged, _type_of(mapping))
            seen.add_record(mapping)
        if merged is None or not merged.is_record:
            raise UsageError("cannot infer a schema: no records given")
        return cls(seen.propose(_settle(merged), ()).fields or {}, open=open)


def _shown(type_: t.Type) -> str:
    if type_.values is not None:
        return f"OneOf({', '.join(repr(v) for v in sorted(type_.values))})"
    return str(type_)


def _record_fields(fields: Mapping[str, Any], prefix: str, open: bool) -> dict[str, t.Type]:  # noqa: A002
    if not isinstance(fields, Mapping):
        raise UsageError(f"schema for {prefix.rstrip('.') or 'the record'} must be a dict of "
                         f"field types")
    for name in fields:
        if not isinstance(name, str):
            raise UsageError(f"schema field names are strings, not {name!r}")
    return {name: _field_type(spec, f"{prefix}{name}", open) for name, spec in fields.items()}


def _field_type(spec: Any, path: str, open: bool) -> t.Type:  # noqa: A002
    if isinstance(spec, t.Type):
        return spec
    if isinstance(spec, str):
        try:
            return t.parse_type(spec)
        except ValueError as error:
            raise UsageError(f"schema field {path}: {error}") from None
    if isinstance(spec, OneOf):
        return t.Type("string", values=frozenset(spec.values))
    if isinstance(spec, ListOf):
        return t.list_of(_element_record(spec.fields, spec.timestamp, path, open))
    if isinstance(spec, Mapping):
        return t.record(_record_fields(spec, path + ".", open), open=open)
    if isinstance(spec, list) and len(spec) == 1 and isinstance(spec[0], Mapping):
        return t.list_of(_element_record(spec[0], DEFAULT_TIMESTAMP, path, open))
    raise UsageError(f"schema field {path}: cannot read type {spec!r}",
                     hint='a type is a name ("number", "list[string]"), a dict of fields, or a '
                          'list of records [{...}]')


def _element_record(fields: Mapping[str, Any], timestamp: str | None, path: str,
                    open: bool) -> t.Type:  # noqa: A002
    element_fields = _record_fields(fields, path + ".", open)
    if timestamp is not None and timestamp not in element_fields:
        if timestamp != DEFAULT_TIMESTAMP:
            raise UsageError(f"schema field {path}: timestamp field {timestamp!r} is not "
                             f"among its fields")
        timestamp = None
    return t.record(element_fields, timestamp, open=open)


# ---------------------------------------------------------------- inference

_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


#: Schema.infer proposes a OneOf for a string field of list elements seen at
#: least this many times ...
ONE_OF_MIN_SEEN = 50
#: ... with at most this many distinct values.
ONE_OF_MAX_VALUES = 20


class _ValuesSeen:
    """The strings seen in each field of list elements, by path, while they
    stay few; a path whose values are not all strings, or too many, is dropped."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], set[str] | None] = {}
        self.count: dict[tuple[str, ...], int] = {}

    def add_record(self, record: Mapping[str, Any]) -> None:
        # A loop over a stack: data may nest deep.
        pending: list[tuple[Any, tuple[str, ...], bool, int]] = [(record, (), False, 0)]
        while pending:
            value, path, in_list, depth = pending.pop()
            if depth > 50:
                continue
            if isinstance(value, (list, tuple)):
                pending.extend((item, path, True, depth + 1) for item in value)
            elif isinstance(value, Mapping):
                pending.extend((v, path + (str(k),), in_list, depth + 1)
                               for k, v in value.items())
            elif in_list and path:
                self._add(path, value)

    def _add(self, path: tuple[str, ...], value: Any) -> None:
        if value is None:
            return
        found = self.values.setdefault(path, set())
        if found is None:
            return
        if not isinstance(value, str):
            self.values[path] = None
            return
        found.add(value)
        self.count[path] = self.count.get(path, 0) + 1
        if len(found) > ONE_OF_MAX_VALUES:
            self.values[path] = None

    def propose(self, type_: t.Type, path: tuple[str, ...]) -> t.Type:
        """``type_`` with a set of values on each string field that qualifies."""
        if type_.is_list and type_.element is not None:
            return t.Type("list", self.propose(type_.element, path))
        if type_.is_record:
            fields = {name: self.propose(ft, path + (name,))
                      for name, ft in (type_.fields or {}).items()}
            return t.record(fields, type_.timestamp, open=type_.open)
        found = self.values.get(path)
        if type_ == t.STRING and found and self.count.get(path, 0) >= ONE_OF_MIN_SEEN:
            return t.Type("string", values=frozenset(found))
        return type_


def _as_mapping(record: Any) -> Mapping[str, Any]:
    if isinstance(record, Mapping):
        return record
    if hasattr(record, "__dict__"):
        return vars(record)
    if hasattr(record, "__slots__"):
        return {name: getattr(record, name) for name in record.__slots__ if hasattr(record, name)}
    raise UsageError(f"a customer must be a dict or an object with attributes, not "
                     f"{type(record).__name__}")


def _type_of(value: Any, seen: frozenset[int] = frozenset()) -> t.Type:
    if value is None:
        return t.NULL
    if id(value) in seen or isinstance(value, enum.Enum):
        return t.ANY  # an object reachable from itself, or an enum member: no record shape
    if isinstance(value, bool):
        return t.BOOL
    if isinstance(value, (int, float)):
        return t.NUMBER
    if isinstance(value, dt.datetime):
        return t.DATETIME
    if isinstance(value, dt.date):
        return t.DATE
    if isinstance(value, str):
        return _string_type(value)
    if isinstance(value, (list, tuple)):
        element: t.Type | None = None
        for item in value:
            element = _merge(element, _type_of(item, seen | {id(value)}))
        return t.list_of(element or t.NULL)
    if isinstance(value, Mapping) or hasattr(value, "__dict__"):
        mapping = _as_mapping(value)
        return t.record({str(k): _type_of(v, seen | {id(value)}) for k, v in mapping.items()})
    return t.ANY


def _string_type(value: str) -> t.Type:
    if _DATETIME_TEXT.match(value):
        try:
            dt.datetime.fromisoformat(value)
            return t.DATETIME
        except ValueError:
            return t.STRING
    if _DATE_TEXT.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
            return t.DATE
        except ValueError:
            return t.STRING
    return t.STRING


def _merge(a: t.Type | None, b: t.Type) -> t.Type:
    """The type that covers values of both ``a`` and ``b``."""
    if a is None or a.name == "null":
        return _with_timestamp(b)
    if b.name == "null":
        return a
    if a.is_record and b.is_record:
        names = list(a.fields or {}) + [k for k in b.fields or {} if k not in (a.fields or {})]
        fields = {}
        for name in names:
            left = (a.fields or {}).get(name)
            right = (b.fields or {}).get(name, t.NULL)
            fields[name] = _merge(left, right)
        return t.record(fields)
    if a.is_list and b.is_list:
        return _with_timestamp(t.list_of(_merge(a.element, b.element)))
    if {a.name, b.name} == {"date", "datetime"}:
        return t.DATETIME
    return a if a == b else t.ANY


def _settle(type_: t.Type) -> t.Type:
    """Types seen only as null (or empty lists) become ``any``."""
    if type_.name == "null":
        return t.ANY
    if type_.is_list:
        return _with_timestamp(t.Type("list", _settle(type_.element)))
    if type_.is_record:
        fields = {name: _settle(ft) for name, ft in (type_.fields or {}).items()}
        return t.record(fields, type_.timestamp, open=type_.open)
    return type_


def _with_timestamp(type_: t.Type) -> t.Type:
    """Lists of records get their timestamp field: ``at``, else the first datetime."""
    if not type_.is_list or not type_.element.is_record:
        return type_
    fields = type_.element.fields or {}
    if fields.get(DEFAULT_TIMESTAMP) in (t.DATETIME, t.DATE):
        stamp = DEFAULT_TIMESTAMP
    else:
        stamp = next((name for name, ft in fields.items() if ft in (t.DATETIME, t.DATE)), None)
    return t.list_of(t.record(fields, stamp))


def _default_schema() -> Schema:
    item = {"sku": "string", "category": "string", "price": "number", "discounted": "bool"}
    return Schema({
        "id": "any",
        "orders": ListOf({"at": "datetime", "total": "number", "items": [item]}),
        "events": ListOf({"type": "string", "at": "datetime"}),
    }, open=True)


#: The schema used when none is given: the brief's ``orders`` and ``events``
#: lists with their usual fields; every other field is accepted as ``any``.
DEFAULT_SCHEMA = _default_schema()
