"""A deliberately simple reference interpreter for segdsl rules.

It walks the *syntax tree* (``segdsl.parse_expression``) directly, with the
semantics written down once, plainly, so that a reader can check it against
the language's rules (README, and the shared value rules of issue 8) in a few
minutes. It shares no code with the checker, compiler, aggregations,
population or timeline of the package: the differential test compares the two
and either one can be the wrong one.

It knows a fixed vocabulary, the one the differential tests generate:
customer fields ``id``, ``country``, ``email``, ``age``, ``tags``,
``email_subscribed``, ``signed_up_at`` (a datetime), ``birth_date`` (a date),
``lat`` and ``lng`` (numbers); lists ``orders`` [{at, total, items:
[{category, sku, price, discounted, size (any)}]}] and ``events`` [{type, at}]; any other
customer field is read untyped (``a``, ``b``, ...). It knows the prelude
functions, the generic aggregations and ``count_distinct``, ``ntile``,
``percentile``, ``rfm.*``, and the scalar built-ins of issue 13.

An evaluation has one of four outcomes (:class:`Outcome`): a value; bad data
(``DataError``: the spec says so); ``either`` (a value, but an operand that
did not decide it was bad data: an engine that reads it may say bad data
instead); ``unspecified`` (the spec leaves the answer open: the APIs must only
agree with each other).

The semantics, in one place:

- Records: a dict, any Mapping (read with ``name in m`` then ``m[name]``,
  never mutating), or an object with attributes (``getattr``; a name starting
  with ``_`` reads as null). Anything a record raises while read is bad data.
  Reading a field of a value that is not a record is bad data.
- Values, normalised at every depth: NaN (float, numpy, Decimal), pandas.NA,
  NaT are null; numpy bools are bools; numpy integers are ints; numpy floats
  and Decimals are floats (an infinite or overflowing Decimal is bad data);
  pandas Timestamps and numpy datetime64 are datetimes (naive: in the zone);
  tuples and numpy arrays are lists. A bool is never a number.
- With a schema (``typed``) every read of a declared field checks its type:
  a number field holding a bool or text, a list[string] holding text, a
  datetime field holding text that is not a valid ISO datetime, a list field
  holding anything but a list are bad data. Without a schema values are
  untyped; text meeting a date or datetime is read as one (impossible text is
  bad data).
- Kleene logic; a record matches when its rule is exactly true. ``matches`` is an
  RE2 search (a lone surrogate in the text reads as U+FFFD).
- A comparison, arithmetic or membership with a null operand is null;
  ``x in [...]`` is true when found, else null when the list holds a null,
  else false; division (and modulo) by zero is null.
- Equality: values of different kinds are unequal (a bool never equals a
  number); ordering values of different kinds is bad data (bool against
  number is left unspecified); arithmetic is on numbers (and the date/time
  steps) only.
- A datetime compared with a date is compared by its calendar day in the zone.
- Naive datetimes (in data or rules) are in the zone. Datetimes are kept as
  UTC instants, so h/d/w durations are exact lengths of time, even across a
  DST change; m/y are calendar steps (``relativedelta``) on the zone's calendar.
- An aggregation sees its list as of ``now``: elements stamped after ``now``
  are ignored; elements without a timestamp count only when there is no
  window; ``within``/``during`` a duration D keeps ``now - D < at <= now``, a
  period keeps its whole days (zone) from start to end, both included. Every
  element's timestamp is read (an impossible one is bad data). Over an empty
  list, a window that is bad data may be reported or not.
- Nested lists flatten: ``orders.items`` is the items of every order the
  window keeps, in order.
- first/last are the earliest/latest elements in time (an element without a
  timestamp has no place in time, so it is neither); lists without
  timestamps (items) keep their order.
- count/sum of nothing is 0; avg/min/max/first/last of nothing is null;
  exists of nothing is false; a missing or null list is an empty list; ``""``,
  ``0``, ``False``, ``{}`` where a list is expected are bad data. With a value
  path (``orders.total``), count/exists/sum/avg/min/max skip null values.
- ``today`` is the day of ``now`` in the zone (a date). The calendar
  functions take a date, or a datetime's day in the zone (untyped text is
  read as a date when it has 10 characters, else as a datetime): ``year``,
  ``month``, ``day``, ``weekday`` (ISO: Monday 1 .. Sunday 7),
  ``day_of_year``. ``anniversary(d)`` is the first day at or after ``today``
  with d's month and day, 29 February being 28 February in a common year.
  ``months_between(a, b)`` is the most whole months that, added to ``a``
  (the day kept within the month reached), do not pass ``b`` (backwards when
  ``b`` is earlier); ``years_between`` is that divided by 12, truncated.
  Null in, null out (bad data in another argument may be reported or not).
- Durations: fixed ones (h/d/w) add, subtract, multiply and divide by
  numbers, and a fixed duration divided by one is a number; calendar ones
  (m/y) add and subtract among themselves and multiply by a whole number only
  (another number is bad data); division by zero is null; an overflow is bad
  data. Mixing the two kinds is a check error (unspecified here). A window
  is a duration back from ``now``: a negative one is bad data, a zero one
  unspecified (check errors when constant).
- ``LIST as NAME`` binds NAME, inside the aggregation's ``where`` and the
  ``where``s nested in it, to the element tested (the item, through two
  lists): ``NAME`` is the element, ``NAME.field`` its field; it is looked up
  before anything else. ``count_distinct`` counts the distinct non-null
  values (as ``count``'s) under ``==``'s kinds: ``1`` is ``1.0``, a bool is
  never a number, a date never a datetime; a list or record value is bad data.
- ``lower``/``upper`` change a text, or each text of a list (nulls stay);
  anything else is bad data. ``sqrt`` is null below 0; ``floor``/``ceil``
  give ints and refuse infinities; ``distance_km`` is the haversine distance
  on a sphere of radius 6371.0088 km, latitudes in [-90, 90], longitudes in
  [-180, 180] (else bad data).
- Population functions: break points of k tiles are the type-7 quantiles at
  1/k .. (k-1)/k of the population's non-null values (computed exactly, with
  fractions); a tile is 1 + the number of break points strictly below the
  value; percentile is 100 * (values <= this one) / (non-null values).
  RFM: recency = whole days (floored) since the last order ever, scored in
  reverse; frequency = orders and monetary = sum of totals in the last 365
  days; null for customers without a (dated) order.
"""

