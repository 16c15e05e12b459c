"""Membership over time: when customers enter and leave segments, computed, not sampled.

Rules are pure functions of the data and ``now``. With the data fixed, a rule's
value changes with ``now`` only at instants that the checked tree and the
customer's data determine, the *candidates*:

- an element of a timestamped list counts from its stamp ``t`` on (elements
  stamped after ``now`` are never counted, with or without a window) and,
  in a window of length ``w`` back from now (after ``now - w``, at or before
  ``now``), until ``t + w``; for calendar months and years, until the first
  instant ``x`` with ``x - w >= t`` on the rules' calendar;
- a comparison of ``now`` (or ``now ± durations``, ``today``, ``today ±
  durations``, a datetime's day) with a value that does not depend on the
  clock flips only where the clock side reaches that value, or passes it;
- ``now - x`` compared with a duration ``d`` flips where ``now`` reaches ``x + d``;
- ``days_between(x, now)`` steps every 24 hours after ``x``;
- a calendar function of ``today`` (``weekday``, ``month``, ``anniversary``...)
  can change only at midnight in the rules' timezone;
- a segment used by another changes at its own candidates.

Between two consecutive candidates every aggregation, segment reference and
clock comparison keeps its value, so the rule does too: evaluating the rule at
each candidate (its value on ``[candidate, next candidate)``) finds every change
at its exact instant, to the microsecond. Candidates are computed interval by
interval: the values compared with the clock are read at the start of each
interval between the candidates of the aggregations.

Two kinds of segment are computed at a documented granularity instead, each
local midnight in the rules' timezone (``granularity`` says ``"daily"``):
segments that rank customers (RFM, ``ntile``, ``percentile``: their value
depends on everyone else), and segments whose clock use is not of the forms
above (``now`` inside an aggregation's ``where``, ``now`` given to a Python
function, ...).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from segdsl import checked as c
from segdsl import customers as _customers
from segdsl.aggregates import _textual_timeline
from segdsl.compiler import runtime_value
from segdsl.errors import SegdslError, UsageError
from segdsl.functions import CALENDAR_FUNCTIONS
from segdsl.timeline import (
    UTC,
    Period,
    day_start,
    empty_window,
    iso_text,
    read_datetime,
    shift,
)
from segdsl.values import normalise, read_field

ENTERED, EXITED = "entered", "exited"
EXACT, DAILY = "exact", "daily"
_TICK = dt.timedelta(microseconds=1)
_DAY = dt.timedelta(days=1)
#: How far ``next_change`` looks when a rule changes with the calendar (midnights, day steps).
DEFAULT_HORIZON = dt.timedelta(days=5 * 366)
_COMPARISONS = frozenset(("EQ", "NE", "LT", "LE", "GT", "GE"))


class _Unrecognized(Exception):
    """The rule uses the clock in a form whose change instants are not derived."""


class _Undecided(Exception):
    """A count's elements cannot all be told apart: its plain candidates are used."""


_FAST_WHERE: dict[int, tuple[c.Checked, Any]] = {}
_FAST_FILTER: dict[int, tuple[c.Checked, Any]] = {}
_UNDECIDED = object()
_CONSTANTS: dict[int, tuple[c.Checked, Any]] = {}
_TRUTHS: dict[Any, Callable[[int], bool]] = {}


def _fast_filter(node: c.Aggregate) -> Callable[[list], list] | None:
    """The generated list filter of an aggregation's ``where`` (None: none)."""
    found = _FAST_FILTER.get(id(node))
    if found is not None and found[0] is node:
        return found[1]
    from segdsl import codegen

    where = node.where
    found = _FAST_FILTER[id(node)] = (
        node, codegen.list_filter(where, node.depth) if where is not None else None)
    return found[1]


def _fast_where(node: c.Aggregate) -> Callable[[Any], Any] | None:
    """The generated predicate of an aggregation's ``where`` (None: none)."""
    found = _FAST_WHERE.get(id(node))
    if found is None or found[0] is not node:
        from segdsl import codegen

        found = _FAST_WHERE[id(node)] = (node, codegen.predicate(node.where, node.depth)  # type: ignore[arg-type]
                                           if node.where is not None else None)
    return found[1]


# ------------------------------------------------------------------ analysis


@attrs.frozen(cache_hash=True)  # dict keys of every customer's derivation
class _Clock:
    """A value of the clock: ``now`` shifted by ``steps`` (datetime), or, when
    ``day``, that instant's day in the rules' zone shifted by ``day_steps``."""

    steps: tuple[tuple[int, c.Checked], ...] = ()
    day: bool = False
    day_steps: tuple[tuple[int, c.Checked], ...] = ()


@attrs.frozen(cache_hash=True)
class _List:
    """A timestamped list an aggregation reads: its elements' stamps are candidates."""

    source: c.Checked
    timestamp: str
    window: c.Checked | None


@attrs.frozen(cache_hash=True)
class _Crossing:
    """A clock value compared with ``other`` (each item of it when ``items``)."""

    clock: _Clock
    other: c.Checked
    items: bool = False


@attrs.frozen(cache_hash=True)
class _Difference:
    """``now - base`` (``sign`` 1) or ``base - now`` (-1) compared with the duration ``other``."""

    clock: _Clock
    base: c.Checked
    sign: int
    other: c.Checked


@attrs.frozen(cache_hash=True)
class _Steps:
    """``days_between`` of a clock value and ``other``: a step every 24 hours."""

    clock: _Clock
    other: c.Checked
    #: the whole numbers it is compared with, when all it meets are constants
    thresholds: tuple[float, ...] | None = None


@attrs.frozen(cache_hash=True)
class _Counted:
    """A count of a list's elements in a window (or whether there is one),
    compared with a constant number (or used as a condition, ``op`` None):
    it changes only where the count crosses the constant."""

    aggregate: c.Aggregate
    op: str | None = None
    constant: float = 0
    constant_first: bool = False


@attrs.frozen(cache_hash=True)
class _Midnights:
    """A value that changes only when the clock's day changes."""

    clock: _Clock


@attrs.frozen
class Plan:
    """What makes one segment's rule change with time.

    Attributes:
        lists: the timestamped lists its aggregations read.
        refs: the segments it uses.
        sites: its uses of the clock (computed interval by interval).
        granularity: ``"exact"``, or ``"daily"`` (ranking, or an unrecognized
            clock use; the segments it uses included).
        calendar: some change instants are unbounded in number (midnights,
            day steps): a search for the next change needs a horizon.
    """

    lists: tuple[_List, ...]
    refs: tuple[str, ...]
    sites: tuple[Any, ...]
    granularity: str
    calendar: bool
    tree: tuple = ()


@attrs.frozen(eq=False)
class _Atom:
    """The sources of change of one condition under the rule's ``and``/``or``/``not``."""

    lists: tuple[_List, ...]
    refs: tuple[str, ...]
    sites: tuple[Any, ...]


