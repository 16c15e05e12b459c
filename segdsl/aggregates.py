"""Aggregations over the lists a customer carries: orders, events, items.

A list with a timestamp field is read once per customer into a *timeline*:
its elements sorted by time, their timestamps read once. Windows then cut
the timeline by bisection. Every aggregation sees the list as it stood at
``now``: elements stamped later are never counted, and elements without a
timestamp are counted only by aggregations without a window.

Timestamps as JSON usually carries them, UTC text to the second
(``2026-07-01T10:12:00Z``), are recognised by their shape for the whole list
at once and parsed in one pass of the C parser, which also rejects impossible
ones (``2026-02-30``); the careful path then names the culprit. Any other
list is read element by element.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
from collections.abc import Callable
from typing import Any

from dateutil.relativedelta import relativedelta

from segdsl import checked as c
from segdsl import codegen
from segdsl import types as t
from segdsl.compiler import Closure, Compiler, Context, data_error
from segdsl.sums import exact_sum
from segdsl.timeline import (
    UTC,
    Period,
    backwards,
    day_start,
    in_zone,
    read_date,
    read_datetime,
    shift,
)
from segdsl.values import (
    FieldReadError,
    is_record,
    normalise,
    normalise_items,
    read_field,
    safe_repr,
)


class _Timeline:
    """A list's dated elements sorted by time, and its undated ones; the
    stamps are aware datetimes in UTC.

    Attributes:
        plain: every element is exactly a ``dict`` (generated filters may read
            them); None when not known yet.
        untimed: no element has a timestamp (plain values such as ``["vip",
            "new"]``, or records without one): ``undated`` holds them in list
            order, so first and last are the list's; a window holds none.
        loose: the index of the first plain value, or None: a window cannot place it.
    """

    __slots__ = ("elements", "loose", "plain", "stamps", "undated", "untimed")

    def __init__(self, stamps: list, elements: list, undated: list, plain: bool | None = False,
                 untimed: bool = False, loose: int | None = None) -> None:
        self.stamps = stamps
        self.elements = elements
        self.undated = undated
        self.plain = plain
        self.untimed = untimed
        self.loose = loose


_UTC_TEXT_SHAPE = b"0000-00-00T00:00:00Z"
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


@functools.lru_cache(maxsize=1024)
def _shapes(count: int) -> bytes:
    return _UTC_TEXT_SHAPE * count


def _all_utc_text(joined: str, count: int) -> bool:
    """Whether ``joined`` is ``count`` stamps shaped like ``2026-07-01T10:12:00Z`` end to end
    (the digits may still make an impossible stamp)."""
    if len(joined) != len(_UTC_TEXT_SHAPE) * count:
        return False
    try:
        data = joined.encode("ascii")
    except UnicodeEncodeError:
        return False
    return data.translate(_DIGITS_TO_ZERO) == _shapes(count)


def _timeline(ctx: Context, items: list, timestamp: str, path: str, depth: int = 0) -> _Timeline:
    key = ("timeline", id(items), timestamp)
    found = ctx.cache.get(key)
    if found is not None:
        return found
    found = _textual_timeline(items, timestamp) or _parsed_timeline(ctx, items, timestamp, path,
                                                                      depth)
    ctx.cache[key] = found
    # Keep the list alive while its id is a cache key.
    ctx.cache[("list", id(items))] = items
    return found


def _textual_timeline(items: list, timestamp: str) -> _Timeline | None:
    """The timeline of a list of dicts whose stamps are all UTC text to the
    second, parsed in one pass of the C parser; None for any other list, and
    for a list with an impossible stamp (the careful path names it)."""
    try:
        # dict.get, not a subscript: a defaultdict's factory must never run.
        stamps: list[Any] = list(map(dict.get, items, itertools.repeat(timestamp)))
        joined = "".join(stamps)
    except TypeError:  # an element that is no dict, a stamp that is no text
        return None
    if not _all_utc_text(joined, len(stamps)):
        return None
    try:
        # Validates every stamp (`2026-02-30`, `25:61:61`); `Z` makes each aware, in UTC.
        moments = list(map(_FROM_ISO, stamps))
    except ValueError:
        return None
    ordered = sorted(moments)
    if ordered == moments:
        return _Timeline(moments, list(items), [], plain=None)
    order = sorted(range(len(moments)), key=moments.__getitem__)
    return _Timeline(ordered, [items[i] for i in order], [], plain=None)


_FROM_ISO = dt.datetime.fromisoformat


def _parsed_timeline(ctx: Context, items: list, timestamp: str, path: str,
                     depth: int) -> _Timeline:
    dated, undated = [], []
    zone = ctx.zone
    plain, loose = True, None
    for index, element in enumerate(items):
        if type(element) is not dict:
            plain = False
            element = _element(ctx, element, f"{path}[{index}]", depth)
            if element is None:
                continue  # a null element is no element
            if not is_record(element):
                loose = index if loose is None else loose
                undated.append(element)
                continue
        where = f"{path}[{index}].{timestamp}"
        raw = _element(ctx, _read(ctx, element, timestamp, where, depth), where, depth)
        if raw is None:
            undated.append(element)
            continue
        try:
            dated.append((read_datetime(raw, zone), index, element))
        except (TypeError, ValueError) as error:
            raise data_error(ctx, f"cannot read {safe_repr(raw, 80)} as a datetime ({error})",
                             where, depth) from None
    dated.sort()  # by moment, then index: indexes differ, so elements are never compared
    untimed = not dated and bool(undated)
    return _Timeline([d[0] for d in dated], [d[2] for d in dated], undated, plain=plain,
                     untimed=untimed, loose=loose)


def _element(ctx: Context, value: Any, path: str, depth: int) -> Any:
    """A value read from data, normalised (NaN is null, numpy numbers are numbers)."""
    try:
        return normalise(value)
    except (TypeError, ValueError) as error:
        raise data_error(ctx, str(error), path, depth) from None


def _read(ctx: Context, record: Any, name: str, path: str, depth: int) -> Any:
    """Field ``name`` of ``record``, raw; bad data names ``path``."""
    try:
        return read_field(record, name)
    except FieldReadError as error:
        raise data_error(ctx, str(error), path, depth) from None


def _present(ctx: Context, items: list, path: str, depth: int) -> list:
    """The items of a list, normalised, nulls left out."""
    try:
        return [item for item in normalise_items(items) if item is not None]
    except (TypeError, ValueError) as error:
        raise data_error(ctx, str(error), path, depth) from None


def _read_list(ctx: Context, value: Any, path: str, depth: int) -> list:
    """A list read from data: a list, tuple or numpy array; null is an empty
    list; anything else (``""``, ``0``, ``{}``, text) is bad data."""
    if type(value) is list:
        return value
    if value is None:
        return []
    found = _element(ctx, value, path, depth)
    if found is None:
        return []
    if type(found) is list:
        return found
    raise data_error(ctx, f"expected a list, found {type(value).__name__}", path, depth)


_FIRST = dt.datetime.min.replace(tzinfo=UTC)


def _utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; the first or last representable moment when UTC
    falls outside years 1 to 9999 (``0001-01-01T00:00:00+05:00``)."""
    if moment.tzinfo is UTC:
        return moment
    try:
        return in_zone(moment, UTC)
    except ValueError:
        return _FIRST if moment.year == 1 else dt.datetime.max.replace(tzinfo=UTC)


