"""Values read from data: one normalisation and one field reader for every path.

Public functions (used by the compiler, aggregations, timelines, population
functions and explanations alike):

``normalise(value)``
    A raw value as rules see it. Nulls (``None``, float and numpy NaN,
    ``Decimal('NaN')``, ``pandas.NA``, ``pandas.NaT``, ``numpy.datetime64('NaT')``)
    become ``None``; ``numpy.bool_`` becomes ``bool``; numpy integers ``int``;
    numpy floats ``float``; ``Decimal`` ``float``; ``pandas.Timestamp`` a plain
    ``datetime``; ``numpy.datetime64`` a naive ``datetime``; a plain ``tuple``
    or a 1-d numpy array a ``list``. Everything else is returned unchanged
    (records included). Shallow: the items of a list are not normalised
    (use :func:`normalise_items`), so data nested any depth costs no recursion.
    Raises a plain ``ValueError`` for a number that is not one (an infinite or
    overflowing ``Decimal``, a numpy datetime out of range) and ``TypeError``
    for a complex number: the caller turns it into a ``DataError`` naming the
    customer and the field.

``normalise_items(items)``
    The items of a list, each normalised (the same list when none changes).

``read_field(record, name)``
    Field ``name`` of a record, raw (not normalised), ``None`` when missing.
    A ``dict`` or any ``Mapping`` is read without ever mutating it (a
    ``defaultdict``'s factory never runs); an object through ``getattr``, but a
    name starting with ``_`` is never read from an object (it reads as null).
    ``None`` reads as ``None`` (a missing record has no fields). Raises
    :class:`FieldReadError` when ``record`` is not a record (a number, text,
    list, date, ...) or when the record's own code (a property,
    ``__getattr__``, ``get``, ``__getitem__``, ``__contains__``) raised; its
    message says which, for a ``DataError`` naming the customer and the path.

``is_record(value)``
    Whether ``value`` is a record (dict, Mapping or an object with
    attributes), not a plain value.

``safe_repr(value, limit=None)``
    ``repr(value)``, or ``<TypeName>`` when ``repr`` raises (or recurses too
    deep); cut to ``limit`` characters when given. Use it in every message
    that shows a value from data.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["FieldReadError", "is_record", "normalise", "normalise_items", "read_field",
           "safe_repr"]


class FieldReadError(Exception):
    """Reading a field failed; ``str(error)`` says why, ``cause`` is the
    exception the record raised (None when the value is not a record)."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


# Values that are never records: reading a field of one is bad data.
NOT_RECORDS: tuple[type, ...] = (str, bytes, bytearray, bool, int, float, complex,
                                 decimal.Decimal, list, set, frozenset, dt.date, dt.time,
                                 dt.timedelta)

_PLAIN = frozenset((str, int, bool, type(None), list, dict))


def normalise(value: Any) -> Any:
    """``value`` as rules see it (see the module docstring)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if value == value else None  # noqa: PLR0124 - NaN is null
    return _unusual(value, kind)


def _unusual(value: Any, kind: type) -> Any:
    if kind is tuple:
        return list(value)
    if kind is decimal.Decimal:
        return _decimal(value)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, (str, int, float)) and not hasattr(value, "_fields"):
        return _builtin_subclass(value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.generic, numpy.ndarray)):
        return _numpy(value, numpy)
    pandas = sys.modules.get("pandas")
    if pandas is not None and value is pandas.NA:
        return None
    if isinstance(value, complex):
        raise TypeError(f"{safe_repr(value)} is a complex number")
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return list(value)
    return value


def _decimal(value: decimal.Decimal) -> float | None:
    if value.is_nan():
        return None
    number = float(value)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{value} is not a finite number")
    return number


def _datetime(value: dt.datetime) -> dt.datetime | None:
    if type(value) is dt.datetime:
        return value
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if value is pandas.NaT:
            return None
        if isinstance(value, pandas.Timestamp):
            return value.to_pydatetime(warn=False)
    return value


def _builtin_subclass(value: Any) -> Any:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return normalise(float(value))
    return str(value)


def _numpy(value: Any, numpy: Any) -> Any:
    if isinstance(value, numpy.ndarray):
        if value.ndim == 0:
            return normalise(value[()])
        return list(value)
    if isinstance(value, numpy.bool_):
        return bool(value)
    if isinstance(value, numpy.integer):
        return int(value)
    if isinstance(value, numpy.floating):
        number = float(value)
        return number if number == number else None  # noqa: PLR0124
    if isinstance(value, numpy.datetime64):
        if numpy.isnat(value):
            return None
        moment = value.astype("datetime64[us]").item()
        if not isinstance(moment, dt.datetime):
            if isinstance(moment, dt.date):
                return dt.datetime(moment.year, moment.month, moment.day)
            raise ValueError(f"{value} is out of the range of datetimes")
        return moment
    if isinstance(value, numpy.timedelta64):
        if numpy.isnat(value):
            return None
        span = value.astype("timedelta64[us]").item()
        if not isinstance(span, dt.timedelta):
            raise ValueError(f"{value} is out of the range of durations")  # noqa: TRY004
        return span
    if isinstance(value, numpy.str_):
        return str(value)
    if isinstance(value, numpy.complexfloating):
        raise TypeError(f"{value} is a complex number")
    return value


def normalise_items(items: list) -> list:
    """The items of ``items``, each normalised; ``items`` itself when none changes."""
    plain = _PLAIN
    for index, item in enumerate(items):
        kind = type(item)
        if kind not in plain and (kind is not float or item != item):  # noqa: PLR0124
            return items[:index] + [normalise(other) for other in items[index:]]
    return items


def is_record(value: Any) -> bool:
    """Whether ``value`` is a record: a dict, a Mapping or an object with attributes."""
    if type(value) is dict:
        return True
    if value is None or isinstance(value, NOT_RECORDS):
        return False
    if isinstance(value, tuple):
        return hasattr(value, "_fields")  # a namedtuple is a record, a plain tuple a list
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.generic, numpy.ndarray)):
        return False
    pandas = sys.modules.get("pandas")
    return pandas is None or value is not pandas.NA


def read_field(record: Any, name: str) -> Any:
    """Field ``name`` of ``record``, raw; None when missing (see the module docstring)."""
    if type(record) is dict:
        return record.get(name)
    if record is None:
        return None
    if not is_record(record):
        raise FieldReadError(f"expected a record with a field '{name}', found "
                             f"{safe_repr(record, 80)}")
    try:
        if isinstance(record, Mapping):
            # never .get: a defaultdict's factory or an overridden get must not run
            return record[name] if name in record else None  # noqa: SIM401
        if name.startswith("_"):
            return None
        return getattr(record, name, None)
    except Exception as error:  # noqa: BLE001 - the record's own code raised
        raise FieldReadError(f"reading field '{name}' raised {type(error).__name__}: "
                             f"{_safe_str(error)}", error) from None


def safe_repr(value: Any, limit: int | None = None) -> str:
    """``repr(value)``, or ``<TypeName>`` when that raises; at most ``limit`` characters."""
    try:
        text = repr(value)
        if type(text) is not str:
            raise TypeError("repr did not return text")
    except Exception:  # noqa: BLE001 - a user's __repr__ may raise anything, or recurse
        text = f"<{type(value).__name__}>"
    if limit is not None and len(text) > limit:
        text = text[:max(limit - 3, 0)] + "..."
    return text


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001
        return f"<{type(error).__name__}>"
