"""Aggregations over the lists a customer carries: orders, events, items.

A list with a timestamp field is read once per customer into a *timeline*:
its elements sorted by time, their timestamps read once. Windows then cut
the timeline by bisection. Every aggregation sees the list as it stood at
``now``: elements stamped later are never counted, and elements without a
timestamp are counted only by aggregations without a window.

Timestamps as JSON usually carries them, UTC text to the second
(``2026-07-01T10:12:00Z``), sort as text in time order, so such a list is
cut by comparing text with the window's bounds written the same way, and
never parsed. Any other timestamp is parsed into a datetime.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from segdsl import checked as c
from segdsl import codegen
from segdsl.compiler import _NOT_RECORDS, Closure, Compiler, Context, data_error, get_field
from segdsl.timeline import Period, period_bounds, read_datetime, shift


class _Timeline:
    """A list's dated elements sorted by time, and its undated ones. The
    stamps are datetimes, or UTC text when ``textual``."""

    __slots__ = ("stamps", "elements", "undated", "textual")

    def __init__(self, stamps: list, elements: list, undated: list, textual: bool = False) -> None:
        self.stamps = stamps
        self.elements = elements
        self.undated = undated
        self.textual = textual


_UTC_TEXT_SHAPE = b"0000-00-00T00:00:00Z"
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


@functools.lru_cache(maxsize=64)
def _shapes(count: int) -> bytes:
    return _UTC_TEXT_SHAPE * count


def _all_utc_text(joined: str, count: int) -> bool:
    """Whether ``joined`` is ``count`` stamps like ``2026-07-01T10:12:00Z`` end to end."""
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
    second, without parsing them; None for any other list."""
    try:
        stamps = [element[timestamp] for element in items]
        joined = "".join(stamps)
    except (KeyError, TypeError, IndexError):
        return None
    if not _all_utc_text(joined, len(stamps)):
        return None
    ordered = sorted(stamps)
    if ordered == stamps:
        return _Timeline(stamps, list(items), [], textual=True)
    order = sorted(range(len(stamps)), key=stamps.__getitem__)
    return _Timeline(ordered, [items[i] for i in order], [], textual=True)


def _parsed_timeline(ctx: Context, items: list, timestamp: str, path: str,
                     depth: int) -> _Timeline:
    dated, undated = [], []
    zone = ctx.zone
    for index, element in enumerate(items):
        if isinstance(element, _NOT_RECORDS):
            raise data_error(ctx, f"expected a record with a field '{timestamp}', found "
                             f"{element!r}", f"{path}[{index}]", depth)
        raw = get_field(element, timestamp)
        if raw is None:
            undated.append(element)
            continue
        try:
            dated.append((read_datetime(raw, zone), index, element))
        except (TypeError, ValueError) as error:
            raise data_error(ctx, f"cannot read {raw!r} as a datetime ({error})",
                             f"{path}[{index}].{timestamp}", depth) from None
    dated.sort(key=lambda entry: (entry[0], entry[1]))
    return _Timeline([d[0] for d in dated], [d[2] for d in dated], undated)


@functools.lru_cache(maxsize=256)
def _as_text(moment: dt.datetime, round_up: bool) -> str:
    """``moment`` as UTC text to the second, rounded down (or up): stamps to
    the second compare with it as they would with ``moment``."""
    moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if round_up and moment.microsecond:
        moment += dt.timedelta(seconds=1)
    return moment.replace(microsecond=0).isoformat() + "Z"


def _select(ctx: Context, timeline: _Timeline, window: Any, undated: bool = True) -> list:
    """The elements of ``timeline`` inside ``window`` (None: no window), as of now;
    without a window, the undated elements too unless ``undated`` is false."""
    stamps, now = timeline.stamps, ctx.now
    # As text, `stamp <= now` is `stamp <= now rounded down`, and `stamp >= first`
    # is `stamp >= first rounded up`: the stamps are whole seconds.
    bound = _as_text if timeline.textual else _as_moment
    end = bisect.bisect_right(stamps, bound(now, False))
    if window is None:
        return timeline.elements[:end] + (timeline.undated if undated else [])
    if isinstance(window, Period):
        first, after = period_bounds(window, ctx.zone)
        start = bisect.bisect_left(stamps, bound(first, True))
        end = min(end, bisect.bisect_left(stamps, bound(after, True)))
    else:
        start = bisect.bisect_right(stamps, bound(shift(now, -window, ctx.zone), False))
    return timeline.elements[start:end] if start < end else []


def _as_moment(moment: dt.datetime, round_up: bool) -> dt.datetime:
    return moment


def _value_reader(path: tuple[str, ...]) -> Callable[[Any], Any]:
    """Reads the value at ``path`` in an element (the element itself for no path)."""
    if not path:
        return lambda element: element
    if len(path) == 1:
        name = path[0]
        return lambda element: get_field(element, name)

    def read(element):
        value = element
        for part in path:
            value = get_field(value, part)
        return value

    return read