def _select(ctx: Context, timeline: _Timeline, window: Any, undated: bool = True,
            cut: tuple | None | bool = False) -> list:
    """The elements of ``timeline`` inside ``window`` (None: no window), as of now;
    without a window, the undated elements too unless ``undated`` is false.
    ``cut``: the window's :func:`window_cut` at ``ctx.now``, when already known."""
    if timeline.untimed:
        return [] if window is not None else list(timeline.undated)
    if cut is False:
        cut = window_cut(ctx.now, ctx.zone, window)
    if cut is None:
        return []
    stamps = timeline.stamps
    low, low_excluded, last, after = cut
    end = bisect.bisect_right(stamps, last)
    if window is None:
        return timeline.elements[:end] + (timeline.undated if undated else [])
    if after is not None:
        end = min(end, bisect.bisect_left(stamps, after))
    if low is None:
        start = 0
    elif low_excluded:
        start = bisect.bisect_right(stamps, low)
    else:
        start = bisect.bisect_left(stamps, low)
    return timeline.elements[start:end] if start < end else []


def window_cut(now: dt.datetime, zone: dt.tzinfo, window: Any
               ) -> tuple[dt.datetime | None, bool, dt.datetime, dt.datetime | None] | None:
    """Where ``window`` (a duration, a period or None) cuts a timeline at ``now``:
    ``(low, low excluded, now, first instant after)``, in UTC (``low`` None: from
    the beginning; the last None: no end but now); None when it holds nothing.

    It depends only on ``now``, the zone and the window, so an aggregation with a
    window fixed by the rules computes it once per evaluation, not per customer.
    """
    last = _utc(now)
    if window is None:
        return None, False, last, None
    if isinstance(window, Period):
        first, after = _period_bounds(window, zone)
        return _utc(first), False, last, None if after is None else _utc(after)
    try:
        begin = shift(now, -window, zone)
    except (OverflowError, ValueError):
        # Before year 1 is the beginning of time; after 9999, nothing is left.
        begin = _FIRST if backwards(-window) else None
    if begin is None:
        return None
    return (None if begin == _FIRST else _utc(begin)), True, last, None


