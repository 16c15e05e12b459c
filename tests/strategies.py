"""Hypothesis strategies that build random syntax trees of :mod:`segdsl.nodes`.

The trees are shaped as the parser builds them, so that ``parse(render(t)) == t``:
numbers are non-negative (``-4`` is ``Negate(Number(4))``), names are never
reserved words, keyword arguments and parameters are never repeated, a date
range never ends before it starts. Every node class is drawn, ``today`` and
``value as name`` (as a call's positional argument) included. They are not type-checked: ``"a" + true``
is a fine tree.

Building blocks, from small to large: :func:`names`, :func:`literals`,
:func:`references`, :func:`expressions`, :func:`statements`,
:func:`rule_files`. :func:`relaid` turns text into the same tokens with other
whitespace and comments between them, for tests of layout and comments.
"""

from __future__ import annotations

import collections
import collections.abc
import datetime as dt
import decimal
import string
import types

import numpy as np
import pandas as pd
from hypothesis import strategies as st

import segdsl
from segdsl import nodes as n
from segdsl.parser import RESERVED_WORDS, tokenize

_NAME_START = string.ascii_letters + "_"
_NAME_REST = _NAME_START + string.digits

# The customers' fields the differential and adversarial tests draw, declared.
SCHEMA = segdsl.Schema({
    "id": "number", "country": "string", "email": "string", "age": "number",
    "tags": "list[string]", "email_subscribed": "bool", "signed_up_at": "datetime",
    "birth_date": "date", "lat": "number", "lng": "number",
    "orders": segdsl.ListOf({"at": "datetime", "total": "number", "items": [
        {"category": "string", "sku": "string", "price": "number", "discounted": "bool",
         "size": "any"}]}),
    "events": segdsl.ListOf({"type": "string", "at": "datetime"}),
})

# Characters that test string escapes: quotes, backslashes, line breaks,
# invisible characters, accents, a character beyond the basic plane.
_AWKWARD_CHARACTERS = "\"'\\\n\r\t\0\x7f\u00a0\u00e9\u20ac\u2028\ufeff\U0001f600 #"


def names() -> st.SearchStrategy[str]:
    """Identifiers that are not reserved words (some start with one: ``android``)."""
    words = st.builds(str.__add__, st.sampled_from(_NAME_START), st.text(_NAME_REST, max_size=7))
    near_misses = st.sampled_from(sorted(RESERVED_WORDS)).map(lambda word: word + "_x")
    return (words | near_misses).filter(lambda name: name not in RESERVED_WORDS)


def _distinct_names(min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[list[str]]:
    return st.lists(names(), min_size=min_size, max_size=max_size, unique=True)


# ------------------------------------------------------------------ literals


def numbers() -> st.SearchStrategy[n.Number]:
    """Non-negative integers and finite floats, tiny to huge."""
    return st.builds(n.Number, st.integers(0, 10**30)
                     | st.floats(min_value=0.0, allow_nan=False, allow_infinity=False))


def strings() -> st.SearchStrategy[n.String]:
    """Strings with quotes, backslashes, newlines and other awkward characters."""
    characters = (st.characters(blacklist_categories=("Cs",))
                  | st.sampled_from(_AWKWARD_CHARACTERS))
    return st.builds(n.String, st.text(characters, max_size=12))


def _dates() -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))


def dates() -> st.SearchStrategy[n.Date]:
    """Calendar dates from year 1 to 9999."""
    return st.builds(n.Date, _dates())


def _offsets() -> st.SearchStrategy[dt.timezone | None]:
    minutes = st.integers(-(24 * 60 - 1), 24 * 60 - 1)
    return st.none() | st.just(dt.UTC) | minutes.map(
        lambda m: dt.timezone(dt.timedelta(minutes=m)))


def datetimes() -> st.SearchStrategy[n.DateTime]:
    """Naive and offset datetimes, with and without seconds and microseconds."""
    whole = st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31),
                         timezones=_offsets())
    trimmed = st.sampled_from(["minute", "second", "micro"])
    return st.builds(_trim, whole, trimmed).map(n.DateTime)


