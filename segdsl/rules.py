"""Compiled rules: :class:`Segment` (one rule) and :class:`RuleSet` (a file).

    >>> rules = segdsl.loads('segment undecided = visits(30d) >= 10 and not purchased(30d)')
    >>> result = rules.evaluate(customers, now="2026-07-15")
    >>> result.sizes
    {'undecided': 3}

Rules are compiled once into closures; evaluating a customer runs them with
a per-customer memo, so a segment used by several others, and each list's
parsed timestamps, are computed once per customer. Evaluation is pure and a
compiled rule set is safe to share between threads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
import functools
import html
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import attrs

from segdsl import checked as c
from segdsl import codegen
from segdsl import customers as _customers
from segdsl import explain as explaining
from segdsl import nodes as n
from segdsl import stack
from segdsl.checker import Checker, Options, Warning
from segdsl.compiler import FIXED_NODES, Closure, Compiler, Context
from segdsl.customers import INT64_MAX, POSITION, Identities, shown
from segdsl.errors import DataError, EvaluationError, SegdslError, UsageError
from segdsl.functions import Function, Functions
from segdsl.parser import parse, parse_expression
from segdsl.population import Ranking, statistics
from segdsl.schema import Schema
from segdsl.timeline import Duration, as_timezone, iso_text, read_datetime

_EXPRESSION_NAME = "rule"
_PROGRESS_EVERY = 10_000


def _options(schema: Any, functions: Any, timezone: Any, rfm_window: Any) -> Options:
    window = _window_option(rfm_window)
    try:
        return Options(schema=_schema_option(schema), functions=_functions_option(functions),
                       timezone=_timezone_option(timezone), rfm_window=window)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _schema_option(schema: Any) -> Schema | None:
    """A :class:`Schema`, or None; a plain dict of fields builds one."""
    if schema is None or isinstance(schema, Schema):
        return schema
    if isinstance(schema, Mapping):
        return Schema(schema)
    raise UsageError(f"schema must be a segdsl.Schema or a dict of fields such as "
                     f"{{'country': 'string'}}, not {shown(schema)}")


def _functions_option(functions: Any) -> Functions | None:
    """A :class:`Functions` registry, or None; a list of :class:`Function` builds one."""
    if functions is None or isinstance(functions, Functions):
        return functions
    if isinstance(functions, (list, tuple)) and all(isinstance(f, Function) for f in functions):
        return Functions(functions)
    raise UsageError(f"functions must be a segdsl.Functions registry, not {shown(functions)}")


def _timezone_option(timezone: Any) -> Any:
    if timezone is None or isinstance(timezone, dt.tzinfo):
        return timezone
    if not isinstance(timezone, str) or not timezone.strip():
        raise UsageError(f"timezone must be a zone name such as 'Europe/Paris' or a tzinfo, not "
                         f"{shown(timezone)}")
    try:
        return as_timezone(timezone)
    except Exception:  # noqa: BLE001 - dateutil fails in its own ways on odd names
        raise UsageError(f"unknown timezone {timezone!r}: use a name such as 'Europe/Paris' "
                         f"or 'UTC'") from None


def _window_option(window: Any) -> Duration:
    if window is None:
        return Duration(365, "d")
    if isinstance(window, Duration):
        return window
    if isinstance(window, str):
        return _duration_option(window)
    if isinstance(window, dt.timedelta):
        if window > dt.timedelta(0) and window % dt.timedelta(days=1) == dt.timedelta(0):
            return Duration(window.days, "d")
        raise UsageError(f"the RFM window must be a positive whole number of days, such as "
                         f"timedelta(days=365), not {window!r}")
    raise UsageError(f"the RFM window must be a duration such as '365d' or '2y', not "
                     f"{shown(window)}")


def _duration_option(text: str) -> Duration:
    try:
        expression = parse_expression(text)
    except SegdslError:
        expression = None
    if not isinstance(expression, n.Duration):
        raise UsageError(f"the RFM window must be a duration such as 365d or 2y, not {text!r}")
    return Duration(expression.amount, expression.unit.value)


def _text(text: Any, what: str) -> str:
    if not isinstance(text, str):
        raise UsageError(f"{what} takes the rule text as a str, not {shown(text)}")
    return text


def _file_name(file: Any) -> str | None:
    if file is None or isinstance(file, str):
        return file
    if isinstance(file, PathLike):
        return str(file)
    raise UsageError(f"file must be a file name, not {shown(file)}")


def compile(text: str, *, schema: Schema | None = None, functions: Functions | None = None,  # noqa: A001
            timezone: Any = None, rfm_window: str | Duration | None = None) -> Segment:
    """Compile one rule, such as ``visits(30d) >= 10 and not purchased(30d)``.

    Args:
        text: the rule (a single expression).
        schema: the customers' fields; unknown fields become compile errors.
        functions: Python functions the rule may call.
        timezone: zone of naive datetimes and period days (default UTC).
        rfm_window: analysis window of RFM frequency and monetary scores.

    Raises:
        SegdslError: the rule is malformed or does not check (the first
            error; ``error.errors`` lists them all).
    """
    text = _text(text, "compile")
    options = _options(schema, functions, timezone, rfm_window)
    expression = _located(lambda: parse_expression(text), text, None)
    checker = Checker(n.RuleFile(), options, text)
    body = _checked(checker, lambda: checker.expression(expression), text)
    rule_set = RuleSet._from_checker(checker, {_EXPRESSION_NAME: body}, text, None)
    return rule_set[_EXPRESSION_NAME]


def loads(text: str, *, file: str | None = None, schema: Schema | None = None,
          functions: Functions | None = None, timezone: Any = None,
          rfm_window: str | Duration | None = None) -> RuleSet:
    """Compile a rule file's text (``segment``, ``period`` and ``def`` statements).

    Raises:
        SegdslError: the rules are malformed or do not check (the first
            error; ``error.errors`` lists them all).
    """
    text, file = _text(text, "loads"), _file_name(file)
    options = _options(schema, functions, timezone, rfm_window)
    rule_file = _located(lambda: parse(text, file=file), text, file)
    checker = Checker(rule_file, options, text)
    bodies = checker.check_file()
    if checker.errors:
        raise _first_of(checker.errors)
    return RuleSet._from_checker(checker, bodies, text, file)


def load(path: str | Path, *, project: Any = None, **options: Any) -> RuleSet:
    """Compile a rule file (see :func:`loads` for the options).

    Args:
        path: the rule file.
        project: take the options from a project file: True (``segdsl.toml``
            or ``[tool.segdsl]`` found from the current directory upward), a
            :class:`segdsl.Project`, or a project file's path. Options given
            here override the project's; its table mapping is where the SQL
            engine reads the customers when no ``layout=`` is given.

    Raises:
        UsageError: the file cannot be read.
        SegdslError: the rules are malformed or do not check.
    """
    if not isinstance(path, (str, PathLike)):
        raise UsageError(f"load takes the path of a rule file, not {shown(path)}")
    _option_values(options)
    tables: dict[str, Any] = {}
    if project is not None and project is not False:
        from segdsl.project import project_of

        found = project_of(project)
        tables = dict(found.tables)
        options = {**found.options(),
                   **{name: value for name, value in options.items() if value is not None}}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the rule file ({error})") from None
    rules = loads(text, file=str(path), **options)
    rules._tables = tables
    return rules


def check(text: str, *, file: str | None = None, **options: Any) -> tuple[list[SegdslError],
                                                                          list[Warning]]:
    """Every error and warning of a rule file, without raising.

    Returns:
        ``(errors, warnings)``, each in source order.
    """
    text, file = _text(text, "check"), _file_name(file)
    values = _option_values(options)
    try:
        rule_file = parse(text, file=file)
    except SegdslError as error:
        return [error.located(text, file)], []
    checker = Checker(rule_file, _options(**values), text)
    checker.check_file()
    by_position = lambda item: (item.span.start if item.span else 0)  # noqa: E731
    return sorted(checker.errors, key=by_position), sorted(checker.warnings, key=by_position)


def _option_values(options: Mapping[str, Any]) -> dict[str, Any]:
    known = ("schema", "functions", "timezone", "rfm_window")
    unknown = set(options) - set(known)
    if unknown:
        raise UsageError(f"unknown option {sorted(unknown)[0]!r}")
    return {name: options.get(name) for name in known}


def _located(action, text: str, file: str | None):
    try:
        return action()
    except SegdslError as error:
        raise error.located(text, file) from None


def _checked(checker: Checker, action, text: str):
    try:
        result = action()
    except SegdslError as error:
        checker._report(error)  # noqa: SLF001 - attaches the source
        result = None
    if checker.errors:
        raise _first_of(checker.errors)
    return result


def _first_of(errors: list[SegdslError]) -> SegdslError:
    ordered = sorted(errors, key=lambda e: e.span.start if e.span else 0)
    first = ordered[0]
    first.errors = ordered
    return first


def evaluation_time(now: Any, rules: RuleSet | Segment | None = None) -> dt.datetime:
    """The aware evaluation time for ``now`` (see :func:`_now`), in the rules' timezone."""
    zone = rules._program.options.timezone if rules is not None else dt.timezone.utc  # noqa: SLF001
    return _now(now, zone)