def _tree(node: c.Checked) -> tuple:
    """The rule as ``(kind, node, parts)``: ``and``, ``or``, ``not`` over atoms, so
    that a condition false throughout the interval spares the others' candidates."""
    if isinstance(node, (c.And, c.Or)):
        kind = "and" if isinstance(node, c.And) else "or"
        return kind, node, tuple(_tree(part) for part in node.operands)
    if isinstance(node, c.Not):
        return "not", node, (_tree(node.operand),)
    analysis = _Analysis()
    analysis.visit(node)
    return "atom", node, _Atom(tuple(analysis.lists), tuple(analysis.refs),
                               tuple(analysis.sites))


class _Analysis:
    """Walks one segment's checked tree and records its sources of change."""

    def __init__(self) -> None:
        self.lists: dict[_List, None] = {}
        self.refs: dict[str, None] = {}
        self.sites: dict[Any, None] = {}
        self.ranks = False
        self._clocked: dict[int, bool] = {}

    def clocked(self, node: c.Checked) -> bool:
        """Whether ``node`` reads the clock directly (``now``/``today``, not through a list)."""
        return c.fold(node, lambda n, below: isinstance(n, (c.Now, c.Today)) or any(below),
                      self._clocked)

    def static(self, node: c.Checked) -> None:
        """A subtree without the clock: only its lists and segments change with time."""
        for sub in c.walk(node, lambda n: not isinstance(n, c.Aggregate)):
            if isinstance(sub, c.Aggregate):
                self.aggregate(sub)
            elif isinstance(sub, c.SegmentRef):
                self.refs[sub.name] = None
            elif isinstance(sub, c.Population):
                self.ranks = True

    def aggregate(self, node: c.Aggregate, listed: bool = True) -> None:
        for part in (node.where, node.window.value if node.window else None):
            if part is None:
                continue
            for sub in c.walk(part):
                if isinstance(sub, (c.Now, c.Today)):
                    raise _Unrecognized("the clock inside an aggregation")
                if isinstance(sub, c.Aggregate) and sub.timestamp is not None:
                    raise _Unrecognized("a timestamped list inside an aggregation")
                if isinstance(sub, c.SegmentRef):
                    self.refs[sub.name] = None
                if isinstance(sub, c.Population):
                    self.ranks = True
        self.static(node.source)
        if node.timestamp is not None:
            if not (isinstance(node.source, c.Field) and node.source.depth == 0):
                raise _Unrecognized("a timestamped list that is not the customer's")
            window = node.window.value if node.window is not None else None
            if listed:
                self.lists[_List(node.source, node.timestamp, window)] = None

    def visit(self, node: c.Checked) -> None:
        counted = _counted(node)
        if counted is not None:
            self.aggregate(counted.aggregate, listed=False)
            self.sites[counted] = None
            return
        if isinstance(node, (c.And, c.Or, c.Not)):
            for part in c.checked_children(node):
                self.visit(part)
            return
        if not self.clocked(node):
            self.static(node)
            return
        clock = clock_value(node, self.clocked)
        if clock is not None:
            if not clock.day:
                raise _Unrecognized("now used other than in a comparison")
            self.steps_of(clock)
            self.sites[_Midnights(clock)] = None
            return
        if isinstance(node, c.Binary) and node.op.name in _COMPARISONS:
            self.comparison([node.left, node.right], None)
        elif isinstance(node, c.Between):
            self.comparison([node.operand, node.low, node.high], None)
        elif isinstance(node, c.Membership):
            if isinstance(node.container, c.ListOf):
                self.comparison([node.element, *node.container.items], None)
            else:
                self.comparison([node.element], node.container)
        elif isinstance(node, c.Apply) and node.name == "days_between" and len(node.args) == 2:
            self.days_between(node)
        elif isinstance(node, c.Apply) and node.name not in CALENDAR_FUNCTIONS:
            raise _Unrecognized(f"the clock given to {node.name}()")
        elif isinstance(node, (c.Now, c.Today, c.Aggregate, c.Population)):
            raise _Unrecognized("the clock in an unexpected place")  # pragma: no cover
        else:
            # Any other node's value changes only where its operands' values do.
            for part in c.checked_children(node):
                self.visit(part)

    def steps_of(self, clock: _Clock) -> None:
        for _, step in (*clock.steps, *clock.day_steps):
            self.static(step)

    def comparison(self, operands: list[c.Checked], container: c.Checked | None) -> None:
        clocked = [o for o in operands if self.clocked(o)]
        free = [o for o in operands if not self.clocked(o)]
        if container is not None:
            if self.clocked(container):
                raise _Unrecognized("the clock in a list")
            self.static(container)
        for part in free:
            self.static(part)
        others = [(o, False) for o in free] + ([(container, True)] if container else [])
        opaque = []
        for part in clocked:
            clock = clock_value(part, self.clocked)
            difference = _difference(part, self.clocked) if clock is None else None
            if clock is not None:
                self.steps_of(clock)
                for other, items in others:
                    self.sites[_Crossing(clock, other, items)] = None
            elif difference is not None:
                clock, base, sign = difference
                self.steps_of(clock)
                self.static(base)
                for other, items in others:
                    if items:
                        raise _Unrecognized("a clock difference in a list")
                    self.sites[_Difference(clock, base, sign, other)] = None
            else:
                opaque.append(part)
            if not others and clock is not None:
                raise _Unrecognized("the clock compared with the clock")
        if opaque and len(clocked) > 1:
            raise _Unrecognized("the clock compared with a value of the clock")
        thresholds = _thresholds(free) if container is None else None
        for part in opaque:
            if thresholds is not None and isinstance(part, c.Apply) \
                    and part.name == "days_between" and len(part.args) == 2:
                self.days_between(part, thresholds)
            else:
                self.visit(part)

    def days_between(self, node: c.Apply, thresholds: tuple[float, ...] | None = None) -> None:
        first, second = node.args
        for clocked_side, other in ((second, first), (first, second)):
            clock = clock_value(clocked_side, self.clocked)
            if clock is not None and not clock.day and not self.clocked(other):
                self.steps_of(clock)
                self.static(other)
                self.sites[_Steps(clock, other, thresholds)] = None
                return
        raise _Unrecognized("days_between of two clock values")


def _number(node: c.Checked) -> float | None:
    if isinstance(node, c.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _thresholds(free: list[c.Checked]) -> tuple[float, ...] | None:
    """The numbers a ``days_between`` is compared with, when all are constants."""
    numbers = [_number(part) for part in free]
    if not numbers or any(number is None for number in numbers):
        return None
    return tuple(number for number in numbers if number is not None)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b, "NE": lambda a, b: a != b, "LT": lambda a, b: a < b,
    "LE": lambda a, b: a <= b, "GT": lambda a, b: a > b, "GE": lambda a, b: a >= b}


def _simple_count(node: c.Checked) -> bool:
    """A ``count`` or ``exists`` of a customer's timestamped list's elements."""
    return (isinstance(node, c.Aggregate) and node.function in ("count", "exists")
            and not node.value and not node.flatten and node.timestamp is not None
            and isinstance(node.source, c.Field) and node.source.depth == 0
            and node.depth == 1)