def _fixed_cut(window: Closure | None, window_path: tuple[str | None, int]) -> Closure:
    """``ctx -> (window, its cut)`` for a window that depends only on ``now`` and
    the rules, computed once per evaluation time: a customer's aggregation then
    only bisects its timeline."""
    memo: list = [None]  # (now, zone, window, cut), replaced whole: safe between threads

    def fixed(ctx: Context) -> tuple[Any, Any]:
        found = memo[0]
        now, zone = ctx.now, ctx.zone
        if found is not None and found[0] is now and found[1] is zone:
            return found[2], found[3]
        bounds = window(ctx) if window is not None else None
        if bounds is not None:
            bounds = _window_bounds(ctx, bounds, window_path)
        cut = window_cut(now, zone, bounds)
        memo[0] = (now, zone, bounds, cut)
        return bounds, cut

    return fixed


def _period_bounds(period: Period, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime | None]:
    """The first instant of a period and the first after it (None: after year 9999)."""
    first = day_start(period.start, zone)
    try:
        return first, day_start(period.end + dt.timedelta(days=1), zone)
    except OverflowError:
        return first, None


def _value_reader(path: tuple[str, ...]) -> Callable[[Any], Any]:
    """Reads the value at ``path`` in an element (the element itself for no path);
    raises :class:`FieldReadError` where the element or a part is not a record."""
    if not path:
        return lambda element: element
    if len(path) == 1:
        name = path[0]
        return lambda element: read_field(element, name)

    def read(element):
        value = element
        for part in path:
            value = read_field(value, part)
        return value

    return read


def _window_value(node: c.Aggregate) -> tuple[str | None, int]:
    """Where a window read from data comes from, to name it in errors."""
    value = node.window.value if node.window is not None else None
    if isinstance(value, c.Field):
        return value.dotted, value.depth
    return None, 0


