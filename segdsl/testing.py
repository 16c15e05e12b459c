"""Rule unit tests: ``*.segtest.toml`` files kept beside the rules.

    # summer_sale.segtest.toml tests summer_sale.seg, the rule file beside it
    now = 2026-07-15T12:00:00Z        # the evaluation time of every case

    [[case]]
    name = "ten visits and no order is undecided"

    [[case.customers]]
    id = 1
    events = [
        { type = "visit", at = 2026-07-01T10:00:00Z },
    ]

    [case.members]                    # exactly these customers of the case are members
    undecided = [1]

    [[case.expect]]                   # or, customer by customer
    customer = 1
    in = ["undecided"]
    not_in = ["sale_buyers"]
    values = { "visits(30d)" = 1 }    # the value of an expression for this customer

A file may name its rule file (``rules = "other.seg"``) and give every case
the same customers (``customers = "fixtures/customers.jsonl"``, a data file
read as ``--data`` reads it); a case may give its own ``now`` and customers.
Population functions (RFM scores, ``ntile``) rank among the case's customers.

Test files are checked before anything runs, as rules are: an unknown
segment, a customer named that the case does not have, an expression that
does not check are :class:`CheckError` placed in the test file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from segdsl.errors import CheckError, SegdslError, UsageError
from segdsl.rules import RuleSet, evaluation_time, loads
from segdsl.timeline import iso_text
from segdsl.toml_source import TomlSource, did_you_mean

SUFFIX = ".segtest.toml"
FILE_KEYS = ("rules", "now", "customers", "case")
CASE_KEYS = ("name", "now", "customers", "members", "expect")
EXPECT_KEYS = ("customer", "in", "not_in", "values")
_VALUE_SEGMENT = "__value_{}"


@attrs.frozen
class Expectation:
    """What one customer of a case must be.

    Attributes:
        customer: the customer's id.
        members_of: segments the customer must be in.
        not_members_of: segments the customer must not be in.
        values: expression text to its expected value.
    """

    customer: Any
    members_of: tuple[str, ...] = ()
    not_members_of: tuple[str, ...] = ()
    values: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Case:
    """One test case: customers, a time, and the memberships expected.

    Attributes:
        name: what the case tests.
        file: the test file.
        line: the line of its ``[[case]]`` header.
        now: the evaluation time.
        customers: the case's customers.
        members: segment name to the ids of exactly its members.
        expectations: customer by customer expectations.
    """

    name: str
    file: str
    line: int
    now: dt.datetime
    customers: tuple[Any, ...]
    members: Mapping[str, tuple[Any, ...]]
    expectations: tuple[Expectation, ...]
    rules: RuleSet = attrs.field(repr=False)
    value_segments: Mapping[str, str] = attrs.field(repr=False, factory=dict)

    @property
    def title(self) -> str:
        """``file:line: name``."""
        return f"{self.file}:{self.line}: {self.name}"

    def run(self) -> list[str]:
        """The failures of the case, each a rendered block (empty: it passed).

        Raises:
            SegdslError: the customers are bad data for the rules.
        """
        names = sorted({*self.members, *(n for e in self.expectations
                                          for n in (*e.members_of, *e.not_members_of))})
        members: dict[str, set[Any]] = {}
        if names:
            result = self.rules.evaluate(list(self.customers), now=self.now, segments=names)
            members = {name: set(result[name]) for name in names}
        failures = []
        for name, expected in self.members.items():
            for identity in self.ids():
                want, got = identity in expected, identity in members[name]
                if want != got:
                    failures.append(self._membership_failure(identity, name, want))
        for expectation in self.expectations:
            for name in expectation.members_of:
                if expectation.customer not in members[name]:
                    failures.append(self._membership_failure(expectation.customer, name, True))
            for name in expectation.not_members_of:
                if expectation.customer in members[name]:
                    failures.append(self._membership_failure(expectation.customer, name, False))
            for text, want in expectation.values.items():
                got = self._value(expectation.customer, text)
                if not _same(want, got):
                    failures.append(f"customer {expectation.customer}: {text} should be "
                                    f"{_shown(want)}, but is {_shown(got)}")
        return list(dict.fromkeys(failures))

    def ids(self) -> list[Any]:
        """The ids of the case's customers, in order."""
        return [_id_of(customer) for customer in self.customers]

    def customer(self, identity: Any) -> Any:
        """The case's customer with id ``identity``."""
        return next(c for c in self.customers if _id_of(c) == identity)

    def explain(self, identity: Any, name: str) -> str:
        """The explanation tree of customer ``identity`` for segment ``name``."""
        segment = self.rules[name]
        population = list(self.customers) if segment.needs_population else None
        return segment.explain(self.customer(identity), now=self.now,
                               population=population).render()

    def _membership_failure(self, identity: Any, name: str, wanted: bool) -> str:
        head = (f"customer {identity} should be in {name}, but is not" if wanted
                else f"customer {identity} should not be in {name}, but is")
        tree = "\n".join(f"  {line}" for line in self.explain(identity, name).splitlines())
        return f"{head}\n{tree}"

    def _value(self, identity: Any, text: str) -> Any:
        explanation = self.rules[self.value_segments[text]].explain(
            self.customer(identity), now=self.now, population=list(self.customers))
        # segment -> "(X) is not null" -> X
        return explanation.children[0].children[0].value


