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


class Schema:
    """The declared shape of customer records.

    Args:
        fields: field name to type: a spelling (``"number"``,
            ``"list[string]"``), a :class:`~segdsl.types.Type`, a dict (a nested
            record), a one-element list holding a dict (a list of records) or
            a :class:`ListOf`.
        open: when true, fields not declared are still accepted (as ``any``).
    """

    def __init__(self, fields: Mapping[str, Any], *, open: bool = False) -> None:  # noqa: A002
        self.open = open
        self.root = t.record(_record_fields(fields, "", open), open=open)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}: {type_}" for name, type_ in self.fields.items())
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

        Args:
            records: sample customers; at most ``limit`` are read.
            limit: how many records to look at.
            open: accept fields that the sample did not show.
        """
        merged: t.Type | None = None
        if not isinstance(records, Iterable) or isinstance(records, (str, Mapping)):
            raise UsageError(f"cannot infer a schema from {type(records).__name__}: give a list "
                             f"of customer records")
        for index, record in enumerate(records):
            if index >= limit:
                break
            merged = _merge(merged, _type_of(_as_mapping(record)))
        if merged is None or not merged.is_record:
            raise UsageError("cannot infer a schema: no records given")
        return cls(_settle(merged).fields or {}, open=open)


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
