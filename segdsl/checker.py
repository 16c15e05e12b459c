"""Names and types: from a syntax tree to a checked tree, before any data is read.

The checker resolves every name (a field of the customer or of a list element
in scope, a segment, a period, a ``def`` parameter, a population function),
inlines every ``def``, infers and checks every type, and reports what is
wrong with its position. It also warns about rules that are valid but likely
wrong, above all a negation over a value that can be null, and about
comparisons that can never be true (``x == null``, ``between 10 and 5``).

Inlining shares: calls of a def with equal checked arguments get one checked
expansion, so the checked tree is a DAG and a def calling another twice, level
after level, costs time in proportion to the text. Segments are checked after
the segments they refer to, in a loop, so long chains need no recursion.

An open record (no schema, or ``open=True``) accepts any field name, except a
name one typo away from a segment, period, def, parameter or declared field:
``vip_buyrs`` next to the segment ``vip_buyers`` is an error with a
did-you-mean hint; a field really spelled so must be declared in a schema.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from segdsl import checked as c
from segdsl import nodes as n
from segdsl import types as t
from segdsl.errors import CheckError, SegdslError, UsageError
from segdsl.formatter import string_text
from segdsl.functions import (
    BUILTINS,
    CALENDAR_FUNCTIONS,
    NEEDS_TODAY,
    Function,
    Functions,
)
from segdsl.parser import RESERVED_WORDS, parse, strip_bom
from segdsl.population import RFM_GROUPS
from segdsl.regex import Regex, RegexError
from segdsl.schema import DEFAULT_SCHEMA, DEFAULT_TIMESTAMP, Schema
from segdsl.stack import MAX_NESTING, recursion_room
from segdsl.timeline import (
    Duration,
    Period,
    as_duration,
    as_timezone,
    backwards,
    duration_arithmetic,
    duration_text,
    empty_window,
    read_date,
    unit_words,
)

AGGREGATIONS = ("count", "count_distinct", "sum", "avg", "min", "max", "first", "last", "exists")
POPULATION_FUNCTIONS = ("ntile", "percentile")
RFM_MEASURES = ("recency", "frequency", "monetary", "score", "group")
ORDER_MACROS = ("orders", "purchased")
_WINDOW_KEYWORDS = ("within", "during")
_ORDER_FILTERS = {"category": t.STRING, "sku": t.STRING, "discounted": t.BOOL}
_WINDOW_TYPES = (t.DURATION, t.PERIOD)
_CASE_FUNCTIONS = ("lower", "upper")


@attrs.frozen
class Options:
    """How rules are checked and evaluated.

    Attributes:
        schema: the customer record's shape (None: :data:`DEFAULT_SCHEMA`).
        functions: Python functions rules may call, beyond the built-ins.
        timezone: the zone of naive datetimes and of period days.
        rfm_window: the analysis window of RFM frequency and monetary scores.
    """

    schema: Schema | None = None
    functions: Functions | None = None
    timezone: object = attrs.field(default=None, converter=as_timezone)
    rfm_window: Duration = Duration(365, "d")


@attrs.frozen
class Warning:  # noqa: A001 - a rule warning, not Python's
    """A rule that is valid but likely wrong."""

    message: str
    span: n.Span | None
    hint: str | None = None
    source: str | None = attrs.field(default=None, eq=False, repr=False)

    def render(self) -> str:
        """``file:line:col: warning: message``, the source line, a caret, the hint."""
        error = SegdslError(f"warning: {self.message}", self.span, source=self.source,
                            hint=self.hint)
        return error.render()

    def __str__(self) -> str:
        return self.render()


class _AlreadyReported(Exception):
    """A segment cycle met again from another of its segments."""


@attrs.frozen
class Prechecked(n.Node):
    """A syntax node standing for an already checked value (used when the
    checker expands a built-in into language constructs)."""

    value: c.Checked
    span: n.Span | None = attrs.field(default=None, eq=False, kw_only=True)


@attrs.frozen
class _Scope:
    """The element of an aggregation, visible to names in its ``where``."""

    depth: int
    type: t.Type


@attrs.frozen
class _Bound:
    """A name given to the elements of an aggregation's list (``events as e``):
    the elements' scope depth and type, and the list as written."""

    depth: int
    type: t.Type
    listed: str


@attrs.frozen
class _Env:
    """Where an expression is checked: visible element scopes, bound def
    parameters, the names bound to elements by ``as``, and the defs being
    expanded (to refuse recursion)."""

    scopes: tuple[_Scope, ...] = ()
    depth: int = 0
    params: Mapping[str, c.Checked] = attrs.field(factory=dict)
    expanding: tuple[str, ...] = ()
    call_site: n.Span | None = None
    aliases: Mapping[str, _Bound] = attrs.field(factory=dict)

    def enter(self, element: t.Type) -> _Env:
        scope = _Scope(self.depth + 1, element)
        return attrs.evolve(self, scopes=self.scopes + (scope,), depth=self.depth + 1)


@functools.cache
def prelude() -> n.RuleFile:
    """The prelude's syntax tree (``segdsl/prelude.seg``), parsed once."""
    path = Path(__file__).with_name("prelude.seg")
    return parse(path.read_text(encoding="utf-8"), file="<prelude>")


# The types the prelude's parameters accept, checked at each call.
_PRELUDE_PARAMS = {"window": _WINDOW_TYPES, "kind": (t.STRING,)}


