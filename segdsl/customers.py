"""What the caller passes as customers, turned into records the rules can read.

Accepted as *the customers* (``evaluate``, ``filter``, ``population``):

* a list, tuple or any other iterable (a generator, a set, a numpy array) of
  customers, read once (twice when a ranking is mixed with other conditions and
  the iterable is re-readable, see :func:`rereadable`);
* a pandas, polars or pyarrow table (pandas and polars ``DataFrame``, a polars
  ``LazyFrame``, a pyarrow ``Table``, ``RecordBatch`` or
  ``RecordBatchReader``), or any object offering an Arrow stream
  (``__arrow_c_stream__``): one customer per row, read batch by batch; a list
  column of structs is a list of records, and a null is None.

Accepted as *one customer* (``matches``, ``explain``, and each element of the
customers): a ``dict`` or any other mapping; an object with attributes (a
dataclass, a namedtuple or an ``itertuples()`` row, a ``SimpleNamespace``, a
class of one's own); a pandas ``Series`` (one row); a table of exactly one row.

Anything else is a :class:`NotCustomers` error saying what it got and what to
pass instead. Identity (``id`` by default) is checked by :class:`Identities`.
"""

from __future__ import annotations

import array
import bisect
import dataclasses
import datetime as dt
import decimal
import functools
import heapq
import itertools
import json
import math
import numbers
import reprlib
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from segdsl.errors import DataError, SegdslError, UsageError

#: Rows converted at a time from a table.
BATCH = 4096

POSITION = "position"
"""``ids=POSITION``: customers are named by their position in the input (from 0)."""

_HOW = ("a customer is a dict (or another mapping) or an object with attributes "
        "(a dataclass, a namedtuple)")
_PASS = ("pass a list of customers (dicts or objects), or a pandas, polars or pyarrow "
         "table with one customer per row")
# Values that are plain data, never a customer.
_VALUES = (str, bytes, bytearray, memoryview, bool, numbers.Number, decimal.Decimal, list,
           tuple, set, frozenset, range, dt.date, dt.time, dt.timedelta, type,
           types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
           Iterator)


class NotCustomers(DataError, UsageError):
    """What was passed as the customers (or as one customer) is not customers.

    It is both a :class:`~segdsl.errors.DataError` (the data is not customer
    data) and a :class:`~segdsl.errors.UsageError` (the call was wrong).
    """


# ------------------------------------------------------------------ showing


def shown(value: Any) -> str:
    """``int 5``, ``str 'abc'``: a value's type and a short repr, never raising."""
    if _is_table(value) or _is(value, "pandas", "Series") or _is(value, "polars", "Series"):
        return f"a {_library(value)} {type(value).__name__}"
    try:
        text = " ".join(reprlib.repr(value).split())
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = "(no repr)"
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _library(value: Any) -> str | None:
    """``"pandas"``, ``"polars"`` or ``"pyarrow"`` when ``value``'s type comes from one."""
    module = type(value).__module__ or ""
    root = module.partition(".")[0]
    return root if root in ("pandas", "polars", "pyarrow") else None


def _is(value: Any, library: str, *names: str) -> bool:
    """Whether ``value`` is an instance of ``library.name`` for one of ``names``
    (the library is never imported here: an object of it means it is loaded)."""
    module = sys.modules.get(library)
    if module is None:
        return False
    kinds = tuple(getattr(module, name) for name in names if hasattr(module, name))
    return bool(kinds) and isinstance(value, kinds)


def _is_table(value: Any) -> bool:
    if _library(value) is None:
        return False
    return (_is(value, "pandas", "DataFrame") or _is(value, "polars", "DataFrame", "LazyFrame")
            or _is(value, "pyarrow", "Table", "RecordBatch", "RecordBatchReader"))


# ------------------------------------------------------------ one customer


def customer(value: Any, position: int | None = None) -> Any:
    """``value`` as a record the rules can read, or a :class:`NotCustomers` error.

    Args:
        value: one customer.
        position: its position in the customers, to name it in the error.
    """
    if type(value) is dict or isinstance(value, Mapping):
        return value
    if isinstance(value, tuple) and _is_namedtuple(value):
        return _namedtuple_record(value)
    if _library(value) is not None:
        return _library_record(value, position)
    if value is None or isinstance(value, _VALUES) or _is_numpy(value):
        raise _not_a_customer(value, position)
    return value