from __future__ import annotations

import calendar
import collections.abc
import datetime as dt
import decimal
import math
import operator
import re
from fractions import Fraction

import numpy as np
import pandas as pd
import re2
from dateutil.relativedelta import relativedelta

from segdsl import nodes as n

UTC = dt.UTC

# Element fields of each list, and the lists with a timestamp (``at``).
LIST_FIELDS = {
    "orders": {"at", "total", "items"},
    "events": {"type", "at"},
    "items": {"category", "sku", "price", "discounted", "size"},
}
TIMESTAMPED = {"orders", "events"}
LISTS = {"orders", "events", "items", "tags"}

# The schema the differential test declares, as the reference reads it.
TYPES = {
    None: {"id": "number", "country": "string", "email": "string", "age": "number",
           "tags": "list[string]", "email_subscribed": "bool", "signed_up_at": "datetime",
           "birth_date": "date", "lat": "number", "lng": "number",
           "orders": "list", "events": "list"},
    "orders": {"at": "datetime", "total": "number", "items": "list"},
    "events": {"type": "string", "at": "datetime"},
    "items": {"category": "string", "sku": "string", "price": "number", "discounted": "bool",
              "size": "any"},
}

_ORDER = {n.CompareOp.LT: operator.lt, n.CompareOp.LE: operator.le,
          n.CompareOp.GT: operator.gt, n.CompareOp.GE: operator.ge}
_UNITS = {"h": lambda k: dt.timedelta(hours=k), "d": lambda k: dt.timedelta(days=k),
          "w": lambda k: dt.timedelta(weeks=k), "m": lambda k: relativedelta(months=k),
          "y": lambda k: relativedelta(years=k)}
_EVENT_KINDS = {"visits": "visit", "abandoned_cart": "cart_abandoned",
                "clicked_recommendation": "recommendation_click",
                "opened_email": "email_open", "clicked_email": "email_click"}

# The RFM group of each code (the widely used table the README points to).
RFM_GROUPS = {
    "champions": "555 554 544 545 454 455 445",
    "loyal": "543 444 435 355 354 345 344 335",
    "potential_loyalist": "553 551 552 541 542 533 532 531 452 451 442 441 431 453 433 432 423 "
                          "353 352 351 342 341 333 323",
    "new_customers": "512 511 422 421 412 411 311",
    "promising": "525 524 523 522 521 515 514 513 425 424 413 414 415 315 314 313",
    "need_attention": "535 534 443 434 343 334 325 324",
    "about_to_sleep": "331 321 312 221 213 231 241 251",
    "at_risk": "255 254 245 244 253 252 243 242 235 234 225 224 153 152 145 143 142 135 134 "
               "133 125 124",
    "cant_lose_them": "155 154 144 214 215 115 114 113",
    "hibernating": "332 322 233 232 223 222 132 123 122 212 211",
    "lost": "111 112 121 131 141 151",
}
_GROUP = {int(code): group for group, codes in RFM_GROUPS.items() for code in codes.split()}
RFM_WINDOW = dt.timedelta(days=365)


class DataError(Exception):
    """The spec says this customer's data is bad for this rule."""


class Unspecified(Exception):
    """The spec leaves the outcome open."""


class Outcome:
    """``kind`` is ``value``, ``either``, ``error`` or ``unspecified``."""

    def __init__(self, kind: str, value=None, why: str = "") -> None:
        self.kind, self.value, self.why = kind, value, why

    def __repr__(self) -> str:
        return f"Outcome({self.kind}, {self.value!r}, {self.why!r})"


class Period:
    """Whole days from ``start`` to ``end``, both included."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.start, self.end = start, end


class Env:
    """One customer's evaluation: the record, ``now``, the zone, whether a
    schema is declared, the population scores, the list elements in scope
    (innermost last) as ``(list name, element)``, and the names bound by
    ``LIST as NAME`` to ``(list name, element)``. ``flags`` collects
    ``masked`` (bad data that did not decide the answer)."""

    def __init__(self, record, now, zone, typed, scores, flags, scopes=(), names=None) -> None:
        self.record, self.now, self.zone, self.typed = record, now, zone, typed
        self.scores, self.flags, self.scopes = scores, flags, tuple(scopes)
        self.names = dict(names or {})

    def inside(self, list_name: str, element, name: str | None = None) -> Env:
        names = self.names | ({name: (list_name, element)} if name is not None else {})
        return Env(self.record, self.now, self.zone, self.typed, self.scores, self.flags,
                   self.scopes + ((list_name, element),), names)

    @property
    def today(self) -> dt.date:
        """The day of ``now`` in the zone."""
        return self.now.astimezone(self.zone).date()


def matches(expression: n.Node, record, now, zone: dt.tzinfo = UTC, **options) -> bool:
    """Whether ``record`` is a member: the rule is exactly true."""
    return evaluate(expression, record, now, zone, **options) is True


def evaluate(expression: n.Node, record, now, zone: dt.tzinfo = UTC, *, typed: bool = False,
             population=None):
    """The value of ``expression`` for ``record`` (None for null); raises
    :class:`DataError` or :class:`Unspecified`."""
    scores = scores_of(expression, population, now, zone, typed) if population is not None \
        else {}
    env = Env(record, to_datetime(now, zone), zone, typed, scores, {})
    return value(expression, env)


def outcome(expression: n.Node, record, now, zone: dt.tzinfo = UTC, *, typed: bool = False,
            population=None) -> Outcome:
    """What the spec says ``expression`` gives for ``record``; ``population``
    is every customer, needed when the rule ranks customers."""
    try:
        scores = (scores_of(expression, population, now, zone, typed)
                  if population is not None else {})
    except DataError as error:
        return Outcome("error", why=f"population: {error}")
    except Unspecified as error:
        return Outcome("unspecified", why=f"population: {error}")
    flags = dict(scores.get("__flags__", {}))
    env = Env(record, to_datetime(now, zone), zone, typed, scores, flags)
    try:
        found = truth(value(expression, env))
    except DataError as error:
        return Outcome("error", why=str(error))
    except Unspecified as error:
        return Outcome("unspecified", why=str(error))
    if flags.get("masked"):
        return Outcome("either", found, why=flags["masked"])
    return Outcome("value", found)


# ---------------------------------------------------------------- values


def is_record(x) -> bool:
    """Dicts, Mappings and objects with attributes; never a plain value."""
    if isinstance(x, collections.abc.Mapping):
        return True
    if isinstance(x, tuple):
        return hasattr(type(x), "_fields")  # a namedtuple
    return not isinstance(x, (type(None), str, bytes, bool, int, float, decimal.Decimal,
                              np.generic, np.ndarray, list, set, frozenset, dt.date,
                              dt.timedelta))


def field(owner, name: str):
    """A record's field, never mutating it; None when missing."""
    if owner is None:
        return None
    if not is_record(owner):
        raise DataError(f"{owner!r} is not a record (reading {name})")
    try:
        if isinstance(owner, collections.abc.Mapping):
            return owner[name] if name in owner else None  # noqa: SIM401 - never .get
        if name.startswith("_"):
            return None
        return getattr(owner, name, None)
    except Exception as error:  # noqa: BLE001 - anything a record raises is bad data
        raise DataError(f"reading {name} raised {type(error).__name__}") from None