class Checker:
    """Checks the statements of one rule file (or a single expression).

    Args:
        rule_file: the parsed rules.
        options: schema, functions, timezone, RFM window.
        source: the rule text, for error rendering.
    """

    def __init__(self, rule_file: n.RuleFile, options: Options, source: str | None = None) -> None:
        self.rule_file = rule_file
        self.options = options
        self.source = strip_bom(source) if source is not None else None
        self.schema = options.schema or DEFAULT_SCHEMA
        self.functions = options.functions or Functions()
        self.errors: list[CheckError] = []
        self.warnings: list[Warning] = []
        self.segments: dict[str, n.SegmentDef] = {}
        self.periods: dict[str, n.PeriodDef] = {}
        self.defs: dict[str, n.FunctionDef] = {d.name: d for d in prelude().statements}
        self.checked_segments: dict[str, c.Checked] = {}
        self._checking: list[str] = []
        self._population_keys: dict[str, c.Population] = {}
        self._rfm_measures: dict[str, c.Checked] = {}
        self._cycles: set[frozenset[str]] = set()
        self._expansions: dict[tuple, c.Checked] = {}
        self._nesting = 0
        self._failed: dict[str, Exception] = {}
        self._near_misses: dict[tuple, list[str]] = {}
        self._calendars: dict[int, tuple[c.Checked, bool | None]] = {}
        self._refuse_shadowed_functions()
        self._collect_definitions()

    def _refuse_shadowed_functions(self) -> None:
        # A registered function named like a built-in would never be called.
        taken = (set(self.defs) | set(AGGREGATIONS) | set(ORDER_MACROS)
                 | set(POPULATION_FUNCTIONS) | {f.name for f in BUILTINS})
        for function in self.functions:
            if function.name in taken:
                raise UsageError(f"function {function.name!r} is already a built-in of segdsl: "
                                 f"register it under another name")

    # ----------------------------------------------------------- statements

    def _collect_definitions(self) -> None:
        seen: dict[str, n.Statement] = {}
        for statement in self.rule_file.statements:
            if statement.name in seen:
                first = seen[statement.name]
                self._report(CheckError(
                    f"'{statement.name}' is defined twice (first on line {first.span.line})",
                    statement.name_span, hint="rename one of them"))
                continue
            seen[statement.name] = statement
            if isinstance(statement, n.SegmentDef):
                self.segments[statement.name] = statement
            elif isinstance(statement, n.PeriodDef):
                self.periods[statement.name] = statement
            else:
                self.defs[statement.name] = statement
            declared = self.schema.root.fields or {}
            if statement.name in declared:
                self._report(CheckError(
                    f"'{statement.name}' is both a customer field and a {_kind(statement)}",
                    statement.name_span,
                    hint=f"rename the {_kind(statement)}: a name must mean one thing"))

    def check_file(self) -> dict[str, c.Checked]:
        """Check every statement; returns the checked segment bodies by name.

        Errors are collected in :attr:`errors` (all of them, not only the first).
        """
        with recursion_room():
            for statement in self.rule_file.statements:
                if isinstance(statement, n.SegmentDef):
                    # The segments it refers to first, so that a chain of a
                    # thousand segments is checked in a loop, not a recursion.
                    for name in self._dependencies_first(statement.name):
                        self._guard(lambda name=name: self.segment(name))
                elif isinstance(statement, n.FunctionDef):
                    self._guard(lambda s=statement: self._check_def_alone(s))
        return dict(self.checked_segments)

    def _dependencies_first(self, name: str) -> list[str]:
        """``name`` and the segments its rule refers to (through defs too), not
        yet checked, each after those it refers to."""
        order: list[str] = []
        placed: set[str] = set(self.checked_segments) | set(self._failed)
        entered: set[str] = set()
        stack = [(name, False)]
        while stack:
            current, ready = stack.pop()
            if current in placed:
                continue
            if ready:
                placed.add(current)
                order.append(current)
                continue
            entered.add(current)
            stack.append((current, True))
            for found in self._referred_segments(current):
                if found in entered and found not in placed:
                    return [name]  # a cycle: checking from the top reports it where it starts
                stack.append((found, False))
        return order

    def _referred_segments(self, name: str) -> list[str]:
        """The segments named in segment ``name``'s rule or in the defs it calls."""
        found: list[str] = []
        pending: list[n.Node] = [self.segments[name].body]
        defs_seen: set[str] = set()
        while pending:
            node = pending.pop()
            called = node.name if isinstance(node, n.Call) else (
                node.path[0] if isinstance(node, n.Reference) else None)
            if called in self.segments and isinstance(node, n.Reference):
                found.append(called)
            elif called in self.defs and called not in defs_seen:
                defs_seen.add(called)
                pending.append(self.defs[called].body)
            pending.extend(n.children(node))
        return found

    def segment(self, name: str) -> c.Checked:
        """The checked body of segment ``name`` (checked once, cycles refused)."""
        if name not in self.checked_segments and not self._checking:
            # The segments it refers to first, in a loop: their errors come
            # back when this segment's rule meets them.
            for found in self._dependencies_first(name)[:-1]:
                try:
                    self._segment(found)
                except (CheckError, _AlreadyReported):
                    pass
        return self._segment(name)

    def _segment(self, name: str) -> c.Checked:
        if name in self.checked_segments:
            return self.checked_segments[name]
        definition = self.segments[name]
        if name in self._checking:
            cycle = self._checking[self._checking.index(name):] + [name]
            if frozenset(cycle) in self._cycles:
                raise _AlreadyReported()
            self._cycles.add(frozenset(cycle))
            raise CheckError(f"segments refer to each other in a cycle: {' -> '.join(cycle)}",
                             definition.name_span,
                             hint="a segment cannot depend on itself, directly or not")
        if name in self._failed:  # its error again, without checking it again
            raise self._failed[name]
        self._checking.append(name)
        try:
            mark = len(self.warnings)
            with recursion_room():
                body = self.condition(definition.body, _Env(), "a segment's rule")
            self._warn_null_negations(definition.body, body, mark)
            self._warn_never_true(body)
        except (CheckError, _AlreadyReported) as error:
            self._failed[name] = error
            raise
        finally:
            self._checking.pop()
        self.checked_segments[name] = body
        return body

    def expression(self, expression: n.Expression) -> c.Checked:
        """Check a standalone rule (as given to ``segdsl.compile``)."""
        mark = len(self.warnings)
        with recursion_room():
            body = self.condition(expression, _Env(), "a rule")
        self._warn_null_negations(expression, body, mark)
        self._warn_never_true(body)
        return body

    def _check_def_alone(self, definition: n.FunctionDef) -> None:
        # A def is checked where it is called; one never called still gets its
        # names checked, with its parameters typed `any`.
        params = {p.name: c.Constant(None, t.ANY, True, syntax=p) for p in definition.params}
        self.check(definition.body, _Env(params=params, expanding=(definition.name,)))

    def _guard(self, action) -> None:
        try:
            action()
        except CheckError as error:
            self._report(error)
        except _AlreadyReported:
            pass

    def _report(self, error: CheckError) -> None:
        if error.source is None and error.span is not None and error.span.file == "<prelude>":
            error.source = _prelude_source()
        elif error.source is None:
            error.source = self.source
        if not any(e.span == error.span and e.message == error.message for e in self.errors):
            self.errors.append(error)

    def _warn(self, message: str, span: n.Span | None, hint: str | None = None) -> None:
        warning = Warning(message, span, hint, self.source)
        if warning not in self.warnings:  # a def's body is checked at each call
            self.warnings.append(warning)

    # ---------------------------------------------------------- expressions

    def condition(self, node: n.Node, env: _Env, what: str) -> c.Checked:
        """Check ``node`` and require a boolean (``what`` names its role)."""
        checked = self.check(node, env)
        if not t.fits(checked.type, t.BOOL):
            raise CheckError(f"{what} must be a condition (true or false), but this is a "
                             f"{checked.type}", node.span, hint=_condition_hint(checked.type))
        return checked

    def check(self, node: n.Node, env: _Env) -> c.Checked:
        """The checked form of expression ``node`` in ``env``."""
        method = getattr(self, "_" + type(node).__name__.lower(), None)
        if method is None:
            raise CheckError(f"{type(node).__name__} is not an expression", node.span)
        if self._nesting >= MAX_NESTING:
            raise CheckError(f"the rule nests too deeply once its defs are expanded (more than "
                             f"{MAX_NESTING:,} levels)", env.call_site or node.span,
                             hint="fewer defs calling defs, or split the rule into segments")
        self._nesting += 1
        try:
            return method(node, env)
        finally:
            self._nesting -= 1

    # literals

    def _number(self, node: n.Number, env: _Env) -> c.Checked:
        return c.Constant(node.value, t.NUMBER, syntax=node)

    def _string(self, node: n.String, env: _Env) -> c.Checked:
        return c.Constant(node.value, t.STRING, syntax=node)

    def _boolean(self, node: n.Boolean, env: _Env) -> c.Checked:
        return c.Constant(node.value, t.BOOL, syntax=node)

    def _null(self, node: n.Null, env: _Env) -> c.Checked:
        return c.Constant(None, t.NULL, True, syntax=node)

    def _date(self, node: n.Date, env: _Env) -> c.Checked:
        return c.Constant(node.value, t.DATE, syntax=node)

    def _datetime(self, node: n.DateTime, env: _Env) -> c.Checked:
        value = node.value
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.options.timezone)
        return c.Constant(value, t.DATETIME, syntax=node)

    def _duration(self, node: n.Duration, env: _Env) -> c.Checked:
        return c.Constant(Duration(node.amount, node.unit.value), t.DURATION, syntax=node)

    def _daterange(self, node: n.DateRange, env: _Env) -> c.Checked:
        return c.Constant(Period(node.start, node.end), t.PERIOD, syntax=node)

    def _listliteral(self, node: n.ListLiteral, env: _Env) -> c.Checked:
        items = tuple(self.check(item, env) for item in node.items)
        type_ = t.list_of(t.unify([item.type for item in items]) if items else t.ANY)
        if all(isinstance(item, c.Constant) for item in items):
            return c.Constant(tuple(item.value for item in items), type_, syntax=node)
        return c.ListOf(items, type_, syntax=node)

    def _now(self, node: n.Now, env: _Env) -> c.Checked:
        return c.Now(t.DATETIME, syntax=node)

    def _today(self, node: n.Today, env: _Env) -> c.Checked:
        return c.Today(t.DATE, syntax=node)

    def _prechecked(self, node: Prechecked, env: _Env) -> c.Checked:
        return node.value

    # names

    def _reference(self, node: n.Reference, env: _Env) -> c.Checked:
        name, rest = node.path[0], node.path[1:]
        bound = env.aliases.get(name)
        if bound is not None:  # `e` of `events as e` hides every other meaning of `e`
            return self._bound_element(node, name, bound, env)
        for scope in reversed(env.scopes):
            if scope.type.fields and name in scope.type.fields:
                return self._field_path(node, scope.depth, scope.type, env)
        if name in env.params:
            if rest:
                raise CheckError(f"'{name}' is a parameter and has no field '{rest[0]}'", node.span)
            return env.params[name]
        if name in self.segments:
            return self._segment_ref(node, rest)
        if name in self.periods:
            self._no_fields(node, "period")
            period = self.periods[name].range
            return c.Constant(Period(period.start, period.end), t.PERIOD, syntax=node)
        if env.expanding and name in (DEFAULT_SCHEMA.root.fields or {}) \
                and self.schema.root.field(name) is None \
                and self.defs[env.expanding[-1]].span.file == "<prelude>":
            raise CheckError(f"the schema has no field '{name}'", node.span,
                             hint=f"the prelude reads the customer's '{name}' list: declare it in "
                                  f"the schema")
        if name in self.defs and (name not in self._declared_fields() or
                                  self.defs[name].span.file != "<prelude>"):
            return self._zero_argument_def(node)
        if name == "rfm" and "rfm" not in self._declared_fields():
            return self._rfm(node, env)
        if self._declared_by_customer(name):
            # A field the customer's schema declares beats a name an open
            # element merely accepts: `orders` inside a `where` over events.
            return self._field_path(node, 0, self.schema.root, env)
        for scope in reversed(env.scopes):
            if scope.type.field(name) is not None:
                self._refuse_near_miss(node, env)
                self._warn_lookalike(node, "the element")
                return self._field_path(node, scope.depth, scope.type, env)
        if self.schema.root.field(name) is not None:
            if name not in self._declared_fields():
                self._refuse_near_miss(node, env)
                self._warn_lookalike(node, "the customer")
            return self._field_path(node, 0, self.schema.root, env)
        raise self._unknown_name(node, env)

    def _declared_by_customer(self, name: str) -> bool:
        """Whether the customer's schema declares ``name``; without a schema,
        only the default schema's lists (orders, events) count: an element's
        own ``id`` is not the customer's."""
        found = self._declared_fields().get(name)
        return found is not None and (self.options.schema is not None or found.is_list)

    def _bound_element(self, node: n.Reference, name: str, bound: _Bound,
                       env: _Env) -> c.Checked:
        """``e`` (the element itself) or ``e.field`` for a name bound by ``as``."""
        rest = node.path[1:]
        if not rest:
            return c.Field((), bound.depth, bound.type, True, syntax=node)
        if not bound.type.is_record and not t.is_unknown(bound.type):
            raise CheckError(f"'{name}' is a {bound.type} (an element of {bound.listed}) and has "
                             f"no field '{rest[0]}'", node.span,
                             hint=f"compare the element itself: {name} == ...")
        if bound.type.field(rest[0]) is None:
            raise CheckError(f"unknown field '{rest[0]}' of {name} (an element of {bound.listed})",
                             node.span, hint=_did_you_mean(rest[0], list(bound.type.fields or {})))
        inner = self._field_path(n.Reference(rest, span=node.span), bound.depth, bound.type, env)
        return attrs.evolve(inner, syntax=node)

    def _warn_lookalike(self, node: n.Reference, owner: str) -> None:
        # `True`, `NULL`, `Now` or `Today` read as undeclared fields, which are
        # null in every customer: almost surely meant as the literal.
        name = node.path[0]
        lower = name.lower()
        if lower in RESERVED_WORDS and len(node.path) == 1:
            what = "literal" if lower in ("true", "false", "null", "now", "today") else "keyword"
            self._warn(f"'{name}' is read as a field of {owner}, not the {what} '{lower}': "
                       f"names and keywords are case-sensitive", node.span,
                       hint=f"write {lower}")

    def _refuse_near_miss(self, node: n.Reference, env: _Env) -> None:
        # An undeclared name, accepted only because the record is open, that is
        # one typo away from a known name is far likelier that typo than a new
        # field: `vip_buyrs` for the segment `vip_buyers`, `totl` in a `where`.
        name = node.path[0]
        if name in self._all_functions():
            raise CheckError(f"'{name}' is a function: call it with parentheses", node.span,
                             hint=f"{name}(...) (a field really named '{name}' must be declared "
                                  f"in a schema)")
        scoped = tuple(tuple(scope.type.fields or {}) for scope in env.scopes)
        key = (name, tuple(env.params), scoped)
        if key not in self._near_misses:  # a field read in a thousand segments: looked up once
            known = (list(env.params) + list(self.segments) + list(self.periods)
                     + list(self.defs) + list(self._declared_fields()))
            for fields in scoped:
                known += list(fields)
            self._near_misses[key] = difflib.get_close_matches(
                name, sorted(set(known) - {name}), n=1, cutoff=0.85)
        close = self._near_misses[key]
        if close:
            raise CheckError(f"unknown name '{name}'", node.span,
                             hint=f"did you mean '{close[0]}'? (a field really named '{name}' "
                                  f"must be declared in a schema)")

    def _declared_fields(self) -> dict[str, t.Type]:
        return self.schema.root.fields or {}

    def _no_fields(self, node: n.Reference, kind: str) -> None:
        if len(node.path) > 1:
            raise CheckError(f"'{node.path[0]}' is a {kind} and has no field '{node.path[1]}'",
                             node.span)

    def _segment_ref(self, node: n.Reference, rest: tuple[str, ...]) -> c.Checked:
        self._no_fields(node, "segment")
        self.segment(node.path[0])
        return c.SegmentRef(node.path[0], t.BOOL, False, syntax=node)

    def _zero_argument_def(self, node: n.Reference) -> c.Checked:
        definition = self.defs[node.path[0]]
        self._no_fields(node, "function")
        if definition.params:
            names = ", ".join(p.name for p in definition.params)
            raise CheckError(f"'{definition.name}' is a function: call it with its arguments "
                             f"({names})", node.span, hint=f"{definition.name}({names})")
        return self._expand(definition, n.Call(definition.name, span=node.span), _Env(), node)

    def _field_path(self, node: n.Reference, depth: int, record: t.Type, env: _Env) -> c.Checked:
        type_ = record
        for index, part in enumerate(node.path):
            owner = ".".join(node.path[:index]) or ("the element" if depth else "the customer")
            if type_.is_list:
                raise CheckError(
                    f"'{'.'.join(node.path[:index])}' is a list: use an aggregation to reach its "
                    f"'{part}'", node.span, hint=_list_hint(node.path[:index], part, type_))
            found = type_.field(part)
            if found is None:
                raise self._unknown_field(node, index, type_, owner, depth)
            type_ = found
        nullable = True
        return c.Field(node.path, depth, type_, nullable, syntax=node)

    def _unknown_field(self, node, index, record: t.Type, owner: str, depth: int) -> CheckError:
        part = node.path[index]
        if not record.is_record:
            return CheckError(f"'{owner}' is a {record} and has no field '{part}'", node.span)
        candidates = list(record.fields or {})
        if index == 0 and depth == 0:
            candidates += list(self.segments) + list(self.periods) + self._zero_argument_names()
        return CheckError(f"unknown field '{part}' of {owner}", node.span,
                          hint=_did_you_mean(part, candidates))

    def _zero_argument_names(self) -> list[str]:
        return [name for name, d in self.defs.items() if not d.params]

    def _unknown_name(self, node: n.Reference, env: _Env) -> CheckError:
        name = node.path[0]
        candidates = (list(env.params) + list(self.segments) + list(self.periods)
                      + self._zero_argument_names() + list(self._declared_fields()))
        for scope in env.scopes:
            candidates += list(scope.type.fields or {})
        if name in self.defs or name in AGGREGATIONS or name in self._all_functions():
            return CheckError(f"'{name}' is a function: call it with parentheses", node.span,
                              hint=f"{name}(...)")
        hint = _did_you_mean(name, candidates)
        if name.lower() in _CLOCK_WORDS:
            hint = "did you mean today (the day, a date) or now (the evaluation time)?"
        elif hint is None and len(node.path) == 1 and name.isupper():
            hint = f'did you mean the text "{name}"? (text is written in quotes)'
        return CheckError(f"unknown name '{name}'", node.span, hint=hint)

    # operators

    def _not(self, node: n.Not, env: _Env) -> c.Checked:
        operand = self.condition(node.operand, env, "what follows 'not'")
        return c.Not(operand, t.BOOL, operand.nullable, syntax=node)

    def _and(self, node: n.And, env: _Env) -> c.Checked:
        operands = tuple(self.condition(o, env, "each side of 'and'") for o in node.operands)
        return c.And(operands, t.BOOL, any(o.nullable for o in operands), syntax=node)

    def _or(self, node: n.Or, env: _Env) -> c.Checked:
        operands = tuple(self.condition(o, env, "each side of 'or'") for o in node.operands)
        return c.Or(operands, t.BOOL, any(o.nullable for o in operands), syntax=node)

    def _isnull(self, node: n.IsNull, env: _Env) -> c.Checked:
        operand = self.check(node.operand, env)
        return c.IsNull(operand, node.negated, t.BOOL, syntax=node)

    def _negate(self, node: n.Negate, env: _Env) -> c.Checked:
        operand = self.check(node.operand, env)
        if not (t.fits(operand.type, t.NUMBER) or operand.type == t.DURATION):
            raise CheckError(f"cannot negate a {operand.type}", node.span)
        if isinstance(operand, c.Constant) and isinstance(operand.value, (int, float)):
            return c.Constant(-operand.value, t.NUMBER, syntax=node)
        if isinstance(operand, c.Constant) and isinstance(operand.value, Duration):
            value = operand.value
            return c.Constant(Duration(-value.amount, value.unit), t.DURATION, syntax=node)
        return c.Negate(operand, operand.type, operand.nullable, syntax=node)

    def _arithmetic(self, node: n.Arithmetic, env: _Env) -> c.Checked:
        left, right = self.check(node.left, env), self.check(node.right, env)
        result = _arithmetic_type(node.op, left.type, right.type)
        if result is None:
            raise CheckError(f"cannot apply '{node.op.value}' to {_a(left.type)} and "
                             f"{_a(right.type)}", node.span,
                             hint=_arithmetic_hint(node.op, left.type, right.type))
        if t.DURATION in (left.type, right.type):
            self._refuse_calendar_arithmetic(node, left, right, result)
        if result == t.DATE and any(side.type == t.DURATION and isinstance(side, c.Constant)
                                    and isinstance(side.value, Duration)
                                    and side.value.unit == "h" for side in (left, right)):
            raise CheckError("a date has no hours: add hours to a datetime instead", node.span)
        checked = c.Binary(c.Operator(node.op.value), left, right, result,
                           left.nullable or right.nullable or node.op.value in "/%", syntax=node)
        if result in (t.DURATION, t.NUMBER) and t.DURATION in (left.type, right.type):
            checked = self._fold_durations(checked)
            self._calendars[id(checked)] = (checked, self._calendar(checked))
        return checked

    def _calendar(self, node: c.Checked) -> bool | None:
        """Whether duration ``node`` is calendar (months, years), fixed, or None
        when only the run time tells (a value of a function or of the data)."""
        known = self._calendars.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        if isinstance(node, c.Constant):
            return node.value.is_calendar if isinstance(node.value, Duration) else None
        if isinstance(node, c.Negate):
            return self._calendar(node.operand)
        if not isinstance(node, c.Binary) or node.type != t.DURATION:
            return None
        if node.op in (c.Operator.MULTIPLY, c.Operator.DIVIDE):
            return self._calendar(node.left if node.left.type == t.DURATION else node.right)
        if node.left.type != t.DURATION or node.right.type != t.DURATION:
            return False  # a moment minus a moment: an exact length
        sides = (self._calendar(node.left), self._calendar(node.right))
        return True if True in sides else (False if sides == (False, False) else None)

    def _refuse_calendar_arithmetic(self, node: n.Arithmetic, left: c.Checked, right: c.Checked,
                                    result: t.Type) -> None:
        """Months and years have no fixed length: multiplied by whole numbers
        only, never divided or divided by, never mixed with fixed durations."""
        op = node.op
        if op is n.ArithmeticOp.MULTIPLY:
            duration, factor = (left, right) if left.type == t.DURATION else (right, left)
            if self._calendar(duration) and isinstance(factor, c.Constant) \
                    and isinstance(factor.value, (int, float)) \
                    and not float(factor.value).is_integer():
                shown = self._text(duration, "this duration")
                raise CheckError(f"months and years have no fixed length, so {shown} can be "
                                 f"multiplied only by a whole number, not "
                                 f"{self._text(factor, f'{factor.value:g}')}",
                                 _span_of(factor, node), hint="for a fraction, use days: 90d * 1.5")
        elif op is n.ArithmeticOp.DIVIDE:
            if left.type == t.DURATION and self._calendar(left):
                raise CheckError(f"months and years have no fixed length, so "
                                 f"{self._text(left, 'this duration')} cannot be divided",
                                 _span_of(left, node), hint="divide days instead: 90d / 3")
            if right.type == t.DURATION and self._calendar(right):
                raise CheckError(f"months and years have no fixed length, so nothing can be "
                                 f"divided by {self._text(right, 'this duration')}",
                                 _span_of(right, node),
                                 hint="divide by days instead: (now - signed_up_at) / 1d")
        elif result == t.DURATION and left.type == t.DURATION and right.type == t.DURATION:
            sides = (self._calendar(left), self._calendar(right))
            if None not in sides and sides[0] != sides[1]:
                first, second = (self._operand_text(side, default) for side, default in
                                 ((left, "a duration"), (right, "another")))
                then = "-" if op is n.ArithmeticOp.ADD else "+"
                raise CheckError(f"months and years have no fixed length, so "
                                 f"{self._text_of(node, 'this')} is not a duration", node.span,
                                 hint=f"subtract each from a date instead: now - {first} {then} "
                                      f"{second}")

    def _fold_durations(self, node: c.Binary) -> c.Checked:
        """Constant duration arithmetic as one constant, where the result is
        exact in the units of durations (``30d * 2`` is ``60d``); other
        constant results (``1d / 7``) are computed at each evaluation."""
        left, right = node.left, node.right
        if not (isinstance(left, c.Constant) and isinstance(right, c.Constant)):
            return node
        if left.value is None or right.value is None:
            return node
        try:
            value = duration_arithmetic(node.op.value, _step_of(left.value),
                                        _step_of(right.value))
        except OverflowError:
            raise CheckError(f"{self._text_of(node.syntax, 'this')} is too long a duration",
                             node.syntax.span if node.syntax is not None else None) from None
        except (TypeError, ValueError):
            return node
        if value is None or isinstance(value, (int, float)):
            return c.Constant(value, node.type, value is None, syntax=node.syntax)
        units = [side.value.unit for side in (left, right) if isinstance(side.value, Duration)]
        found = as_duration(value, units[0])
        if found is None:
            return node
        return c.Constant(found, t.DURATION, syntax=node.syntax)

    def _comparison(self, node: n.Comparison, env: _Env) -> c.Checked:
        left, right = self.check(node.left, env), self.check(node.right, env)
        op = node.op
        if op in (n.CompareOp.CONTAINS, n.CompareOp.STARTS_WITH, n.CompareOp.ENDS_WITH,
                  n.CompareOp.MATCHES):
            return self._text_comparison(node, left, right)
        if not t.comparable(left.type, right.type):
            raise CheckError(f"cannot compare a {left.type} with a {right.type}", node.span,
                             hint=_comparison_hint(left.type, right.type))
        if op not in (n.CompareOp.EQ, n.CompareOp.NE) and (left.type == t.BOOL
                                                            or right.type == t.BOOL):
            raise CheckError(f"'{op.value}' does not order true and false", node.span,
                             hint="compare booleans with == or !=")
        self._refuse_calendar_comparison(node, left, right)
        if op in (n.CompareOp.EQ, n.CompareOp.NE):
            self._refuse_unknown_value(left, right, node.right)
            self._refuse_unknown_value(right, left, node.left)
        left, right = _align_days(left, right)
        return c.Binary(c.Operator(op.value), left, right, t.BOOL,
                        left.nullable or right.nullable, syntax=node)

    def _refuse_unknown_value(self, subject: c.Checked, other: c.Checked,
                              written: n.Node) -> None:
        """Refuse a string literal that ``subject`` can never hold: an RFM group
        or a value the schema does not allow (``type == "vist"``)."""
        allowed = _allowed_values(subject)
        if allowed is None:
            return
        values, what = allowed
        literals = [(other, written)]
        if isinstance(other, c.Constant) and isinstance(other.value, tuple):
            items = written.items if isinstance(written, n.ListLiteral) else ()
            literals = [(c.Constant(v, t.STRING), item) for v, item in zip(other.value, items)]
        elif isinstance(other, c.ListOf):
            literals = [(item, item.syntax) for item in other.items]
        for literal, syntax in literals:
            if isinstance(literal, c.Constant) and isinstance(literal.value, str) \
                    and literal.value not in values:
                span = literal.syntax.span if literal.syntax is not None else (
                    syntax.span if syntax is not None else None)
                raise CheckError(f"'{literal.value}' is never a value of {what}", span,
                                 hint=_value_hint(literal.value, values, what))

    def _refuse_calendar_comparison(self, node, left: c.Checked, right: c.Checked) -> None:
        for side in (left, right):
            if side.type == t.DURATION and self._calendar(side):
                shown = self._text(side, str(side.value) if isinstance(side, c.Constant)
                                   else "a duration of months or years")
                raise CheckError(
                    f"months and years have no fixed length, so {shown} cannot be compared "
                    f"with another duration", side.syntax.span if side.syntax else node.span,
                    hint="compare dates instead: last_order_at < now - 3m, or use days: 90d")

    def _text_comparison(self, node: n.Comparison, left: c.Checked, right: c.Checked):
        op = node.op
        if op is n.CompareOp.CONTAINS and left.type.is_list:
            if not t.comparable(left.type.element, right.type):
                raise CheckError(f"a {left.type} cannot contain a {right.type}", node.span)
            right, left = self._align_membership_days(right, left)
        elif not (t.fits(left.type, t.STRING) and t.fits(right.type, t.STRING)):
            wrong = left if not t.fits(left.type, t.STRING) else right
            raise CheckError(f"'{op.value}' works on strings, but this is a {wrong.type}",
                             wrong.syntax.span if wrong.syntax else node.span,
                             hint="contains also finds an item in a list: tags contains \"vip\""
                             if op is n.CompareOp.CONTAINS else None)
        pattern = None
        if op is n.CompareOp.MATCHES:
            pattern = self._regex(node, right)
        return c.Binary(c.Operator(op.value), left, right, t.BOOL,
                        left.nullable or right.nullable, pattern=pattern, syntax=node)

    def _regex(self, node: n.Comparison, right: c.Checked) -> Regex:
        if not isinstance(right, c.Constant) or not isinstance(right.value, str):
            raise CheckError("'matches' needs a regular expression written as a string",
                             node.right.span, hint='email matches "@shop\\\\.(fr|be)$"')
        try:
            return Regex(right.value)
        except RegexError as error:
            raise CheckError(f"invalid regular expression: {error.reason}", node.right.span,
                             hint=error.hint) from None

    def _membership(self, node: n.Membership, env: _Env) -> c.Checked:
        element, container = self.check(node.element, env), self.check(node.container, env)
        keyword = "not in" if node.negated else "in"
        if container.type == t.STRING:
            if not t.fits(element.type, t.STRING):
                raise CheckError(f"cannot look for a {element.type} in a string", node.span)
        elif container.type.is_list:
            if not t.comparable(element.type, container.type.element):
                raise CheckError(f"a {element.type} is never in a {container.type}", node.span,
                                 hint=_comparison_hint(element.type, container.type.element))
        elif not t.is_unknown(container.type):
            raise CheckError(f"'{keyword}' needs a list on its right, but this is a "
                             f"{container.type}", node.container.span,
                             hint=f'country {keyword} ["FR", "BE"]')
        if container.type.is_list:
            self._refuse_unknown_value(element, container, node.container)
            element, container = self._align_membership_days(element, container)
        self._warn_parenthesised_string(node, keyword)
        return c.Membership(element, container, node.negated, t.BOOL,
                            element.nullable or container.nullable, syntax=node)

    def _align_membership_days(self, element: c.Checked, container: c.Checked
                               ) -> tuple[c.Checked, c.Checked]:
        """A datetime looked for among dates (or a date among datetimes) is
        looked for by its calendar day, as comparisons do."""
        items = container.type.element
        if element.type == t.DATETIME and items == t.DATE:
            return c.ToDate(element, t.DATE, element.nullable, syntax=element.syntax), container
        if element.type != t.DATE or items != t.DATETIME:
            return element, container
        days = t.list_of(t.DATE)
        if isinstance(container, c.Constant):
            zone = self.options.timezone
            values = tuple(None if v is None else read_date(v, zone) for v in container.value)
            return element, c.Constant(values, days, syntax=container.syntax)
        if isinstance(container, c.ListOf):
            return element, c.ListOf(tuple(
                c.ToDate(item, t.DATE, item.nullable, syntax=item.syntax) if item.type == t.DATETIME
                else item for item in container.items), days, syntax=container.syntax)
        return element, container

    def _warn_parenthesised_string(self, node: n.Membership, keyword: str) -> None:
        # `country in ("FR")`: parentheses make no list, so this is a substring
        # test, true for "F" and "R" too.
        container = node.container
        if not (isinstance(container, n.String) and container.span is not None
                and node.span is not None and container.span.end < node.span.end):
            return
        element = self._text_of(node.element, "x")
        literal = self._text_of(container, '"..."')
        self._warn(f"'{keyword} ({literal})' tests whether {element} is part of the text "
                   f"{literal}: parentheses make no list", node.span,
                   hint=f"for a list, write {element} {keyword} [{literal}]")

    def _text_of(self, node: n.Node, default: str) -> str:
        """The rule text of syntax ``node``, or ``default``."""
        span = node.span
        if span is None or span.file == "<prelude>" or self.source is None:
            return default
        return self.source[span.start:span.end]

    def _between(self, node: n.Between, env: _Env) -> c.Checked:
        operand = self.check(node.operand, env)
        low, high = self.check(node.low, env), self.check(node.high, env)
        for bound in (low, high):
            if not t.comparable(operand.type, bound.type):
                raise CheckError(f"cannot compare a {operand.type} with a {bound.type}",
                                 bound.syntax.span if bound.syntax else node.span,
                                 hint=_comparison_hint(operand.type, bound.type))
            self._refuse_calendar_comparison(node, operand, bound)
        bounds = {low.type, high.type}
        if bounds == {t.DATE, t.DATETIME} or (operand.type == t.DATE and t.DATETIME in bounds) \
                or (operand.type == t.DATETIME and t.DATE in bounds and bounds != {t.DATE}):
            # Dates and datetimes mixed (or a date and an untyped bound): each
            # bound is compared on its own, a datetime meeting a date by its day.
            both = n.And((n.Comparison(n.CompareOp.LE, node.low, node.operand, span=node.span),
                          n.Comparison(n.CompareOp.LE, node.operand, node.high, span=node.span)))
            return attrs.evolve(self._and(both, env), syntax=node)
        if t.DATE in bounds and operand.type == t.DATETIME:
            operand = c.ToDate(operand, t.DATE, operand.nullable, syntax=operand.syntax)
        nullable = operand.nullable or low.nullable or high.nullable
        return c.Between(operand, low, high, t.BOOL, nullable, syntax=node)

    # calls

    def _call(self, node: n.Call, env: _Env) -> c.Checked:
        name = node.name
        self._refuse_misplaced_alias(node)
        if name in env.params:
            raise CheckError(f"'{name}' is a parameter, not a function", node.span)
        if name in self.defs:
            return self._expand(self.defs[name], node, env)
        if name in AGGREGATIONS:
            return self._aggregate(node, env)
        if name in ORDER_MACROS:
            return self._order_macro(node, env)
        if name in POPULATION_FUNCTIONS:
            return self._population_function(node, env)
        function = self.functions.get(name) or BUILTINS.get(name)
        if function is not None and name in _CASE_FUNCTIONS and function is BUILTINS.get(name):
            return self._case_function(self._apply(function, node, env))
        if function is not None and name == "distance_km" and function is BUILTINS.get(name):
            return self._refuse_constant_places(self._apply(function, node, env))
        if function is not None:
            return self._apply(function, node, env)
        if name in self.segments or name in self.periods:
            raise CheckError(f"'{name}' is a {'segment' if name in self.segments else 'period'}, "
                             f"not a function: write it without parentheses", node.span)
        raise CheckError(f"unknown function '{name}'", node.span,
                         hint=_did_you_mean(name, self._all_functions()))

    def _refuse_constant_places(self, applied: c.Checked) -> c.Checked:
        """A latitude or longitude written out of range is a mistake in the rule."""
        for index, arg in enumerate(getattr(applied, "args", ())):
            limit, what = (90, "latitude") if index % 2 == 0 else (180, "longitude")
            value = arg.value if isinstance(arg, c.Constant) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and not -limit <= value <= limit:
                raise CheckError(f"a {what} is from -{limit} to {limit} degrees, not "
                                 f"{self._text(arg, repr(value))}",
                                 arg.syntax.span if arg.syntax else None,
                                 hint="distance_km(lat, lng, 48.8566, 2.3522): latitude first")
        return applied

    def _case_function(self, applied: c.Checked) -> c.Checked:
        """``lower``/``upper`` of a list of texts is the list of each converted."""
        if not isinstance(applied, c.Apply) or not applied.args:
            return applied
        given = applied.args[0].type
        if given.is_list and not t.fits(given.element, t.STRING):
            raise CheckError(f"'{applied.name}' changes the case of text, but this is a {given}",
                             applied.args[0].syntax.span if applied.args[0].syntax else None,
                             hint=f"{applied.name}(tags) contains \"vip\"")
        if given.is_list:
            return attrs.evolve(applied, type=t.list_of(t.STRING))
        if t.is_unknown(given):  # text or a list of texts: known when the data is read
            return attrs.evolve(applied, type=t.ANY)
        return applied

    def _refuse_misplaced_alias(self, node: n.Call) -> None:
        """``as`` names the elements of an aggregation's list, its first argument only."""
        for position, argument in enumerate(node.args):
            if not isinstance(argument, n.Alias):
                continue
            if node.name in AGGREGATIONS and position == 0:
                continue
            raise _misplaced_alias(argument, node.name if node.name in AGGREGATIONS else None)

    def _alias(self, node: n.Alias, env: _Env) -> c.Checked:
        raise _misplaced_alias(node, None)

    def _all_functions(self) -> list[str]:
        return (list(self.defs) + list(AGGREGATIONS) + list(ORDER_MACROS)
                + list(POPULATION_FUNCTIONS) + [f.name for f in BUILTINS]
                + [f.name for f in self.functions])

    def _expand(self, definition: n.FunctionDef, call: n.Call, env: _Env,
                written: n.Node | None = None) -> c.Checked:
        """Inline a ``def``: check its body with the arguments bound. The
        result shows as the call was ``written``."""
        if definition.name in env.expanding:
            chain = " -> ".join(env.expanding[env.expanding.index(definition.name):]
                                + (definition.name,))
            raise CheckError(f"'{definition.name}' calls itself ({chain}); defs cannot be "
                             f"recursive", call.span)
        bound = self._bind_def_arguments(definition, call, env)
        # Calls with equal arguments share one checked body, so a def calling
        # another twice, level after level, makes a DAG, not a tree that
        # doubles at each level.
        key = (definition.name, env.depth, tuple((name, _argument_key(value))
                                                 for name, value in bound.items()))
        body = self._expansions.get(key)
        if body is not None:
            return attrs.evolve(body, syntax=written or call)
        inner = _Env(scopes=(), depth=env.depth, params=bound,
                     expanding=env.expanding + (definition.name,),
                     call_site=env.call_site or call.span)
        try:
            body = self.check(definition.body, inner)
            self._expansions[key] = body
            return attrs.evolve(body, syntax=written or call)
        except CheckError as error:
            in_prelude = error.span is None or error.span.file == "<prelude>"
            if definition.span and definition.span.file == "<prelude>" and in_prelude:
                raise CheckError(f"{error.message} (in the prelude's {definition.name})",
                                 call.span, hint=error.hint) from None
            if error.hint is None and call.span is not None:
                error.hint = f"in '{definition.name}', called on line {call.span.line}"
            raise

    def _bind_def_arguments(self, definition: n.FunctionDef, call: n.Call,
                            env: _Env) -> dict[str, c.Checked]:
        names = [p.name for p in definition.params]
        if len(call.args) > len(names):
            raise CheckError(f"'{definition.name}' takes {_count(len(names), 'argument')} but "
                             f"{_given(len(call.args))}", call.span,
                             hint=f"{definition.name}({', '.join(names)})")
        bound = {name: self.check(arg, env) for name, arg in zip(names, call.args)}
        for keyword in call.keywords:
            if keyword.name not in names:
                raise CheckError(f"'{definition.name}' has no parameter '{keyword.name}'",
                                 keyword.span, hint=_did_you_mean(keyword.name, names))
            if keyword.name in bound:
                raise CheckError(f"'{keyword.name}' is given twice", keyword.span)
            bound[keyword.name] = self.check(keyword.value, env)
        missing = [name for name in names if name not in bound]
        if missing:
            raise CheckError(f"'{definition.name}' is missing {_count(len(missing), 'argument')}: "
                             f"{', '.join(missing)}", call.span,
                             hint=f"{definition.name}({', '.join(names)})")
        if definition.span and definition.span.file == "<prelude>":
            self._check_prelude_arguments(definition, call, bound)
        return bound

    def _check_prelude_arguments(self, definition, call, bound) -> None:
        for position, param in enumerate(definition.params):
            accepts = _PRELUDE_PARAMS.get(param.name)
            value = bound[param.name]
            if accepts and not any(t.fits(value.type, a) for a in accepts):
                raise CheckError(
                    f"'{param.name}' of {definition.name} must be a "
                    f"{' or a '.join(str(a) for a in accepts)}, not a {value.type}",
                    value.syntax.span if value.syntax else call.span,
                    hint=f"{definition.name}(30d)" if param.name == "window" else None)

    def _apply(self, function: Function, node: n.Call, env: _Env) -> c.Checked:
        args = self._bind_function_arguments(function, node, env)
        result = function.returns
        nullable = True
        if function.name == "coalesce":
            result = t.unify([a.type for a in args])
            nullable = function is not BUILTINS.get("coalesce") or all(a.nullable for a in args)
        return c.Apply(function.name, function.implementation, tuple(args), function.null_safe,
                       result, nullable, syntax=node)

    def _bind_function_arguments(self, function: Function, node: n.Call,
                                 env: _Env) -> list[c.Checked]:
        params = function.params
        calendar = function.name in CALENDAR_FUNCTIONS and BUILTINS.get(function.name) is function
        if len(node.args) > len(params):
            raise CheckError(f"'{function.name}' takes {_count(len(params), 'argument')} but "
                             f"{_given(len(node.args))}", node.span, hint=function.signature)
        values: dict[str, c.Checked] = {}
        for param, arg in zip(params, node.args):
            values[param.name] = self.check(arg, env)
        by_name = {p.name: p for p in params}
        for keyword in node.keywords:
            if keyword.name not in by_name:
                raise CheckError(f"'{function.name}' has no parameter '{keyword.name}'",
                                 keyword.span, hint=_did_you_mean(keyword.name, by_name)
                                 or function.signature)
            if keyword.name in values:
                raise CheckError(f"'{keyword.name}' is given twice", keyword.span)
            values[keyword.name] = self.check(keyword.value, env)
        args = []
        for param in params:
            if param.name not in values:
                if param.required:
                    raise CheckError(f"'{function.name}' is missing its argument '{param.name}'",
                                     node.span, hint=function.signature)
                break
            value = values[param.name]
            if not any(t.fits(value.type, a) or (a.is_list and value.type.is_list)
                       for a in param.accepts):
                accepted = " or a ".join(str(a) for a in param.accepts)
                raise CheckError(f"'{param.name}' of {function.name} must be a {accepted}, not a "
                                 f"{value.type}", value.syntax.span if value.syntax else node.span,
                                 hint=function.signature)
            temporal = [a for a in param.accepts if a.name in ("date", "datetime")]
            if calendar:
                value = self._day_of(value)
            elif t.is_unknown(value.type) and temporal and len(temporal) == len(param.accepts):
                value = c.Coerce(value, temporal[0], value.nullable, syntax=value.syntax)
            elif value.type == t.DATE and param.accepts == (t.DATETIME,):
                # `days_between(signed_up_at, today)`: a date where only a
                # datetime is taken is its first instant, as dates in data are.
                value = c.Coerce(value, t.DATETIME, value.nullable, syntax=value.syntax)
            args.append(value)
        if calendar and function.name in NEEDS_TODAY:
            args.append(c.Today(t.DATE, syntax=node))
        return args

    def _day_of(self, value: c.Checked) -> c.Checked:
        """A calendar function's argument as a date: a datetime's day in the
        configured timezone, untyped values read as dates at run time."""
        if value.type in (t.DATE, t.NULL):
            return value
        if isinstance(value, c.Constant) and isinstance(value.value, dt.datetime):
            day = read_date(value.value, self.options.timezone)
            return c.Constant(day, t.DATE, syntax=value.syntax)
        return c.ToDate(value, t.DATE, value.nullable, syntax=value.syntax)

    # aggregations

    def _aggregate(self, node: n.Call, env: _Env) -> c.Checked:
        name = node.name
        written, alias = node, None
        if node.args and isinstance(node.args[0], n.Alias):
            alias = node.args[0]
            node = attrs.evolve(node, args=(alias.value, *node.args[1:]))
        if len(node.args) != 1:
            raise CheckError(f"'{name}' takes one list, as in {name}(orders"
                             f"{'.total' if name in ('sum', 'avg', 'min', 'max') else ''}, "
                             f"within = 30d)", node.span)
        allowed = set(_WINDOW_KEYWORDS) | {"where"}
        keywords = self._keywords(node, allowed)
        source, value_path, element = self._list_source(node.args[0], env)
        value_type, flatten, inner = self._value_type(node.args[0], element, value_path)
        window = self._window(node, keywords, env, element)
        # Nested lists flatten: the 'where' sees the innermost list's items, at
        # the depth after those of the lists enclosing them.
        depth = env.depth + 1 + len(flatten)
        aliases = env.aliases
        if alias is not None:
            aliases = self._bind_alias(alias, depth, inner, env)
        where = None
        if "where" in keywords:
            if not inner.is_record and not t.is_unknown(inner) and alias is None:
                raise CheckError("'where' filters a list of records; this list holds "
                                 f"{inner}s", keywords["where"].span,
                                 hint='to look for an item, write tags contains "vip"')
            scope = _Scope(depth, inner)
            where = self.condition(keywords["where"].value,
                                   attrs.evolve(env, scopes=env.scopes + (scope,), depth=depth,
                                                aliases=aliases),
                                   f"'where' of {name}")
        result, nullable = _aggregate_type(name, value_type)
        if name in ("sum", "avg") and not t.fits(value_type, t.NUMBER):
            raise CheckError(f"'{name}' adds numbers, but {_path_text(node.args[0])} holds "
                             f"{value_type}s", node.args[0].span,
                             hint=f"{name}(orders.total)")
        if name in ("min", "max") and value_type.is_record:
            raise CheckError(f"'{name}' needs values to compare; name one: {name}(orders.total)",
                             node.args[0].span)
        if name == "count_distinct" and (value_type.is_record or value_type.is_list):
            raise CheckError(f"'count_distinct' counts values such as numbers or text, but "
                             f"{_path_text(node.args[0])} holds "
                             f"{'records' if value_type.is_record else 'lists'}",
                             node.args[0].span,
                             hint="name a field of the elements: "
                                  "count_distinct(orders.items.category)")
        timestamp = element.timestamp if element.is_record else None
        if timestamp is None and t.is_unknown(element):
            timestamp = DEFAULT_TIMESTAMP
        return c.Aggregate(name, source, value_path, window, where, timestamp, depth,
                           result, nullable, flatten, syntax=written)

    def _bind_alias(self, alias: n.Alias, depth: int, element: t.Type,
                    env: _Env) -> Mapping[str, _Bound]:
        """The names bound by ``as`` in the aggregation's ``where``, ``alias`` added."""
        listed = _path_text(alias.value)
        taken = env.aliases.get(alias.name)
        if taken is not None:
            raise CheckError(f"'{alias.name}' already names the elements of {taken.listed}",
                             _name_span(alias), hint=f"give the elements of {listed} another "
                                                     f"name: {listed} as {alias.name}2")
        return {**env.aliases, alias.name: _Bound(depth, element, listed)}

    def _keywords(self, node: n.Call, allowed: Iterable[str]) -> dict[str, n.Keyword]:
        allowed = tuple(allowed)
        found = {}
        for keyword in node.keywords:
            if keyword.name not in allowed:
                raise CheckError(f"'{node.name}' has no option '{keyword.name}'", keyword.span,
                                 hint=_did_you_mean(keyword.name, allowed))
            found[keyword.name] = keyword
        windows = [k for k in found if k in _WINDOW_KEYWORDS]
        if len(windows) > 1:
            raise CheckError("give one window: 'within' or 'during', not both",
                             found[windows[1]].span)
        return found

    def _list_source(self, argument: n.Node, env: _Env):
        """The list an aggregation runs over, the value path inside its
        elements, and the element type."""
        if isinstance(argument, n.Reference) and argument.path[0] in env.params \
                and argument.path[0] not in env.aliases:
            bound = env.params[argument.path[0]]
            if bound.type.is_list:
                return bound, argument.path[1:], bound.type.element
            if t.is_unknown(bound.type):  # a def checked alone: its list comes with each call
                return attrs.evolve(bound, type=t.list_of(t.ANY)), argument.path[1:], t.ANY
        if not isinstance(argument, n.Reference):
            raise CheckError("the first argument of an aggregation is a list field, such as "
                             "orders or orders.total", argument.span)
        path = argument.path
        for split in range(1, len(path) + 1):
            prefix = n.Reference(path[:split], span=argument.span)
            try:
                resolved = self.check(prefix, env)
            except CheckError:
                if split == 1:
                    raise
                break
            if resolved.type.is_list:
                return resolved, path[split:], resolved.type.element
            if t.is_unknown(resolved.type) and isinstance(resolved, c.Field):
                # No schema tells: take the first part of the path as the list.
                source = attrs.evolve(resolved, type=t.list_of(t.ANY))
                return source, path[split:], t.ANY
            if not resolved.type.is_record:
                break
        raise CheckError(f"'{argument.dotted}' is not a list", argument.span,
                         hint="aggregations run over lists such as orders or events")

    def _value_type(self, argument: n.Node, element: t.Type, value_path: tuple[str, ...]
                    ) -> tuple[t.Type, tuple[int, ...], t.Type]:
        """The type of the aggregated values, where the value path enters nested
        lists (their items are aggregated: ``orders.items.price``), and the type
        of the items aggregated (the elements of the innermost list)."""
        type_ = element
        inner = element
        flatten: list[int] = []
        path = argument.path if isinstance(argument, n.Reference) else ()
        listed = ".".join(path[:len(path) - len(value_path)]) or "the list"
        for index, part in enumerate(value_path):
            if type_.is_list:
                flatten.append(index)
                type_ = inner = type_.element
            found = type_.field(part)
            if found is None:
                owner = (f"a {type_}" if not type_.is_record else f"the elements of {listed}"
                         if index == 0 else f"{listed}.{'.'.join(value_path[:index])}")
                raise CheckError(f"unknown field '{part}' of {owner}", argument.span,
                                 hint=_did_you_mean(part, list(type_.fields or {})))
            type_ = found
        if type_.is_list and value_path:
            # `count(orders.items)`: the items of every order, not the orders.
            flatten.append(len(value_path))
            type_ = inner = type_.element
        return type_, tuple(flatten), inner

    def _window(self, node: n.Call, keywords: dict[str, n.Keyword], env: _Env,
                element: t.Type) -> c.Window | None:
        keyword = next((keywords[k] for k in _WINDOW_KEYWORDS if k in keywords), None)
        if keyword is None:
            return None
        value = self.check(keyword.value, env)
        if not any(t.fits(value.type, w) for w in _WINDOW_TYPES):
            raise CheckError(f"a window is a duration (30d) or a period, not a {value.type}",
                             keyword.value.span, hint="within = 30d, during = summer_sale")
        if element.is_record and element.timestamp is None:
            raise CheckError(f"the elements of {_path_text(node.args[0])} have no timestamp, so "
                             f"they cannot be windowed", keyword.span,
                             hint="declare the list's timestamp field in the schema")
        self._refuse_empty_window(keyword, value)
        return c.Window(value, value.type, syntax=keyword)

    def _refuse_empty_window(self, keyword: n.Keyword, value: c.Checked) -> None:
        """A constant window of zero or less holds nothing: windows look back
        from now. A computed one is checked at each evaluation (a DataError)."""
        step = _constant_step(value)
        if step is None or not empty_window(step):
            return
        shown = self._text(value, duration_text(step))
        hint = None
        if isinstance(value, c.Constant) and isinstance(value.value, Duration):
            back = Duration(-value.value.amount, value.value.unit)  # as written: -7d, 7 days
        else:
            back = as_duration(-step, "d")  # type: ignore[operator]
        if backwards(step) and back is not None:
            # Aggregations never see elements dated after now, so no window
            # reaches ahead: say what the positive window holds.
            hint = f"a window holds the past: within = {back} is the last {unit_words(back)}"
        raise CheckError(f"a window looks back from now: {shown} holds nothing",
                         _span_of(value, keyword.value), hint=hint)

    def _order_macro(self, node: n.Call, env: _Env) -> c.Checked:
        """``orders(window, category=, sku=, discounted=, where=)`` counts orders;
        ``purchased(...)`` says whether there is at least one."""
        if len(node.args) > 1:
            raise CheckError(f"'{node.name}' takes one window and named filters, as in "
                             f"{node.name}(365d, category = \"shoes\")", node.span)
        keywords = self._keywords(node, ("where", *_ORDER_FILTERS, *_WINDOW_KEYWORDS))
        item_conditions = []
        for name, type_ in _ORDER_FILTERS.items():
            if name in keywords:
                value = self.check(keywords[name].value, env)
                if not t.fits(value.type, type_):
                    raise CheckError(f"'{name}' must be a {type_}, not a {value.type}",
                                     keywords[name].value.span)
                item_conditions.append(n.Comparison(n.CompareOp.EQ, n.Reference((name,)),
                                                    Prechecked(value), span=keywords[name].span))
        conditions = []
        if item_conditions:
            condition = item_conditions[0] if len(item_conditions) == 1 else n.And(
                tuple(item_conditions))
            conditions.append(n.Call("exists", (n.Reference(("items",)),),
                                     (n.Keyword("where", condition),), span=node.span))
        if "where" in keywords:
            conditions.append(keywords["where"].value)
        expanded_keywords = []
        if node.args:
            expanded_keywords.append(n.Keyword("within", node.args[0], span=node.args[0].span))
        expanded_keywords += [keywords[k] for k in _WINDOW_KEYWORDS if k in keywords]
        if conditions:
            where = conditions[0] if len(conditions) == 1 else n.And(tuple(conditions))
            expanded_keywords.append(n.Keyword("where", where, span=node.span))
        function = "count" if node.name == "orders" else "exists"
        expanded = n.Call(function, (n.Reference(("orders",), span=node.span),),
                          tuple(expanded_keywords), span=node.span)
        checked = self._aggregate(expanded, env)
        return attrs.evolve(checked, syntax=node)

    # population functions

    def _population_function(self, node: n.Call, env: _Env) -> c.Checked:
        if env.depth:
            raise CheckError(f"'{node.name}' ranks customers, so it cannot be used inside 'where'",
                             node.span)
        self._keywords(node, ())
        expected = 2 if node.name == "ntile" else 1
        if len(node.args) != expected:
            raise CheckError(f"'{node.name}' takes {_count(expected, 'argument')} but "
                             f"{_given(len(node.args))}", node.span,
                             hint="ntile(spent(365d), 10)" if expected == 2
                             else "percentile(spent(365d))")
        measure = self.check(node.args[0], env)
        if not t.fits(measure.type, t.NUMBER):
            raise CheckError(f"'{node.name}' ranks numbers, not {measure.type}s",
                             node.args[0].span)
        if any(isinstance(sub, c.Population) for sub in c.walk(measure)):
            raise CheckError(f"'{node.name}' cannot rank a value that is itself a ranking",
                             node.args[0].span)
        buckets = 100
        if node.name == "ntile":
            count = self.check(node.args[1], env)
            if not (isinstance(count, c.Constant) and isinstance(count.value, int)
                    and not isinstance(count.value, bool) and 2 <= count.value <= 1000):
                raise CheckError("the number of tiles must be a whole number from 2 to 1000",
                                 node.args[1].span)
            buckets = count.value
        # The measure's text identifies it, unless shared def expansions would
        # write it out at exponential length.
        shown = repr(measure) if _tree_size(measure, 10_000) < 10_000 else f"#{hash(measure):x}"
        key = f"{node.name}:{buckets}:{shown}"
        return self._population(node.name, measure, buckets, key, t.NUMBER, node)

    @property
    def population_nodes(self) -> list[c.Population]:
        """Every population statistic the checked rules need, once each."""
        return list(self._population_keys.values())

    def _population(self, kind, measure, buckets, key, type_, node) -> c.Population:
        found = self._population_keys.get(key)
        if found is None:
            found = c.Population(kind, measure, buckets, key, type_, syntax=node)
            self._population_keys[key] = found
        return attrs.evolve(found, syntax=node)

    def _rfm(self, node: n.Reference, env: _Env) -> c.Checked:
        if len(node.path) > 2 and node.path[1] in RFM_MEASURES:
            raise CheckError(f"'rfm.{node.path[1]}' is a score and has no field '{node.path[2]}'",
                             node.span)
        if len(node.path) != 2 or node.path[1] not in RFM_MEASURES:
            asked = node.path[1] if len(node.path) > 1 else ""
            raise CheckError(f"unknown RFM measure 'rfm.{asked}'" if asked else
                             "'rfm' needs a measure: rfm.recency, rfm.frequency, rfm.monetary, "
                             "rfm.score or rfm.group", node.span,
                             hint=_did_you_mean(asked, RFM_MEASURES, prefix="rfm.")
                             if asked else None)
        if env.depth:
            raise CheckError("RFM scores rank customers, so they cannot be used inside 'where'",
                             node.span)
        measure_name = node.path[1]
        if measure_name in ("score", "group"):
            for part in ("recency", "frequency", "monetary"):  # the scores it combines
                self._population(f"rfm.{part}", self._rfm_measure(part, node), 5, f"rfm.{part}",
                                 t.NUMBER, node)
            type_ = t.NUMBER if measure_name == "score" else t.STRING
            return self._population(f"rfm.{measure_name}", None, 5, f"rfm.{measure_name}",
                                    type_, node)
        measure = self._rfm_measure(measure_name, node)
        return self._population(f"rfm.{measure_name}", measure, 5, f"rfm.{measure_name}",
                                t.NUMBER, node)

    def _rfm_measure(self, name: str, node: n.Node) -> c.Checked:
        # Each measure is checked once: a population node keeps its first measure anyway.
        measure = self._rfm_measures.get(name)
        if measure is None:
            measure = self._rfm_measures[name] = self._checked_rfm_measure(name, node)
        return measure

    def _checked_rfm_measure(self, name: str, node: n.Node) -> c.Checked:
        window = self.options.rfm_window
        stamp = self._order_timestamp(node)
        text = {
            "recency": f"days_between(last(orders.{stamp}), now)",
            "frequency": "count(orders, within = W)",
            "monetary": "sum(orders.total, within = W)",
        }[name]
        try:
            measure = self.check(_rfm_measure_syntax(text, window.amount, window.unit), _Env())
        except CheckError as error:
            # The measure's text is ours: the user's mistake is at `rfm.<name>`.
            raise CheckError(f"rfm.{name} reads {text.replace('W', str(self.options.rfm_window))}"
                             f", but {error.message}", node.span,
                             hint="declare the orders list with its timestamp and total, as in "
                                  "ListOf({\"placed\": \"datetime\", \"total\": \"number\"}, "
                                  "timestamp=\"placed\")") from None
        if name == "recency":
            return measure
        # Customers who never ordered get no RFM score at all, not a low one.
        recency = self._rfm_measure("recency", node)
        return c.Apply("when_ordered", _second, (recency, measure), True, t.NUMBER, False,
                       syntax=node)

    def _order_timestamp(self, node: n.Node) -> str:
        """The orders' timestamp field the schema declares (``at`` when it does not say)."""
        orders = self.schema.root.field("orders")
        if orders is None:
            raise CheckError("RFM scores read the customer's orders, and the schema has no "
                             "'orders' list", node.span,
                             hint="declare it: \"orders\": ListOf({\"at\": \"datetime\", "
                                  "\"total\": \"number\"})")
        if not orders.is_list or not orders.element.is_record:
            return DEFAULT_TIMESTAMP
        if orders.element.timestamp is None:
            raise CheckError("RFM scores need the orders' timestamp, and the schema declares "
                             "none", node.span,
                             hint="ListOf({...}, timestamp=\"placed\") names the field holding "
                                  "each order's time")
        return orders.element.timestamp

    # -------------------------------------------------------------- warnings

    def _warn_null_negations(self, syntax: n.Node, body: c.Checked, mark: int) -> None:
        """Warn where a negation meets a value that can be null, unless an
        enclosing ``or`` already keeps the nulls (``or country is null``)."""
        for negation, sources in _null_negations(body, frozenset()):
            shown = negation.syntax
            names = " or ".join(sorted(sources))
            first = sorted(sources)[0]
            self._warn(
                f"customers whose {names} is null are left out: the negation is unknown, not "
                f"true, for them", shown.span if shown is not None else None,
                hint=f"add 'or {first} is null' to keep them")

    def _warn_never_true(self, body: c.Checked) -> None:
        """Warn about comparisons that hold for no customer at all."""
        for node, span in _user_spans(body):
            if isinstance(node, c.Binary) and node.op in (c.Operator.EQ, c.Operator.NE) and (
                    _is_null(node.left) or _is_null(node.right)):
                other = node.left if _is_null(node.right) else node.right
                test = "is null" if node.op is c.Operator.EQ else "is not null"
                self._warn(f"'{node.op.value} null' is never true: a comparison with null is "
                           f"always unknown", span, hint=f"write {self._text(other, '...')} {test}")
            elif isinstance(node, c.Between) and _reversed(node.low.value
                                                           if isinstance(node.low, c.Constant)
                                                           else None,
                                                           node.high.value
                                                           if isinstance(node.high, c.Constant)
                                                           else None):
                low, high = self._text(node.low, "low"), self._text(node.high, "high")
                self._warn(f"'between {low} and {high}' is never true: the smaller bound comes "
                           f"first", span,
                           hint=f"{self._text(node.operand, '...')} between {high} and {low}")
            elif isinstance(node, c.Binary):
                self._warn_after_now(node, span)
                self._warn_case_mismatch(node, span)
            elif isinstance(node, c.Membership):
                self._warn_case_mismatch(node, span)

    def _warn_case_mismatch(self, node: c.Binary | c.Membership, span: n.Span | None) -> None:
        """``lower(tags) contains "VIP"``: lower's result has no upper-case letter."""
        for changed, constant, verb in _case_comparisons(node):
            convert = str.lower if changed.name == "lower" else str.upper
            for value, written in _constant_texts(constant):
                if convert(value) == value:
                    continue
                letters = "upper-case" if changed.name == "lower" else "lower-case"
                shown = self._text(written, string_text(value))
                self._warn(f"{self._text(changed, changed.name + '(...)')} has no {letters} "
                           f"letters, so it {verb} {shown}", span,
                           hint=f"write {string_text(convert(value))}")

    def _warn_after_now(self, node: c.Binary, span: n.Span | None) -> None:
        # `last_order_at > now + 30d`: aggregations never see elements dated
        # after now, so a list's own timestamps are never in the future.
        pairs = {c.Operator.GT: (node.left, node.right), c.Operator.GE: (node.left, node.right),
                 c.Operator.LT: (node.right, node.left), c.Operator.LE: (node.right, node.left)}
        if node.op not in pairs:
            return
        stamp, bound = pairs[node.op]
        op = {c.Operator.LT: ">", c.Operator.LE: ">="}.get(node.op, node.op.value)
        if not (isinstance(stamp, c.Aggregate) and stamp.timestamp is not None
                and stamp.value == (stamp.timestamp,) and stamp.function in
                ("first", "last", "min", "max") and isinstance(bound, c.Binary)
                and bound.op is c.Operator.ADD and isinstance(bound.left, c.Now)
                and isinstance(bound.right, c.Constant) and bound.right.value.amount > 0):
            return
        listed = stamp.source.dotted if isinstance(stamp.source, c.Field) else "elements"
        text = self._text(stamp, "the date")
        self._warn(f"{text} is never after now ({listed} dated after now are not counted), so "
                   f"this is never true", span,
                   hint=f"to look back, subtract: {text} {op} now - {bound.right.value}")

    def _operand_text(self, node: c.Checked, default: str) -> str:
        """``node``'s rule text as an operand: in parentheses when it is itself an operation."""
        text = self._text(node, default)
        return f"({text})" if isinstance(node.syntax, n.Arithmetic) and text != default else text

    def _text(self, node: c.Checked, default: str) -> str:
        """The rule text ``node`` was written as, or ``default``."""
        span = node.syntax.span if node.syntax is not None else None
        if span is None or span.file == "<prelude>" or self.source is None:
            return default
        return self.source[span.start:span.end]