def _now(now: Any, zone: dt.tzinfo, name: str = "now") -> dt.datetime:
    """The evaluation time from a datetime, a date, ISO text or None (the current
    time); ``name`` is the option's name in messages."""
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if _is_missing_time(now):
        raise UsageError(f"{name} must be a datetime, a date or ISO text, not NaT")
    if type(now).__name__ == "datetime64" and hasattr(now, "astype"):
        now = _from_datetime64(now)
    if isinstance(now, str):
        try:
            dt.datetime.fromisoformat(now)
        except ValueError:
            raise UsageError(f"{name} must be a date or datetime such as 2026-07-15 or "
                             f"2026-07-15T12:00:00Z, not {now!r}") from None
    if isinstance(now, (str, dt.date, dt.datetime)):
        try:
            return read_datetime(now, zone)
        except (ValueError, OverflowError):
            raise UsageError(f"{name} {now!r} is out of the years 1 to 9999 in UTC") from None
    raise UsageError(f"{name} must be a datetime, a date or ISO text, not {shown(now)}")


def _is_missing_time(now: Any) -> bool:
    # pandas.NaT is a datetime that is no time at all.
    return type(now).__name__ == "NaTType" or (
        type(now).__name__ == "datetime64" and str(now) == "NaT")


def _from_datetime64(now: Any) -> dt.datetime:
    """A numpy datetime64 as a naive datetime (read in the rules' zone)."""
    microseconds = now.astype("datetime64[us]").astype("int64")
    try:
        return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(microseconds))
    except OverflowError:
        raise UsageError(f"now {now!r} is out of the years 1 to 9999") from None


# ------------------------------------------------------------------- runtime