def normalise(raw):
    """A value as rules see it (see the module's docstring)."""
    if raw is None or raw is pd.NA or raw is pd.NaT:
        return None
    if isinstance(raw, (bool, np.bool_)):
        return bool(raw)
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    if isinstance(raw, (float, np.floating)):
        return None if math.isnan(raw) else float(raw)
    if isinstance(raw, decimal.Decimal):
        if raw.is_nan():
            return None
        if raw.is_infinite():
            raise DataError(f"{raw!r} is not a finite number")
        as_float = float(raw)
        if math.isinf(as_float):
            raise DataError(f"{raw!r} overflows")
        return as_float
    if isinstance(raw, pd.Timestamp):
        return raw.to_pydatetime()
    if isinstance(raw, np.datetime64):
        if np.isnat(raw):
            return None
        return pd.Timestamp(raw).to_pydatetime()
    if isinstance(raw, np.ndarray):
        return [normalise(x) for x in raw.tolist()]
    if isinstance(raw, (list, tuple)) and not is_record(raw):
        return [normalise(x) for x in raw]
    return raw


def kind_of(v) -> str:
    """The kind of a normalised non-null value."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, dt.datetime):
        return "datetime"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, (dt.timedelta, relativedelta)):
        return "duration"
    if isinstance(v, Period):
        return "period"
    if isinstance(v, list):
        return "list"
    return "record"


def to_datetime(raw, zone: dt.tzinfo):
    """A datetime (naive: in ``zone``), a date (its midnight) or ISO text, as
    a UTC instant; anything else is bad data."""
    raw = normalise(raw)
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = dt.datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z")
                                            else raw)
        except ValueError:
            raise DataError(f"{raw!r} is not a datetime") from None
    elif not isinstance(raw, dt.date):
        raise DataError(f"{raw!r} is not a datetime")
    if not isinstance(raw, dt.datetime):
        raw = dt.datetime(raw.year, raw.month, raw.day)
    if raw.tzinfo is None:
        raw = raw.replace(tzinfo=zone)
    try:
        return raw.astimezone(UTC)
    except OverflowError:
        raise DataError(f"{raw!r} is out of range") from None


def to_date(raw):
    """ISO text of a date as a date; anything else is bad data."""
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DataError(f"{raw!r} is not a date") from None


def shift(moment, step, zone: dt.tzinfo):
    """``moment + step``; a calendar step moves a datetime on the zone's calendar."""
    try:
        if isinstance(step, relativedelta) and isinstance(moment, dt.datetime):
            return (moment.astimezone(zone) + step).astimezone(UTC)
        return moment + step
    except (OverflowError, ValueError):
        raise DataError(f"{moment} + {step} is out of range") from None


def read(owner, name: str, scope: str | None, env: Env):
    """Field ``name`` of a customer (``scope`` None) or of an element of the
    list ``scope``, normalised, its declared type checked when typed."""
    raw = normalise(field(owner, name))
    declared = TYPES.get(scope, {}).get(name)
    if isinstance(raw, dt.datetime):
        raw = to_datetime(raw, env.zone)  # naive: in the zone
    if declared == "datetime" and (env.typed or scope is not None):
        return to_datetime(raw, env.zone)
    if raw is None or not env.typed or declared in (None, "any"):
        return raw
    if declared == "date":
        return day_of(raw, env.zone)
    found = kind_of(raw)
    if declared == "list[string]":
        if found != "list" or any(kind_of(x) != "text" for x in raw if x is not None):
            raise DataError(f"{name} = {raw!r} is not a list of strings")
        return raw
    wanted = {"number": "number", "string": "text", "bool": "bool", "list": "list"}[declared]
    if found != wanted:
        raise DataError(f"{name} = {raw!r} is not a {declared}")
    return raw


def elements_of(raw, name: str) -> list:
    """A list as an aggregation reads it: null is empty, a non-list is bad data."""
    raw = normalise(raw)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise DataError(f"{name} = {raw!r} is not a list")
    return raw


def value(node: n.Node, env: Env):
    """The value of one syntax node."""
    kind = type(node)
    if kind in (n.Number, n.String, n.Boolean, n.Date):
        return node.value
    if kind is n.Null:
        return None
    if kind is n.DateTime:
        return to_datetime(node.value, env.zone)
    if kind is n.Duration:
        return _UNITS[node.unit.value](node.amount)
    if kind is n.DateRange:
        return Period(node.start, node.end)
    if kind is n.ListLiteral:
        return [value(item, env) for item in node.items]
    if kind is n.Now:
        return env.now
    if kind is n.Reference:
        return reference(node.path, env)
    if kind is n.Not:
        operand = truth(value(node.operand, env))
        return None if operand is None else not operand
    if kind is n.And:
        return chain(node.operands, env, absorbing=False)
    if kind is n.Or:
        return chain(node.operands, env, absorbing=True)
    if kind is n.IsNull:
        return is_null(node, env)
    if kind is n.Comparison:
        return both(node.left, node.right, env,
                    lambda a, b: compare(node.op, a, b, env.zone))
    if kind is n.Between:
        return between(node, env)
    if kind is n.Membership:
        return both(node.element, node.container, env,
                    lambda a, b: membership(a, b, node.negated, env.zone))
    if kind is n.Negate:
        return negate(value(node.operand, env))
    if kind is n.Arithmetic:
        return both(node.left, node.right, env,
                    lambda a, b: arithmetic(node.op, a, b, env.zone))
    if kind is n.Call:
        return call(node, env)
    if kind is n.Today:
        return env.today
    raise NotImplementedError(kind.__name__)