_CASE_VERBS = {c.Operator.EQ: "never equals", c.Operator.NE: "always differs from",
               c.Operator.CONTAINS: "never contains", c.Operator.STARTS_WITH: "never starts with",
               c.Operator.ENDS_WITH: "never ends with"}


def _is_case_call(node: c.Checked) -> bool:
    return (isinstance(node, c.Apply) and node.name in _CASE_FUNCTIONS
            and node.function is BUILTINS.get(node.name).implementation)


def _case_comparisons(node: c.Binary | c.Membership) -> list[tuple[c.Apply, c.Checked, str]]:
    """(lower/upper call, the constant it meets, what it never does) in ``node``."""
    found = []
    if isinstance(node, c.Binary) and node.op in _CASE_VERBS:
        verb = _CASE_VERBS[node.op]
        if _is_case_call(node.left):
            found.append((node.left, node.right, verb))
        if node.op in (c.Operator.EQ, c.Operator.NE) and _is_case_call(node.right):
            found.append((node.right, node.left, verb))
    elif isinstance(node, c.Membership):
        if _is_case_call(node.element):
            found.append((node.element, node.container,
                          "never equals" if not node.negated else "always differs from"))
        if _is_case_call(node.container):
            found.append((node.container, node.element,
                          "never contains" if not node.negated else "always lacks"))
    return [(call, other, verb) for call, other, verb in found if isinstance(other, c.Constant)]