def one(value: Any, what: str) -> Any:
    """The one customer ``what`` (``matches``, ``explain``) is given."""
    if _is_table(value):
        rows = records(value, what)
        first = next(iter(rows), None)
        extra = next(iter(rows), None) if first is not None else None
        if first is None or extra is not None:
            count = _row_count(value)
            raise NotCustomers(f"{what} takes one customer, and this {type(value).__name__} has "
                               f"{count} rows: pass one row, or use filter() or evaluate() for a "
                               f"table of customers")
        return first
    if isinstance(value, (list, set, frozenset, Iterator)):
        raise NotCustomers(f"{what} takes one customer, not {shown(value)}: use filter() or "
                           f"evaluate() for many customers")
    try:
        return customer(value)
    except NotCustomers as error:
        raise NotCustomers(f"{what} takes one customer, not {shown(value)}: {_HOW}") from error


def _is_namedtuple(value: tuple) -> bool:
    fields = getattr(type(value), "_fields", None)
    return isinstance(fields, tuple) and all(isinstance(name, str) for name in fields)


def _namedtuple_record(value: tuple) -> dict[str, Any]:
    # As an object: names starting with "_" (itertuples() spells columns that
    # are not identifiers _1, _2, ...) are never read from an object.
    fields: tuple[str, ...] = getattr(type(value), "_fields")  # noqa: B009
    return {name: item for name, item in zip(fields, value, strict=False)
            if not name.startswith("_")}


def _is_numpy(value: Any) -> bool:
    return _is(value, "numpy", "ndarray", "generic")


def _library_record(value: Any, position: int | None) -> Any:
    if _is(value, "pandas", "Series"):
        return _guarded(lambda: value.to_dict(), position)
    if _is_table(value):
        raise _not_a_customer(value, position, "a table inside the customers: pass the table "
                                               "itself, one customer per row")
    if _is(value, "pyarrow", "StructScalar"):
        return _guarded(lambda: value.as_py(), position)
    if _is(value, "pandas", "Timestamp", "Timedelta", "Period", "Interval") \
            or _is(value, "polars", "Series", "Expr") \
            or _is(value, "pyarrow", "Scalar", "Array", "ChunkedArray"):
        raise _not_a_customer(value, position)
    if value is _pandas_missing():
        raise _not_a_customer(value, position)
    return value


def _pandas_missing() -> Any:
    pandas = sys.modules.get("pandas")
    return getattr(pandas, "NA", None) if pandas is not None else None


def _not_a_customer(value: Any, position: int | None, advice: str = _HOW) -> NotCustomers:
    where = f"the customer at position {position}" if position is not None else "the customer"
    return NotCustomers(f"{where} is {shown(value)}, not a customer: {advice}")


def _guarded(action: Callable[[], Any], position: int | None) -> Any:
    try:
        return action()
    except Exception as error:  # the library's failure, named as bad data
        where = f"the customer at position {position}" if position is not None else "the customer"
        raise NotCustomers(f"{where} cannot be read: {type(error).__name__}: {error}") from error


# ------------------------------------------------------------ the customers


def records(customers: Any, what: str) -> Iterable[Any]:
    """The customers as an iterable of records, read lazily when they come lazily.

    Lists and tuples are returned as they are (their elements are checked
    where they are read, by :func:`customer`); tables and other iterables
    come as a generator that reads them batch by batch and turns any failure
    of the caller's iterator into a :class:`NotCustomers` error.

    Args:
        customers: what the caller passed.
        what: the API's name, for messages (``"evaluate"``).
    """
    kind = type(customers)
    if kind is list or kind is tuple:
        return customers
    _refuse_one_customer(customers, what)
    library = _library(customers)
    if library is not None and _is_table(customers):
        return _table_rows(customers, library)
    if hasattr(kind, "__arrow_c_stream__") and not isinstance(customers, (list, tuple)):
        return _arrow_stream_rows(customers)
    try:
        iterator = iter(customers)
    except TypeError:
        raise NotCustomers(f"{what} got {shown(customers)} as customers: {_PASS}") from None
    except Exception as error:  # the caller's __iter__ failed
        raise _unreadable(error, 0) from error
    return _guarded_iteration(iterator)