def _attempt(node: n.Node, env: Env):
    """``(value, None)`` or ``(None, the bad-data error)``."""
    try:
        return value(node, env), None
    except DataError as error:
        return None, error


def _mask(env: Env, error: Exception) -> None:
    env.flags.setdefault("masked", str(error))


def both(left: n.Node, right: n.Node, env: Env, apply):
    """A binary operation, null when either side is null (even when the other
    side is bad data: then an engine may stop at the null or at the error)."""
    a, a_error = _attempt(left, env)
    b, b_error = _attempt(right, env)
    errors = [e for e in (a_error, b_error) if e is not None]
    if (a_error is None and a is None) or (b_error is None and b is None):
        for error in errors:
            _mask(env, error)
        return None
    if errors:
        raise errors[0]
    return apply(a, b)


def truth(v):
    """A value used as a condition: true, false or null; anything else is bad data."""
    v = normalise(v)
    if v is None or isinstance(v, bool):
        return v
    raise DataError(f"{v!r} used as a condition")


def chain(operands, env: Env, absorbing: bool):
    """Kleene ``and``/``or``: an absorbing operand decides, whatever bad data
    the others hold (an engine that reads them first may say bad data)."""
    found, errors = [], []
    for operand in operands:
        try:
            found.append(truth(value(operand, env)))
        except DataError as error:
            errors.append(error)
    if absorbing in found:
        for error in errors:
            _mask(env, error)
        return absorbing
    if errors:
        raise errors[0]
    return None if None in found else not absorbing


def is_null(node: n.IsNull, env: Env):
    """``x is null``: never null itself. A typed field holding a value of the
    wrong type may be reported as bad data or tested as it is."""
    try:
        found = value(node.operand, env)
    except DataError as error:
        if not (isinstance(node.operand, n.Reference) and _is_field(node.operand.path, env)):
            raise
        _mask(env, error)
        found = _raw_reference(node.operand.path, env)
    return (found is None) != node.negated


def _is_field(path, env: Env) -> bool:
    """Whether ``path`` reads a field (not a prelude name or a score)."""
    if path[0] in env.names:
        return len(path) > 1
    if any(path[0] in LIST_FIELDS.get(name, ()) for name, _ in env.scopes):
        return True
    return path[0] not in ("last_order_at", "first_order_at", "days_since_last_order", "rfm")


def _raw_reference(path, env: Env):
    name = path[0]
    if name in env.names:
        return normalise(field(env.names[name][1], path[1]))
    for list_name, element in reversed(env.scopes):
        if name in LIST_FIELDS.get(list_name, ()):
            return normalise(field(element, name))
    return normalise(field(env.record, name))


def reference(path: tuple[str, ...], env: Env):
    """A name: an element's field inside ``where``, a zero-argument prelude
    function, an RFM score, or a customer field."""
    name = path[0]
    if name in env.names:  # ``LIST as name``: the element itself, or its field
        list_name, element = env.names[name]
        if len(path) == 1:
            return normalise(element)
        return _follow(read(element, path[1], list_name, env), path[2:])
    for list_name, element in reversed(env.scopes):
        if name in LIST_FIELDS.get(list_name, ()):
            return _follow(read(element, name, list_name, env), path[1:])
    if name in ("last_order_at", "first_order_at", "days_since_last_order"):
        return call(n.Call(name), env)
    if name == "rfm":
        return env.scores[("rfm", path[1])](env.record)
    return _follow(read(env.record, name, None, env), path[1:])


def _follow(v, rest):
    for part in rest:
        v = normalise(field(v, part))
    return v


def between(node: n.Between, env: Env):
    """``low <= x and x <= high``."""
    x, x_error = _attempt(node.operand, env)
    low, low_error = _attempt(node.low, env)
    high, high_error = _attempt(node.high, env)
    if x_error is not None:
        raise x_error
    if x is None:
        for error in (low_error, high_error):
            if error is not None:
                _mask(env, error)
        return None
    parts, errors = [], []
    for bound, error, op, flip in ((low, low_error, n.CompareOp.LE, False),
                                   (high, high_error, n.CompareOp.LE, True)):
        if error is not None:
            errors.append(error)
        elif bound is None:
            parts.append(None)
        else:
            try:
                parts.append(compare(op, *((x, bound) if flip else (bound, x)), env.zone))
            except DataError as failed:
                errors.append(failed)
    if False in parts:
        for error in errors:
            _mask(env, error)
        return False
    if errors:
        raise errors[0]
    return None if None in parts else True


def equal(a, b, zone: dt.tzinfo) -> bool:
    """Equality of two non-null values: values of different kinds are unequal."""
    a, b = _align(a, b, zone)
    ka, kb = kind_of(a), kind_of(b)
    if "list" in (ka, kb) or "record" in (ka, kb):
        raise Unspecified(f"equality with a {ka} and a {kb}")
    if {ka, kb} == {"number", "datetime"} or {ka, kb} == {"number", "date"}:
        raise Unspecified("a number meets a date or datetime")
    if ka != kb:
        return False
    return a == b


def _align(a, b, zone: dt.tzinfo):
    """Text meeting a date or datetime is read as one; a datetime meeting a
    date is its day in the zone."""
    ka, kb = kind_of(a), kind_of(b)
    if ka == "text" and kb in ("date", "datetime"):
        a = to_date(a) if kb == "date" and len(a) == 10 else to_datetime(a, zone)
    if kb == "text" and ka in ("date", "datetime"):
        b = to_date(b) if ka == "date" and len(b) == 10 else to_datetime(b, zone)
    if _is_date(a) and isinstance(b, dt.datetime):
        b = b.astimezone(zone).date()
    if _is_date(b) and isinstance(a, dt.datetime):
        a = a.astimezone(zone).date()
    return a, b