def _counted(node: c.Checked) -> _Counted | None:
    """``node`` as a count compared with a constant, or an ``exists`` used as a condition."""
    if _simple_count(node) and node.type.name == "bool":  # type: ignore[attr-defined]
        return _Counted(node)  # type: ignore[arg-type]
    if isinstance(node, c.Binary) and node.op.name in _COMPARISONS:
        for aggregate, constant, first in ((node.left, node.right, False),
                                           (node.right, node.left, True)):
            number = _number(constant)
            if number is not None and _simple_count(aggregate) \
                    and aggregate.function == "count":  # type: ignore[attr-defined]
                return _Counted(aggregate, node.op.name, number, first)  # type: ignore[arg-type]
    return None


def clock_value(node: c.Checked, clocked: Callable[[c.Checked], bool]) -> _Clock | None:
    """``node`` as a value of the clock, or None when it is not one of the known forms."""
    if isinstance(node, c.Now):
        return _Clock()
    if isinstance(node, c.Today):
        return _Clock(day=True)
    if isinstance(node, c.ToDate):
        inner = clock_value(node.operand, clocked)
        return _Clock(inner.steps, True) if inner is not None and not inner.day else None
    if isinstance(node, c.Binary) and node.op.name in ("ADD", "SUBTRACT") \
            and node.type.name in ("datetime", "date"):
        sign = -1 if node.op.name == "SUBTRACT" else 1
        pairs = [(node.left, node.right, sign)]
        if sign == 1:
            pairs.append((node.right, node.left, 1))
        for moment, step, step_sign in pairs:
            if step.type.name != "duration" or clocked(step):  # type: ignore[attr-defined]
                continue
            inner = clock_value(moment, clocked)
            if inner is None:
                continue
            if not inner.day and node.type.name == "datetime":
                return _Clock((*inner.steps, (step_sign, step)))
            if inner.day and node.type.name == "date":
                return _Clock(inner.steps, True, (*inner.day_steps, (step_sign, step)))
    return None


def _difference(node: c.Checked, clocked) -> tuple[_Clock, c.Checked, int] | None:
    """``now - x`` or ``x - now`` (a duration): the clock, ``x`` and the sign of the clock."""
    if not (isinstance(node, c.Binary) and node.op.name == "SUBTRACT"
            and node.type.name == "duration"):
        return None
    for moment, base, sign in ((node.left, node.right, 1), (node.right, node.left, -1)):
        clock = clock_value(moment, clocked)
        if clock is not None and not clock.day and not clocked(base):
            return clock, base, sign
    return None


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def plans(program: Any) -> dict[str, Plan]:
    """The plan of every segment of a compiled rule set (kept with the program)."""
    found = _PLANS.get(program)
    if found is None:
        found = _PLANS[program] = {}
    return found


def plan(program: Any, name: str) -> Plan:
    """How the segment ``name`` of ``program`` changes with time."""
    known = plans(program)
    if name in known:
        return known[name]
    known[name] = Plan((), (), (), DAILY, True)  # a cycle cannot happen; guards recursion
    analysis = _Analysis()
    granularity = EXACT
    try:
        analysis.visit(program.body(name))
    except _Unrecognized:
        granularity = DAILY
    calendar = any(isinstance(site, _Midnights)
                   or (isinstance(site, _Steps) and site.thresholds is None)
                   for site in analysis.sites)
    for ref in analysis.refs:
        below = plan(program, ref)
        calendar = calendar or below.calendar
        if below.granularity == DAILY:
            granularity = DAILY
    if analysis.ranks:
        granularity = DAILY
    tree = _tree(program.body(name)) if granularity == EXACT else ()
    found = known[name] = Plan(tuple(analysis.lists), tuple(analysis.refs),
                               tuple(analysis.sites), granularity, calendar, tree)
    return found


# ------------------------------------------------------------- the calendar


def _steps_sum(steps: list) -> dt.timedelta | None:
    total = dt.timedelta(0)
    for step in steps:
        if not isinstance(step, dt.timedelta):
            return None
        total += step
    return total


def _apply(moment: dt.datetime, steps: list, zone: dt.tzinfo) -> dt.datetime:
    for step in steps:
        moment = shift(moment, step, zone)
    return moment


@functools.lru_cache(maxsize=1024)
def _back(moment: dt.datetime, window: dt.timedelta | relativedelta, zone: dt.tzinfo
          ) -> dt.datetime:
    """``moment`` less a window's length. The moments are a call's bounds, the same
    for every customer, and a calendar step is slow to apply: computed once."""
    return moment - window if isinstance(window, dt.timedelta) else shift(moment, -window, zone)