def build_aggregate(node: c.Aggregate, compiler: Compiler) -> Closure:
    """The closure computing aggregation ``node``."""
    source = compiler.compile(node.source)
    window = compiler.compile(node.window) if node.window is not None else None
    where = compiler.condition(node.where) if node.where is not None else None
    depth = node.depth
    nested = _nested_lists(node)
    base = depth - len(nested)  # the depth of the outer list's elements
    fast_where = fast_holds = None
    if node.where is not None and not compiler.tracing:
        fast_holds = codegen.predicate(node.where, depth)
        fast_where = codegen.list_filter(node.where, depth) if fast_holds is not None else None
    timestamp = node.timestamp
    list_path = node.source.dotted if isinstance(node.source, c.Field) else node.function
    list_depth = node.source.depth if isinstance(node.source, c.Field) else 0
    origin = (list_path, list_depth, source)  # names bad data in elements: orders[2].total
    window_path = _window_value(node)
    value_path = ".".join(node.value)
    final = node.value[node.flatten[-1]:] if node.flatten else node.value
    read_value = _value_reader(final)
    values_type = _values_type(node)
    temporal = {"datetime": read_datetime, "date": read_date}.get(node.type.name)
    distinct = node.function == "count_distinct"
    if distinct:
        # The values are compared as their declared type reads them (a datetime
        # as its instant); undeclared ones as they are read.
        temporal = {"datetime": read_datetime, "date": read_date}.get(values_type.name)
    finish = _FINISHERS[node.function]
    if node.function in _PASSING_VALUES_ON:
        finish = _declared_values(finish, values_type)
    # An element without a timestamp has no place in time: never first or last.
    undated = node.function not in ("first", "last")
    origins = _nested_origins(nested, base)
    # Elements of unknown type: a list met on the value's path is flattened as
    # the checker flattens the lists it knows (`count(baskets.lines)`).
    element_type = node.source.type.element if node.source.type.is_list else None
    loose_values = bool(final) and not nested and (element_type is None
                                                   or element_type.name == "any")
    source_type = node.source.type
    records = source_type.is_list and source_type.element is not None \
        and source_type.element.is_record

    fixed = None
    if timestamp is not None and not compiler.tracing and (
            node.window is None or compiler.is_fixed(node.window)):
        fixed = _fixed_cut(window, window_path)

    # A list of the customer's own, read straight from a dict when it is a list there
    # (what the field's closure returns for it, a declared list of plain values aside).
    direct = node.source.path[0] if (
        not compiler.tracing and isinstance(node.source, c.Field) and node.source.depth == 0
        and len(node.source.path) == 1 and (source_type.name != "list" or records)) else None

    def outer_items(ctx: Context) -> list:
        if direct is not None:
            record = ctx.record
            if type(record) is dict:
                items = record.get(direct)
                if type(items) is list:
                    return items
        return _read_list(ctx, source(ctx), list_path, list_depth)

    def outer(ctx: Context) -> tuple[list, bool | None]:
        """The outer list's elements in the window, and whether all are exact dicts."""
        items = outer_items(ctx)
        if not items:
            return items, True
        if timestamp is None:
            if window is not None:
                return [], True
            kept = _present(ctx, items, list_path, list_depth)
            return kept, _all_dicts(kept)
        if fixed is not None:
            bounds, cut = fixed(ctx)
        else:
            bounds = window(ctx) if window is not None else None
            if bounds is not None:
                bounds = _window_bounds(ctx, bounds, window_path)
            cut = False
        timeline = _timeline(ctx, items, timestamp, list_path, list_depth)
        if timeline.loose is not None and (bounds is not None or records):
            # Plain values have no time: a window (or a list of records) cannot hold them.
            index = timeline.loose
            raise data_error(ctx, f"expected a record with a field '{timestamp}', found "
                             f"{safe_repr(items[index], 40)}", f"{list_path}[{index}]",
                             list_depth)
        if timeline.plain is None and where is not None:
            timeline.plain = _all_dicts(timeline.elements)  # once per list, not per window
        return _select(ctx, timeline, bounds, undated, cut), timeline.plain

    def elements(ctx: Context) -> tuple[list, bool | None, list | None]:
        """The elements aggregated, whether all are exact dicts, and (for nested
        lists, when a 'where' needs them) each one's enclosing elements."""
        selected, plain = outer(ctx)
        if not nested:
            return selected, plain, None

        def name(element: Any, path: tuple[str, ...]) -> tuple[str, int]:
            found = _index_of(outer_items(ctx), element)
            return f"{list_path}[{found}].{'.'.join(path)}", list_depth

        found, owners = _descend(ctx, selected, nested, name, with_owners=where is not None)
        return found, None, owners

    def holds(ctx: Context, element: Any, owners: tuple = ()) -> bool:
        scopes = ctx.scopes
        del scopes[base:]
        scopes.extend(owners)
        scopes.append(element)
        try:
            return where(ctx) is True
        finally:
            del scopes[base:]

    def careful(ctx: Context, element: Any, owners: tuple) -> bool:
        if fast_holds is not None and type(element) is dict:
            try:
                return fast_holds(element)
            except Exception:  # noqa: BLE001, S110 - the closures decide
                pass
        return holds(ctx, element, owners)

    def matching(ctx: Context, selected: list, plain: bool | None, owners: list | None) -> list:
        if where is None:
            return selected
        ctx.lists[base] = origin
        for level, nested_origin in origins:
            ctx.lists[level] = nested_origin
        if fast_where is not None and (plain or plain is None and _all_dicts(selected)):
            try:
                return fast_where(selected)
            except Exception:  # noqa: BLE001, S110 - element by element, the closures decide
                pass
        if owners is None:
            return [element for element in selected if careful(ctx, element, ())]
        return [element for element, chain in zip(selected, owners)
                if careful(ctx, element, chain)]

    def values(ctx: Context, kept: list) -> list:
        try:
            if loose_values:
                # count_distinct: a list at the end of the path is a value (bad data), not
                # a list to enter.
                found = normalise_items(_flat_values(kept, final, at_end=not distinct))
            else:
                found = normalise_items([read_value(element) for element in kept])
        except FieldReadError as error:
            raise data_error(ctx, str(error), f"{list_path}.{value_path}", list_depth) from None
        except (TypeError, ValueError) as error:
            raise data_error(ctx, str(error), f"{list_path}.{value_path}", list_depth) from None
        if temporal is not None:
            zone = ctx.zone
            converted = []
            for value in found:
                if value is None:
                    converted.append(None)
                    continue
                try:
                    converted.append(temporal(value, zone))
                except (TypeError, ValueError) as error:
                    raise data_error(ctx, f"cannot read {safe_repr(value, 80)} as a "
                                     f"{node.type.name} ({error})", f"{list_path}.{value_path}",
                                     list_depth) from None
            return converted
        return found

    plain_count = not final and not nested and where is None
    if node.function == "count" and plain_count:
        return lambda ctx: len(outer(ctx)[0])
    if node.function == "exists" and plain_count:
        return lambda ctx: bool(outer(ctx)[0])

    if node.function in ("count", "exists") and not final and not nested:
        # Counting elements, never null (null elements are no elements): the kept
        # elements' number, or whether there is one.
        tally = len if node.function == "count" else bool

        def elements_counted(ctx: Context):
            selected, plain = outer(ctx)
            return tally(matching(ctx, selected, plain, None))

        return elements_counted

    values_path = f"{list_path}.{value_path}" if value_path else list_path
    pick = None if loose_values else {"first": 0, "last": -1}.get(node.function)

    def aggregate(ctx: Context):
        selected, plain, owners = elements(ctx)
        kept = matching(ctx, selected, plain, owners)
        if node.function in ("count", "exists") and not final:
            return finish(ctx, kept, list_path, list_depth)
        if pick is not None:
            # Only the first or last element's value is needed: read just that one.
            kept = kept[pick:][:1]
        return finish(ctx, values(ctx, kept), values_path, list_depth)

    return aggregate