def compare(op: n.CompareOp, left, right, zone: dt.tzinfo):
    """``left op right`` for two non-null values."""
    if op is n.CompareOp.MATCHES:  # RE2 semantics; a lone surrogate reads as U+FFFD
        if not isinstance(left, str):
            raise DataError(f"matches on {left!r}")
        return re2.search(right, re.sub("[\ud800-\udfff]", "\ufffd", left)) is not None
    if op in (n.CompareOp.STARTS_WITH, n.CompareOp.ENDS_WITH):
        if not isinstance(left, str) or not isinstance(right, str):
            raise DataError(f"{op.value} on {left!r}")
        return left.startswith(right) if op is n.CompareOp.STARTS_WITH else left.endswith(right)
    if op is n.CompareOp.CONTAINS:
        if isinstance(left, str):
            if not isinstance(right, str):
                raise DataError(f"{left!r} contains {right!r}")
            return right in left
        if isinstance(left, list):
            return any(x is not None and equal(x, right, zone) for x in left)
        raise DataError(f"contains on {left!r}")
    if op is n.CompareOp.EQ:
        return equal(left, right, zone)
    if op is n.CompareOp.NE:
        return not equal(left, right, zone)
    left, right = _align(left, right, zone)
    kinds = {kind_of(left), kind_of(right)}
    if kinds == {"bool", "number"} or kinds == {"bool"}:
        raise Unspecified("ordering booleans")
    if len(kinds) != 1 or kinds & {"list", "record", "period"}:
        raise DataError(f"cannot order {left!r} and {right!r}")
    try:
        return _ORDER[op](left, right)
    except TypeError:  # months against days
        raise Unspecified(f"cannot order {left!r} and {right!r}") from None


def _is_duration(x) -> bool:
    return isinstance(x, (dt.timedelta, relativedelta))


def duration_arithmetic(op: n.ArithmeticOp, left, right):
    """Durations added and subtracted, times and divided by a number, divided
    by a duration. A calendar duration (months, years) is only added to or
    subtracted from another one, and multiplied by a whole number."""
    if _is_duration(right) and not _is_duration(left):
        left, right = right, left  # number * duration
    calendar_step = isinstance(left, relativedelta) or isinstance(right, relativedelta)
    if _is_duration(right):
        if op in (n.ArithmeticOp.ADD, n.ArithmeticOp.SUBTRACT):
            if isinstance(left, relativedelta) != isinstance(right, relativedelta):
                raise Unspecified("a calendar step with a fixed duration (a check error)")
            try:
                return left + right if op is n.ArithmeticOp.ADD else left - right
            except OverflowError:
                raise DataError(f"{left!r} {op.value} {right!r} overflows") from None
        if op is not n.ArithmeticOp.DIVIDE or calendar_step:
            raise Unspecified(f"{left!r} {op.value} {right!r} (a check error)")
        return None if right == dt.timedelta(0) else left / right
    if kind_of(right) != "number":
        raise DataError(f"{left!r} {op.value} {right!r}")
    if op is n.ArithmeticOp.MULTIPLY and isinstance(left, relativedelta):
        if math.isinf(right) or right != int(right):
            raise DataError(f"{left!r} * {right!r}: months and years by a whole number only")
        k = int(right)
        return relativedelta(years=left.years * k, months=left.months * k)
    if op is n.ArithmeticOp.DIVIDE and calendar_step:
        raise Unspecified("a calendar step divided (a check error)")
    if op is n.ArithmeticOp.DIVIDE and right == 0:
        return None
    try:
        return left * right if op is n.ArithmeticOp.MULTIPLY else left / right
    except (OverflowError, ValueError):
        raise DataError(f"{left!r} {op.value} {right!r} overflows") from None


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _is_date(x) -> bool:
    return isinstance(x, dt.date) and not isinstance(x, dt.datetime)


def membership(element, container, negated: bool, zone: dt.tzinfo):
    """SQL's ``in``: true when found, else null when the list holds a null,
    else false; in a text, a substring test."""
    if isinstance(container, str):
        if not isinstance(element, str):
            raise DataError(f"{element!r} in {container!r}")
        return (element in container) != negated
    if not isinstance(container, list):
        raise DataError(f"in {container!r}")
    found = any(equal(element, item, zone) for item in container if item is not None)
    if not found and None in container:
        return None
    return found != negated


def negate(v):
    if v is None:
        return None
    if kind_of(v) == "number":
        return -v
    if kind_of(v) == "duration":
        return -v
    raise DataError(f"-{v!r}")


def arithmetic(op: n.ArithmeticOp, left, right, zone: dt.tzinfo):
    """Numbers only, plus the date and time steps, plus durations with
    durations and numbers."""
    if _is_duration(left) and (_is_duration(right) or op in (
            n.ArithmeticOp.MULTIPLY, n.ArithmeticOp.DIVIDE)) or (
            _is_duration(right) and op is n.ArithmeticOp.MULTIPLY):
        return duration_arithmetic(op, left, right)
    if isinstance(left, (relativedelta, dt.timedelta)) and not isinstance(
            right, (relativedelta, dt.timedelta)) and op is n.ArithmeticOp.ADD:
        left, right = right, left  # 1m + x
    if isinstance(right, (relativedelta, dt.timedelta)) and op in (n.ArithmeticOp.ADD,
                                                                   n.ArithmeticOp.SUBTRACT):
        if isinstance(left, str):
            left = to_datetime(left, zone)
        if kind_of(left) not in ("datetime", "date"):
            raise DataError(f"{left!r} {op.value} {right!r}")
        if _is_date(left) and isinstance(right, dt.timedelta) and right % dt.timedelta(days=1):
            raise Unspecified("a date shifted by hours")
        return shift(left, right if op is n.ArithmeticOp.ADD else -right, zone)
    if op is n.ArithmeticOp.SUBTRACT and (isinstance(left, dt.datetime)
                                          or isinstance(right, dt.datetime)):
        left = to_datetime(left, zone) if isinstance(left, str) else left
        right = to_datetime(right, zone) if isinstance(right, str) else right
        # Untyped, a date object met by a datetime is its first instant, as a
        # datetime field holding a date reads it (typed, it is a check error).
        left = _midnight(left, zone) if _is_date(left) else left
        right = _midnight(right, zone) if _is_date(right) else right
        if isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
            return left - right
        raise DataError(f"{left!r} - {right!r}")
    if kind_of(left) != "number" or kind_of(right) != "number":
        raise DataError(f"{left!r} {op.value} {right!r}")
    if op in (n.ArithmeticOp.DIVIDE, n.ArithmeticOp.MODULO) and right == 0:
        return None
    try:
        result = {"+": operator.add, "-": operator.sub, "*": operator.mul,
                  "/": operator.truediv, "%": operator.mod}[op.value](left, right)
    except OverflowError:
        raise DataError(f"{left!r} {op.value} {right!r} overflows") from None
    if isinstance(result, float) and math.isinf(result) and not (
            math.isinf(left) or math.isinf(right)):
        raise Unspecified("a float overflow")
    return result