def _micro(moment: dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def first_reaching(steps: list, target: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """The first instant ``x`` at which ``x`` shifted by ``steps`` is at or after ``target``.

    Fixed lengths give ``target - their sum``; calendar steps are solved by
    bisection to the microsecond around the inverse shift (the shifted
    clock never goes back). None when out of the calendar."""
    try:
        fixed = _steps_sum(steps)
        if fixed is not None:
            return (target - fixed).astimezone(UTC)
        guess = target
        for step in reversed(steps):
            guess = shift(guess, -step, zone)
        reach = lambda x: _apply(x, steps, zone) >= target
        if reach(guess) and not reach(guess - _TICK):
            return guess.astimezone(UTC)  # the inverse shift is exact (no month end, no DST)
        width = 4 * _DAY
        low, high = guess - width, guess + width
        for _ in range(8):
            if not reach(low):
                break
            low -= width
        for _ in range(8):
            if reach(high):
                break
            high += width
        lo, hi = _micro(low), _micro(high)  # reach(lo) is false, reach(hi) true
        while hi - lo > 1:
            middle = (lo + hi) // 2
            if reach(_EPOCH + dt.timedelta(microseconds=middle)):
                hi = middle
            else:
                lo = middle
        return _EPOCH + dt.timedelta(microseconds=hi)
    except (OverflowError, ValueError, TypeError):
        return None


def _first_day(day_steps: list, target: dt.date) -> dt.date | None:
    """The first day ``D`` at which ``D`` shifted by ``day_steps`` is at or after ``target``."""
    try:
        fixed = _steps_sum(day_steps)
        if fixed is not None:
            return target - fixed

        def shifted(ordinal: int) -> dt.date:
            day = dt.date.fromordinal(ordinal)
            for step in day_steps:
                day = day + step
            return day

        guess = target
        for step in reversed(day_steps):
            guess = guess - step
        lo, hi = guess.toordinal() - 40, guess.toordinal() + 40
        while shifted(lo) >= target:
            lo -= 40
        while shifted(hi) < target:
            hi += 40
        while hi - lo > 1:
            middle = (lo + hi) // 2
            if shifted(middle) >= target:
                hi = middle
            else:
                lo = middle
        return dt.date.fromordinal(hi)
    except (OverflowError, ValueError, TypeError):
        return None


def midnights(since: dt.datetime, until: dt.datetime, zone: dt.tzinfo) -> list[dt.datetime]:
    """The first instants of the days in ``zone`` after ``since``, up to ``until``."""
    found: list[dt.datetime] = []
    day = since.astimezone(zone).date() + _DAY
    while True:
        moment = day_start(day, zone).astimezone(UTC)
        if moment > until:
            return found
        if moment > since:
            found.append(moment)
        day += _DAY


# ---------------------------------------------------------- one customer


class _Timeline:
    """One customer's rule values at any instant, with the derived candidates."""

    def __init__(self, program: Any, record: Any, id_field: str) -> None:
        self.program = program
        self.record = record
        self.id_field = id_field
        self.zone = program.options.timezone
        self._contexts: dict[dt.datetime, Any] = {}
        self._kept: dict = {}
        self._evaluated = False
        self._members: dict[tuple[str, dt.datetime], bool] = {}
        self._candidates: dict[tuple[str, dt.datetime, dt.datetime], list] = {}
        self._lists: dict[tuple[int, str], Any] = {}
        self._counts: dict[tuple, Any] = {}
        self._atoms: dict[tuple, set] = {}

    def context(self, at: dt.datetime):
        found = self._contexts.get(at)
        if found is None:
            found = self.program.context(self.record, at, None, None, self.id_field)
            # The parsed timelines of the lists do not depend on now.
            found.cache.update(self._kept)
            self._contexts[at] = found
            if len(self._contexts) > 64:
                self._contexts.pop(next(iter(self._contexts)))
        return found

    def keep(self, at: dt.datetime) -> None:
        """Keep the lists parsed at ``at`` for the evaluations at other instants."""
        self._keep(self.context(at))

    def _keep(self, ctx) -> None:
        for key, value in ctx.cache.items():
            if type(key) is tuple and key and key[0] in ("timeline", "list"):
                self._kept[key] = value

    def value(self, node: c.Checked, at: dt.datetime) -> Any:
        ctx = self.context(at)
        return self.program._compiler.compile(node)(ctx)

    def member(self, name: str, at: dt.datetime) -> bool:
        key = (name, at)
        found = self._members.get(key)
        if found is None:
            ctx = self.context(at)
            found = self._members[key] = self.program.closure(name)(ctx) is True
            if not self._evaluated:
                self._evaluated = True
                self._keep(ctx)
        return found

    # candidates

    def candidates(self, name: str, since: dt.datetime, until: dt.datetime) -> list:
        """The sorted instants in ``(since, until]`` where segment ``name`` may change."""
        key = (name, since, until)
        known = self._candidates.get(key)
        if known is None:
            tree = plan(self.program, name).tree
            found = self._tree_candidates(tree, since, until) if tree else set()
            known = self._candidates[key] = sorted(found)
        return known

    def _tree_candidates(self, tree: tuple, since: dt.datetime, until: dt.datetime) -> set:
        kind, _, parts = tree
        if kind == "atom":
            return self._atom_candidates(parts, since, until)
        if kind == "not":
            return self._tree_candidates(parts[0], since, until)
        # A condition that keeps the value deciding the whole and (false) or
        # or (true) all through the interval: nothing else matters.
        deciding = kind == "or"
        found: set[dt.datetime] = set()
        for part in parts:
            below = self._tree_candidates(part, since, until)
            if not below and self._condition(part[1], since) is deciding:
                return set()
            found |= below
        return found

    def _condition(self, node: c.Checked, at: dt.datetime) -> bool | None:
        try:
            return self.program._compiler.condition(node)(self.context(at))
        except SegdslError:
            return None

    def _atom_candidates(self, atom: _Atom, since: dt.datetime, until: dt.datetime) -> set:
        key = (id(atom), since, until)
        known = self._atoms.get(key)
        if known is not None:
            return known
        found: set[dt.datetime] = set()
        for listed in atom.lists:
            found.update(self._list_candidates(listed, since, until))
        for site in atom.sites:
            if isinstance(site, _Counted):
                found.update(self._counted_candidates(site, since, until))
        for ref in atom.refs:
            found.update(self.candidates(ref, since, until))
        if any(not isinstance(site, _Counted) for site in atom.sites):
            points = sorted(found)
            for start, end in zip([since, *points], [*points, until], strict=True):
                for site in atom.sites:
                    if not isinstance(site, _Counted):
                        found.update(self._site_candidates(site, start, end))
        self._atoms[key] = found
        return found

    def _stamped(self, source: c.Checked, timestamp: str, at: dt.datetime):
        """``(stamps, elements, undated)`` of a list, its dated elements sorted by
        stamp (in UTC); None when it is no list or a stamp cannot be read (then
        evaluation reports the bad data where it matters)."""
        key = (id(source), timestamp)
        if key in self._lists:
            return self._lists[key]
        try:
            items = self.value(source, at)
        except SegdslError:
            items = None
        found = None
        if isinstance(items, list):
            # The timeline evaluation already parsed, when there is one.
            known = self.context(at).cache.get(("timeline", id(items), timestamp))
            stamps = getattr(known, "stamps", None)
            if isinstance(stamps, list) and all(type(x) is dt.datetime for x in stamps[:1]) \
                    and isinstance(getattr(known, "undated", None), list):
                found = (stamps, known.elements, known.undated)
            else:
                # UTC text to the second, the common case, in one pass of the C parser.
                textual = _textual_timeline(items, timestamp)
                if textual is None:
                    found = self._parsed(items, timestamp)
                else:
                    found = (textual.stamps, textual.elements, textual.undated)
                    # The evaluation's own timeline of the list: it need not parse it again.
                    for cache in (self.context(at).cache, self._kept):
                        cache[("timeline", id(items), timestamp)] = textual
                        cache[("list", id(items))] = items
        self._lists[key] = found
        return found

    def _parsed(self, items: list, timestamp: str):
        dated, undated = [], []
        zone = self.zone
        for index, element in enumerate(items):
            try:
                element = normalise(element)
                if element is None:
                    continue
                raw = element.get(timestamp) if type(element) is dict \
                    else read_field(element, timestamp)
                stamp = read_datetime(normalise(raw), zone)
            except Exception:  # noqa: BLE001 - bad data is evaluation's to report
                return None
            if stamp is None:
                undated.append(element)
            else:
                dated.append((stamp, index, element))
        dated.sort(key=lambda entry: (entry[0], entry[1]))
        return [d[0] for d in dated], [d[2] for d in dated], undated

    def _window(self, node: c.Aggregate, at: dt.datetime) -> Any:
        return self._window_value(node.window.value, at) if node.window is not None else None

    def _window_value(self, node: c.Checked, at: dt.datetime) -> Any:
        """A window's length or period: a constant's once, else read at ``at``."""
        if isinstance(node, c.Constant):
            found = _CONSTANTS.get(id(node))
            if found is None or found[0] is not node:
                found = _CONSTANTS[id(node)] = (node, runtime_value(node.value))
            return found[1]
        return self.value(node, at)

    def _list_candidates(self, listed: _List, since: dt.datetime, until: dt.datetime):
        stamped = self._stamped(listed.source, listed.timestamp, since)
        try:
            window = self._window_value(listed.window, since) if listed.window is not None \
                else None
        except SegdslError:
            return []  # evaluation says what is wrong, where it matters
        if stamped is None:
            return []
        stamps = stamped[0]
        found = stamps[bisect.bisect_right(stamps, since):bisect.bisect_right(stamps, until)]
        for stamp in self._leaving_range(stamps, window, since, until):
            out = self._exit(stamp, window)
            if out is not None and since < out <= until:
                found.append(out)
        return found

    def _leaving_range(self, stamps: list, window: Any, since: dt.datetime,
                       until: dt.datetime) -> list:
        """The stamps whose elements may leave ``window`` in ``(since, until]``."""
        try:
            if isinstance(window, dt.timedelta):
                low, high = since - window, until - window
            elif isinstance(window, relativedelta):
                low = _back(since, window, self.zone) - 4 * _DAY
                high = _back(until, window, self.zone) + 4 * _DAY
            else:
                return []
        except (OverflowError, ValueError):
            return stamps
        return stamps[bisect.bisect_right(stamps, low):bisect.bisect_right(stamps, high)]

    def _exit(self, stamp: dt.datetime, window: Any) -> dt.datetime | None:
        """When an element stamped ``stamp`` leaves a window of length ``window`` back from now."""
        if isinstance(window, dt.timedelta):
            try:
                return stamp + window
            except OverflowError:
                return None
        if isinstance(window, relativedelta):
            return first_reaching([-window], stamp, self.zone)
        return None

    def _counted_candidates(self, site: _Counted, since: dt.datetime, until: dt.datetime):
        """Where a count compared with a constant changes: the count is known
        at every instant from its elements' entries and exits."""
        key = (site, since, until)
        found = self._counts.get(key)
        if found is None:
            found = self._counts[key] = self._count_changes(site, since, until)
        return found

    def _count_changes(self, site: _Counted, since: dt.datetime, until: dt.datetime) -> list:
        node = site.aggregate
        key = (node, since, until)
        moves = self._counts.get(key, False)
        if moves is False:
            if self._never_changes(site, since, until):
                return []
            moves = self._counts[key] = self._count_moves(node, since, until)
        if moves is _UNDECIDED:
            window = node.window.value if node.window is not None else None
            listed = _List(node.source, node.timestamp, window)  # type: ignore[arg-type]
            return self._list_candidates(listed, since, until)
        if moves is None or not moves[1]:
            return []
        count, changes = moves
        truth = self._truth(site)
        before = truth(count)
        found = []
        for moment in sorted(changes):
            count += changes[moment]
            now_true = truth(count)
            if now_true != before:
                found.append(moment)
                before = now_true
        return found

    def _count_moves(self, node: c.Aggregate, since: dt.datetime, until: dt.datetime) -> Any:
        stamped = self._stamped(node.source, node.timestamp, since)  # type: ignore[arg-type]
        try:
            window = self._window(node, since)
        except SegdslError:
            return None
        if stamped is None:
            return None
        try:
            return self._moves(node, stamped, window, since, until)
        except _Undecided:
            return _UNDECIDED

    @staticmethod
    def _truth(site: _Counted) -> Callable[[int], bool]:
        found = _TRUTHS.get(site)
        if found is None:
            found = _TRUTHS[site] = _Timeline._comparison(site)
        return found

    @staticmethod
    def _comparison(site: _Counted) -> Callable[[int], bool]:
        if site.op is None:
            return lambda count: count > 0
        compare, constant = _OPERATORS[site.op], site.constant
        if site.constant_first:
            return lambda count: compare(constant, count)
        return lambda count: compare(count, constant)

    def _range(self, stamps: list, window: Any, since: dt.datetime, until: dt.datetime
               ) -> tuple[int, int] | None:
        """The positions ``[first, last)`` of the stamps whose elements may be in
        ``window`` at some instant up to ``until`` and have not left it by
        ``since`` (over-inclusive for calendar steps); None when the window is empty."""
        zone = self.zone
        last = bisect.bisect_right(stamps, until)
        if window is None:
            return 0, last
        if isinstance(window, Period):
            low = day_start(window.start, zone)
            first = bisect.bisect_left(stamps, low)
            try:
                after = day_start(window.end + _DAY, zone)
            except OverflowError:
                return first, last
            return first, min(last, bisect.bisect_left(stamps, after))
        if isinstance(window, (dt.timedelta, relativedelta)):
            if empty_window(window):
                return None
            try:
                low = since - window if isinstance(window, dt.timedelta) \
                    else _back(since, window, zone) - 4 * _DAY
            except (OverflowError, ValueError):
                return 0, last
            return bisect.bisect_right(stamps, low), last
        raise _Undecided

    def _moves(self, node: c.Aggregate, stamped: tuple, window: Any, since: dt.datetime,
               until: dt.datetime) -> tuple[int, dict] | None:
        """The count at ``since`` (for ``exists``, only whether it is above 0)
        and its changes by instant in ``(since, until]`` (None: the window never
        holds anything). The ``where`` is evaluated only for the elements that
        enter or leave the window in the interval: the rest is the value the
        rules give at ``since``."""
        stamps, elements = stamped[0], stamped[1]
        bounds = self._range(stamps, window, since, until)
        if bounds is None:
            return None
        first, last = bounds
        try:
            at_since = self.value(node, since)
        except SegdslError:
            raise _Undecided from None
        counting = node.function == "count"
        if (counting and type(at_since) is not int) or (not counting
                                                        and type(at_since) is not bool):
            raise _Undecided
        entering = bisect.bisect_right(stamps, since)
        changes: dict[dt.datetime, int] = {}
        if not counting and at_since and window is None:
            return 1, changes  # it holds, and nothing ever leaves
        # An element stamped t has left a window of length w by u when u - w >= t.
        gone_by_since = gone_by_until = None
        if isinstance(window, (dt.timedelta, relativedelta)):
            try:
                gone_by_since = _back(since, window, self.zone)
                gone_by_until = _back(until, window, self.zone)
            except (OverflowError, ValueError):
                raise _Undecided from None
        leaving: list[int] = []
        staying: list[int] = []
        if (counting or at_since) and gone_by_since is not None:
            for index in range(first, min(entering, last)):
                stamp = stamps[index]
                if stamp <= gone_by_since:
                    continue  # left before the interval
                (leaving if stamp <= gone_by_until else staying).append(index)
        elif not counting and at_since:
            staying = list(range(first, min(entering, last)))
        moving = [*range(max(first, entering), last), *leaving]
        kept = self._matching(node, [elements[i] for i in moving], since)
        matching = moving if kept is None else [i for i in moving if id(elements[i]) in kept]
        gone = 0
        for index in matching:
            stamp = stamps[index]
            if stamp > since:
                changes[stamp] = changes.get(stamp, 0) + 1
            else:
                gone += 1
            if gone_by_until is not None and stamp <= gone_by_until:
                out = self._exit(stamp, window)
                if out is None:
                    raise _Undecided
                changes[out] = changes.get(out, 0) - 1
        if counting:
            return at_since, changes
        if not at_since:
            return 0, changes
        if gone == 0:
            return 1, {}  # what holds at since stays all through: it stays above 0
        # Whether anything that stays all through the interval holds: one is enough.
        stays = any(self._holds(node, elements[index], since) for index in staying)
        return gone + (1 if stays else 0), changes

    def _never_changes(self, site: _Counted, since: dt.datetime, until: dt.datetime) -> bool:
        """Whether the comparison keeps one value for any count the list allows:
        ``visits(30d) >= 10`` for a customer with 6 events in reach."""
        node = site.aggregate
        if node.window is None:
            return False
        stamped = self._stamped(node.source, node.timestamp, since)  # type: ignore[arg-type]
        if stamped is None:
            return False
        try:
            bounds = self._range(stamped[0], self._window(node, since), since, until)
        except (SegdslError, _Undecided):
            return False
        if bounds is None:
            return True
        most = bounds[1] - bounds[0]
        if most > 32:
            return False
        truth = self._truth(site)
        first = truth(0)
        return all(truth(count) == first for count in range(1, most + 1))

    def _matching(self, node: c.Aggregate, elements: list, at: dt.datetime) -> set[int] | None:
        """The ids of the ``elements`` that meet the aggregation's ``where`` (None: all)."""
        if node.where is None:
            return None
        fast = _fast_filter(node)
        if fast is not None and all(type(element) is dict for element in elements):
            try:
                return {id(element) for element in fast(elements)}
            except Exception:  # noqa: BLE001, S110 - element by element, the closures decide
                pass
        return {id(element) for element in elements if self._holds(node, element, at)}

    def _holds(self, node: c.Aggregate, element: Any, at: dt.datetime) -> bool:
        """Whether ``element`` meets the aggregation's ``where`` (which reads no clock)."""
        if node.where is None:
            return True
        fast = _fast_where(node)
        if fast is not None and type(element) is dict:
            try:
                return fast(element) is True
            except Exception:  # noqa: BLE001, S110 - the closures decide
                pass
        ctx = self.context(at)
        closure = self.program._compiler.condition(node.where)
        scopes = ctx.scopes
        del scopes[1:]
        scopes.append(element)
        try:
            return closure(ctx) is True
        except SegdslError:
            raise _Undecided from None
        finally:
            del scopes[1:]

    def _steps(self, steps: tuple, at: dt.datetime) -> list | None:
        values = []
        for sign, node in steps:
            step = self.value(node, at)
            if step is None or not isinstance(step, (dt.timedelta, relativedelta)):
                return None
            values.append(step if sign > 0 else -step)
        return values

    def _site_candidates(self, site: Any, start: dt.datetime, end: dt.datetime) -> list:
        try:
            return [x for x in self._site(site, start, end) if x is not None and start < x <= end]
        except (SegdslError, ArithmeticError, ValueError, TypeError):
            return []  # an operand that cannot be read: evaluation reports it if it matters

    def _site(self, site: Any, start: dt.datetime, end: dt.datetime) -> Iterable:
        clock = site.clock
        steps = self._steps(clock.steps, start)
        day_steps = self._steps(clock.day_steps, start)
        if steps is None or day_steps is None:
            return []
        if isinstance(site, _Midnights):
            return self._day_changes(steps, start, end)
        if isinstance(site, _Steps):
            other = self.value(site.other, start)
            if site.thresholds is not None:
                return self._threshold_steps(steps, other, site.thresholds)
            return self._day_steps(steps, other, start, end)
        if isinstance(site, _Difference):
            base = self.value(site.base, start)
            other = self.value(site.other, start)
            targets = []
            for moment in _instants(base, self.zone):
                if isinstance(other, (dt.timedelta, relativedelta)):
                    try:
                        targets.append(shift(moment, site.sign * other, self.zone))
                    except (OverflowError, ValueError):
                        continue
            return self._reaching(steps, [], False, targets)
        other = self.value(site.other, start)
        values = list(other) if site.items and isinstance(other, (list, tuple)) else [other]
        targets = []
        for value in values:
            value = normalise(value) if site.items else value
            targets += _days(value, self.zone) if clock.day else _instants(value, self.zone)
        return self._reaching(steps, day_steps, clock.day, targets)

    def _reaching(self, steps: list, day_steps: list, day: bool, targets: list
                  ) -> list[dt.datetime | None]:
        """For each target, where the clock value reaches it and where it passes it."""
        found: list[dt.datetime | None] = []
        for target in targets:
            if day:
                for first in (target, target + _DAY):
                    reached = _first_day(day_steps, first) if _in_dates(first) else None
                    if reached is not None:
                        found.append(first_reaching(steps, day_start(reached, self.zone),
                                                    self.zone))
            else:
                found.append(first_reaching(steps, target, self.zone))
                found.append(first_reaching(steps, target + _TICK, self.zone))
        return found

    def _day_changes(self, steps: list, start: dt.datetime, end: dt.datetime) -> Iterator:
        """Where the clock value's day changes, from ``start`` up to ``end``."""
        try:
            day = _apply(start, steps, self.zone).astimezone(self.zone).date()
        except (OverflowError, ValueError):
            return
        while True:
            day += _DAY
            found = first_reaching(steps, day_start(day, self.zone), self.zone)
            if found is None or found > end:
                return
            yield found

    def _threshold_steps(self, steps: list, other: Any, thresholds: tuple[float, ...]) -> list:
        """Where ``days_between`` of the clock value and ``other`` reaches or
        leaves one of ``thresholds``: it steps every 24 hours, and a comparison
        with ``k`` can change only at the steps to ``k`` and to the day after."""
        targets = []
        for base in _instants(other, self.zone)[:1]:
            for count in threshold_days(thresholds):
                try:
                    targets.append(base + count * _DAY)
                except OverflowError:
                    continue
        return self._reaching(steps, [], False, targets)

    def _day_steps(self, steps: list, other: Any, start: dt.datetime, end: dt.datetime):
        """Where ``days_between`` of the clock value and ``other`` changes."""
        for base in _instants(other, self.zone)[:1]:
            try:
                low = (_apply(start, steps, self.zone) - base) // _DAY - 1
                high = (_apply(end, steps, self.zone) - base) // _DAY + 1
            except (OverflowError, ValueError):
                return
            for count in range(low, high + 1):
                try:
                    target = base + count * _DAY
                except OverflowError:
                    continue
                yield first_reaching(steps, target, self.zone)
                yield first_reaching(steps, target + _TICK, self.zone)


def threshold_days(thresholds: tuple[float, ...]) -> set[int]:
    """The whole days after ``other`` where ``days_between(other, clock)`` (or
    the reverse) compared with ``thresholds`` may change: the steps to each
    threshold and to the day after, either way round."""
    days: set[int] = set()
    for number in thresholds:
        if math.isfinite(number):
            for whole in (math.floor(number), math.ceil(number)):
                days.update((whole, whole + 1, -whole, -whole - 1))
    return days


def _in_dates(day: dt.date) -> bool:
    return dt.date.min < day < dt.date.max


def _instants(value: Any, zone: dt.tzinfo) -> list[dt.datetime]:
    """The instants a clock compared with ``value`` may cross: the value itself
    for a datetime, the first instants of its day and of the next for a date
    (compared by day), both readings for text."""
    if value is None:
        return []
    if isinstance(value, dt.datetime):
        return [moment for moment in (_read(value, zone),) if moment is not None]
    if isinstance(value, dt.date):
        return [day_start(d, zone) for d in (value, value + _DAY) if _in_dates(d)]
    if isinstance(value, str):
        found = [moment for moment in (_read(value, zone),) if moment is not None]
        try:
            day = dt.date.fromisoformat(value[:10])
            found += [day_start(d, zone) for d in (day, day + _DAY) if _in_dates(d)]
        except (TypeError, ValueError, OverflowError):
            pass
        return found
    return []


def _read(value: Any, zone: dt.tzinfo) -> dt.datetime | None:
    """``value`` read as an instant, or None when it is none (or out of the calendar)."""
    try:
        return read_datetime(value, zone)
    except (TypeError, ValueError, OverflowError):
        return None


def _day_of(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    try:
        return moment.astimezone(zone).date()
    except (OverflowError, ValueError):
        return moment.date()


def _days(value: Any, zone: dt.tzinfo) -> list[dt.date]:
    """The days a clock day compared with ``value`` may cross."""
    if value is None:
        return []
    if isinstance(value, dt.datetime):
        moment = _read(value, zone)
        return [] if moment is None else [_day_of(moment, zone)]
    if isinstance(value, dt.date):
        return [value]
    if isinstance(value, str):
        found = []
        try:
            found.append(dt.date.fromisoformat(value[:10]))
        except ValueError:
            pass
        moment = _read(value, zone)
        if moment is not None:
            found.append(_day_of(moment, zone))
        return found
    return []


# ----------------------------------------------------------------- results


@attrs.frozen
class Change:
    """One customer entering or leaving one segment at an instant."""

    customer_id: Any
    segment: str
    event: str
    at: dt.datetime


class _ChangeList:
    """What :class:`Changes` and :class:`NextChanges` share: their ``changes``
    as rows, plain data and DataFrames."""

    __slots__ = ()
    changes: tuple[Change, ...]

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def rows(self) -> list[tuple[Any, str, str, dt.datetime]]:
        """``(customer_id, segment, "entered" | "exited", at)`` for each change."""
        return [(ch.customer_id, ch.segment, ch.event, ch.at) for ch in self.changes]

    def to_dataframe(self, library: str = "pandas"):
        """The changes as a DataFrame: ``customer_id``, ``segment``, ``event``, ``at``."""
        rows = self.rows()
        names = ("customer_id", "segment", "event", "at")
        from segdsl.rules import data_frame

        return data_frame({name: [row[i] for row in rows] for i, name in enumerate(names)},
                          library)

    def _listed(self) -> list[dict[str, Any]]:
        return [{"customer_id": ch.customer_id, "segment": ch.segment, "event": ch.event,
                 "at": iso_text(ch.at)} for ch in self.changes]


@attrs.frozen
class Changes(_ChangeList):
    """Every membership change in an interval, in time order.

        >>> changes = rules.changes(customers, since="2026-07-01", until="2026-07-31")
        >>> changes.rows()[0]
        (17, 'undecided', 'entered', datetime.datetime(2026, 7, 3, 9, 12, tzinfo=...))

    Attributes:
        changes: each :class:`Change`, by instant, then customer, then segment.
        since: the start of the interval (changes are after it).
        until: its end (changes are at or before it).
        total: how many customers were followed.
        granularity: segment name to ``"exact"`` (each change at its instant)
            or ``"daily"`` (membership sampled at each midnight of the rules'
            timezone: segments that rank customers, or use the clock in a form
            whose instants are not derived).
        start: segment name to the ids of its members at ``since``.
    """

    changes: tuple[Change, ...]
    since: dt.datetime
    until: dt.datetime
    total: int
    granularity: dict[str, str]
    start: dict[str, list[Any]]

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data: the interval, total, granularity and changes (ISO instants)."""
        return {"since": iso_text(self.since), "until": iso_text(self.until), "total": self.total,
                "granularity": dict(self.granularity),
                "changes": self._listed()}

    def __repr__(self) -> str:
        return (f"<Changes of {self.total} customers from {iso_text(self.since)} to "
                f"{iso_text(self.until)}: {len(self.changes)} changes>")


@attrs.frozen
class NextChanges(_ChangeList):
    """Each customer's next membership change in each segment, if no new data arrives.

    Attributes:
        changes: the :class:`Change` to come for each (customer, segment) that
            will change, by instant.
        now: the instant searched from.
        total: how many customers were followed.
        granularity: as in :class:`Changes`.
    """

    changes: tuple[Change, ...]
    now: dt.datetime
    total: int
    granularity: dict[str, str]

    @property
    def next(self) -> dt.datetime | None:
        """The first instant at which anyone's membership changes (None: never)."""
        return self.changes[0].at if self.changes else None

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data: now, total, granularity and the changes to come."""
        return {"now": iso_text(self.now), "total": self.total,
                "granularity": dict(self.granularity),
                "changes": self._listed()}


# ------------------------------------------------------------- computation


def _records_and_ids(customers: Any, what: str, identities: Any) -> tuple[list, list]:
    records = _customers.listed(customers, what)
    ids = []
    for index, record in enumerate(records):
        readable = record if type(record) is dict else _customers.customer(record, index)
        records[index] = readable
        ids.append(identities.of(readable, index))
    return records, ids


def _event(member: bool) -> str:
    return ENTERED if member else EXITED


def changes(rules: Any, customers: Any, since: Any, until: Any, segments: Any = None,
            id_field: str = "id", ids: str | None = None) -> Changes:
    """See :meth:`segdsl.RuleSet.changes`."""
    from segdsl.rules import _collector_paused, _identities, _now
    from segdsl.sql import changes as on_duckdb

    if on_duckdb.wanted(customers, id_field, ids):
        # A database or tables DuckDB reads: both instants in one query (segdsl.sql.changes).
        return on_duckdb.changes(rules, customers, since, until, segments, None, id_field, ids)
    program = rules._program
    zone = program.options.timezone
    names = rules._names(segments)
    if since is None or until is None:
        raise UsageError("changes needs both since= and until= (datetimes, dates or ISO text)")
    start, end = _now(since, zone, "since"), _now(until, zone, "until")
    if end < start:
        raise UsageError(f"until ({iso_text(end)}) is before since ({iso_text(start)})")
    identities = _identities(id_field, ids)
    records, identity = _records_and_ids(customers, "changes", identities)
    granularity = {name: plan(program, name).granularity for name in names}
    exact = [name for name in names if granularity[name] == EXACT]
    daily = [name for name in names if granularity[name] == DAILY]
    found: list[tuple[dt.datetime, int, int, Change]] = []
    order = {name: i for i, name in enumerate(names)}
    first: dict[str, list[Any]] = {name: [] for name in names}
    with _collector_paused(), program.room(names):
        for index, record in enumerate(records):
            timeline = _Timeline(program, record, id_field)
            # Every segment at the start first: their lists are then read and parsed once.
            initial = [timeline.member(name, start) for name in exact]
            timeline.keep(start)
            for name, before in zip(exact, initial, strict=True):
                if before:
                    first[name].append(identity[index])
                for at in timeline.candidates(name, start, end):
                    now_member = timeline.member(name, at)
                    if now_member != before:
                        found.append((at, index, order[name],
                                      Change(identity[index], name, _event(now_member), at)))
                        before = now_member
        if daily:
            _daily(rules, records, identity, daily, start, end, found, order, first)
    found.sort(key=lambda entry: entry[:3])
    return Changes(tuple(entry[3] for entry in found), start, end, len(records), granularity,
                   first)


def _daily(rules: Any, records: list, identity: list, names: list[str], start: dt.datetime,
           end: dt.datetime, found: list, order: dict, first: dict) -> None:
    """Changes of the segments computed day by day: membership at each midnight."""
    zone = rules._program.options.timezone
    previous = rules.evaluate(records, start, segments=names, ids="position")
    members = {name: set(previous[name]) for name in names}
    for name in names:
        first[name] = [identity[i] for i in previous[name]]
    for moment in midnights(start, end, zone):
        result = rules.evaluate(records, moment, segments=names, ids="position")
        for name in names:
            now_members = set(result[name])
            for index in sorted(now_members ^ members[name]):
                event = ENTERED if index in now_members else EXITED
                found.append((moment, index, order[name],
                              Change(identity[index], name, event, moment)))
            members[name] = now_members


def next_change(segment: Any, customer: Any, now: Any, until: Any = None,
                id_field: str = "id") -> dt.datetime | None:
    """See :meth:`segdsl.Segment.next_change`."""
    from segdsl.errors import EvaluationError
    from segdsl.rules import _now

    program = segment._program
    zone = program.options.timezone
    at = _now(now, zone)
    limit = _now(until, zone, "until") if until is not None else None
    if limit is not None and limit <= at:
        raise UsageError(f"until ({iso_text(limit)}) must be after now ({iso_text(at)})")
    segment_plan = plan(program, segment.name)
    if segment_plan.granularity == DAILY and segment.needs_population:
        raise EvaluationError(
            f"segment '{segment.name}' ranks customers, so when it changes depends on "
            f"everyone: use rules.next_changes(customers, now=...)")
    record = _customers.one(customer, "next_change")
    with program.room((segment.name,)):
        return _next(program, record, segment.name, at, limit, id_field)


def _next(program: Any, record: Any, name: str, at: dt.datetime, limit: dt.datetime | None,
          id_field: str) -> dt.datetime | None:
    """The first instant after ``at`` (up to ``limit``) where ``name``'s membership differs."""
    timeline = _Timeline(program, record, id_field)
    segment_plan = plan(program, name)
    zone = program.options.timezone
    before = timeline.member(name, at)
    if segment_plan.granularity == DAILY:
        end = limit or at + dt.timedelta(days=31)
        for moment in midnights(at, end, zone):
            if timeline.member(name, moment) != before:
                return moment
        return None
    if limit is None and not segment_plan.calendar:
        limit = dt.datetime.max.replace(tzinfo=UTC) - 2 * DEFAULT_HORIZON
    final = limit if limit is not None else at + DEFAULT_HORIZON
    low, width = at, dt.timedelta(days=31)
    while low < final:
        high = min(final, low + width) if segment_plan.calendar else final
        for moment in timeline.candidates(name, low, high):
            if timeline.member(name, moment) != before:
                return moment
        low, width = high, width * 2
    return None


def next_changes(rules: Any, customers: Any, now: Any, segments: Any = None, until: Any = None,
                 id_field: str = "id", ids: str | None = None) -> NextChanges:
    """See :meth:`segdsl.RuleSet.next_changes`."""
    from segdsl.rules import _collector_paused, _identities, _now

    program = rules._program
    zone = program.options.timezone
    names = rules._names(segments)
    at = _now(now, zone)
    limit = _now(until, zone, "until") if until is not None else None
    if limit is not None and limit <= at:
        raise UsageError(f"until ({iso_text(limit)}) must be after now ({iso_text(at)})")
    identities = _identities(id_field, ids)
    records, identity = _records_and_ids(customers, "next_changes", identities)
    granularity = {name: plan(program, name).granularity for name in names}
    found: list[tuple[dt.datetime, int, int, Change]] = []
    ranked = [name for name in names if rules[name].needs_population]
    with _collector_paused(), program.room(names):
        for index, record in enumerate(records):
            for position, name in enumerate(names):
                if name in ranked:
                    continue
                moment = _next(program, record, name, at, limit, id_field)
                if moment is not None:
                    timeline = _Timeline(program, record, id_field)
                    event = _event(timeline.member(name, moment))
                    found.append((moment, index, position,
                                  Change(identity[index], name, event, moment)))
        if ranked:
            end = limit or at + dt.timedelta(days=31)
            window = _daily_next(rules, records, ranked, at, end)
            for (index, name), (moment, member) in window.items():
                found.append((moment, index, names.index(name),
                              Change(identity[index], name, _event(member), moment)))
    found.sort(key=lambda entry: entry[:3])
    return NextChanges(tuple(entry[3] for entry in found), at, len(records), granularity)


def _daily_next(rules: Any, records: list, names: list[str], at: dt.datetime,
                end: dt.datetime) -> dict:
    zone = rules._program.options.timezone
    start = rules.evaluate(records, at, segments=names, ids="position")
    members = {name: set(start[name]) for name in names}
    found: dict = {}
    for moment in midnights(at, end, zone):
        result = rules.evaluate(records, moment, segments=names, ids="position")
        for name in names:
            for index in set(result[name]) ^ members[name]:
                found.setdefault((index, name), (moment, index in set(result[name])))
    return found


def history(rules: Any, customers: Any, start: Any, end: Any, every: Any,
            segments: Any = None) -> list[tuple[dt.datetime, dict[str, int]]]:
    """Each segment's size at ``start``, ``start + every``, ... up to ``end``."""
    from segdsl.rules import _now

    zone = rules._program.options.timezone
    first, last = _now(start, zone, "from"), _now(end, zone, "to")
    if last < first:
        raise UsageError(f"the end ({iso_text(last)}) is before the start ({iso_text(first)})")
    if not isinstance(every, (dt.timedelta, relativedelta)) or not every:
        raise UsageError("every must be a positive duration such as 1d")
    records = _customers.listed(customers, "history")
    found = []
    moment, count = first, 0
    while moment <= last:
        result = rules.evaluate(records, moment, segments=segments, ids="position")
        found.append((moment, result.sizes))
        count += 1
        moment = shift(first, every * count, zone) if isinstance(every, relativedelta) \
            else first + every * count
    return found


__all__ = ["DAILY", "ENTERED", "EXACT", "EXITED", "Change", "Changes", "NextChanges", "changes",
           "history", "next_change", "next_changes", "plan"]