def _trim(value: dt.datetime, precision: str) -> dt.datetime:
    if precision == "minute":
        return value.replace(second=0, microsecond=0)
    if precision == "second":
        return value.replace(microsecond=0)
    return value


def durations() -> st.SearchStrategy[n.Duration]:
    """Durations of every unit."""
    return st.builds(n.Duration, st.integers(0, 9999), st.sampled_from(list(n.DurationUnit)))


def date_ranges() -> st.SearchStrategy[n.DateRange]:
    """Ranges whose end is never before their start."""
    return st.lists(_dates(), min_size=2, max_size=2).map(sorted).map(lambda ds: n.DateRange(*ds))


def literals() -> st.SearchStrategy[n.Node]:
    """Every literal except lists (see :func:`expressions`)."""
    return st.one_of(
        numbers(), strings(), st.builds(n.Boolean, st.booleans()), st.builds(n.Null),
        dates(), datetimes(), durations(), date_ranges(), st.builds(n.Now),
        st.deferred(lambda: st.builds(n.Today)),
    )


def references() -> st.SearchStrategy[n.Reference]:
    """Names and dotted paths: ``country``, ``rfm.frequency``, ``a.b.c``."""
    return st.lists(names(), min_size=1, max_size=3).map(lambda path: n.Reference(tuple(path)))


def leaves() -> st.SearchStrategy[n.Node]:
    """Expressions without sub-expressions."""
    return literals() | references()


# --------------------------------------------------------------- expressions


def _calls(children: st.SearchStrategy[n.Node]) -> st.SearchStrategy[n.Call]:
    """Calls; a positional argument may be ``value as name`` (the parser takes
    it anywhere, the checker only first in an aggregation)."""
    keywords = _distinct_names(max_size=2).flatmap(
        lambda keys: st.tuples(*(st.builds(n.Keyword, st.just(key), children) for key in keys)))
    arguments = children | st.deferred(lambda: st.builds(n.Alias, children, names()))
    return st.builds(n.Call, names(), st.lists(arguments, max_size=3).map(tuple), keywords)


def _chains(cls: type, children: st.SearchStrategy[n.Node]) -> st.SearchStrategy[n.Node]:
    return st.lists(children, min_size=2, max_size=4).map(lambda operands: cls(tuple(operands)))


def compound(children: st.SearchStrategy[n.Node]) -> st.SearchStrategy[n.Node]:
    """One node of every non-leaf class, over sub-expressions drawn from ``children``."""
    return st.one_of(
        st.lists(children, max_size=3).map(lambda items: n.ListLiteral(tuple(items))),
        _calls(children),
        st.builds(n.Negate, children),
        st.builds(n.Arithmetic, st.sampled_from(list(n.ArithmeticOp)), children, children),
        st.builds(n.Comparison, st.sampled_from(list(n.CompareOp)), children, children),
        st.builds(n.Membership, children, children, st.booleans()),
        st.builds(n.Between, children, children, children),
        st.builds(n.IsNull, children, st.booleans()),
        st.builds(n.Not, children),
        _chains(n.And, children),
        _chains(n.Or, children),
    )


def expressions(max_leaves: int = 12) -> st.SearchStrategy[n.Node]:
    """Expressions of every node class, nested; ``max_leaves`` bounds their size.

    Chains nest in chains of the same operator (``And((And((a, b)), c))``),
    which only parentheses can write.
    """
    return st.recursive(leaves(), compound, max_leaves=max_leaves)


# ---------------------------------------------------------------- statements


def segment_defs(bodies: st.SearchStrategy[n.Node] | None = None
                 ) -> st.SearchStrategy[n.SegmentDef]:
    """``segment NAME ["description"] = EXPR``."""
    descriptions = st.none() | strings().map(lambda s: s.value)
    return st.builds(n.SegmentDef, names(), expressions() if bodies is None else bodies,
                     descriptions)