def listed(customers: Any, what: str) -> list[Any]:
    """The customers as a list of readable records (for two passes)."""
    rows = records(customers, what)
    if type(rows) is list and _all_dicts(rows):
        return rows
    return [row if type(row) is dict else customer(row, position)
            for position, row in enumerate(rows)]


def each(customers: Any, what: str) -> Iterable[Any]:
    """The customers one by one as readable records, converted as they come
    (a list of dicts as it is): one pass, nothing kept."""
    rows = records(customers, what)
    if type(rows) is list and _all_dicts(rows):
        return rows
    return (row if type(row) is dict else customer(row, position)
            for position, row in enumerate(rows))


def rereadable(customers: Any) -> bool:
    """Whether the customers can be read twice without keeping them: an iterable
    that is not an iterator (a re-opened file, a set, an array), each iteration
    reading the same customers again from the start. Lists and tuples are kept
    as they are, tables and iterators (a generator, an open file) are read once."""
    kind = type(customers)
    if kind is list or kind is tuple or _library(customers) is not None:
        return False
    if hasattr(kind, "__arrow_c_stream__"):
        return False
    return isinstance(customers, Iterable) and not isinstance(customers, Iterator)


def readable(rows: list[Any]) -> list[Any]:
    """``rows`` with every element that is not a dict turned into a record
    (the list itself when all are dicts)."""
    if _all_dicts(rows):
        return rows
    return [row if type(row) is dict else customer(row, position)
            for position, row in enumerate(rows)]


def _all_dicts(rows: list[Any]) -> bool:
    return not rows or {*map(type, rows)} == {dict}


def _refuse_one_customer(customers: Any, what: str) -> None:
    if customers is None:
        raise NotCustomers(f"{what} got None as customers: {_PASS}")
    if isinstance(customers, (str, bytes, bytearray)):
        raise NotCustomers(f"{what} got {shown(customers)} as customers: {_PASS}")
    if isinstance(customers, Mapping):
        raise NotCustomers(
            f"{what} got one {type(customers).__name__} as customers: {_PASS}; for one customer "
            f"pass [customer], for a dict of customers by id pass its .values()")
    if _library(customers) is not None and (_is(customers, "pandas", "Series")
                                            or _is(customers, "polars", "Series")):
        raise NotCustomers(f"{what} got a {type(customers).__name__} (one column or one row) as "
                           f"customers: pass the whole DataFrame, one customer per row")
    if (isinstance(customers, tuple) and _is_namedtuple(customers)) \
            or dataclasses.is_dataclass(customers):
        raise NotCustomers(f"{what} got one customer ({type(customers).__name__}) as customers: "
                           f"pass a list of customers, e.g. [customer]")


def _unreadable(error: BaseException, position: int) -> NotCustomers:
    return NotCustomers(f"the customers could not be read at position {position}: "
                        f"{type(error).__name__}: {error}")


def _guarded_iteration(iterator: Iterator[Any]) -> Iterator[Any]:
    position = 0
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except SegdslError:  # already says what is wrong (a reader's line and file)
            raise
        except Exception as error:  # the caller's iterator failed
            raise _unreadable(error, position) from error
        yield item
        position += 1


def _table_rows(table: Any, library: str) -> Iterator[dict[str, Any]]:
    if library == "pandas":
        return _pandas_rows(table)
    if library == "polars":
        return _polars_rows(table)
    return _arrow_rows(table)


def _duplicate_columns(names: Iterable[Any]) -> None:
    seen: set[Any] = set()
    for name in names:
        if name in seen:
            raise NotCustomers(f"the table has two columns named {name!r}: a customer's fields "
                               f"need distinct names")
        seen.add(name)