class _Program:
    """The compiled closures of a rule set, shared by its segments."""

    def __init__(self, checker: Checker, bodies: dict[str, c.Checked]) -> None:
        self.checker = checker
        self.bodies = bodies
        self.options = checker.options
        self.population_nodes = checker.population_nodes
        self._closures: dict[str, Closure] = {}
        zone = self.options.timezone
        self._compiler = Compiler(segments=self.closure, zone=zone)
        self._tracing = Compiler(segments=self._traced_closure, trace=True, zone=zone)
        self._traced: dict[str, Closure] = {}
        self._fast: dict[str, _FastPath | None] = {}
        self._nesting: dict[int, int] = {}
        self._deep: dict[str, bool] = {}
        self._ranks_only: dict[str, bool] = {}

    def room(self, names: Iterable[str]) -> contextlib.AbstractContextManager:
        """Room on Python's stack while segments nesting deeper than the default
        recursion limit allows are compiled and evaluated."""
        if any(self._is_deep(name) for name in names):
            return stack.recursion_room()
        return contextlib.nullcontext()

    def _is_deep(self, name: str) -> bool:
        if name not in self._deep:
            self._deep[name] = self.nesting(name) > stack.SHALLOW
        return self._deep[name]

    def nesting(self, name: str) -> int:
        """How deep the segment's rule nests, the rules it refers to included."""
        return c.fold(self.body(name), lambda node, below: 1 + max(below, default=0),
                      self._nesting, self._parts)

    def _parts(self, node: c.Checked) -> tuple[c.Checked, ...]:
        # A segment reference nests its segment's whole rule.
        if isinstance(node, c.SegmentRef):
            return (self.body(node.name),)
        return c.checked_children(node)

    def body(self, name: str) -> c.Checked:
        if name not in self.bodies:
            self.bodies[name] = self.checker.segment(name)
        return self.bodies[name]

    def closure(self, name: str) -> Closure:
        if name not in self._closures:
            body = self.body(name)
            self._compiler.prepare(body)
            self._closures[name] = self._compiler.condition(body)
        return self._closures[name]

    def ranks_only(self, name: str) -> bool:
        """Whether the segment reads the customer only through rankings (``rfm.recency
        >= 4 and rfm.frequency >= 4``): it is then decided by the customer's ranked
        measures alone, once every customer's are known."""
        if name not in self._ranks_only:
            not_measure = lambda node: not isinstance(node, c.Population)
            self._ranks_only[name] = all(
                isinstance(node, (c.Population, *FIXED_NODES))
                or (isinstance(node, c.SegmentRef) and self.ranks_only(node.name))
                for node in c.walk(self.body(name), not_measure))
        return self._ranks_only[name]

    def ranked_later(self, names: list[str]) -> list[str] | None:
        """The segments of ``names`` that rank customers, when all of them read the
        customers only through rankings (one pass then evaluates the others and
        gathers the measures); None when one of them reads more."""
        ranking = [name for name in names if _population_nodes_under(self, [name])]
        return ranking if all(self.ranks_only(name) for name in ranking) else None

    def fast_path(self, name: str) -> _FastPath | None:
        """Generated code for the segment, when its rule is a simple condition."""
        if name not in self._fast:
            body = self.body(name)
            predicate = codegen.predicate(body)
            self._fast[name] = None if predicate is None else _FastPath(
                predicate, codegen.list_filter(body))
        return self._fast[name]

    def fast_predicate(self, name: str) -> Callable[[Any], bool] | None:
        fast = self.fast_path(name)
        return fast.predicate if fast is not None else None

    def _traced_closure(self, name: str) -> Closure:
        if name not in self._traced:
            body = self.body(name)
            self._tracing.prepare(body)
            self._traced[name] = self._tracing.condition(body)
        return self._traced[name]

    def context(self, record: Any, now: dt.datetime, population, trace=None,
                id_field: str = "id") -> Context:
        return Context(record, now, self.options.timezone, population, trace, id_field)

    def population(self, records: Iterable[Any], now: dt.datetime, nodes: list[c.Population]):
        if not nodes:
            return None
        return statistics(nodes, self._compiler, records,
                          lambda record: self.context(record, now, None))

    def ranked(self, customers: Any, now: dt.datetime, nodes: list[c.Population],
               what: str) -> tuple[dict | None, int]:
        """The population statistics of ``customers`` and their number, in one
        pass that keeps no customer (only the measures the rankings need)."""
        rows = _customers.each(customers, what)
        if type(rows) is list:
            return self.population(rows, now, nodes), len(rows)
        count = 0

        def counted() -> Iterator[Any]:
            nonlocal count
            for record in rows:
                count += 1
                yield record

        records = counted()
        scorers = self.population(records, now, nodes)
        for _ in records:  # without rankings, the customers are only counted
            pass
        return scorers, count


@attrs.frozen
class _FastPath:
    """A segment's rule as generated code: a one-record predicate and a list
    filter (both raise where the general evaluator must decide)."""

    predicate: Callable[[Any], bool]
    filter: Callable[[list], list]


@attrs.frozen
class PopulationStats:
    """Population statistics (RFM break points, tiles, percentiles) computed
    from a set of customers at a given time; pass it to
    :meth:`Segment.matches` to score single customers against that population."""

    scorers: dict = attrs.field(repr=False)
    size: int
    now: dt.datetime