def period_defs() -> st.SearchStrategy[n.PeriodDef]:
    """``period NAME = DATE .. DATE``."""
    return st.builds(n.PeriodDef, names(), date_ranges())


def function_defs(bodies: st.SearchStrategy[n.Node] | None = None
                  ) -> st.SearchStrategy[n.FunctionDef]:
    """``def NAME(PARAMS) = EXPR`` with distinct parameter names."""
    params = _distinct_names().map(lambda ps: tuple(n.Parameter(p) for p in ps))
    return st.builds(n.FunctionDef, names(), params,
                     expressions() if bodies is None else bodies)


def statements(max_leaves: int = 12) -> st.SearchStrategy[n.Node]:
    """Any statement."""
    bodies = expressions(max_leaves)
    return segment_defs(bodies) | period_defs() | function_defs(bodies)


def rule_files(max_statements: int = 5, max_leaves: int = 12) -> st.SearchStrategy[n.RuleFile]:
    """Whole rule files (without comments)."""
    return st.lists(statements(max_leaves), max_size=max_statements).map(
        lambda found: n.RuleFile(tuple(found)))


# --------------------------------------------------------------- layouts

_SEPARATORS = (" ", "  ", "\t", "\n", "\n\n", "\n\n\n", "\r\n    ")

# Where comments go in a gap between two tokens; {} is a comment.
_COMMENTED_GAPS = ("  {}\n", "{}\n", " {}\n\n", "\n{}\n", "\n\n{}\n\n", "\n{}\n{}\n    ")

# How comments end: anything up to the end of the line, trailing spaces included.
_COMMENT_ENDINGS = ("", " about this", "#", " 'quoted' \"text\"", "   ", "\t",
                    " \u00e9\U0001f600 \\")


def relaid(text: str) -> st.SearchStrategy[str]:
    """The tokens of well-formed ``text`` with other whitespace and comments
    between them (and before and after them).

    Comments are numbered in order, ``# n1...``, ``# n2...``, so that each can
    be told apart from the others.
    """
    tokens = [token.value for token in tokenize(text)]
    original_gaps = [""] + [" "] * len(tokens)
    gaps = st.one_of(st.none(), st.sampled_from(_SEPARATORS), _commented_gaps())
    return st.lists(gaps, min_size=len(tokens) + 1, max_size=len(tokens) + 1).map(
        lambda drawn: _assemble(tokens, [g if g is not None else o
                                         for g, o in zip(drawn, original_gaps)]))


def _commented_gaps() -> st.SearchStrategy[tuple[str, tuple[str, ...]]]:
    return st.tuples(st.sampled_from(_COMMENTED_GAPS),
                     st.lists(st.sampled_from(_COMMENT_ENDINGS), min_size=2, max_size=2))


def _assemble(tokens: list[str], gaps: list) -> str:
    pieces = []
    numbered = 0
    for index, gap in enumerate(gaps):
        if isinstance(gap, tuple):
            template, endings = gap
            comments = []
            for ending in endings[:template.count("{}")]:
                numbered += 1
                comments.append(f"# n{numbered}{ending}")
            gap = template.format(*comments)
        pieces.append(gap)
        if index < len(tokens):
            pieces.append(tokens[index])
    return "".join(pieces)


def relaid_rule_files(max_statements: int = 4, max_leaves: int = 10
                      ) -> st.SearchStrategy[tuple[n.RuleFile, str]]:
    """A rule file and a text of it laid out at random, with comments."""
    from segdsl.formatter import render

    return rule_files(max_statements, max_leaves).flatmap(
        lambda tree: st.tuples(st.just(tree), relaid(render(tree))))


def relaid_expressions(max_leaves: int = 10) -> st.SearchStrategy[tuple[n.Node, str]]:
    """An expression and a text of it laid out at random, with comments."""
    from segdsl.formatter import render

    return expressions(max_leaves).flatmap(
        lambda tree: st.tuples(st.just(tree), relaid(render(tree))))