def _constant_texts(constant: c.Checked) -> list[tuple[str, c.Checked]]:
    """The texts of a constant (the items of a constant list), each with the node showing it."""
    value = constant.value if isinstance(constant, c.Constant) else None
    if isinstance(value, str):
        return [(value, constant)]
    if isinstance(value, tuple):
        items = constant.syntax.items if isinstance(constant.syntax, n.ListLiteral) else ()
        shown = list(items) + [None] * (len(value) - len(items))
        return [(item, c.Constant(item, t.STRING, syntax=written))
                for item, written in zip(value, shown) if isinstance(item, str)]
    return []


def _is_null(node: c.Checked) -> bool:
    return isinstance(node, c.Constant) and node.type == t.NULL


def _reversed(low: object, high: object) -> bool:
    """Whether constant bounds ``low`` and ``high`` are in the wrong order."""
    kinds = (bool, dt.datetime, dt.date, str)
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        return not isinstance(low, bool) and not isinstance(high, bool) and low > high
    same = next((k for k in kinds if isinstance(low, k)), None)
    return same not in (None, bool) and type(low) is type(high) and low > high


def _null_guards(node: c.Checked) -> set[str]:
    """The values whose nulls an ``or``/``and`` settles itself: ``or x is null``
    keeps them, ``and x is not null`` leaves them out on purpose."""
    if not isinstance(node, (c.Or, c.And)):
        return set()
    wanted = isinstance(node, c.And)
    return {_null_source(o.operand) for o in node.operands
            if isinstance(o, c.IsNull) and o.negated is wanted and _null_source(o.operand)}