class Segment:
    """One compiled rule: a named segment of a rule set, or a standalone rule."""

    def __init__(self, name: str, program: _Program, description: str | None,
                 syntax: n.Node | None, warnings: list[Warning]) -> None:
        self.name = name
        self.description = description
        self._program = program
        self._syntax = syntax
        self.warnings = warnings

    def __repr__(self) -> str:
        return f"<Segment {self.name}: {self.text}>"

    @property
    def text(self) -> str:
        """The rule in canonical layout."""
        return _render(self._program.body(self.name).syntax)

    @property
    def needs_population(self) -> bool:
        """True when the rule ranks customers (RFM, ntile, percentile)."""
        return bool(self._population_nodes())

    def _population_nodes(self) -> list[c.Population]:
        return _population_nodes_under(self._program, [self.name])

    def _population_for(self, population: Any, now: dt.datetime):
        nodes = self._population_nodes()
        if not nodes:
            return None
        if population is None:
            what = "the rule" if self.name == _EXPRESSION_NAME else f"segment '{self.name}'"
            raise EvaluationError(
                f"{what} ranks customers ({nodes[0].kind}): give the population to "
                f"rank against, e.g. matches(customer, now=..., population=customers)")
        if isinstance(population, PopulationStats):
            missing = [node.kind for node in nodes if node.key not in population.scorers]
            if missing:
                raise EvaluationError(
                    f"the population statistics given have no {missing[0]}: compute them with "
                    f"population(customers, now=...) of the rule set this segment belongs to")
            if population.now != now:
                raise EvaluationError(
                    f"these population statistics were computed at {iso_text(population.now)}: "
                    f"evaluate at that time, or compute them again at {iso_text(now)}")
            return population.scorers
        return self._program.ranked(population, now, nodes, "population")[0]

    def matches(self, customer: Any, now: Any = None, *, population: Any = None) -> bool:
        """Whether ``customer`` is in the segment at time ``now``.

        Args:
            customer: one customer: a dict or another mapping, an object with
                attributes (dataclass, namedtuple), a pandas Series or a
                one-row table.
            now: evaluation time (datetime, date or ISO text; default: the current time).
            population: the customers (or :class:`PopulationStats`) to rank
                against, needed when the rule uses RFM scores, ntile or percentile.
        """
        record = _customers.one(customer, "matches")
        at = _now(now, self._program.options.timezone)
        with self._program.room((self.name,)):
            scorers = self._population_for(population, at)
            closure = self._program.closure(self.name)
            return closure(self._program.context(record, at, scorers)) is True

    def filter(self, customers: Any, now: Any = None) -> Any:
        """The customers in the segment, in input order (the population for
        RFM and other rankings is ``customers`` itself).

        Returns:
            a list of the members as given; for a pandas, polars or pyarrow
            table, a table of the same kind holding the members' rows.
        """
        at = _now(now, self._program.options.timezone)
        given = _customers.records(customers, "filter")
        originals = given if type(given) is list else _listed(given)
        records = _customers.readable(originals)
        with self._program.room((self.name,)):
            kept = self._kept(records, at)
        if records is originals and not _customers.is_table(customers):
            return kept
        position = {id(record): index for index, record in enumerate(records)}
        positions = [position[id(record)] for record in kept]
        if _customers.is_table(customers):
            return _customers.take(customers, positions)
        return [originals[index] for index in positions]

    def _kept(self, records: list[Any], at: dt.datetime) -> list[Any]:
        scorers = self._program.population(records, at, self._population_nodes()) \
            if self.needs_population else None
        closure = self._program.closure(self.name)
        context = self._program.context
        fast = self._program.fast_path(self.name)
        if fast is None:
            return [r for r in records if closure(context(r, at, scorers)) is True]
        return codegen.filter_records(records, fast.filter, fast.predicate,
                                      lambda r: closure(context(r, at, scorers)) is True)

    def next_change(self, customer: Any, now: Any = None, *, until: Any = None
                    ) -> dt.datetime | None:
        """The next instant after ``now`` at which ``customer``'s membership
        flips if no new data arrives, or None when it never will (see
        :mod:`segdsl.dynamics`). Rules that change with the calendar (``today``,
        calendar functions, ``days_between``) are searched up to ``until``,
        by default five years after ``now``.
        """
        from segdsl import dynamics

        return dynamics.next_change(self, customer, now, until)

    def explain(self, customer: Any, now: Any = None, *, population: Any = None
                ) -> explaining.Explanation:
        """Every sub-expression of the rule and its value for ``customer``
        (one customer, as for :meth:`matches`)."""
        record = _customers.one(customer, "explain")
        at = _now(now, self._program.options.timezone)
        trace: dict[int, Any] = {}
        with self._program.room((self.name,)):
            scorers = self._population_for(population, at)
            closure = self._program._traced_closure(self.name)  # noqa: SLF001
            closure(self._program.context(record, at, scorers, trace))
        body = self._program.body(self.name)
        inner = explaining.build(body, trace, _render, self._program.body)
        if self.name == _EXPRESSION_NAME:
            return inner
        return explaining.Explanation(self.name, inner.value, True, (inner,), inner.note)


def _listed(rows: Iterable[Any]) -> list[Any]:
    return list(rows)


def _population_nodes_under(program: _Program, names: list[str]) -> list[c.Population]:
    found: dict[str, c.Population] = {}
    for node in c.walk_segments(program.body, names):
        if isinstance(node, c.Population):
            found.setdefault(node.key, node)
    if any(k in found for k in ("rfm.score", "rfm.group")):
        for node in program.population_nodes:
            if node.kind in ("rfm.recency", "rfm.frequency", "rfm.monetary"):
                found.setdefault(node.key, node)
    return list(found.values())