# --------------------------------------------------------------- adversarial data
#
# Values and records a hostile (or merely unlucky) caller may hand to the
# evaluator: every kind of null, numbers in every dress, bools next to numbers,
# numbers no float holds, impossible and far-dated stamps, lone surrogates,
# cycles, 100,000-deep nesting, objects that raise when read or shown, lists
# where records are expected and records or falsy values where lists are.


class Boom(Exception):
    """Raised by the hostile objects below."""


class RaisingRepr:
    """A value that cannot be shown."""

    def __repr__(self) -> str:
        raise Boom("repr")

    __str__ = __repr__


class RaisingProperty:
    """A customer object one of whose properties raises when read."""

    def __init__(self, raising: str, **fields) -> None:
        self.__dict__.update(fields)
        self._raising = raising

    def __getattribute__(self, name: str):
        if name != "__dict__" and name == object.__getattribute__(self, "_raising"):
            raise Boom(name)
        return object.__getattribute__(self, name)


class RaisingGetattr:
    """An object whose ``__getattr__`` raises something else than AttributeError."""

    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str):
        raise Boom(name)


class RaisingMapping(collections.abc.Mapping):
    """A Mapping whose lookups of one key raise (``get``, ``[]``, ``in``)."""

    def __init__(self, raising: str, fields: dict) -> None:
        self._fields, self._raising = fields, raising

    def __getitem__(self, key):
        if key == self._raising:
            raise Boom(key)
        return self._fields[key]

    def __contains__(self, key) -> bool:
        if key == self._raising:
            raise Boom(key)
        return key in self._fields

    def get(self, key, default=None):
        if key == self._raising:
            raise Boom(key)
        return self._fields.get(key, default)

    def __iter__(self):
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def _deep(depth: int, make):
    value: object = None
    for _ in range(depth):
        value = make(value)
    return value


CYCLIC_LIST: list = []
CYCLIC_LIST.append(CYCLIC_LIST)
CYCLIC_RECORD: dict = {"at": "2026-07-01T00:00:00Z", "total": 1}
CYCLIC_RECORD["items"] = [CYCLIC_RECORD]
DEEP_LIST = _deep(100_000, lambda inner: [inner])
DEEP_RECORD = _deep(100_000, lambda inner: {"at": "2026-07-01T00:00:00Z", "items": [inner]})

HOSTILE_SCALARS = (
    None, float("nan"), np.float64("nan"), pd.NA, pd.NaT, np.datetime64("NaT"),
    decimal.Decimal("NaN"), np.int64(7), np.int32(-3), np.float64(1.5), np.float32(2.5),
    np.bool_(True), np.bool_(False), decimal.Decimal("12.5"), decimal.Decimal("Infinity"),
    decimal.Decimal("-1E+400"), True, False, 0, 1, -0.0, 10**400, -(10**400), float("inf"),
    -float("inf"), 1e308, "", "FR", "vip", "xvipx", "\ud800", "a\udfffb", "sk-live-123",
    "2026-02-30T10:00:00Z", "2026-07-00T10:00:00Z", "2026-07-15T25:61:61Z",
    "2026-07-15T10:00:00Z", "2026-07-15", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "not a date", b"bytes", frozenset({1}),
    dt.timedelta(days=1), dt.date(2026, 7, 1), dt.datetime(2026, 7, 1, 12),
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    pd.Timestamp("2026-07-01T10:00:00Z"), np.datetime64("2026-07-01T00:00"),
)
_CONTAINERS = (
    (), [], {}, [1, "a", None, True], ["vip", "new"], ("vip",), [[1, 2]], [["vip"]],
    np.array([1, 2]), np.array(["vip"], dtype=object),
)
SHARED = (CYCLIC_LIST, CYCLIC_RECORD, DEEP_LIST, DEEP_RECORD)


def _raising_repr() -> st.SearchStrategy:
    return st.builds(RaisingRepr)