# ------------------------------------------------------------------ calls

_AGGREGATIONS = ("count", "sum", "avg", "min", "max", "first", "last", "exists",
                 "count_distinct")


def call(node: n.Call, env: Env):
    name = node.name
    args = list(node.args)
    keywords = {k.name: k.value for k in node.keywords}
    if name in _AGGREGATIONS:
        window = keywords.get("within", keywords.get("during"))
        source, bound = args[0], None
        if isinstance(source, n.Alias):
            source, bound = source.value, source.name
        return aggregate(name, source.path, window, keywords.get("where"), env, bound)
    if name in SCALARS:
        return scalar(name, args, env)
    if name in ("orders", "purchased"):
        window = args[0] if args else keywords.get("within", keywords.get("during"))
        number = count_orders(window, keywords, env)
        return number if name == "orders" else number > 0
    if name in ("ntile", "percentile"):
        return env.scores[_score_key(node)](env.record)
    params = {"events": ("kind", "window"), "days_between": ("start", "end"),
              "coalesce": ("value", "fallback"), "length": ("value",),
              "abs": ("number",)}.get(name, ("window",))
    given = dict(zip(params, args)) | keywords
    if name in ("spent", "aov"):
        return aggregate("sum" if name == "spent" else "avg", ("orders", "total"),
                         given["window"], None, env)
    if name == "events" or name in _EVENT_KINDS:
        kind = value(given["kind"], env) if name == "events" else _EVENT_KINDS[name]
        number = 0
        for e in select("events", given["window"], env):
            t = read(e, "type", "events", env)
            if t is not None and kind is not None and equal(t, kind, env.zone):
                number += 1
        return number if name in ("events", "visits") else number > 0
    if name == "last_order_at":
        return aggregate("last", ("orders", "at"), None, None, env)
    if name == "first_order_at":
        return aggregate("first", ("orders", "at"), None, None, env)
    if name == "days_since_last_order":
        return days_between(aggregate("last", ("orders", "at"), None, None, env), env.now)
    if name == "coalesce":
        first, error = _attempt(given["value"], env)
        if error is None and first is not None:
            return first
        if error is not None:
            raise error
        return value(given["fallback"], env)
    values = {p: value(given[p], env) for p in params}
    if name == "days_between":
        return days_between(values["start"], values["end"])
    if values[params[0]] is None:
        return None
    if name == "length":
        v = values["value"]
        if not isinstance(v, (str, list)):
            raise DataError(f"length of {v!r}")
        return len(v)
    if name == "abs":
        if kind_of(values["number"]) != "number":
            raise DataError(f"abs of {values['number']!r}")
        return abs(values["number"])
    raise NotImplementedError(name)


# ------------------------------------------------- the functions of issue 13

EARTH_RADIUS_KM = 6371.0088  # the mean Earth radius (IUGG)

SCALARS = {
    "year": 1, "month": 1, "day": 1, "weekday": 1, "day_of_year": 1, "anniversary": 1,
    "years_between": 2, "months_between": 2, "lower": 1, "upper": 1,
    "sqrt": 1, "floor": 1, "ceil": 1, "distance_km": 4,
}


def scalar(name: str, args: list, env: Env):
    """A built-in of issue 13: null when an argument is null (then bad data
    in another argument may or may not be reported)."""
    attempts = [_attempt(arg, env) for arg in args]
    if any(error is None and v is None for v, error in attempts):
        for v, error in attempts:
            if error is None and v is not None:
                error = _argument_error(name, v, env)
            if error is not None:
                _mask(env, error)
        return None
    for _, error in attempts:
        if error is not None:
            raise error
    values = [v for v, _ in attempts]
    if name in ("year", "month", "day", "weekday", "day_of_year"):
        day = day_of(values[0], env.zone)
        return {"year": day.year, "month": day.month, "day": day.day,
                "weekday": day.isoweekday(),
                "day_of_year": (day - dt.date(day.year, 1, 1)).days + 1}[name]
    if name == "anniversary":
        return anniversary(day_of(values[0], env.zone), env.today)
    if name in ("years_between", "months_between"):
        months = months_between(day_of(values[0], env.zone), day_of(values[1], env.zone))
        return months if name == "months_between" else (abs(months) // 12) * (
            1 if months >= 0 else -1)
    if name in ("lower", "upper"):
        return change_case(values[0], name)
    for v in values:
        if kind_of(v) != "number":
            raise DataError(f"{name} of {v!r}")
    if name == "distance_km":
        return distance_km(*values)
    x = values[0]
    if name == "sqrt":
        if x < 0:
            return None
        try:
            return math.sqrt(x)
        except OverflowError:
            raise DataError(f"sqrt of {x!r} overflows") from None
    if math.isinf(x):
        raise DataError(f"{name} of {x!r}")
    return math.floor(x) if name == "floor" else math.ceil(x)


def _argument_error(name: str, v, env: Env) -> DataError | None:
    """The bad data an argument of ``name`` is, or None."""
    try:
        if name in ("lower", "upper"):
            change_case(v, name)
        elif name in ("sqrt", "floor", "ceil", "distance_km"):
            if kind_of(v) != "number":
                raise DataError(f"{name} of {v!r}")
        else:
            day_of(v, env.zone)
    except DataError as error:
        return error
    return None


def day_of(v, zone: dt.tzinfo) -> dt.date:
    """A date, the day of a datetime in the zone, or ISO text read as either."""
    if isinstance(v, str):
        v = to_date(v) if len(v) == 10 else to_datetime(v, zone)
    if isinstance(v, dt.datetime):
        aware = v if v.tzinfo is not None else v.replace(tzinfo=zone)
        return aware.astimezone(zone).date()
    if isinstance(v, dt.date):
        return v
    raise DataError(f"{v!r} is not a date")