def _null_source(node: c.Checked) -> str | None:
    if isinstance(node, c.Field) and node.depth == 0:
        return node.dotted
    if isinstance(node, c.Population) and node.kind.startswith("rfm."):
        return node.kind
    return None


def _null_negations(body: c.Checked, guarded: frozenset[str]):
    """(negation node, nullable field names) pairs under ``body``.

    A loop over a stack, each node once per set of guards: a checked tree is a
    DAG (def expansions are shared) and may be thousands of levels deep.
    """
    stack = [(body, guarded)]
    seen: set[tuple[int, frozenset[str]]] = set()
    while stack:
        node, guarded = stack.pop()
        if (id(node), guarded) in seen:
            continue
        seen.add((id(node), guarded))
        guarded = guarded | _null_guards(node)
        negated = None
        if isinstance(node, c.Not):
            negated = node.operand
        elif isinstance(node, c.Binary) and node.op is c.Operator.NE:
            negated = node
        elif isinstance(node, c.Membership) and node.negated:
            negated = node
        if negated is not None and not (isinstance(negated, c.Binary) and (
                _is_null(negated.left) or _is_null(negated.right))):  # warned as never true
            sources = _nullable_sources(negated) - guarded - _null_guards(negated)
            if sources:
                yield node, sources
                continue
        if isinstance(node, c.Aggregate):
            continue  # inside 'where' the element's values are another matter
        stack.extend((child, guarded) for child in reversed(c.checked_children(node)))