def hostile_values(records: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """Any hostile value; ``records`` adds lists of (hostile) records."""
    plain = (st.sampled_from(HOSTILE_SCALARS) | st.sampled_from(_CONTAINERS).map(_fresh)
             | st.sampled_from(SHARED) | _raising_repr())
    if records is None:
        return plain
    return plain | records | st.lists(records | plain, max_size=3)


def _fresh(container):
    """A new copy of a container constant, so a test may not see another's changes."""
    if isinstance(container, np.ndarray):
        return container.copy()
    if isinstance(container, (list, dict)):
        return type(container)(container)
    return container


HOSTILE_FIELDS = ("country", "email", "age", "tags", "email_subscribed", "signed_up_at",
                  "orders", "events", "at", "total", "items", "type", "category", "price",
                  "discounted", "_secret")


def _shaped(draw, fields: dict, customer: bool):
    shape = draw(st.sampled_from(("dict", "dict", "defaultdict", "mapping", "namespace",
                                  "property", "getattr", "raising_mapping")))
    names = [k for k in fields if k != "id"]
    if shape == "dict":
        return fields
    if shape == "defaultdict":
        found = collections.defaultdict(list)
        found.update(fields)
        return found
    if shape == "mapping":
        return types.MappingProxyType(fields)
    if shape == "namespace":
        return types.SimpleNamespace(**fields)
    raising = draw(st.sampled_from(names or ["country"]))
    if shape == "property":
        return RaisingProperty(raising, **fields)
    if shape == "getattr":
        return RaisingGetattr(**fields)
    return RaisingMapping(raising, fields)


@st.composite
def hostile_records(draw, depth: int = 1, customer: bool = False, identity: int = 0):
    """A record (dict, defaultdict, Mapping, object) whose fields hold hostile values;
    list fields may hold records of the same kind, one level further down."""
    inner = hostile_records(depth - 1) if depth > 0 else None
    values = hostile_values(inner)
    names = draw(st.lists(st.sampled_from(HOSTILE_FIELDS), unique=True, max_size=6))
    fields = {name: draw(values) for name in names}
    if customer:
        fields = {"id": identity} | fields
    return _shaped(draw, fields, customer)


def hostile_customers(depth: int = 2) -> st.SearchStrategy:
    """One hostile customer, with a plain ``id`` (so that every API can name it)."""
    return hostile_records(depth, customer=True)


def snapshot(value, depth: int = 0, seen: frozenset = frozenset()):
    """A deep, comparable picture of ``value``: containers by their items,
    objects by their instance dict, NaN/NA/NaT by their repr; beyond 60
    levels (the 100,000-deep constants) by identity."""
    if depth > 60 or id(value) in seen:
        return ("ref", id(value))
    if value is None or isinstance(value, (bool, int, float, str, bytes, np.generic,
                                           decimal.Decimal, dt.date, dt.timedelta,
                                           frozenset)) or value is pd.NA or value is pd.NaT:
        return (type(value).__name__, repr(value))
    inside = seen | {id(value)}
    down = depth + 1
    if isinstance(value, np.ndarray):
        return ("ndarray", [snapshot(v, down, inside) for v in value.tolist()])
    if isinstance(value, (list, tuple)) and not hasattr(type(value), "_fields"):
        return (type(value).__name__, [snapshot(v, down, inside) for v in value])
    if isinstance(value, RaisingMapping):
        return ("RaisingMapping", value._raising, snapshot(value._fields, down, inside))
    if isinstance(value, collections.abc.Mapping):
        return (type(value).__name__, [(k, snapshot(v, down, inside))
                                       for k, v in dict.items(dict(value.items()))])
    if hasattr(type(value), "_fields"):
        return (type(value).__name__, [(k, snapshot(v, down, inside))
                                       for k, v in zip(type(value)._fields, value)])
    fields = object.__getattribute__(value, "__dict__")
    return (type(value).__name__, sorted((k, snapshot(v, down, inside))
                                         for k, v in fields.items()))