def _flat_values(elements: list, path: tuple[str, ...], at_end: bool) -> list:
    """The values at ``path`` in ``elements``, descending into every list met
    on the way and (when ``at_end``) at the end; raises :class:`FieldReadError`
    for bad records."""
    found: list = []
    pending = [(element, 0) for element in reversed(elements)]
    while pending:
        value, index = pending.pop()
        if type(value) is tuple or _listed(value):
            value = normalise(value)
        if type(value) is list and (at_end or index < len(path)):
            pending += [(item, index) for item in reversed(value)]
        elif index == len(path):
            found.append(value)
        else:
            pending.append((read_field(value, path[index]), index + 1))
    return found


def _listed(value: Any) -> bool:
    # A numpy array is a list too.
    return type(value).__name__ == "ndarray"


def _all_dicts(elements: list) -> bool:
    # Generated filters subscript their records: only exact dicts are read so.
    return list(map(type, elements)).count(dict) == len(elements)


def _window_bounds(ctx: Context, bounds: Any, located: tuple[str | None, int]) -> Any:
    """A window's value: a duration or a period; anything else read from data is bad data."""
    if isinstance(bounds, (dt.timedelta, relativedelta, Period)):
        return bounds
    raise data_error(ctx, f"a window is a duration or a period, not {type(bounds).__name__} "
                     f"{safe_repr(bounds, 40)}", *located)