@attrs.frozen
class Outcome:
    """The result of one case."""

    case: Case
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def render(self) -> str:
        """``FAIL file:line: name`` and every failure, indented."""
        lines = [f"FAIL {self.case.title} (now {iso_text(self.case.now)})"]
        for failure in self.failures:
            lines.extend(f"  {line}" for line in failure.splitlines())
        return "\n".join(lines)


def run_case(case: Case) -> Outcome:
    """Run ``case``; bad data for the rules is a failure of the case, not an error."""
    try:
        return Outcome(case, tuple(case.run()))
    except SegdslError as error:
        return Outcome(case, (error.render(),))


def load_cases(path: str | Path, options: Mapping[str, Any] | None = None) -> list[Case]:
    """The cases of a test file, checked against its rules.

    Args:
        path: a ``*.segtest.toml`` file.
        options: options of the rules, as for :func:`segdsl.loads`.

    Raises:
        UsageError: the file (or its rule file or a fixture) cannot be read.
        SegdslError: the rules do not check, or the test file is not valid
            TOML or names what the rules do not have (placed in the file).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read ({error})") from None
    return _Loader(TomlSource(text, str(path), CheckError), path, dict(options or {})).cases()


class _Loader:
    """Reads and checks one test file."""

    def __init__(self, source: TomlSource, path: Path, options: dict[str, Any]) -> None:
        self.source = source
        self.path = path
        self.options = options

    def cases(self) -> list[Case]:
        data = self.source.data
        self.source.unknown_keys(data, FILE_KEYS, "a test file")
        rules_path, rules_text = self._rules_text(data.get("rules"))
        cases = data.get("case", [])
        if not isinstance(cases, list) or not cases:
            raise self.source.fail("a test file has cases: [[case]] tables", "case",
                                   hint="see segdsl test --help for the format")
        rules = self._rules(rules_path, rules_text, [])
        shared = data.get("customers")
        read = [self._case_parts(index, case, rules, data.get("now"), shared)
                for index, case in enumerate(cases)]
        expressions = list(dict.fromkeys(text for parts in read for e in parts["expectations"]
                                         for text in e.values))
        value_segments = {text: _VALUE_SEGMENT.format(index)
                          for index, text in enumerate(expressions)}
        if expressions:
            rules = self._rules(rules_path, rules_text, expressions, read)
        return [Case(**parts, rules=rules, value_segments=value_segments) for parts in read]

    def _rules_text(self, name: Any) -> tuple[Path, str]:
        if name is None:
            rules_path = self.path.with_name(self.path.name.removesuffix(SUFFIX) + ".seg")
            if not rules_path.exists():
                raise UsageError(f"{self.path}: no rule file {rules_path.name} beside it; name "
                                 f"it with rules = \"FILE.seg\"")
        elif isinstance(name, str):
            rules_path = self.path.parent / name
        else:
            raise self.source.fail("'rules' is the path of a rule file", "rules")
        try:
            return rules_path, rules_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise self.source.fail(f"no rule file {rules_path}", name) from None
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"{rules_path}: cannot read ({error})") from None

    def _rules(self, path: Path, text: str, expressions: list[str],
               read: list[dict[str, Any]] | None = None) -> RuleSet:
        extra = "".join(f"\nsegment {_VALUE_SEGMENT.format(index)} = ({expression}) is not null"
                        for index, expression in enumerate(expressions))
        try:
            return loads(text + extra, file=str(path), **self.options)
        except SegdslError as error:
            if error.span is None or error.span.start < len(text):
                raise
            raise self._value_error(error, text, expressions, read or []) from None

    def _value_error(self, error: SegdslError, text: str, expressions: list[str],
                     read: list[dict[str, Any]]) -> SegdslError:
        """An error in an expression of ``values``, placed in the test file."""
        assert error.span is not None
        index = error.span.line - text.count("\n") - 2
        expression = expressions[index] if 0 <= index < len(expressions) else ""
        lines = next((self.source.table_lines("case", number) for number, parts in
                      enumerate(read) if any(expression in e.values for e in parts["expectations"])), None)
        found = self.source.find(expression, lines)
        if found is None or "\n" in expression:
            return self.source.fail(f"in {expression}: {error.message}", None, lines,
                                    hint=error.hint)
        prefix = len(f"segment {_VALUE_SEGMENT.format(index)} = (")
        column = found.column + 1 + max(0, error.span.column - 1 - prefix)
        width = min(error.span.end_column - error.span.column, len(expression)) \
            if error.span.end_line == error.span.line else len(expression)
        return CheckError(error.message, self.source.span(found.line, column, max(1, width)),
                          source=self.source.text, hint=error.hint)

    def _case_parts(self, index: int, case: Any, rules: RuleSet, default_now: Any,
                    shared: Any) -> dict[str, Any]:
        lines = self.source.table_lines("case", index)
        if not isinstance(case, Mapping):
            raise self.source.fail("each case is a [[case]] table", "case", lines)
        self.source.unknown_keys(case, CASE_KEYS, "a case", lines)
        name = case.get("name", f"case {index + 1}")
        if not isinstance(name, str):
            raise self.source.fail("a case's name is text in quotes", "name", lines)
        now = self._now(case.get("now", default_now), rules, lines)
        customers = self._customers(case.get("customers", shared), lines)
        ids = [_id_of(customer) for customer in customers]
        members = self._members(case.get("members", {}), rules, ids, lines)
        expectations = self._expectations(case.get("expect", []), rules, ids, lines)
        if not members and not expectations:
            raise self.source.fail(f"case '{name}' expects nothing", None, lines,
                                   hint="add [case.members] or [[case.expect]]")
        return {"name": name, "file": str(self.path), "line": lines[0], "now": now,
                "customers": tuple(customers), "members": members,
                "expectations": tuple(expectations)}

    def _now(self, value: Any, rules: RuleSet, lines: tuple[int, int]) -> dt.datetime:
        if value is None:
            raise self.source.fail("the case has no now", None, lines,
                                   hint="give now = 2026-07-15T12:00:00Z in the case or at the "
                                        "top of the file; a test must not depend on the clock")
        try:
            return evaluation_time(value, rules)
        except UsageError as error:
            raise self.source.fail(error.message, "now", lines) from None
        except (TypeError, ValueError, OverflowError):
            raise self.source.fail(f"now must be a datetime such as 2026-07-15T12:00:00Z, not "
                                   f"{value!r}", "now", lines) from None

    def _customers(self, value: Any, lines: tuple[int, int]) -> list[Any]:
        if isinstance(value, str):
            from segdsl.data import read_customers

            try:
                return read_customers(self.path.parent / value)
            except UsageError as error:
                raise self.source.fail(error.message, value, lines) from None
        if not isinstance(value, list) or not all(isinstance(c, Mapping) for c in value):
            raise self.source.fail("the case has no customers", None, lines,
                                   hint="give [[case.customers]] tables, or customers = "
                                        "\"FILE.jsonl\"")
        for customer in value:
            if "id" not in customer:
                raise self.source.fail("every customer of a case needs an id", "customers",
                                       lines)
        return list(value)

    def _segment(self, name: Any, rules: RuleSet, lines: tuple[int, int]) -> str:
        if not isinstance(name, str):
            raise self.source.fail(f"a segment is named in quotes, not {name!r}", str(name), lines)
        if name not in rules.segments or name.startswith("__value_"):
            raise self.source.fail(f"unknown segment '{name}'", name, lines,
                                   hint=did_you_mean(name, rules.segments))
        return name

    def _customer(self, identity: Any, ids: list[Any], lines: tuple[int, int]) -> Any:
        if identity not in ids:
            raise self.source.fail(f"the case has no customer with id {identity!r}",
                                   str(identity), lines,
                                   hint=f"its customers are {', '.join(map(str, ids))}")
        return identity

    def _members(self, value: Any, rules: RuleSet, ids: list[Any],
                 lines: tuple[int, int]) -> dict[str, tuple[Any, ...]]:
        if not isinstance(value, Mapping):
            raise self.source.fail("members maps segments to customer ids: undecided = [1, 2]",
                                   "members", lines)
        members = {}
        for name, identities in value.items():
            self._segment(name, rules, lines)
            if not isinstance(identities, list):
                raise self.source.fail(f"the members of {name} are a list of ids", name, lines)
            members[name] = tuple(self._customer(i, ids, lines) for i in identities)
        return members

    def _expectations(self, value: Any, rules: RuleSet, ids: list[Any],
                      lines: tuple[int, int]) -> list[Expectation]:
        if not isinstance(value, list) or not all(isinstance(e, Mapping) for e in value):
            raise self.source.fail("expect is a list of [[case.expect]] tables", "expect", lines)
        expectations = []
        for each in value:
            self.source.unknown_keys(each, EXPECT_KEYS, "an expectation", lines)
            if "customer" not in each:
                raise self.source.fail("an expectation names its customer: customer = 1",
                                       "expect", lines)
            identity = self._customer(each["customer"], ids, lines)
            into = [self._segment(n, rules, lines) for n in _names(each.get("in", []))]
            out = [self._segment(n, rules, lines) for n in _names(each.get("not_in", []))]
            values = each.get("values", {})
            if not isinstance(values, Mapping):
                raise self.source.fail("values maps expressions to values: "
                                       "values = { \"visits(30d)\" = 12 }", "values", lines)
            expectations.append(Expectation(identity, tuple(into), tuple(out), dict(values)))
        return expectations


def _names(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) \
        else [value]


def _id_of(customer: Any) -> Any:
    return customer.get("id") if isinstance(customer, Mapping) else getattr(customer, "id", None)


def _same(want: Any, got: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        if (want.tzinfo is None) != (got.tzinfo is None):
            return want.replace(tzinfo=None) == got.replace(tzinfo=None)
        return want == got
    return bool(want == got)


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (dt.date, dt.datetime)):
        return iso_text(value) if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)