def _nullable_sources(node: c.Checked) -> set[str]:
    """Names of the customer fields and RFM scores under ``node`` that may be null."""
    found = set()
    for sub in _walk_outside_aggregates(node):
        if isinstance(sub, c.Field) and sub.depth == 0:
            found.add(sub.dotted)
        elif isinstance(sub, c.Population) and sub.kind.startswith("rfm."):
            found.add(sub.kind)
    return found


def _walk_outside_aggregates(node: c.Checked):
    # `coalesce(country, "")` is never null, whatever country holds: not entered.
    stop = (c.Aggregate, c.IsNull, c.Population)
    return c.walk(node, lambda sub: not isinstance(sub, stop) and sub.nullable)


def _user_spans(body: c.Checked):
    """(node, span) for every node under ``body``, each once; a node of the
    prelude's text gets the span of the user's call it was expanded from."""
    stack: list[tuple[c.Checked, n.Span | None]] = [(body, None)]
    seen: set[int] = set()
    while stack:
        node, outer = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        span = node.syntax.span if node.syntax is not None else None
        if span is not None and span.file == "<prelude>":
            span = outer
        yield node, span
        stack.extend((child, span or outer) for child in reversed(c.checked_children(node)))


def _allowed_values(node: c.Checked) -> tuple[frozenset[str], str] | None:
    """The only strings ``node`` can hold, and how to name it; None when any."""
    if isinstance(node, c.Population) and node.kind == "rfm.group":
        return frozenset(RFM_GROUPS), "rfm.group"
    if isinstance(node, c.Field) and node.type.values is not None:
        return node.type.values, f"'{node.dotted}'"
    return None