def _nested_lists(node: c.Aggregate) -> tuple[tuple[str, ...], ...]:
    """The paths, one per level, from each element to the nested list it holds:
    ``count(orders.items)`` has ``(("items",),)``."""
    cuts = (0, *node.flatten)
    return tuple(node.value[a:b] for a, b in itertools.pairwise(cuts))


def _nested_origins(nested: tuple[tuple[str, ...], ...], base: int) -> list[tuple[int, tuple]]:
    """For each nested level, the origin that names its elements in errors
    (``orders[2].items[0].price``): the list read from the enclosing element."""
    found = []
    for offset, path in enumerate(nested):
        parent = base + offset
        reader = _value_reader(path)

        def items(ctx: Context, parent: int = parent, reader: Callable = reader) -> list:
            try:
                value = normalise(reader(ctx.scopes[parent]))
            except Exception:  # noqa: BLE001 - only used to name an element in an error
                return []
            return value if type(value) is list else []

        found.append((parent + 1, (".".join(path), parent, items)))
    return found


def _descend(ctx: Context, selected: list, nested: tuple[tuple[str, ...], ...],
             name: Callable[[Any, tuple[str, ...]], tuple[str, int]],
             with_owners: bool) -> tuple[list, list | None]:
    """The items of the nested lists of ``selected``, level by level (and each
    item's enclosing elements when ``with_owners``); ``name`` spells the path
    of an element's nested list for errors."""
    elements = selected
    owners: list | None = [()] * len(selected) if with_owners else None
    for path in nested:
        reader = _value_reader(path)
        inner: list = []
        inner_owners: list = []
        for position, element in enumerate(elements):
            try:
                value = reader(element)
                if type(value) is not list:
                    value = _read_list(ctx, value, *name(element, path))
            except FieldReadError as error:
                raise data_error(ctx, str(error), *name(element, path)) from None
            try:
                found = [item for item in normalise_items(value) if item is not None]
            except (TypeError, ValueError) as error:
                raise data_error(ctx, str(error), *name(element, path)) from None
            inner += found
            if owners is not None:
                inner_owners += [owners[position] + (element,)] * len(found)
        elements = inner
        owners = inner_owners if owners is not None else None
    return elements, owners


def _index_of(items: list, element: Any) -> int | str:
    return next((i for i, item in enumerate(items) if item is element), "?")


def _count(ctx, values, path, depth):
    return sum(1 for v in values if v is not None)


def _exists(ctx, values, path, depth):
    return any(v is not None for v in values)


def _numbers(ctx, values, path, depth):
    numbers = [v for v in values if v is not None]
    for value in numbers:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise data_error(ctx, f"expected a number, found {safe_repr(value, 80)}", path, depth)
    return numbers


def _sum(ctx, values, path, depth):
    try:
        return exact_sum(_numbers(ctx, values, path, depth))
    except OverflowError:
        raise data_error(ctx, "the sum is too large for a number", path, depth) from None