@attrs.frozen
class Result(Mapping):
    """Memberships of every segment for one evaluation: a read-only mapping of
    segment name to the ids of its members.

        >>> result["undecided"]
        [17, 42]
        >>> "undecided" in result, len(result), list(result)
        (True, 1, ['undecided'])

    Attributes:
        members: segment name to the ids of its members, in input order
            (positions from 0 when evaluated with ``ids="position"``).
        total: how many customers were evaluated.
        now: the evaluation time.
    """

    members: dict[str, list[Any]]
    total: int
    now: dt.datetime

    @property
    def sizes(self) -> dict[str, int]:
        """Segment name to number of members."""
        return {name: len(ids) for name, ids in self.members.items()}

    def __getitem__(self, name: str) -> list[Any]:
        try:
            return self.members[name]
        except (KeyError, TypeError):
            raise UsageError(_unknown_segment(name, self.members)) from None

    def __contains__(self, name: object) -> bool:
        try:
            return name in self.members
        except TypeError:  # an unhashable name is no segment's
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def get(self, name: str, default: Any = None) -> Any:
        """The member ids of segment ``name``, or ``default`` when it was not evaluated."""
        return self.members[name] if name in self else default

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data: now, total, sizes and member ids."""
        return {"now": iso_text(self.now), "total": self.total, "sizes": self.sizes,
                "members": {name: list(ids) for name, ids in self.members.items()}}

    def rows(self) -> list[tuple[str, Any]]:
        """``(segment, customer_id)`` pairs, segment by segment, in input order."""
        return [(name, identity) for name, ids in self.members.items() for identity in ids]

    def to_dataframe(self, library: str = "pandas"):
        """The memberships as a DataFrame with columns ``segment`` and ``customer_id``.

        Args:
            library: ``"pandas"`` or ``"polars"`` (it must be installed).
        """
        rows = self.rows()
        return data_frame({"segment": [row[0] for row in rows],
                           "customer_id": [row[1] for row in rows]}, library)

    def _repr_html_(self) -> str:
        # Jupyter shows a result as a table of segment sizes.
        stamp = html.escape(self.now.isoformat())
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{size:,}</td>"
            f"<td style='text-align:right'>{percent(size, self.total)}</td></tr>"
            for name, size in self.sizes.items())
        return (f"<table><caption>{self.total:,} customers at {stamp}</caption>"
                f"<thead><tr><th>segment</th><th>customers</th><th>share</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={size}" for name, size in self.sizes.items())
        return f"<Result of {self.total} customers: {sizes}>"


def _unknown_segment(name: Any, known: Iterable[str]) -> str:
    """``no segment named 'x'; did you mean 'y'? the segments are ...``."""
    known = list(known)
    close = difflib.get_close_matches(str(name), known, n=1) if isinstance(name, str) else []
    advice = f"did you mean {close[0]!r}? " if close else ""
    return f"no segment named {name!r}; {advice}the segments are {', '.join(known) or 'none'}"


def percent(size: int, total: int) -> str:
    """``size`` as a share of ``total``: ``"7.7%"``."""
    if not total:
        return "-"
    tenths = (1000 * size + total // 2) // total  # exact half-up rounding, no float
    return f"{tenths // 10}.{tenths % 10}%"


def data_frame(columns: dict[str, list], library: str):
    """A pandas or polars DataFrame of ``columns``. A polars column of values of
    several types (the ids ``1`` and ``"k"``, or ``1`` and ``2.5``) holds Python
    objects, as pandas does: polars would refuse it, or change its values."""
    if library == "pandas":
        return _optional_import("pandas").DataFrame(columns)
    if library == "polars":
        polars = _optional_import("polars")
        return polars.DataFrame([
            polars.Series(name, values, dtype=polars.Object)
            if len({type(value) for value in values if value is not None}) > 1
            else polars.Series(name, values) for name, values in columns.items()])
    raise UsageError(f"library must be 'pandas' or 'polars', not {library!r}")


def _optional_import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise UsageError(f"{name} is not installed: pip install {name}") from None


class RuleSet:
    """The compiled segments of a rule file."""

    def __init__(self) -> None:
        raise TypeError("use segdsl.load(path) or segdsl.loads(text)")

    @classmethod
    def _from_checker(cls, checker: Checker, bodies: dict[str, c.Checked], source: str,
                      file: str | None) -> RuleSet:
        rule_set = object.__new__(cls)
        rule_set.source = source
        rule_set.file = file
        rule_set.warnings = list(checker.warnings)
        rule_set._program = _Program(checker, dict(bodies))
        rule_set._tables = {}  # a project's table mapping (see load)
        rule_set._segments = {}
        for name in bodies:
            definition = checker.segments.get(name)
            description = definition.description if definition else None
            rule_set._segments[name] = Segment(
                name, rule_set._program, description, definition,
                [w for w in checker.warnings if _within(w, definition)])
        return rule_set

    def __repr__(self) -> str:
        where = f" from {self.file}" if self.file else ""
        return f"<RuleSet{where}: {', '.join(self._segments) or 'no segments'}>"

    def __getitem__(self, name: str) -> Segment:
        try:
            return self._segments[name]
        except (KeyError, TypeError):
            raise UsageError(_unknown_segment(name, self._segments)) from None

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._segments
        except TypeError:  # an unhashable name is no segment's
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._segments)

    def __len__(self) -> int:
        return len(self._segments)

    @property
    def segments(self) -> dict[str, Segment]:
        """The segments by name, in file order."""
        return dict(self._segments)

    def missing_fields(self, customers: Iterable[Any]) -> list[Warning]:
        """Notes on the fields the rules read that no customer has (nor any
        element of the list an aggregation reads them in). Without a schema any
        field name is accepted, so a misspelt one is null for everyone and
        silently matches no one."""
        if self._program.options.schema is not None:
            return []
        customers = [customer for customer in _customers.listed(customers, "missing_fields")
                     if isinstance(customer, dict)]
        if not customers:
            return []
        present = set().union(*customers)
        element_fields = _element_fields(customers)
        notes: dict[str, Warning] = {}
        for name in self._segments:
            for node in c.walk(self._program.body(name)):
                for field, known in _fields_read(node, present, element_fields):
                    if field in known or field in notes or node.syntax is None \
                            or node.syntax.span is None or node.syntax.span.file == "<prelude>":
                        continue
                    close = difflib.get_close_matches(field, sorted(known), n=1)
                    notes[field] = Warning(f"no customer has a field '{field}'", node.syntax.span,
                                           f"did you mean '{close[0]}'?" if close else None,
                                           self.source)
        return list(notes.values())

    def hidden_fields(self, customers: Iterable[Any]) -> list[Warning]:
        """Warnings for the segments, periods and defs named like a field the
        customers have: rules read such a name as the definition, never as
        the customers' field."""
        if self._program.options.schema is not None:
            return []  # with a schema, such a name is already a check error
        present: set[str] = set()
        for customer in _customers.listed(customers, "hidden_fields"):
            if isinstance(customer, dict):
                present.update(customer)
        checker = self._program.checker
        definitions = [("segment", d) for d in checker.segments.values()]
        definitions += [("period", d) for d in checker.periods.values()]
        definitions += [("def", d) for d in checker.defs.values()
                        if d.span is not None and d.span.file != "<prelude>"]
        definitions.sort(key=lambda entry: entry[1].span.start if entry[1].span else 0)
        return [Warning(f"the {kind} '{d.name}' hides the customers' field '{d.name}': rules "
                        f"read '{d.name}' as the {kind}", d.name_span or d.span,
                        f"rename the {kind}", self.source)
                for kind, d in definitions if d.name in present]

    def to_sql(self, dialect: str = "duckdb", **options: Any) -> str:
        """The SQL query computing every segment (see :func:`segdsl.sql.to_sql`)."""
        from segdsl.sql import to_sql

        return to_sql(self, dialect, **options)

    def population(self, customers: Any, now: Any = None) -> PopulationStats:
        """Population statistics of ``customers``, to score single customers later."""
        at = _now(now, self._program.options.timezone)
        nodes = _population_nodes_under(self._program, list(self._segments))
        with self._program.room(self._segments):
            scorers, size = self._program.ranked(customers, at, nodes, "population")
        return PopulationStats(scorers or {}, size, at)

    def changes(self, customers: Any, since: Any, until: Any, *,
                segments: str | Iterable[str] | None = None, id_field: str = "id",
                ids: str | None = None) -> Any:
        """Every membership change in ``(since, until]``: who entered and left
        each segment, at the exact instant (see :mod:`segdsl.dynamics`).

        Returns:
            a :class:`segdsl.dynamics.Changes` (``rows()``, ``to_dict()``,
            ``to_dataframe()``).
        """
        from segdsl import dynamics

        return dynamics.changes(self, customers, since, until, segments, id_field, ids)

    def membership(self, customers: Any, now: Any = None, *,
                   segments: str | Iterable[str] | None = None, id_field: str = "id") -> Any:
        """The customers' memberships at ``now``, kept current by
        ``state.update(additions, now=...)``, which reports who entered and
        left (a :class:`segdsl.membership.Membership`)."""
        from segdsl.membership import Membership

        return Membership(self, customers, now, segments, id_field)

    def next_changes(self, customers: Any, now: Any = None, *,
                     segments: str | Iterable[str] | None = None, until: Any = None,
                     id_field: str = "id", ids: str | None = None) -> Any:
        """Each customer's next membership change in each segment if no new
        data arrives (a :class:`segdsl.dynamics.NextChanges`; ``.next`` is the
        first of them). Segments that rank customers are followed day by day
        up to ``until`` (default: 31 days after ``now``)."""
        from segdsl import dynamics

        return dynamics.next_changes(self, customers, now, segments, until, id_field, ids)

    def evaluate(self, customers: Any, now: Any = None, *,
                 segments: str | Iterable[str] | None = None,
                 progress: Callable[[int], None] | None = None,
                 id_field: str = "id", ids: str | None = None,
                 engine: str | None = None, layout: Any = None) -> Result:
        """Evaluate every segment (or the named ones) over ``customers``.

        Args:
            customers: a list (or any iterable) of customers, or a pandas,
                polars or pyarrow table (one customer per row); read once,
                each customer evaluated as it is read and not kept. Segments
                that read customers only through rankings (RFM, ntile,
                percentile) are decided at the end from each customer's
                measures; a ranking mixed with other conditions needs the
                population first: an iterable that is not an iterator (a set, a
                :class:`segdsl.data.CustomerLines` file) is then read twice, the
                first pass computing only the measures, and an iterator (a
                generator) is listed. Also, through the SQL engine
                (:mod:`segdsl.sql.sources`): a DuckDB connection or relation,
                a ``.duckdb`` file, Parquet, CSV or JSON Lines files of the
                normalized tables (a directory, a glob, a list of paths), one
                JSON Lines or Parquet file of nested customers, a mapping of
                table name to DataFrame; a large table in memory or JSON Lines
                file goes through DuckDB when its answer is provably the same.
            now: evaluation time (datetime, date or ISO text; default: now).
            segments: only this segment, or only these segments.
            progress: called with the number of customers done so far, every
                10,000 customers and at the end.
            id_field: the field holding each customer's id.
            ids: ``"position"`` names customers by their position in the
                input (from 0) instead of by ``id_field``.
            engine: ``"python"``, ``"duckdb"``, ``"postgres"``, ``"spark"``, or
                None to choose from ``customers`` (see :mod:`segdsl.sql.sources`).
            layout: where the lists live for an SQL engine (a
                :class:`segdsl.sql.Layout`; default: the schema's normalized one).

        Raises:
            DataError: a customer has no id, a null id, or another's id; or
                what was given is not customers.
        """
        from segdsl.sql.sources import wants_sql

        if engine not in (None, "python") or layout is not None \
                or wants_sql(customers, ids is None and id_field == "id"):
            return self._evaluate_sql(customers, now, segments, progress, id_field, ids,
                                      engine, layout)
        return self._evaluate_python(customers, now, segments, progress, id_field, ids)

    def _evaluate_sql(self, customers: Any, now: Any, segments: Any, progress: Any,
                      id_field: str, ids: str | None, engine: str | None, layout: Any) -> Result:
        from segdsl.sql.sources import evaluate as through_sql

        if ids is not None or id_field != "id":
            if engine not in (None, "python"):
                raise UsageError(f"the {engine} engine names customers by the layout's id "
                                 f"column: give layout= instead of id_field= or ids=")
            engine = "python"
        if progress is not None and not callable(progress):
            raise UsageError(f"progress must be a function called with the number of customers "
                             f"done, not {shown(progress)}")
        ran_python = []

        def python(records: Any) -> Result:
            ran_python.append(True)
            return self._evaluate_python(records, now, segments, progress, id_field, ids)

        result = through_sql(self, customers, now, segments=segments, engine=engine,
                             layout=layout, python=python)
        if progress is not None and not ran_python:
            progress(result.total)
        return result

    def _evaluate_python(self, customers: Any, now: Any, segments: Any, progress: Any,
                         id_field: str, ids: str | None,
                         kept_in: Callable[[], Any] = list) -> Result:
        """``evaluate`` by the Python engine; each segment's member ids are appended
        to a ``kept_in()`` (``segdsl eval`` keeps them on disk)."""
        names = self._names(segments)
        if progress is not None and not callable(progress):
            raise UsageError(f"progress must be a function called with the number of customers "
                             f"done, not {shown(progress)}")
        identities = _identities(id_field, ids)
        at = _now(now, self._program.options.timezone)
        nodes = _population_nodes_under(self._program, names)
        with _collector_paused(), self._program.room(names):
            if nodes and self._program.ranked_later(names) is not None:
                # One pass: the rankings' measures are gathered as customers are evaluated.
                return self._evaluate(_customers.records(customers, "evaluate"), at, names,
                                      nodes, progress, identities, kept_in=kept_in)
            if nodes and _customers.rereadable(customers):
                # Two passes, nothing kept: the first computes only the rankings' measures.
                ranked = self._program.ranked(customers, at, nodes, "evaluate")
                return self._evaluate(_customers.records(customers, "evaluate"), at, names,
                                      nodes, progress, identities, ranked=ranked,
                                      kept_in=kept_in)
            # Read once, and evaluated as read; kept only when rules rank the customers.
            records = _customers.listed(customers, "evaluate") if nodes \
                else _customers.records(customers, "evaluate")
            return self._evaluate(records, at, names, nodes, progress, identities,
                                  kept_in=kept_in)

    def _names(self, segments: Any) -> list[str]:
        """The segments asked for, checked before any data is read."""
        if segments is None:
            return list(self._segments)
        if isinstance(segments, str):
            segments = [segments]
        elif not isinstance(segments, Iterable) or isinstance(segments, Mapping):
            raise UsageError(f"segments must be a segment name or a list of names, not "
                             f"{shown(segments)}")
        names = list(dict.fromkeys(segments))
        for name in names:
            if not isinstance(name, str):
                raise UsageError(f"segments must be segment names, not {shown(name)}")
            self[name]  # unknown names fail before any data is read
        return names

    def _evaluate(self, records: Iterable[Any], at: dt.datetime, names: list[str],
                  nodes: list[c.Population], progress: Callable[[int], None] | None,
                  identities: Identities, ranked: tuple[dict | None, int] | None = None,
                  kept_in: Callable[[], Any] = list) -> Result:
        """Every segment of ``names`` over ``records``, read once, one by one.

        Args:
            ranked: the population statistics and the number of customers they
                were computed over, from a first pass; None to compute them from
                ``records`` (a list) here.
        """
        ranking, later, measured = None, [], []
        scorers = None
        if ranked is not None:
            scorers = ranked[0]
        elif nodes:
            later = self._program.ranked_later(names) or []
            if later:
                ranking = Ranking(nodes, self._program._compiler)
            else:
                scorers = self._program.population(records, at, nodes)  # type: ignore[arg-type]
        members: dict[str, list[Any]] = {name: kept_in() for name in names}
        plans = [(self._program.closure(name), self._program.fast_predicate(name), members[name])
                 for name in names if name not in later]
        gather = ranking.add if ranking is not None else None
        context = self._program.context
        as_customer = _customers.customer
        identity_of = identities.of
        total = 0
        field, rising = identities.field, identities.rising
        rise = rising.add
        plain = not identities.by_position
        for index, record in enumerate(records):
            if type(record) is not dict:
                record = as_customer(record, index)
            identity = record.get(field) if plain and type(record) is dict else None
            if type(identity) is int and rising.top < identity <= INT64_MAX:
                rise(identity)  # the common case, inlined: ids in ascending order
            else:
                identity = identity_of(record, index)
            ctx = None  # made only when a segment needs the general evaluator
            for closure, fast, ids in plans:
                member = None
                if fast is not None:
                    try:
                        member = fast(record)
                    except Exception:  # noqa: BLE001 - the general evaluator decides
                        member = None
                if member is None:
                    if ctx is None:
                        ctx = context(record, at, scorers, None, field)
                    member = closure(ctx) is True
                if member:
                    ids.append(identity)
            if gather is not None:
                if ctx is None:
                    ctx = context(record, at, scorers, None, field)
                measured.append((identity, gather(ctx)))
            total += 1
            if progress is not None and total % _PROGRESS_EVERY == 0:
                progress(total)
        if ranking is not None:
            self._rank(ranking, measured, at, later, members, field)
        if ranked is not None and total != ranked[1]:
            raise DataError(f"the customers changed between the two readings: {ranked[1]:,} "
                            f"ranked, then {total:,} evaluated")
        if progress is not None:
            progress(total)
        return Result(members, total, at)


    def _rank(self, ranking: Ranking, measured: list[tuple[Any, tuple]], at: dt.datetime,
              later: list[str], members: dict[str, list[Any]], field: str) -> None:
        """Decides the segments that read customers only through rankings, from
        each customer's measures (kept in evaluation order) once all are known."""
        scorers = ranking.scorers()
        plans = [(self._program.closure(name), members[name]) for name in later]
        keys = ranking.keys
        # One context for all: these segments read nothing but the measures handed to it.
        ctx = self._program.context({}, at, scorers, None, field)
        for identity, values in measured:
            ctx.cache = dict(zip(keys, values))
            for closure, ids in plans:
                if closure(ctx) is True:
                    ids.append(identity)