def _pandas_rows(frame: Any) -> Iterator[dict[str, Any]]:
    index_names = [name for name in frame.index.names if name is not None]
    if index_names and not set(index_names) & set(frame.columns):
        frame = frame.reset_index()  # a named index (often the id) is a field too
    _duplicate_columns(frame.columns)
    names = list(frame.columns)
    for start in range(0, len(frame), BATCH):
        piece = frame.iloc[start:start + BATCH]
        columns = _read_batch(functools.partial(_pandas_columns, piece), start)
        yield from [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _pandas_columns(piece: Any) -> list[list[Any]]:
    return [_pandas_column(piece.iloc[:, number]) for number in range(piece.shape[1])]


def _pandas_column(series: Any) -> list[Any]:
    """One column's values as plain Python values, a missing value as None
    (column by column: much faster than ``to_dict("records")``)."""
    kind = series.dtype.kind
    if kind == "M":  # datetimes: naive, or aware in the column's zone
        zone = getattr(series.dtype, "tz", None)
        if zone is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.to_numpy().astype("datetime64[us]").tolist()  # NaT -> None
        if zone is not None:
            values = [None if v is None else v.replace(tzinfo=dt.UTC) for v in values]
        return values
    if kind == "m":
        return series.to_numpy().astype("timedelta64[us]").tolist()
    values = series.tolist()
    if series.hasnans:
        missing = series.isna().tolist()
        values = [None if gone else value for value, gone in zip(values, missing, strict=True)]
    return values


def _polars_rows(frame: Any) -> Iterator[dict[str, Any]]:
    if _is(frame, "polars", "LazyFrame"):
        frame = _read_batch(lambda: frame.collect(), 0)
    _duplicate_columns(frame.columns)
    start = 0
    for piece in frame.iter_slices(n_rows=BATCH):
        yield from _read_batch(piece.to_dicts, start)
        start += len(piece)


def _arrow_rows(table: Any) -> Iterator[dict[str, Any]]:
    _duplicate_columns(table.schema.names)
    if _is(table, "pyarrow", "Table"):
        batches: Iterable[Any] = table.to_batches(max_chunksize=BATCH)
    elif _is(table, "pyarrow", "RecordBatch"):
        batches = (table.slice(start, BATCH) for start in range(0, table.num_rows, BATCH))
    else:
        batches = table  # a RecordBatchReader: one batch at a time
    start = 0
    for batch in _guarded_iteration(iter(batches)):
        yield from _read_batch(batch.to_pylist, start)
        start += batch.num_rows


def _arrow_stream_rows(source: Any) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow
    except ImportError:
        raise NotCustomers(f"{shown(source)} offers an Arrow stream, which needs pyarrow: "
                           f"pip install pyarrow, or {_PASS}") from None
    reader = _read_batch(lambda: pyarrow.RecordBatchReader.from_stream(source), 0)
    return _arrow_rows(reader)


def _read_batch(action: Callable[[], Any], start: int) -> Any:
    try:
        return action()
    except Exception as error:  # the library could not convert the rows
        raise NotCustomers(f"the customers from row {start} on cannot be read: "
                           f"{type(error).__name__}: {error}") from error


def _row_count(table: Any) -> Any:
    for attribute in ("num_rows", "height"):
        count = getattr(table, attribute, None)
        if isinstance(count, int):
            return count
    try:
        return len(table)
    except Exception:  # noqa: BLE001 - a lazy frame has no length
        return "several"


def take(table: Any, positions: list[int]) -> Any:
    """The rows of ``table`` at ``positions``, as a table of the same kind."""
    if _is(table, "pandas", "DataFrame"):
        return table.iloc[positions]
    if _is(table, "polars", "LazyFrame"):
        table = table.collect()
    if _is(table, "polars", "DataFrame"):
        return table[positions]
    if _is(table, "pyarrow", "Table", "RecordBatch"):
        pyarrow = sys.modules["pyarrow"]
        return table.take(pyarrow.array(positions, type=pyarrow.int64()))
    return None


def is_table(value: Any) -> bool:
    """Whether ``value`` is a pandas, polars or pyarrow table whose rows
    :func:`take` can select (a stream cannot be read twice)."""
    return _is_table(value) and not _is(value, "pyarrow", "RecordBatchReader")


# ---------------------------------------------------------------- identity


class Rising:
    """Whole-number ids met in ascending order, each above every earlier one, so
    none can repeat another: a run of consecutive ids is kept as its first id
    and its length, an id apart from its neighbours alone, 8 bytes each. A
    million ids numbered one after the other take a few bytes, a million
    scattered ones 8 MB."""

    def __init__(self) -> None:
        #: the ids that do not follow the one before them, nor are followed by the next
        self.alone = array.array("q")
        #: each run's first id, its length, and the number of ids of earlier runs
        self.starts = array.array("q")
        self.lengths = array.array("q")
        self.in_runs_before = array.array("q")
        #: the last id (one above it may come next); below every int64 before the first
        self.top = INT64_MIN - 1
        self.count = 0

    def add(self, identity: int) -> None:
        """Keeps ``identity``, an int64 above :attr:`top`."""
        if identity != self.top + 1 or not self.count:
            self.alone.append(identity)
        elif self.starts and self.starts[-1] + self.lengths[-1] == identity:
            self.lengths[-1] += 1
        else:  # the last id, alone until now, starts a run
            self.alone.pop()
            before = self.in_runs_before[-1] + self.lengths[-1] if self.starts else 0
            self.starts.append(self.top)
            self.lengths.append(2)
            self.in_runs_before.append(before)
        self.top = identity
        self.count += 1

    def rank(self, identity: int) -> int | None:
        """How many ids kept are below ``identity``, or None when it is not kept."""
        alone_below = bisect.bisect_left(self.alone, identity)
        run = bisect.bisect_right(self.starts, identity) - 1
        in_runs_below = 0
        if run >= 0:
            offset = identity - self.starts[run]
            if offset < self.lengths[run]:
                return alone_below + self.in_runs_before[run] + offset
            in_runs_below = self.in_runs_before[run] + self.lengths[run]
        if alone_below < len(self.alone) and self.alone[alone_below] == identity:
            return alone_below + in_runs_below
        return None

    def __iter__(self) -> Iterator[int]:
        runs = (range(start, start + length) for start, length in zip(self.starts, self.lengths))
        return heapq.merge(self.alone, itertools.chain.from_iterable(runs))


class Identities:
    """The ids of the customers evaluated so far, to name members and to
    refuse a missing, null or repeated id.

    Whole-number ids that arrive in ascending order (the order of most exports)
    are kept compactly (:class:`Rising`), as they cannot repeat an earlier one;
    the others in a dict.

    Args:
        id_field: the field holding each customer's id (``id`` by default).
        by_position: name customers by their position instead (from 0).
    """

    def __init__(self, id_field: str = "id", by_position: bool = False) -> None:
        self.field = id_field
        self.by_position = by_position
        #: the whole-number ids above every earlier id (an int id above its top is new)
        self.rising = Rising()
        #: the other ids -> position
        self.seen: dict[Any, int] = {}

    def of(self, record: Any, position: int) -> Any:
        """The id of ``record``, the customer at ``position``.

        Raises:
            DataError: the id is missing, null, not usable as an id, or
                another customer's.
        """
        if self.by_position:
            return position
        field = self.field
        identity = record.get(field) if type(record) is dict else _read_id(record, field,
                                                                            position)
        kind = type(identity)
        if kind is not int and kind is not str:
            identity = _id_value(identity, record, field, position)
        key = _whole(identity)
        if type(key) is int and self.rising.top < key <= INT64_MAX:
            self.rising.add(key)
            return identity
        earlier = self.position(key)
        if earlier is not None:
            raise DataError(
                f"the customers at positions {earlier} and {position} have the same "
                f"{field} {identity!r}: every customer needs its own id, or pass "
                f"ids=\"position\" to name customers by position", customer_id=identity,
                field_path=field)
        self.seen[key] = position
        return identity

    def position(self, identity: Any) -> int | None:
        """The position of the customer with ``identity`` met so far, or None."""
        identity = _whole(identity)
        found = self.seen.get(identity)
        if found is not None or type(identity) is not int or not self.rising.count \
                or identity > self.rising.top:
            return found
        place = self.rising.rank(identity)
        if place is None:
            return None
        # The customers not in ``rising`` (in ``seen``) shift its positions.
        for other in sorted(self.seen.values()):
            if other > place:
                break
            place += 1
        return place

    def positions(self) -> dict[Any, int]:
        """Every id met so far to its customer's position."""
        found = dict(self.seen)
        others = iter(sorted(self.seen.values()))
        place, skip = 0, next(others, None)
        for identity in self.rising:
            while place == skip:
                place, skip = place + 1, next(others, None)
            found[identity] = place
            place += 1
        return found


def _whole(identity: Any) -> Any:
    """``identity``, or the int it equals (1.0 and the Decimal 1 are the id 1, as in a dict)."""
    if type(identity) is int or not isinstance(identity, (numbers.Real, decimal.Decimal)):
        return identity
    try:
        whole = int(identity)
    except (ValueError, ArithmeticError):  # NaN, infinities
        return identity
    return whole if whole == identity else identity


def id_spellings(text: str) -> tuple[str | None, int | float | None]:
    """The text id and the number id that ``text`` (typed by a user: ``--customer``, the
    REPL's ``:explain``) may mean, None where it cannot mean one: ``1`` is the text "1"
    or the number 1 (which 1.0 is too), ``"1"`` the text alone."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text), None
        except ValueError:
            pass
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return text, number if math.isfinite(number) else None
    return text, None


def answers_to(identity: Any, named: tuple[str | None, int | float | None]) -> bool:
    """Whether a customer's ``identity`` is one of the ids of :func:`id_spellings`."""
    text, number = named
    if isinstance(identity, str):
        return identity == text
    if number is None or isinstance(identity, bool) or not isinstance(identity, numbers.Number):
        return False
    try:
        return bool(identity == number)
    except (TypeError, ValueError, ArithmeticError):
        return False


#: The ids an array of signed 64-bit integers holds.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _read_id(record: Any, field: str, position: int) -> Any:
    try:
        if isinstance(record, Mapping):
            # never .get(): a defaultdict's factory must not run
            return record[field] if field in record else None  # noqa: SIM401
        return getattr(record, field, None)
    except Exception as error:  # a property or __getitem__ of the caller's
        raise DataError(f"the customer at position {position}: reading its {field} raised "
                        f"{type(error).__name__}: {error}", field_path=field) from error


def _id_value(identity: Any, record: Any, field: str, position: int) -> Any:
    """An id that is not an int or a str: a plain Python value, or an error."""
    if _is_null(identity):
        has = _has_field(record, field)
        what = f"a null {field}" if has else f"no {field} field"
        raise DataError(
            f"the customer at position {position} has {what}: give every customer an id, name "
            f"the field holding it (id_field=\"...\"), or pass ids=\"position\" to name customers "
            f"by position", field_path=field)
    if isinstance(identity, bool) or _is(identity, "numpy", "bool_"):
        raise _bad_id(identity, field, position)
    if _is(identity, "numpy", "integer"):
        return int(identity)
    if _is(identity, "numpy", "floating"):
        identity = float(identity)
    try:
        hash(identity)
    except Exception:  # noqa: BLE001 - a list, a dict: no id
        raise _bad_id(identity, field, position) from None
    return identity


def _bad_id(identity: Any, field: str, position: int) -> DataError:
    return DataError(f"the customer at position {position} has {field} {shown(identity)}: an id "
                     f"is text or a number", field_path=field)


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, decimal.Decimal):
        return value.is_nan()
    if _library(value) == "pandas" or _is(value, "numpy", "generic"):
        pandas = sys.modules.get("pandas")
        if pandas is not None and (value is pandas.NA or value is pandas.NaT):
            return True
        try:
            return bool(value != value)  # noqa: PLR0124 - NaN is the value unequal to itself
        except Exception:  # noqa: BLE001 - not comparable: not null
            return False
    return False


def _has_field(record: Any, field: str) -> bool:
    try:
        if isinstance(record, Mapping):
            return field in record
        return hasattr(record, field)
    except Exception:  # noqa: BLE001 - only for the message
        return False