def _avg(ctx, values, path, depth):
    numbers = _numbers(ctx, values, path, depth)
    if not numbers:
        return None
    try:
        return exact_sum(numbers) / len(numbers)
    except OverflowError:
        raise data_error(ctx, "the average is too large for a number", path, depth) from None


def _extreme(ctx, values, path, depth, pick):
    present = [v for v in values if v is not None]
    if not present:
        return None
    bools = sum(1 for v in present if isinstance(v, bool))
    try:
        if 0 < bools < len(present):
            raise TypeError  # a boolean is not a number
        return pick(present)
    except TypeError:
        raise data_error(ctx, f"values cannot be compared: {safe_repr(present[:3], 120)}",
                         path, depth) from None


def _min(ctx, values, path, depth):
    return _extreme(ctx, values, path, depth, min)


def _max(ctx, values, path, depth):
    return _extreme(ctx, values, path, depth, max)


def _first(ctx, values, path, depth):
    return values[0] if values else None


def _last(ctx, values, path, depth):
    return values[-1] if values else None


def _values_type(node: c.Aggregate) -> t.Type:
    """The type of the values ``node`` aggregates (``any`` where not declared)."""
    type_ = node.source.type.element if node.source.type.is_list else None
    for part in node.value:
        if type_ is not None and type_.is_list:
            type_ = type_.element
        type_ = type_.field(part) if type_ is not None else None
    if type_ is not None and type_.is_list:
        type_ = type_.element
    return type_ if type_ is not None else t.ANY


#: The finishers that hand values on (or compare them) without checking their kind:
#: a declared number holding a list or a boolean is bad data there too, as for ``sum``.
_PASSING_VALUES_ON = frozenset(("count_distinct", "min", "max", "first", "last"))
_DECLARED_KINDS = {"number": ((int, float), "number"), "string": ((str,), "string"),
                   "bool": ((bool,), "boolean")}


def _declared_values(finish: Callable, type_: t.Type) -> Callable:
    """``finish``, first checking that the values are of their declared type."""
    declared = _DECLARED_KINDS.get(type_.name)
    if declared is None:
        return finish
    kinds, name = declared

    def checked(ctx, values, path, depth):
        for value in values:
            if value is not None and type(value) not in kinds:
                raise data_error(ctx, f"expected a {name}, found {safe_repr(value, 80)}", path,
                                 depth)
        return finish(ctx, values, path, depth)

    return checked


def _count_distinct(ctx, values, path, depth):
    """How many values are not equal under the rules' ``==``: ``1`` and ``1.0``
    are one, ``true`` and ``1`` two, a date and a datetime two."""
    seen = set()
    zone = ctx.zone
    for value in values:
        if value is None:
            continue
        kind = type(value)
        if kind is bool:
            key: Any = (bool, value)
        elif kind is int or kind is float:
            key = (float, value)  # 1 == 1.0 and their hashes agree, exactly
        elif kind is str:
            key = (str, value)
        elif isinstance(value, dt.datetime):
            # Equal instants are one value; a naive datetime is in the configured zone.
            key = (dt.datetime, value if value.tzinfo is not None else value.replace(tzinfo=zone))
        elif isinstance(value, dt.date):
            key = (dt.date, value)
        elif kind is list or is_record(value):
            what = "a list" if kind is list else "a record"
            raise data_error(ctx, f"count_distinct counts plain values, found {what} "
                             f"{safe_repr(value, 80)}", path, depth)
        else:
            try:
                key = (kind, value)
                hash(key)
            except TypeError:
                raise data_error(ctx, f"count_distinct counts plain values, found "
                                 f"{type(value).__name__} {safe_repr(value, 80)}", path,
                                 depth) from None
        seen.add(key)
    return len(seen)


_FINISHERS = {
    "count": _count,
    "count_distinct": _count_distinct,
    "exists": _exists,
    "sum": _sum,
    "avg": _avg,
    "min": _min,
    "max": _max,
    "first": _first,
    "last": _last,
}