def build_aggregate(node: c.Aggregate, compiler: Compiler) -> Closure:
    """The closure computing aggregation ``node``."""
    source = compiler.compile(node.source)
    window = compiler.compile(node.window) if node.window is not None else None
    where = compiler.condition(node.where) if node.where is not None else None
    depth = node.depth
    fast_where = fast_holds = None
    if node.where is not None and not compiler.tracing:
        fast_holds = codegen.predicate(node.where, depth)
        fast_where = codegen.list_filter(node.where, depth) if fast_holds is not None else None
    timestamp = node.timestamp
    list_path = node.source.dotted if isinstance(node.source, c.Field) else node.function
    list_depth = node.source.depth if isinstance(node.source, c.Field) else 0
    origin = (list_path, list_depth, source)  # names bad data in elements: orders[2].total
    value_path = ".".join(node.value)
    read_value = _value_reader(node.value)
    temporal_value = node.type.name in ("datetime", "date")
    finish = _FINISHERS[node.function]
    # An element without a timestamp has no place in time: never first or last.
    undated = node.function not in ("first", "last")

    def elements(ctx: Context) -> list:
        items = source(ctx)
        if not items:
            return []
        if not isinstance(items, (list, tuple)):
            raise data_error(ctx, f"expected a list, found {type(items).__name__}", list_path,
                             list_depth)
        if timestamp is None:
            if window is not None:
                return []
            return list(items)
        bounds = window(ctx) if window is not None else None
        if window is not None and bounds is None:
            return _select(ctx, _timeline(ctx, items, timestamp, list_path, list_depth), None,
                           undated)
        return _select(ctx, _timeline(ctx, items, timestamp, list_path, list_depth), bounds,
                       undated)

    def holds(ctx: Context, element: Any) -> bool:
        scopes = ctx.scopes
        del scopes[depth:]
        scopes.append(element)
        try:
            return where(ctx) is True
        finally:
            del scopes[depth:]

    def matching(ctx: Context, selected: list) -> list:
        if where is None:
            return selected
        ctx.lists[depth] = origin
        if fast_where is not None:
            try:
                return fast_where(selected)
            except Exception:  # noqa: BLE001 - element by element, the closures decide
                return [element for element in selected
                        if _fast_or_careful(fast_holds, holds, ctx, element)]
        return [element for element in selected if holds(ctx, element)]

    def values(ctx: Context, kept: list) -> list:
        found = [read_value(element) for element in kept]
        if temporal_value:
            zone = ctx.zone
            converted = []
            for value in found:
                try:
                    converted.append(read_datetime(value, zone))
                except (TypeError, ValueError) as error:
                    raise data_error(ctx, f"cannot read {value!r} as a datetime ({error})",
                                     f"{list_path}.{value_path}", list_depth) from None
            return converted
        return found

    if node.function == "count" and where is None and not node.value:
        return lambda ctx: len(elements(ctx))
    if node.function == "exists" and where is None and not node.value:
        return lambda ctx: bool(elements(ctx))

    values_path = f"{list_path}.{value_path}"
    pick = {"first": 0, "last": -1}.get(node.function)

    def aggregate(ctx: Context):
        kept = matching(ctx, elements(ctx))
        if node.function in ("count", "exists") and not node.value:
            return finish(ctx, kept, list_path)
        if pick is not None:
            # Only the first or last element's value is needed: read just that one.
            kept = kept[pick:][:1]
        return finish(ctx, values(ctx, kept), values_path)

    return aggregate


def _fast_or_careful(fast: Callable, careful: Callable, ctx: Context, element: Any) -> bool:
    try:
        return fast(element)
    except Exception:  # noqa: BLE001
        return careful(ctx, element)


def _count(ctx, values, path):
    return sum(1 for v in values if v is not None)


def _exists(ctx, values, path):
    return any(v is not None for v in values)


def _numbers(ctx, values, path):
    numbers = [v for v in values if v is not None]
    for value in numbers:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise data_error(ctx, f"expected a number, found {value!r}", path)
    return numbers


def _sum(ctx, values, path):
    return sum(_numbers(ctx, values, path))


def _avg(ctx, values, path):
    numbers = _numbers(ctx, values, path)
    return sum(numbers) / len(numbers) if numbers else None


def _extreme(pick):
    def extreme(ctx, values, path):
        present = [v for v in values if v is not None]
        if not present:
            return None
        try:
            return pick(present)
        except TypeError:
            raise data_error(ctx, f"values cannot be compared: {present[:3]!r}", path) from None

    return extreme


def _first(ctx, values, path):
    return values[0] if values else None


def _last(ctx, values, path):
    return values[-1] if values else None


_FINISHERS = {
    "count": _count,
    "exists": _exists,
    "sum": _sum,
    "avg": _avg,
    "min": _extreme(min),
    "max": _extreme(max),
    "first": _first,
    "last": _last,
}