def _identities(id_field: Any, ids: Any) -> Identities:
    """How members are named: by ``id_field``, or by position when ``ids="position"``."""
    if not isinstance(id_field, str) or not id_field:
        raise UsageError(f"id_field must be the name of the field holding the customers' ids, "
                         f"not {shown(id_field)}")
    if ids is not None and ids not in ("field", POSITION):
        raise UsageError(f"ids must be \"position\" (name customers by their position) or "
                         f"\"field\" (by id_field, the default), not {shown(ids)}")
    if ids == POSITION and id_field != "id":
        raise UsageError("give either id_field= or ids=\"position\", not both")
    return Identities(id_field, by_position=ids == POSITION)


@contextlib.contextmanager
def _collector_paused():
    """Evaluation makes no reference cycles, so the cycle collector can rest:
    with millions of records loaded, its full passes would otherwise make the
    cost per customer grow with the number of customers."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fields_read(node: c.Checked, present: set[str], element_fields: Callable[[str], set[str]]):
    """``(field, names that exist there)`` for what ``node`` reads directly from
    the customer, or from the elements of one of the customer's lists."""
    if isinstance(node, c.Field) and node.depth == 0:
        yield node.path[0], present
    elif (listed := _own_list_read(node)) is not None:
        known = element_fields(listed)
        if known:
            yield node.value[0], known