def _value_hint(value: str, values: frozenset[str], what: str) -> str:
    listed = ", ".join(sorted(values))
    by_case = [v for v in sorted(values) if v.lower() == value.lower()]
    close = by_case or difflib.get_close_matches(value, sorted(values), n=1, cutoff=0.6) or \
        difflib.get_close_matches(value.lower(), sorted(values), n=1, cutoff=0.6)
    shown = listed if len(values) <= 20 else f"{len(values)} values, declared in the schema"
    if close:
        return f"did you mean '{close[0]}'? ({what} is one of {shown})"
    return f"{what} is one of {shown}"


def _tree_size(node: c.Checked, limit: int) -> int:
    """How many nodes ``node`` would have written out as a tree, up to ``limit``."""
    sizes: dict[int, int] = {}
    stack = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        children = c.checked_children(current)
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[id(current)] = min(total, limit)
        else:
            stack.append((current, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(node)]


# ------------------------------------------------------------------ helpers


@functools.cache
def _rfm_measure_syntax(text: str, amount: int, unit: str) -> n.Node:
    """An RFM measure's syntax (its window ``W`` written in), parsed once per
    process: every rule file reading RFM scores checks it."""
    from segdsl.parser import parse_expression

    return _substitute(parse_expression(text), "W", n.Duration(amount, n.DurationUnit(unit)))


@functools.cache
def _prelude_source() -> str:
    return Path(__file__).with_name("prelude.seg").read_text(encoding="utf-8")


def _substitute(node: n.Node, name: str, replacement: n.Node) -> n.Node:
    """``node`` with every reference to ``name`` replaced."""
    if isinstance(node, n.Reference) and node.path == (name,):
        return replacement
    changes = {}
    for field in attrs.fields(type(node)):
        value = getattr(node, field.name)
        if isinstance(value, n.Node):
            changes[field.name] = _substitute(value, name, replacement)
        elif isinstance(value, tuple) and value and isinstance(value[0], n.Node):
            changes[field.name] = tuple(_substitute(v, name, replacement) for v in value)
    return attrs.evolve(node, **changes) if changes else node


def _argument_key(value: c.Checked) -> object:
    """What identifies a def's argument for sharing its expansion: the checked
    node, and for a constant the Python types of its value too, since ``1 ==
    1.0 == True`` in Python but not in the language."""
    if isinstance(value, c.Constant):
        items = value.value if isinstance(value.value, tuple) else (value.value,)
        return value, tuple(type(item) for item in items)
    return value


def _second(first, second):
    return second


def _kind(statement: n.Statement) -> str:
    return {n.SegmentDef: "segment", n.PeriodDef: "period"}.get(type(statement), "def")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _a(type_: t.Type) -> str:
    return "a value of unknown type" if type_ == t.ANY else f"a {type_}"


def _given(number: int) -> str:
    return f"{number} {'was' if number == 1 else 'were'} given"


#: Names users reach for when they mean ``today`` or ``now``.
_CLOCK_WORDS = frozenset({"yesterday", "tomorrow", "current_date", "current_time",
                          "current_timestamp", "sysdate", "getdate"})


def _did_you_mean(name: str, candidates: Iterable[str], prefix: str = "") -> str | None:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{prefix}{close[0]}'?" if close else None


def _misplaced_alias(alias: n.Alias, aggregation: str | None) -> CheckError:
    """``as`` anywhere but after an aggregation's list (``aggregation``: the
    aggregation it is given to, in another argument)."""
    where = (f"after the list, the first argument of {aggregation}" if aggregation else
             f"after the list of an aggregation ({', '.join(AGGREGATIONS[:-1])} or "
             f"{AGGREGATIONS[-1]})")
    return CheckError(f"'as' names the elements of a list, so it goes {where}", alias.span,
                      hint='exists(events as e, where = e.type == "cart_abandoned")')


def _name_span(alias: n.Alias) -> n.Span | None:
    """The span of the name in ``value as name`` (the name ends the alias)."""
    span = alias.span
    if span is None:
        return None
    size = len(alias.name)
    return n.Span(span.end_line, span.end_column - size, span.end_line, span.end_column,
                  span.end - size, span.end, span.file)


def _path_text(node: n.Node) -> str:
    return node.dotted if isinstance(node, n.Reference) else "the list"


def _list_hint(list_path: tuple[str, ...], part: str, list_type: t.Type) -> str:
    listed = ".".join(list_path)
    hint = f"exists({listed}, where = {part} ...)"
    if t.fits(list_type.element.field(part) or t.ANY, t.NUMBER):
        hint += f", sum({listed}.{part})"
    return hint


def _condition_hint(type_: t.Type) -> str | None:
    if type_ == t.NUMBER:
        return "compare it: visits(30d) >= 10"
    if type_ in (t.STRING, t.DATE, t.DATETIME):
        return "compare it: country == \"FR\", last_order_at < now - 90d"
    return None


def _comparison_hint(left: t.Type, right: t.Type) -> str | None:
    names = {left.name, right.name}
    if names == {"number", "string"}:
        return "numbers are written without quotes: 42, strings with them: \"42\""
    if "duration" in names and names & {"date", "datetime"}:
        return "a duration is a length of time; to compare with a date write now - 30d"
    return None


def _arithmetic_type(op: n.ArithmeticOp, left: t.Type, right: t.Type) -> t.Type | None:
    """The result type of ``left op right``, or None when it means nothing."""
    temporal = {"date", "datetime"}
    kinds = {left.name, right.name}
    if not kinds & (temporal | {"duration"}):
        if t.fits(left, t.NUMBER) and t.fits(right, t.NUMBER):
            return t.ANY if t.is_unknown(left) and t.is_unknown(right) else t.NUMBER
        return None
    durations = _duration_arithmetic_type(op, left, right)
    if durations is not None:
        return durations
    if op not in (n.ArithmeticOp.ADD, n.ArithmeticOp.SUBTRACT):
        return None
    if right == t.DURATION and (left.name in temporal or t.is_unknown(left)):
        return t.DATETIME if t.is_unknown(left) else left
    if op is n.ArithmeticOp.ADD and left == t.DURATION and right.name in temporal:
        return right
    if op is n.ArithmeticOp.ADD and left == t.DURATION and t.is_unknown(right):
        return t.DATETIME
    if op is n.ArithmeticOp.SUBTRACT and t.is_unknown(left) and right.name in temporal:
        return t.DURATION
    if op is n.ArithmeticOp.SUBTRACT and left.name in temporal and (
            right.name == left.name or t.is_unknown(right)):
        return t.DURATION
    if left.name in temporal and t.is_unknown(right):
        return left
    return None


def _duration_arithmetic_type(op: n.ArithmeticOp, left: t.Type, right: t.Type) -> t.Type | None:
    """Durations times or divided by numbers, divided by durations, added up.
    An untyped side is read as a number, or as a duration divided by one."""
    duration = t.DURATION

    def number(type_: t.Type) -> bool:
        return t.fits(type_, t.NUMBER)

    if op is n.ArithmeticOp.MULTIPLY and (left == duration and number(right)
                                          or number(left) and right == duration):
        return duration
    if op is n.ArithmeticOp.DIVIDE and right == duration and (left == duration
                                                              or t.is_unknown(left)):
        return t.NUMBER
    if op is n.ArithmeticOp.DIVIDE and left == duration and number(right):
        return duration
    if op in (n.ArithmeticOp.ADD, n.ArithmeticOp.SUBTRACT) and left == right == duration:
        return duration
    return None


def _constant_step(node: c.Checked) -> object | None:
    """The run-time value of a duration computed from constants alone (``1d /
    -7``, which no literal spells), or None when it is not constant."""
    if isinstance(node, c.Constant):
        return _step_of(node.value) if isinstance(node.value, Duration) else None
    if isinstance(node, c.Negate):
        inner = _constant_step(node.operand)
        return None if inner is None else -inner  # type: ignore[operator]
    if not (isinstance(node, c.Binary) and node.type == t.DURATION):
        return None
    sides = []
    for side in (node.left, node.right):
        if side.type == t.DURATION:
            found = _constant_step(side)
        elif isinstance(side, c.Constant) and isinstance(side.value, (int, float)):
            found = side.value
        else:
            found = None
        if found is None:
            return None
        sides.append(found)
    try:
        return duration_arithmetic(node.op.value, *sides)
    except (TypeError, ValueError, OverflowError):
        return None  # refused when checking the arithmetic, or reported at run time


def _span_of(node: c.Checked, default: n.Node) -> n.Span | None:
    return node.syntax.span if node.syntax is not None else default.span


def _step_of(value: object) -> object:
    return value.step() if isinstance(value, Duration) else value


def _arithmetic_hint(op: n.ArithmeticOp, left: t.Type, right: t.Type) -> str | None:
    if {left.name, right.name} == {"date", "datetime"}:
        return "subtract a date from a date, or a datetime from a datetime: now - 2026-07-01T00:00:00Z"
    if left.name in ("date", "datetime") and right == t.NUMBER:
        return "give the unit: now - 30d"
    if left == t.DURATION and right == t.DURATION:
        return "multiply a duration by a number: 30d * 2; divide one by another: 90d / 1d"
    if t.DURATION in (left, right) and op is n.ArithmeticOp.DIVIDE:
        return "divide a duration by a number: 90d / 3"
    return None


def _aggregate_type(name: str, value: t.Type) -> tuple[t.Type, bool]:
    if name in ("count", "count_distinct"):
        return t.NUMBER, False
    if name == "exists":
        return t.BOOL, False
    if name == "sum":
        return t.NUMBER, False
    if name == "avg":
        return t.NUMBER, True
    return (t.ANY if t.is_unknown(value) else value), True


def _align_days(left: c.Checked, right: c.Checked) -> tuple[c.Checked, c.Checked]:
    """A datetime compared with a date is compared by its calendar day."""
    if left.type == t.DATETIME and right.type == t.DATE:
        return c.ToDate(left, t.DATE, left.nullable, syntax=left.syntax), right
    if left.type == t.DATE and right.type == t.DATETIME:
        return left, c.ToDate(right, t.DATE, right.nullable, syntax=right.syntax)
    return left, right