def on_day(year: int, month: int, day: int) -> dt.date:
    """That day of that year; 29 February is 28 February in a common year."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        day = 28
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DataError(f"year {year} is out of range") from None


def anniversary(day: dt.date, today: dt.date) -> dt.date:
    """The first day at or after ``today`` with ``day``'s month and day."""
    this_year = on_day(today.year, day.month, day.day)
    return this_year if this_year >= today else on_day(today.year + 1, day.month, day.day)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, kept within the month reached."""
    years, month = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from ``start`` to ``end`` (negative backwards):
    the most months that, added to ``start``, do not pass ``end``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end >= start:
        while add_months(start, months) > end:
            months -= 1
    else:
        while add_months(start, months) < end:
            months += 1
    return months


def change_case(v, name: str):
    """``lower``/``upper`` of a text, or of each text of a list (nulls stay)."""
    def one(text):
        if text is None:
            return None
        if not isinstance(text, str):
            raise DataError(f"{name} of {text!r}")
        return text.lower() if name == "lower" else text.upper()

    return [one(item) for item in v] if isinstance(v, list) else one(v)


def distance_km(lat1, lng1, lat2, lng2) -> float:
    """The haversine great-circle distance on the mean Earth sphere."""
    for lat in (lat1, lat2):
        if not -90 <= lat <= 90:
            raise DataError(f"latitude {lat!r}")
    for lng in (lng1, lng2):
        if not -180 <= lng <= 180:
            raise DataError(f"longitude {lng!r}")
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lng2 - lng1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def days_between(start, end):
    if start is None or end is None:
        return None
    return math.floor((end - start).total_seconds() / 86400)


def _list_owner_and_name(path: tuple[str, ...], env: Env):
    """Where an aggregation's list is: the innermost element in scope holding
    it, else the customer. Returns (owner, its list name or None, the list)."""
    name = path[0]
    for list_name, element in reversed(env.scopes):
        if name in LIST_FIELDS.get(list_name, ()):
            return element, list_name
    return env.record, None


def select(list_name: str, window: n.Node | None, env: Env, owner=None,
           owner_scope=None) -> list:
    """The elements of a list that an aggregation sees, in time order (list
    order for a list without timestamps); undated elements last."""
    if owner is None:
        owner, owner_scope = _list_owner_and_name((list_name,), env)
    if env.typed:
        read(owner, list_name, owner_scope, env)  # its declared type
    elements = elements_of(field(owner, list_name), list_name)
    for element in elements:
        if list_name in LIST_FIELDS and element is not None and not is_record(element):
            raise DataError(f"an element of {list_name} is {element!r}, not a record")
    if list_name not in TIMESTAMPED:
        return [e for e in elements]
    try:
        bounds = window_of(window, env)
    except DataError as error:
        if elements:
            raise
        _mask(env, error)  # an empty list: nothing is tested against the window
        return []
    dated, undated = [], []
    for element in elements:
        at = to_datetime(field(element, "at"), env.zone) if element is not None else None
        if element is None:
            continue
        if at is None:
            undated.append(element)
        elif at <= env.now and _in_window(at, bounds, env):
            dated.append((at, element))
    dated.sort(key=lambda pair: pair[0])  # stable: equal times keep list order
    return [e for _, e in dated] + (undated if bounds is None else [])


def window_of(window: n.Node | None, env: Env):
    """A window's value: a period or a duration back from ``now`` (negative:
    bad data; zero: left open), or None."""
    bounds = value(window, env) if window is not None else None
    if bounds is not None and not isinstance(bounds, (Period, dt.timedelta, relativedelta)):
        raise DataError(f"window {bounds!r}")
    if isinstance(bounds, (dt.timedelta, relativedelta)):
        start = shift(env.now, -bounds, env.zone)
        if start > env.now:
            raise DataError(f"a window of {bounds!r} looks forward")
        if start == env.now:
            raise Unspecified(f"a window of {bounds!r} holds nothing")
    return bounds


def _in_window(at: dt.datetime, bounds, env: Env) -> bool:
    if bounds is None:
        return True
    if isinstance(bounds, Period):
        first = dt.datetime(bounds.start.year, bounds.start.month, bounds.start.day,
                            tzinfo=env.zone)
        after = dt.datetime(bounds.end.year, bounds.end.month, bounds.end.day,
                            tzinfo=env.zone) + dt.timedelta(days=1)
        return first <= at < after
    return shift(env.now, -bounds, env.zone) < at


def aggregate(function: str, path: tuple[str, ...], window, where, env: Env,
              bound: str | None = None):
    """``function(path, within = window, where = where)``; a path through two
    lists (``orders.items``) flattens the inner list. ``bound`` is the name
    of ``path as NAME``: inside ``where`` it is the element the ``where``
    tests (an item, for ``orders.items``)."""
    list_name = path[0]
    kept = select(list_name, window, env)
    scope = list_name
    rest = path[1:]
    if rest and rest[0] in LISTS and rest[0] in LIST_FIELDS.get(list_name, ()):
        inner = rest[0]
        flattened = []
        for element in kept:
            flattened.extend((element, item) for item in select(
                inner, None, env.inside(list_name, element), element, list_name))
        kept_pairs = flattened
        scope, rest = inner, rest[1:]
    else:
        kept_pairs = [(None, e) for e in kept]

    def scoped(outer, element):
        inner_env = env.inside(list_name, outer) if outer is not None else env
        return inner_env.inside(scope, element, bound)

    chosen = []
    for outer, element in kept_pairs:
        if where is None or truth(value(where, scoped(outer, element))) is True:
            chosen.append((outer, element))
    if function in ("first", "last"):
        if scope in TIMESTAMPED:
            chosen = [(o, e) for o, e in chosen if normalise(field(e, "at")) is not None]
        if not chosen:
            return None
        outer, element = chosen[0] if function == "first" else chosen[-1]
        return _value_of(element, scope, rest, env)
    if not rest and scope not in LIST_FIELDS:  # a list of plain values: its non-null items
        chosen = [(o, e) for o, e in chosen if e is not None]
    if function == "count_distinct":
        found = [e for _, e in chosen if e is not None] if not rest else [
            _value_of(e, scope, rest, env) for _, e in chosen]
        return count_distinct([v for v in found if v is not None])
    if not rest:
        return len(chosen) if function == "count" else bool(chosen)
    values = [v for v in (_value_of(e, scope, rest, env) for _, e in chosen) if v is not None]
    if function == "count":
        return len(values)
    if function == "exists":
        return bool(values)
    if function in ("sum", "avg"):
        for v in values:
            if kind_of(v) != "number":
                raise DataError(f"{function} of {v!r}")
        if function == "sum":
            return _sum(values)
        return None if not values else _mean(values)
    if not values:
        return None
    kinds = {kind_of(v) for v in values}
    if len(kinds) != 1 or kinds & {"bool", "list", "record"}:
        raise (Unspecified if kinds <= {"bool", "number"} else DataError)(
            f"{function} of {values!r}")
    return min(values) if function == "min" else max(values)


def count_distinct(values: list) -> int:
    """How many of ``values`` (non-null) differ under ``==``: a bool is never
    a number, ``1`` is ``1.0``, a date is never a datetime; a list or a
    record among them is bad data."""
    seen = set()
    for v in values:
        kind = kind_of(v)
        if kind in ("list", "record"):
            raise DataError(f"count_distinct of a {kind}")
        seen.add((kind, v))  # 1 == 1.0 and equal instants hash alike
    return len(seen)


def _sum(values):
    if all(isinstance(v, int) for v in values):
        return sum(values)
    try:
        return math.fsum(values)
    except OverflowError:
        raise DataError("the sum overflows") from None


def _mean(values):
    try:
        total = Fraction(0)
        for v in values:
            total += Fraction(v)
        return float(total / len(values))
    except OverflowError:
        raise DataError("the mean overflows") from None


def _value_of(element, scope: str, rest: tuple[str, ...], env: Env):
    if not rest:
        return element
    v = read(element, rest[0], scope, env)
    return _follow(v, rest[1:])


def count_orders(window, keywords: dict, env: Env) -> int:
    """``orders(window, category=, sku=, discounted=, where=)``: orders in the
    window with an item matching every item filter and the ``where``."""
    filters = {k: value(keywords[k], env) for k in ("category", "sku", "discounted")
               if k in keywords}
    where = keywords.get("where")

    def item_matches(order, item) -> bool:
        inner = env.inside("orders", order).inside("items", item)
        found = []
        for k, v in filters.items():
            got = read(item, k, "items", inner)
            found.append(None if got is None or v is None else equal(got, v, env.zone))
        return _and(found) is True

    def order_matches(order) -> bool:
        if filters:
            items = select("items", None, env.inside("orders", order), order, "orders")
            if not any(item_matches(order, i) for i in items):
                return False
        return where is None or truth(value(where, env.inside("orders", order))) is True

    return len([o for o in select("orders", window, env) if order_matches(o)])


def _and(values: list):
    if False in values:
        return False
    return None if None in values else True


# ------------------------------------------------------------ population


def _score_key(node: n.Call):
    measure = node.args[0]
    tiles = node.args[1].value if node.name == "ntile" else None
    return (node.name, repr(measure), tiles)


def _population_calls(node: n.Node):
    if isinstance(node, n.Call) and node.name in ("ntile", "percentile"):
        yield node
    if isinstance(node, n.Reference) and node.path[0] == "rfm":
        yield node
    for child in n.children(node):
        yield from _population_calls(child)


def scores_of(expression: n.Node, population, now, zone, typed: bool) -> dict:
    """Scorers (customer -> score) of every population function in
    ``expression`` over ``population``; raises when any customer's measure
    is bad data (or unspecified). ``__flags__`` holds masked bad data."""
    scores: dict = {}
    flags: dict = {}
    at = to_datetime(now, zone)
    records = list(population)

    def measure_of(measure):
        found = {}
        for record in records:
            env = Env(record, at, zone, typed, {}, flags)
            v = measure(env)
            if v is not None and kind_of(v) != "number":
                raise DataError(f"a population measure of {v!r}")
            found[id(record)] = v
        return found

    for node in _population_calls(expression):
        if isinstance(node, n.Call):
            measured = measure_of(lambda env, m=node.args[0]: value(m, env))
            key = _score_key(node)
            if node.name == "ntile":
                scores[key] = _tiles(measured, key[2], reverse=False)
            else:
                scores[key] = _percentiles(measured)
        else:
            rfm = _rfm_scores(measure_of, at)
            scores[("rfm", node.path[1])] = rfm[node.path[1]]
    scores["__flags__"] = flags
    return scores


def _breaks(values: list, tiles: int) -> list[Fraction]:
    ordered = sorted(Fraction(v) for v in values if v is not None)
    if not ordered:
        return []
    found = []
    for i in range(1, tiles):
        position = Fraction(len(ordered) - 1) * Fraction(i, tiles)
        lower = math.floor(position)
        upper = min(lower + 1, len(ordered) - 1)
        found.append(ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower))
    return found


def _tiles(measured: dict, tiles: int, reverse: bool):
    breaks = _breaks(list(measured.values()), tiles)

    def score(record):
        v = measured[id(record)]
        if v is None:
            return None
        found = 1 + sum(1 for b in breaks if b < Fraction(v))
        return tiles + 1 - found if reverse else found

    return score


def _percentiles(measured: dict):
    present = [Fraction(v) for v in measured.values() if v is not None]

    def score(record):
        v = measured[id(record)]
        if v is None or not present:
            return None
        return 100.0 * sum(1 for x in present if x <= Fraction(v)) / len(present)

    return score


def _rfm_scores(measure_of, at) -> dict:
    def recency(env):
        return days_between(aggregate("last", ("orders", "at"), None, None, env), env.now)

    def when_ordered(measure):
        def measured(env):
            return None if recency(env) is None else measure(env)
        return measured

    window = n.Duration(365, n.DurationUnit("d"))
    r = _tiles(measure_of(recency), 5, reverse=True)
    f = _tiles(measure_of(when_ordered(
        lambda env: aggregate("count", ("orders",), window, None, env))), 5, reverse=False)
    m = _tiles(measure_of(when_ordered(
        lambda env: aggregate("sum", ("orders", "total"), window, None, env))), 5, reverse=False)

    def code(record):
        parts = (r(record), f(record), m(record))
        return None if None in parts else parts[0] * 100 + parts[1] * 10 + parts[2]

    def group(record):
        found = code(record)
        return None if found is None else _GROUP[found]

    return {"recency": r, "frequency": f, "monetary": m, "score": code, "group": group}
