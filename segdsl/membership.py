"""Membership kept up to date: new orders and events, and the advance of time.

    >>> state = rules.membership(customers, now="2026-07-15T12:00:00Z")
    >>> changes = state.update([{"id": 7, "events": [{"type": "visit", "at": ...}]}],
    ...                        now="2026-07-16T12:00:00Z")
    >>> changes.rows()
    [(7, 'undecided', 'entered', datetime.datetime(2026, 7, 16, 9, 3, tzinfo=...))]

A :class:`Membership` evaluates the customers once, then follows them. Each
update costs in proportion to the customers it concerns: those receiving data,
and those whose membership may change by time alone before the new ``now``.
Each customer keeps the instants at which its memberships may next change (the
candidates of :mod:`segdsl.dynamics`, over a horizon of months), and a heap of
the first of them says who is due; a customer that is not due costs nothing.

Segments computed day by day (those that rank customers, RFM, ``ntile``,
``percentile``, and those whose use of the clock is not derived, see
:mod:`segdsl.dynamics`) depend on everyone: each update evaluates the whole
population for them at every local midnight of the interval and at its end.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from segdsl import checked as c
from segdsl import customers as _customers
from segdsl import dynamics
from segdsl.errors import DataError, SegdslError, UsageError
from segdsl.timeline import iso_text, read_datetime
from segdsl.values import normalise

#: How far ahead each customer's candidate instants are computed.
HORIZON = dt.timedelta(days=183)
#: A horizon ending closer than this to ``now`` is renewed when the customer is followed.
RENEW = dt.timedelta(days=2)
#: The most candidate instants kept per customer (the horizon ends at the first one dropped).
KEPT = 8
_STAGGER = 61
_FROM_ISO = dt.datetime.fromisoformat
_LAST = 1 << 30  # after every segment's index, in (instant, index) order


class Membership:
    """Who is in each segment, kept current as data arrives and time passes.

    Built by :meth:`segdsl.RuleSet.membership`. The state keeps each
    customer's record (its own dict; a list it appends to is a new list, the
    caller's data is never changed) and memberships.

    Late data: an update may bring elements stamped at or before the previous
    ``now`` (or replace fields) so that the customer's membership at the
    previous ``now``, read with the new data, is not the one the state had.
    Such a correction is reported as a change *at the previous now* (the
    interval's start), before the interval's own changes: replaying
    ``changes.start`` and the changes in order gives each concerned customer's
    memberships at the new ``now``, and each change is a real flip of what the
    state had said. A new customer is a member of nothing before its first
    update: if its data makes it a member at the previous ``now``, it enters
    there.

    Attributes:
        now: the instant the memberships are at.
        names: the segments followed.
        total: how many customers the state follows.
        result: the memberships at ``now`` (a :class:`segdsl.Result`, equal to
            ``rules.evaluate(current records, now=state.now)``).
    """

    def __init__(self, rules: Any, customers: Any, now: Any, segments: Any = None,
                 id_field: str = "id") -> None:
        from segdsl.rules import _collector_paused, _identities, _now

        program = rules._program
        self._rules = rules
        self._program = program
        self._zone = program.options.timezone
        self.names: list[str] = rules._names(segments)
        self._identities = _identities(id_field, None)
        self._id_field = id_field
        self.now: dt.datetime = _now(now, self._zone)
        granularity = {name: dynamics.plan(program, name).granularity for name in self.names}
        self._granularity = granularity
        self._exact = [i for i, name in enumerate(self.names) if granularity[name] == dynamics.EXACT]
        self._daily = [i for i, name in enumerate(self.names) if granularity[name] == dynamics.DAILY]
        self._reads = [_fields_read(program, name) for name in self.names]
        self._filters = [_element_filters(program, name) for name in self.names]
        self._readers: dict[str, list[int]] = {}
        for i in self._exact:
            for name in self._reads[i]:
                self._readers.setdefault(name, []).append(i)
        self._timely = _timely_lists(program, self.names)
        rows = _customers.listed(customers, "membership")
        self._records: list[dict] = []
        self._ids: list[Any] = []
        for index, row in enumerate(rows):
            record = _own(_customers.customer(row, index), index)
            self._records.append(record)
            self._ids.append(self._identities.of(record, index))
        self._position = self._identities.positions()
        result = rules.evaluate(self._records, self.now, segments=self.names, ids="position")
        self._members: list[set[int]] = [set(result[name]) for name in self.names]
        self._plans: list[list[tuple[dt.datetime, int]]] = []
        self._ends: list[dt.datetime] = []
        self._keys: list[dt.datetime | None] = []
        self._heap: list[tuple[dt.datetime, int]] = []
        with _collector_paused(), program.room(self.names):
            for index, record in enumerate(self._records):
                end = self.now + HORIZON + (index % _STAGGER) * HORIZON / _STAGGER
                self._plans.append([])
                self._ends.append(end)
                self._keys.append(None)
                if self._exact:
                    timeline = dynamics._Timeline(program, record, id_field)
                    self._plan(index, timeline, self._exact, self.now, end)

    # ----------------------------------------------------------- reading

    @property
    def total(self) -> int:
        """How many customers the state follows."""
        return len(self._records)

    @property
    def result(self) -> Any:
        """The memberships at ``now``, a :class:`segdsl.Result` (ids in the customers' order)."""
        from segdsl.rules import Result

        members = {name: [self._ids[i] for i in sorted(self._members[n])]
                   for n, name in enumerate(self.names)}
        return Result(members, len(self._records), self.now)

    def __getitem__(self, name: str) -> list[Any]:
        """The ids of segment ``name``'s members at ``now``, in the customers' order."""
        if not isinstance(name, str) or name not in self.names:
            from segdsl.rules import _unknown_segment

            raise UsageError(_unknown_segment(name, self.names))
        return [self._ids[i] for i in sorted(self._members[self.names.index(name)])]

    def customer(self, identity: Any) -> dict:
        """A copy of the record the state holds for the customer ``identity``."""
        try:
            position = self._position[identity]
        except (KeyError, TypeError):
            raise UsageError(f"no customer has {self._id_field} {identity!r}") from None
        return dict(self._records[position])

    def records(self) -> list[dict]:
        """The current records, in the customers' order (the state's own, not to be changed)."""
        return list(self._records)

    def __repr__(self) -> str:
        return f"<Membership of {self.total} customers at {iso_text(self.now)}>"

    # ----------------------------------------------------------- updating

    def update(self, additions: Iterable[Mapping] = (), now: Any = None) -> dynamics.Changes:
        """Adds data to some customers, moves ``now`` on, and says who entered and left.

        Args:
            additions: partial customer records, each with the customer's id:
                a list (or tuple) value is appended to the customer's list of
                that name (created if absent), any other value replaces the
                field. An id the state does not know adds a customer. A
                pandas or polars DataFrame or an Arrow table gives one record
                per row (a null cell sets its field to null).
            now: the new instant (default: unchanged); never before ``now``.

        Returns:
            the :class:`segdsl.dynamics.Changes` in ``(previous now, now]``,
            as ``rules.changes(current records, since=previous now,
            until=now)`` reports them, preceded by the late-data corrections
            at the previous now (see the class); ``start`` holds, for each
            segment, which of the customers the update concerns (those given
            data and those due to change by time) were members at the previous
            now, as the state had them (all of them for the day-by-day segments).

        Raises:
            UsageError: ``now`` is before the state's, or ``additions`` is no
                iterable of records.
            DataError: an addition has no usable id, appends to a field that is
                no list, or holds data the rules cannot read (the state is then
                left unchanged).
        """
        from segdsl.rules import _collector_paused, _now

        previous = self.now
        new = previous if now is None else _now(now, self._zone)
        if new < previous:
            raise UsageError(f"now ({iso_text(new)}) is before the state's now "
                             f"({iso_text(previous)}): a state only moves forward")
        try:
            with _collector_paused(), self._program.room(self.names):
                staged, fields, late, appended = self._staged(additions, previous)
                return self._advance(staged, fields, late, appended, previous, new)
        except SegdslError:
            raise
        except RecursionError as error:
            raise DataError("the update holds data nested too deeply to read") from error
        except Exception as error:
            raise DataError(f"the update could not be read: {type(error).__name__}: "
                            f"{error}") from error

    def _staged(self, additions: Any, previous: dt.datetime
                ) -> tuple[dict[int, dict], dict[int, set[str] | None], set[int], dict]:
        """The updated records by position (new customers after the others), the
        fields each addition touched (None: a new customer) and the positions
        whose membership at ``previous`` may have changed, and the elements
        appended to each list by position (a replaced field has none)."""
        if isinstance(additions, (Mapping, str, bytes)) or not _iterable(additions):
            raise UsageError(f"additions must be an iterable of customer records, not "
                             f"{_customers.shown(additions)}")
        staged: dict[int, dict] = {}
        fields: dict[int, set[str] | None] = {}
        appended: dict[int, dict[str, list]] = {}
        late: set[int] = set()
        added: dict[Any, int] = {}
        field = self._id_field
        if _customers._library(additions) is not None:  # a DataFrame or an Arrow table
            additions = _customers.records(additions, "update")
        try:
            items = list(additions)
        except SegdslError:
            raise
        except Exception as error:
            raise UsageError(f"reading the additions raised {type(error).__name__}: "
                             f"{error}") from error
        for number, addition in enumerate(items):
            if not isinstance(addition, Mapping):
                raise UsageError(f"addition {number} is {_customers.shown(addition)}, not a "
                                 f"customer record (a dict with its {field})")
            identity = _identity(addition, field, number)
            position = self._position.get(identity, added.get(identity))
            if position is None:
                position = added[identity] = len(self._records) + len(added)
                record = _own(addition, number, identity, field)
                staged[position] = record
                fields[position] = None
                late.add(position)
                continue
            known = staged.get(position)
            record = known if known is not None else dict(self._records[position])
            staged[position] = record
            touched = fields.setdefault(position, set())
            for name, value in _items(addition, identity):
                if name == field:
                    continue
                if touched is not None:
                    touched.add(name)
                if isinstance(value, (list, tuple)):
                    current = record.get(name)
                    if current is None:
                        current = []
                    if not isinstance(current, (list, tuple)):
                        raise DataError(f"customer {identity!r}: cannot append to {name}, "
                                        f"which holds {_customers.shown(current)}, not a list",
                                        customer_id=identity, field_path=name)
                    record[name] = [*current, *value]
                    appended.setdefault(position, {}).setdefault(name, []).extend(value)
                    if not self._timely_elements(name, value, previous):
                        late.add(position)
                else:
                    record[name] = value
                    appended.setdefault(position, {}).pop(name, None)
                    late.add(position)
        return staged, fields, late, appended

    def _timely_elements(self, name: str, elements: Any, previous: dt.datetime) -> bool:
        """Whether appended ``elements`` leave every membership at ``previous``
        as it was: the rules read the list only through its timestamps, and each
        is stamped after ``previous``."""
        timestamp = self._timely.get(name)
        if timestamp is None:
            return False
        for element in elements:
            try:
                raw = element.get(timestamp) if type(element) is dict else None
                stamp: dt.datetime | None
                if type(raw) is str and len(raw) == 20 and raw[-1] == "Z":
                    stamp = _FROM_ISO(raw)  # UTC text to the second, the common case
                else:
                    element = normalise(element)
                    if not isinstance(element, Mapping):
                        return False
                    stamp = read_datetime(normalise(element.get(timestamp)), self._zone)
            except Exception:  # noqa: BLE001 - evaluation reports bad data
                return False
            if stamp is None or stamp <= previous:
                return False
        return True

    def _advance(self, staged: dict[int, dict], fields: dict, late: set[int], additions: dict,
                 previous: dt.datetime, new: dt.datetime) -> dynamics.Changes:
        program, names = self._program, self.names
        count = len(self._records)
        new_ids = {position: _identity(record, self._id_field, position)
                   for position, record in staged.items() if position >= count}
        records = self._records
        if staged:
            records = list(records)
            for position in sorted(staged):
                if position >= count:
                    records.append(staged[position])
                else:
                    records[position] = staged[position]
        ids = [*self._ids, *(new_ids[p] for p in sorted(new_ids))]
        members = self._members
        moved: dict[int, dict[int, bool]] = {}
        plans, ends, keys = {}, {}, {}
        found: list[tuple[dt.datetime, int, int, dynamics.Change]] = []
        concerned = sorted(set(staged) | self._due(new))
        for position in concerned:
            record = records[position]
            timeline = dynamics._Timeline(program, record, self._id_field)
            fresh = position >= count
            plan = [] if fresh else self._plans[position]
            end = new + HORIZON if fresh else self._ends[position]
            touched = fields.get(position, set())
            if fresh or end < new + RENEW:
                segments = self._exact
                plan, end = [], new + HORIZON
            elif touched:
                segments = self._affected(touched, additions.get(position, {}))
            else:
                segments = []
            current = {i: position in members[i] for i in self._exact}
            if position in late:
                for i in segments:
                    member = timeline.member(names[i], previous)
                    if member != current[i]:
                        found.append((previous, position, i,
                                      dynamics.Change(ids[position], names[i],
                                                      dynamics._event(member), previous)))
                        current[i] = member
            if segments:
                kept = [entry for entry in plan if entry[1] not in segments]
                for i in segments:
                    kept.extend((at, i) for at in timeline.candidates(names[i], previous, end))
                kept.sort()
                plan, end = _bounded(kept, end, new)
            cut = bisect.bisect_right(plan, (new, _LAST))
            for at, i in plan[:cut]:
                if at <= previous:
                    continue
                member = timeline.member(names[i], at)
                if member != current[i]:
                    found.append((at, position, i, dynamics.Change(
                        ids[position], names[i], dynamics._event(member), at)))
                    current[i] = member
            moved[position] = current
            plans[position], ends[position] = plan[cut:], end
            keys[position] = plan[cut][0] if cut < len(plan) else end
        daily = None
        if self._daily:
            daily = self._follow_daily(records, ids, previous, new, bool(staged), found)
        found.sort(key=lambda entry: entry[:3])
        start = {name: [self._ids[p] for p in concerned if p < count and p in members[i]]
                 for i, name in enumerate(names)}
        for i, name in zip(self._daily, daily or (), strict=False):
            start[name] = [self._ids[p] for p in sorted(members[i])]
        changes = dynamics.Changes(tuple(entry[3] for entry in found), previous, new,
                                   len(records), dict(self._granularity), start)
        self._commit(records, ids, moved, daily, plans, ends, keys, new_ids, new)
        return changes

    def _affected(self, touched: set[str], appended: dict[str, list]) -> list[int]:
        """The exact segments new data of a customer may change at some instant: those
        reading a replaced field, or with an aggregation that may count an appended element."""
        found: set[int] = set()
        for name in touched:
            elements = appended.get(name)
            for i in self._readers.get(name, ()):
                if i in found:
                    continue
                wheres = self._filters[i].get(name, ())
                if elements is None or wheres is None or _may_count(wheres, elements):
                    found.add(i)
        return sorted(found)

    def _follow_daily(self, records: list, ids: list, previous: dt.datetime,
                      new: dt.datetime, data: bool, found: list) -> list[str]:
        """The day-by-day segments: the population evaluated at each midnight of
        ``(previous, new]`` and at ``new`` (and at ``previous`` after new data).
        Returns their names; their members at ``new`` are in ``self._daily_members``."""
        names = [self.names[i] for i in self._daily]
        moments = dynamics.midnights(previous, new, self._zone)
        if new > previous and (not moments or moments[-1] != new):
            moments.append(new)
        if data:
            moments.insert(0, previous)
        members = {i: self._members[i] for i in self._daily}
        for moment in moments:
            result = self._rules.evaluate(records, moment, segments=names, ids="position")
            for i, name in zip(self._daily, names, strict=True):
                now_members = set(result[name])
                for position in sorted(now_members ^ members[i]):
                    event = dynamics._event(position in now_members)
                    found.append((moment, position, i,
                                  dynamics.Change(ids[position], name, event, moment)))
                members[i] = now_members
        self._daily_members = members
        return names

    def _due(self, new: dt.datetime) -> set[int]:
        """The customers whose memberships may change by time alone up to ``new``."""
        heap, keys = self._heap, self._keys
        due: set[int] = set()
        while heap and heap[0][0] <= new:
            at, position = heapq.heappop(heap)
            if keys[position] == at:
                due.add(position)
                keys[position] = None
        for position in due:  # back on the heap if the update fails
            heapq.heappush(heap, (self._remembered(position), position))
        return due

    def _remembered(self, position: int) -> dt.datetime:
        plan = self._plans[position]
        key = plan[0][0] if plan else self._ends[position]
        self._keys[position] = key
        return key

    def _commit(self, records: list, ids: list, moved: dict[int, dict[int, bool]],
                daily: list[str] | None, plans: dict, ends: dict, keys: dict, new_ids: dict,
                new: dt.datetime) -> None:
        self._records, self._ids = records, ids
        for position, current in moved.items():
            for i, member in current.items():
                (self._members[i].add if member else self._members[i].discard)(position)
        if daily:
            for i, found in self._daily_members.items():
                self._members[i] = found
        for position in sorted(new_ids):
            self._position[new_ids[position]] = position
            self._plans.append([])
            self._ends.append(new)
            self._keys.append(None)
        for position, plan in plans.items():
            self._plans[position], self._ends[position] = plan, ends[position]
            self._keys[position] = keys[position]
            heapq.heappush(self._heap, (keys[position], position))
        self.now = new

    def _plan(self, position: int, timeline: Any, segments: list[int], since: dt.datetime,
              end: dt.datetime) -> None:
        """The candidate instants of ``segments`` in ``(since, end]`` for one customer."""
        found: list[tuple[dt.datetime, int]] = []
        for i in segments:
            found.extend((at, i) for at in timeline.candidates(self.names[i], since, end))
        found.sort()
        plan, end = _bounded(found, end, since)
        self._plans[position], self._ends[position] = plan, end
        key = plan[0][0] if plan else end
        self._keys[position] = key
        heapq.heappush(self._heap, (key, position))


# ---------------------------------------------------------------- helpers


def _bounded(plan: list[tuple[dt.datetime, int]], end: dt.datetime, now: dt.datetime
             ) -> tuple[list[tuple[dt.datetime, int]], dt.datetime]:
    """The instants up to ``now`` and at most ``KEPT`` after it: the horizon then ends
    where the first dropped one is (the customer is followed again there, and its
    candidates computed anew)."""
    after = bisect.bisect_right(plan, (now, _LAST))
    if len(plan) - after <= KEPT:
        return plan, end
    limit = plan[after + KEPT][0]
    return [entry for entry in plan if entry[0] < limit], limit


def _may_count(wheres: tuple, elements: list) -> bool:
    """Whether some element may meet some ``where`` (the generated code says no only when sure)."""
    for where in wheres:
        for element in elements:
            try:
                if type(element) is not dict or where(element) is not False:
                    return True
            except Exception:  # noqa: BLE001 - the evaluator decides: it may count
                return True
    return False


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _items(addition: Mapping, identity: Any) -> Iterator[tuple[str, Any]]:
    try:
        pairs = list(addition.items())
    except Exception as error:
        raise DataError(f"customer {identity!r}: reading the addition raised "
                        f"{type(error).__name__}: {error}", customer_id=identity) from error
    for name, value in pairs:
        if not isinstance(name, str):
            raise DataError(f"customer {identity!r}: field names are text, not "
                            f"{_customers.shown(name)}", customer_id=identity)
        yield name, value


def _identity(record: Any, field: str, number: int) -> Any:
    """The id of an addition (or a new record), checked like the evaluation's ids."""
    identity = _customers._read_id(record, field, number)
    if type(identity) is not int and type(identity) is not str:
        try:
            identity = _customers._id_value(identity, record, field, number)
        except DataError as error:
            raise DataError(str(error).replace("the customer at position", "addition"),
                            field_path=field) from None
    return identity


def _own(record: Any, position: int, identity: Any = None, field: str = "id") -> dict:
    """The state's own copy of a record (the lists it will append to are replaced, not changed)."""
    if isinstance(record, Mapping):
        try:
            return dict(record)
        except Exception as error:
            raise DataError(f"the customer at position {position} could not be read: "
                            f"{type(error).__name__}: {error}", customer_id=identity,
                            field_path=field) from error
    raise UsageError(f"a Membership keeps customers as records (dicts), not "
                     f"{_customers.shown(record)}")


def _fields_read(program: Any, name: str) -> frozenset[str]:
    """The customer's fields segment ``name`` reads, the segments it uses included."""
    return frozenset(node.path[0] for node in c.walk_segments(program.body, [name])
                     if isinstance(node, c.Field) and node.depth == 0)


def _element_filters(program: Any, name: str) -> dict[str, tuple | None]:
    """For each list segment ``name`` reads, the generated ``where`` of each of its
    aggregations over it; None when some read may see any element (no ``where``,
    no generated code, or the list read otherwise): an appended element that meets
    none of them changes nothing the segment reads."""
    found: dict[str, list | None] = {}
    sources: set[int] = set()
    fields = []
    for node in c.walk_segments(program.body, [name]):
        if isinstance(node, c.Field) and node.depth == 0:
            fields.append(node)
        elif isinstance(node, c.Aggregate) and isinstance(node.source, c.Field) \
                and node.source.depth == 0 and len(node.source.path) == 1:
            sources.add(id(node.source))
            list_name = node.source.path[0]
            where = dynamics._fast_where(node) if node.where is not None \
                and not node.flatten else None
            known = found.setdefault(list_name, [])
            if where is None or known is None:
                found[list_name] = None
            else:
                known.append(where)
    for node in fields:
        if id(node) not in sources:
            found[node.path[0]] = None
    return {key: None if value is None else tuple(value) for key, value in found.items()}


def _timely_lists(program: Any, names: list[str]) -> dict[str, str]:
    """The lists the rules read only through their elements' timestamps (list
    name to timestamp field): an element stamped after ``now`` changes nothing at ``now``."""
    sources: dict[int, str] = {}
    stamps: dict[str, set[str]] = {}
    other: set[str] = set()
    nodes = list(c.walk_segments(program.body, names))
    for node in nodes:
        if isinstance(node, c.Aggregate) and isinstance(node.source, c.Field) \
                and node.source.depth == 0:
            list_name = node.source.path[0]
            if node.timestamp is None or len(node.source.path) != 1:
                other.add(list_name)
            else:
                sources[id(node.source)] = list_name
                stamps.setdefault(list_name, set()).add(node.timestamp)
    for node in nodes:
        if isinstance(node, c.Field) and node.depth == 0 and id(node) not in sources:
            other.add(node.path[0])
    return {name: next(iter(found)) for name, found in stamps.items()
            if len(found) == 1 and name not in other}


__all__ = ["HORIZON", "Membership"]