def _own_list_read(node: c.Checked) -> str | None:
    """The customer's own list whose elements' field ``node`` aggregates, if it does."""
    if (isinstance(node, c.Aggregate) and node.value and isinstance(node.source, c.Field)
            and node.source.depth == 0 and len(node.source.path) == 1):
        return node.source.path[0]
    return None


class FieldSurvey:
    """The fields of customers seen one by one, for :meth:`RuleSet.missing_fields`
    and :meth:`RuleSet.hidden_fields` of a stream: the union of the customers'
    fields and of the fields of the elements of the lists the rules read values
    from, as one skeleton customer. Those notes on the skeleton are the notes on
    the customers themselves, and no customer is kept."""

    def __init__(self, rule_sets: Iterable[RuleSet]) -> None:
        self.fields: set[Any] = set()
        self.lists: dict[str, set[Any]] = {name: set() for rules in rule_sets
                                           for name in _element_lists(rules)}

    def see(self, record: Any) -> None:
        """Notes the fields of one customer (a customer that is no dict has none)."""
        if type(record) is not dict:
            return
        self.fields.update(record)
        for name, found in self.lists.items():
            items = record.get(name)
            if type(items) is list:
                for element in items:
                    if isinstance(element, dict):
                        found.update(element)

    def customers(self) -> list[dict[str, Any]]:
        """The skeleton: one customer with every field seen (none when none was)."""
        if not self.fields:
            return []
        skeleton: dict[str, Any] = dict.fromkeys(self.fields)
        for name, found in self.lists.items():
            if name in skeleton:
                skeleton[name] = [dict.fromkeys(found)]
        return [skeleton]


def _element_lists(rules: RuleSet) -> set[str]:
    """The customer's lists whose elements' fields :func:`_fields_read` looks up."""
    return {listed for name in rules._segments for node in c.walk(rules._program.body(name))
            if (listed := _own_list_read(node)) is not None}


def _element_fields(customers: list[dict]) -> Callable[[str], set[str]]:
    """The field names of the elements of each list, computed once per list."""

    @functools.cache
    def fields(list_name: str) -> set[str]:
        found: set[str] = set()
        for customer in customers:
            for element in customer.get(list_name) or ():
                if isinstance(element, dict):
                    found.update(element)
        return found

    return fields


def _within(warning: Warning, definition: n.Node | None) -> bool:
    if definition is None or definition.span is None or warning.span is None:
        return definition is None
    return definition.span.start <= warning.span.start < definition.span.end


@functools.lru_cache(maxsize=4096)
def _render(node: n.Node | None) -> str:
    if node is None:
        return ""
    try:
        from segdsl.formatter import render
    except ImportError:  # pragma: no cover - the formatter ships with the package
        return type(node).__name__
    return render(node)

