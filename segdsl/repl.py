"""The interactive prompt: ``segdsl repl [FILE] [--data DATA] [--now DATE]``.

Try rules on customers while writing them::

    segdsl> visits(30d) >= 10 and not purchased(30d)
    153 of 2,000 customers match (7.7%)
    ids: 8, 18, 52, 72, 79, 82, 89, 105, 114, 133 and 143 more

:class:`Session` holds the state (the statements of the loaded rule file and
those typed since, the customers, ``now``) and answers one complete input at
a time, so everything but the terminal is testable without one. Two front
ends drive it: prompt_toolkit when it is installed (``pip install
'segdsl[repl]'``: multi-line editing, history, completion as you type), and
otherwise the standard library's ``input()`` with ``readline`` history and tab
completion. Both share :func:`continues` (does the input go on at the next
line?) and :func:`complete` (the words that may come next).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import sys
import typing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import attrs

from segdsl import checked as c
from segdsl import nodes as n
from segdsl import types as t
from segdsl.checker import AGGREGATIONS, ORDER_MACROS, POPULATION_FUNCTIONS, RFM_MEASURES, prelude
from segdsl.compiler import get_field
from segdsl.customers import answers_to, id_spellings
from segdsl.errors import CheckError, SegdslError, UsageError
from segdsl.functions import BUILTINS
from segdsl.nodes import Span
from segdsl.parser import parse, parse_expression
from segdsl.rules import RuleSet, evaluation_time, loads, percent
from segdsl.schema import DEFAULT_SCHEMA, Schema
from segdsl.timeline import iso_text

try:  # the richer prompt is optional: pip install 'segdsl[repl]'
    from prompt_toolkit.completion import Completer, Completion
except ImportError:  # pragma: no cover - the plain front end's tests stand in for this
    Completer = object  # type: ignore[assignment,misc]
    Completion = None  # type: ignore[assignment,misc]

PROMPT = "segdsl> "
CONTINUATION = "...     "
HISTORY_FILE = "~/.segdsl_history"
READLINE_HISTORY_FILE = "~/.segdsl_readline_history"
SHOWN_IDS = 10
SCHEMA_SAMPLE = 100  # customers read to infer field types (every customer is read for names)
RICHER_PROMPT_HINT = ("pip install 'segdsl[repl]' gives a richer prompt: multi-line editing, "
                      "completion as you type")

_INPUT = "<input>"  # the file name of typed text in error messages
_EXPRESSION = "__input__"  # the segment a typed expression is checked and evaluated as
_KEYWORDS = ("and", "or", "not", "in", "is", "null", "true", "false", "now", "today",
             "between", "contains", "starts_with", "ends_with", "matches", "as")
_STATEMENT_KEYWORDS = ("segment", "period", "def")
# An input ending with one of these words or operators goes on at the next line.
_CONTINUING_WORDS = frozenset({"and", "or", "not", "in", "is", "between", "contains",
                               "starts_with", "ends_with", "matches"})
_AGGREGATION_OPTIONS = ("within", "during", "where")
_ORDER_OPTIONS = ("within", "during", "where", "category", "sku", "discounted")


# ------------------------------------------------------------------ commands


@attrs.frozen
class _Command:
    usage: str
    help: str


COMMANDS = {
    ":load": _Command(":load FILE", "add the segments, periods and defs of a rule file "
                                    "(a name defined again replaces the old definition)"),
    ":data": _Command(":data FILE", "load customers: .jsonl, .json, or .csv with orders.csv "
                                    "and events.csv beside it"),
    ":now": _Command(":now [DATE]", "show or set the evaluation time: 2026-07-15, "
                                    "2026-07-15T12:00:00Z, or now (the current time)"),
    ":segments": _Command(":segments", "the segments, their descriptions, and their sizes "
                                       "when customers are loaded"),
    ":explain": _Command(":explain ID [SEGMENT|EXPRESSION]",
                         "why customer ID is or is not matched (default: the last expression)"),
    ":show": _Command(":show ID", "the customer's record as JSON"),
    ":schema": _Command(":schema", "the fields of the loaded customers"),
    ":help": _Command(":help", "this help"),
    ":quit": _Command(":quit", "leave the session (also Ctrl-D)"),
}

_HELP_INTRO = """\
Type a rule to count the customers it matches and see the first of them:
  visits(30d) >= 10 and not purchased(30d)
Type a statement (segment, period or def) to add it to the session (the same name
again replaces it), or a segment's name to evaluate it. An input goes on at the
next line (prompt ...) while a bracket is open or the line ends with an operator,
'and', 'or', 'not', '=' or ','; a blank line ends it. Tab completes names."""


@attrs.frozen
class Reply:
    """What the session answers to one input.

    Attributes:
        text: what to print ("" for nothing).
        error: whether the input failed (the front end may colour it).
        quit: whether the session should end.
    """

    text: str
    error: bool = False
    quit: bool = False


# ---------------------------------------------------------------- statements


@attrs.frozen
class _Statement:
    """A statement of the session, and where it was written.

    ``text`` is the statement's source preceded by as many spaces as it was
    indented, so that its columns are those of ``source``; its first line is
    line ``line`` of ``source`` and its first character at offset ``start``.
    """

    name: str
    kind: str
    node: n.Node | None = attrs.field(eq=False, repr=False)
    text: str = attrs.field(repr=False)
    file: str
    source: str = attrs.field(repr=False)
    line: int
    start: int

    @classmethod
    def written(cls, node: n.Node, source: str, file: str) -> _Statement:
        span = node.span
        indent = span.column - 1
        kind = {n.SegmentDef: "segment", n.PeriodDef: "period"}.get(type(node), "def")
        return cls(node.name, kind, node, " " * indent + source[span.start:span.end], file,
                   source, span.line, span.start - indent)

    @classmethod
    def expression(cls, text: str) -> _Statement:
        """A typed expression as the body of a hidden segment: the header takes
        a line of its own, so the expression keeps its lines and columns."""
        header = f"segment {_EXPRESSION} =\n"
        return cls(_EXPRESSION, "segment", None, header + text, _INPUT, text, 0, -len(header))


class _Composite:
    """Statements joined into one rule text, with the way back from a position
    in that text to where the statement was written."""

    def __init__(self, statements: Iterable[_Statement]) -> None:
        self.layout: list[tuple[int, int, _Statement]] = []
        parts, line, offset = [], 1, 0
        for statement in statements:
            self.layout.append((line, offset, statement))
            parts.append(statement.text)
            line += statement.text.count("\n") + 1
            offset += len(statement.text) + 1
        self.text = "\n".join(parts)

    def locate(self, span: Span | None) -> tuple[_Statement, Span] | None:
        """The statement ``span`` lies in, and the span in that statement's source."""
        if span is None or span.file is not None or not self.layout:
            return None  # a span in the prelude, or none
        line, offset, statement = next(entry for entry in reversed(self.layout)
                                       if entry[1] <= span.start)
        lines, chars = statement.line - line, statement.start - offset
        return statement, Span(span.line + lines, span.column, span.end_line + lines,
                               span.end_column, span.start + chars, span.end + chars,
                               statement.file)

    def relocated(self, error: SegdslError) -> SegdslError:
        """``error`` (and the others it lists) pointing into the statements' own sources."""
        for each in getattr(error, "errors", None) or [error]:
            found = self.locate(each.span)
            if found is not None:
                each.source, each.span = found[0].source, found[1]
        return error

    def warnings(self, rules: RuleSet, statements: list[_Statement]) -> list[str]:
        """The rendered warnings about ``statements``."""
        shown = []
        for warning in rules.warnings:
            found = self.locate(warning.span)
            if found is not None and found[0] in statements:
                shown.append(attrs.evolve(warning, span=found[1], source=found[0].source).render())
        return shown


# ------------------------------------------------------------------- session


class Session:
    """The state of an interactive session and its answers to inputs.

    Args:
        now: the evaluation time (datetime, date or ISO text); None follows
            the current time.
        schema, functions, timezone, rfm_window: options of the rules, as
            for :func:`segdsl.loads`.
    """

    def __init__(self, *, now: Any = None, schema: Schema | None = None, functions=None,
                 timezone: Any = None, rfm_window: Any = None) -> None:
        self._options = {"schema": schema, "functions": functions, "timezone": timezone,
                         "rfm_window": rfm_window}
        self._statements: dict[str, _Statement] = {}
        self._rules = loads("", **self._options)
        self.customers: list[Any] | None = None
        self.data_name: str | None = None
        self._inferred: Schema | None = None
        self.now = None if now is None else evaluation_time(now, self._rules)
        self.last_expression: str | None = None
        #: how many inputs failed (a piped script then exits with status 1)
        self.failures = 0

    # ------------------------------------------------------------- inputs

    def run(self, text: str) -> str:
        """The text to print in answer to one complete input."""
        return self.handle(text).text

    def handle(self, text: str) -> Reply:
        """Answer one complete input: an expression, statements or a command.

        Errors never escape: a :class:`SegdslError` is rendered with its
        caret and hint, anything else in one line.
        """
        reply = self._answer(text)
        self.failures += reply.error
        return reply

    def _answer(self, text: str) -> Reply:
        stripped = text.strip()
        try:
            if stripped.startswith(":"):
                return self._command(stripped)
            if not _meaningful(stripped):
                return Reply("")
            if _is_statement(stripped):
                return Reply(self._define(text))
            return Reply(self._evaluate(text))
        except SegdslError as error:
            return Reply(_render_error(error), error=True)
        except Exception as error:  # noqa: BLE001 - a bug must not end the session
            message = " ".join(str(error).split())
            return Reply(f"internal error ({type(error).__name__}: {message}); "
                         f"please report it", error=True)

    # ----------------------------------------------------------- loading

    def load_rules(self, path: str | Path) -> str:
        """Add the statements of a rule file; returns what to print. A file
        with errors adds nothing (the errors are raised, all of them listed)."""
        new = self._parsed_whole(_read_rules(path), str(path))
        replaced, warnings = self._add(new)
        return _loaded(path, new, replaced, warnings)

    def open_rules(self, path: str | Path) -> Reply:
        """Add what checks of a rule file, as the session starts: every error
        is shown, the statements without errors (and not depending on one)
        are added, and the others are named as not loaded, so that the
        session can be used to fix them. Reply.error is set when the file
        had errors."""
        text, file = _read_rules(path), str(path)
        try:
            new, problems = self._parsed(text, file)
        except SegdslError as error:  # a syntax error: no statement can be read
            return Reply(f"{_render_error(error)}\nloaded nothing from {path}", error=True)
        kept, failed = list(new), set[str]()
        while True:
            try:
                replaced, warnings = self._add(kept)
                break
            except SegdslError as error:
                if not kept:
                    raise
                found = list(getattr(error, "errors", None) or [error])
                problems.extend(e for e in found if _key(e) not in {_key(p) for p in problems})
                failing = {s.name for each in found for s in kept if _holds(s, each.span, file)}
                if not failing:  # an error no statement of the file holds: load none
                    failing = {s.name for s in kept}
                failed |= failing
                kept = _without_dependents([s for s in kept if s.name not in failing], new)
        lines = [problem.render() for problem in sorted(problems, key=_offset)]
        lines.append(_loaded(path, kept, replaced, warnings))
        for reason, names in (("because of the errors above", failed),
                              ("because they use what is not loaded", None)):
            dropped = [s for s in new if s not in kept and (s.name in failed) == (names is not None)]
            if dropped:
                lines.append(f"not loaded, {reason}: " + ", ".join(
                    f"{s.kind} {s.name} (line {s.line})" for s in dropped))
        return Reply("\n".join(lines), error=bool(problems))

    def load_data(self, path: str | Path) -> str:
        """Load the customers of a data file; returns what to print."""
        from segdsl.data import read_customers

        self.use_customers(read_customers(path), str(path))
        if not self.customers:
            return f"warning: {path} holds no customers"
        return f"loaded {len(self.customers):,} customers from {path}"

    def use_customers(self, customers: Iterable[Any], name: str = "customers") -> None:
        """Evaluate rules on ``customers`` from now on."""
        self.customers = list(customers)
        self.data_name = name
        self._inferred = _data_schema(self.customers)

    # ------------------------------------------------------- vocabulary

    @property
    def rules(self) -> RuleSet:
        """The compiled rules of the session."""
        return self._rules

    def names(self) -> dict[str, str]:
        """Segment, period and def names of the session, each to its kind."""
        return {name: statement.kind for name, statement in self._statements.items()}

    def record_type(self) -> t.Type:
        """The customers' record type: from the schema option, else inferred
        from the loaded customers, else the default schema."""
        schema = self._options["schema"] or self._inferred or DEFAULT_SCHEMA
        return schema.root

    # ------------------------------------------------------- evaluation

    def _time(self) -> dt.datetime:
        return self.now if self.now is not None else evaluation_time(None, self._rules)

    def _parsed(self, text: str, file: str) -> tuple[list[_Statement], list[SegdslError]]:
        """The statements of ``text``, each name's first definition only, and
        an error for each name defined again."""
        try:
            rule_file = parse(text, file=file)
        except SegdslError as error:
            raise error.located(text, file) from None
        statements = [_Statement.written(node, text, file) for node in rule_file.statements]
        seen: dict[str, _Statement] = {}
        twice: list[SegdslError] = []
        for statement in statements:
            if statement.name in seen:
                first = seen[statement.name].node.span.line
                twice.append(CheckError(f"'{statement.name}' is defined twice (first on line "
                                        f"{first})", statement.node.name_span, source=text,
                                        hint="rename one of them").located(text, file))
                continue
            seen[statement.name] = statement
        return list(seen.values()), twice

    def _parsed_whole(self, text: str, file: str) -> list[_Statement]:
        """The statements of ``text``; a name defined twice fails the whole
        text, with every error of the other statements listed too."""
        new, twice = self._parsed(text, file)
        if twice:
            try:
                self._compile(self._with(new).values())
            except SegdslError as error:
                twice.extend(getattr(error, "errors", None) or [error])
            ordered = sorted(twice, key=_offset)
            ordered[0].errors = ordered
            raise ordered[0]
        return new

    def _compile(self, statements: Iterable[_Statement]) -> tuple[RuleSet, _Composite]:
        composite = _Composite(statements)
        try:
            return loads(composite.text, **self._options), composite
        except SegdslError as error:
            raise composite.relocated(error) from None

    def _add(self, new: list[_Statement]) -> tuple[list[_Statement], list[str]]:
        """Add (or replace) statements; the session is unchanged if they do not check.
        Returns the statements replaced and the warnings about the new ones."""
        statements = self._with(new)
        replaced = [self._statements[s.name] for s in new if s.name in self._statements]
        rules, composite = self._compile(statements.values())
        self._statements, self._rules = statements, rules
        notes = composite.warnings(rules, new) + self._missing_fields(rules, composite, new)
        return replaced, notes

    def _with(self, new: list[_Statement]) -> dict[str, _Statement]:
        """The session's statements with ``new`` added (a replaced name keeps its place)."""
        statements = dict(self._statements)
        for statement in new:
            statements[statement.name] = statement
        return statements

    def _define(self, text: str) -> str:
        new = self._parsed_whole(text, _INPUT)
        replaced, warnings = self._add(new)
        before = {s.name: s.kind for s in replaced}
        segments = [s.name for s in new if s.kind == "segment"]
        result = (self._rules.evaluate(self.customers, now=self._time(), segments=segments)
                  if segments and self.customers is not None else None)
        lines = list(warnings)
        for statement in new:
            line = f"{statement.kind} {statement.name} "
            if statement.name not in before:
                line += "defined"
            elif before[statement.name] == statement.kind:
                line += "redefined"
            else:
                line += f"defined, replacing {before[statement.name]} {statement.name}"
            if result is not None and statement.kind == "segment":
                line += ": " + _share(len(result[statement.name]), result.total)
            lines.append(line)
        return "\n".join(lines)

    def _with_expression(self, text: str) -> tuple[RuleSet, list[str]]:
        """The session's rules plus ``text`` as a segment, and its warnings."""
        try:
            parse_expression(text)
        except SegdslError as error:
            raise error.located(text, _INPUT) from None
        expression = _Statement.expression(text)
        rules, composite = self._compile([*self._statements.values(), expression])
        notes = composite.warnings(rules, [expression])
        return rules, notes + self._missing_fields(rules, composite, [expression])

    def _missing_fields(self, rules: RuleSet, composite: _Composite,
                        statements: list[_Statement]) -> list[str]:
        """Notes on the fields the new rules read that no loaded customer has.
        Without a schema any field name is accepted, so a misspelt one is null
        for everyone and silently matches no one."""
        known = self._inferred.fields if self._inferred and not self._options["schema"] else None
        if known is None:
            return []
        notes: dict[str, str] = {}  # the first place each missing field is read
        for statement in statements:
            if statement.kind != "segment":
                continue
            for node in c.walk(rules._program.body(statement.name)):  # noqa: SLF001
                if (not isinstance(node, c.Field) or node.depth or node.path[0] in known
                        or node.path[0] in notes):
                    continue
                found = composite.locate(node.syntax.span if node.syntax else None)
                if found is None or found[0] not in statements:
                    continue  # a field read by a def or the prelude
                close = difflib.get_close_matches(node.path[0], list(known), n=1)
                note = SegdslError(f"note: no customer in {self.data_name} has a field "
                                   f"'{node.path[0]}'", found[1], source=found[0].source,
                                   hint=f"did you mean '{close[0]}'?" if close else None)
                notes[node.path[0]] = note.render()
        return list(notes.values())

    def _evaluate(self, text: str) -> str:
        rules, warnings = self._with_expression(text)
        self.last_expression = text
        if self.customers is None:
            return "\n".join([*warnings, "the rule checks; load customers with :data FILE "
                                         "to see whom it matches"])
        result = rules.evaluate(self.customers, now=self._time(), segments=[_EXPRESSION])
        ids = result[_EXPRESSION]
        lines = [*warnings, f"{_share(len(ids), result.total)}"]
        if ids:
            shown = ", ".join(str(identity) for identity in ids[:SHOWN_IDS])
            more = f" and {len(ids) - SHOWN_IDS:,} more" if len(ids) > SHOWN_IDS else ""
            lines.append(f"ids: {shown}{more}")
        return "\n".join(lines)

    # --------------------------------------------------------- commands

    def _command(self, text: str) -> Reply:
        typed, *rest = text.split(None, 1)
        argument = rest[0].strip() if rest else ""
        name = _command_name(typed)
        if name == ":quit":
            return Reply("", quit=True)
        handler: Callable[[str], str] = getattr(self, "_command_" + name[1:])
        return Reply(handler(argument))

    def _command_help(self, argument: str) -> str:
        width = max(len(command.usage) for command in COMMANDS.values())
        rows = [f"  {c.usage:<{width}}  {c.help}" for c in COMMANDS.values()]
        return "\n".join([_HELP_INTRO, "", "Commands:", *rows])

    def _command_load(self, argument: str) -> str:
        return self.load_rules(_required(argument, ":load"))

    def _command_data(self, argument: str) -> str:
        return self.load_data(_required(argument, ":data"))

    def _command_now(self, argument: str) -> str:
        if argument == "now":
            self.now = None
        elif argument:
            self.now = evaluation_time(argument, self._rules)
        if self.now is None:
            return f"now = the current time ({iso_text(self._time())})"
        return f"now = {iso_text(self.now)}"

    def _command_segments(self, argument: str) -> str:
        segments = self._rules.segments
        if not segments:
            lines = ["no segments yet: type segment NAME = RULE, or :load FILE"]
        else:
            lines = self._segment_rows(segments)
        for kind, label in (("period", "periods"), ("def", "defs")):
            shown = [_signature(s) for s in self._statements.values() if s.kind == kind]
            if shown:
                lines.append(f"{label}: {', '.join(shown)}")
        return "\n".join(lines)

    def _segment_rows(self, segments: dict) -> list[str]:
        if self.customers is None:
            width = max(len(name) for name in segments)
            return [f"{name:<{width}}  {segment.description or ''}".rstrip()
                    for name, segment in segments.items()]
        sizes = self._rules.evaluate(self.customers, now=self._time()).sizes
        rows = [("segment", "customers", "share", "description")]
        for name, segment in segments.items():
            rows.append((name, f"{sizes[name]:,}", percent(sizes[name], len(self.customers)),
                         segment.description or ""))
        return _table(rows)

    def _command_explain(self, argument: str) -> str:
        identity, *rest = _required(argument, ":explain").split(None, 1)
        customer = self._customer(identity)
        target = rest[0].strip() if rest else self.last_expression
        if target is None:
            raise UsageError("nothing to explain yet: type an expression first, or give one: "
                             ":explain ID SEGMENT|EXPRESSION")
        population = self.customers
        if target in self._rules:
            segment = self._rules[target]
            return segment.explain(customer, now=self._time(), population=population).render()
        rules, _ = self._with_expression(target)  # warnings were shown when it was typed
        explanation = rules[_EXPRESSION].explain(customer, now=self._time(),
                                                 population=population)
        return explanation.children[0].render()

    def _command_show(self, argument: str) -> str:
        customer = self._customer(_required(argument, ":show"))
        record = customer if isinstance(customer, dict) else vars(customer)
        return json.dumps(record, default=str, ensure_ascii=False)

    def _command_schema(self, argument: str) -> str:
        lines = list(_schema_lines(self.record_type()))
        if self._options["schema"] is None and self._inferred is None:
            lines.insert(0, "no customers loaded: any field is accepted; orders and events "
                            "have these fields (:data FILE to load customers)")
        return "\n".join(lines)

    def _customer(self, identity: str) -> Any:
        """The customer ``identity`` names, as `eval` names customers (by position
        without an id): ``1`` is the number 1 (as is ``1.0``) or the text "1"."""
        if self.customers is None:
            raise UsageError("no customers loaded: use :data FILE")
        named = id_spellings(identity)
        found = [(index, customer) for index, customer in enumerate(self.customers)
                 if answers_to(_name(customer, index), named)]
        if not found:
            raise UsageError(f"no customer with id {identity} in {self.data_name}")
        if len(found) > 1:
            shown = " and ".join(f"{_name(c, i)!r} (position {i})" for i, c in found[:2])
            raise UsageError(f"id {identity} names two customers of {self.data_name}, {shown}: "
                             f"give '\"{identity}\"' for the text id")
        return found[0][1]


def _name(customer: Any, position: int) -> Any:
    """A customer's id, or its position without one (as in a Result)."""
    identity = get_field(customer, "id")
    return position if identity is None else identity


def _data_schema(customers: list[Any]) -> Schema | None:
    """The fields of ``customers``: types inferred from a sample, and every
    top-level name any customer has (typed ``any`` when the sample lacks it)."""
    names: dict[str, None] = {}
    for customer in customers:
        names.update(dict.fromkeys(customer if isinstance(customer, dict)
                                   else getattr(customer, "__dict__", ())))
    try:
        sample = Schema.infer(customers, limit=SCHEMA_SAMPLE).fields if customers else {}
    except SegdslError:
        sample = {}
    return Schema({name: sample.get(name, t.ANY) for name in names}) if names else None


def _command_name(typed: str) -> str:
    """The command ``typed`` names: itself, ``:exit``, or a unique prefix (``:ex``)."""
    if typed in COMMANDS or typed == ":exit":
        return ":quit" if typed == ":exit" else typed
    starting = [name for name in COMMANDS if name.startswith(typed)]
    if len(starting) == 1:
        return starting[0]
    if starting:
        raise UsageError(f"{typed} is short for several commands: {', '.join(starting)}")
    close = difflib.get_close_matches(typed, list(COMMANDS), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(f"unknown command {typed}{hint} (:help lists the commands)")


def _required(argument: str, command: str) -> str:
    if not argument:
        raise UsageError(f"usage: {COMMANDS[command].usage}")
    return argument


def _read_rules(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{path}: cannot read the rule file ({reason})") from None


def _loaded(path: str | Path, new: list[_Statement], replaced: list[_Statement],
            warnings: list[str]) -> str:
    """What to print once statements of ``path`` are loaded."""
    kinds = [s.kind for s in new]
    counts = [_plural(kinds.count(kind), kind) for kind in ("segment", "period", "def")
              if kind in kinds]
    lines = [*warnings, f"loaded {path}: {_join(counts) if counts else 'no statements'}"]
    if replaced:
        lines.append(f"replaced {', '.join(s.name for s in replaced)}")
    return "\n".join(lines)


def _holds(statement: _Statement, span: Span | None, file: str) -> bool:
    """Whether ``span`` (relocated into its file) lies in ``statement``."""
    if span is None or span.file != file or statement.file != file:
        return False
    return statement.start <= span.start < statement.start + len(statement.text)


def _without_dependents(kept: list[_Statement], new: list[_Statement]) -> list[_Statement]:
    """``kept`` without the statements that use a name of ``new`` left out:
    without a schema the name would silently read as a field instead."""
    kept = list(kept)
    while True:
        dropped = {s.name for s in new if s not in kept}
        remaining = [s for s in kept if not (_names_used(s.node) & dropped)]
        if len(remaining) == len(kept):
            return kept
        kept = remaining


def _names_used(node: Any) -> set[str]:
    """The names a statement's rule refers to (segments, periods, defs, fields)."""
    names: set[str] = set()
    pending: list[Any] = [node.body] if isinstance(node, (n.SegmentDef, n.FunctionDef)) else []
    while pending:
        current = pending.pop()
        if isinstance(current, n.Reference):
            names.add(current.path[0])
        elif isinstance(current, n.Call):
            names.add(current.name)
        pending.extend(n.children(current))
    return names


def _key(error: SegdslError) -> tuple[int, str]:
    return _offset(error), error.message


def _offset(error: SegdslError) -> int:
    return error.span.start if error.span is not None else -1


def _render_error(error: SegdslError) -> str:
    return "\n".join(each.render() for each in getattr(error, "errors", None) or [error])


def _is_statement(text: str) -> bool:
    words = [token for token in _scan(text) if token.kind not in ("space", "comment")]
    return bool(words) and words[0].value in _STATEMENT_KEYWORDS


def _meaningful(text: str) -> bool:
    return any(token.kind not in ("space", "comment") for token in _scan(text))


def _share(size: int, total: int) -> str:
    return f"{size:,} of {total:,} customers match ({percent(size, total)})"





def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _signature(statement: _Statement) -> str:
    node = statement.node
    if isinstance(node, n.PeriodDef):
        return f"{node.name} ({node.range.start} .. {node.range.end})"
    if isinstance(node, n.FunctionDef):
        return f"{node.name}({', '.join(p.name for p in node.params)})"
    return statement.name


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [f"{name:<{widths[0]}}  {size:>{widths[1]}}  {share:>{widths[2]}}  {text}".rstrip()
            for name, size, share, text in rows]


def _schema_lines(record: t.Type, indent: str = "") -> Iterator[str]:
    for name, type_ in (record.fields or {}).items():
        element = type_.element if type_.is_list else None
        if element is not None and element.is_record:
            stamp = f", stamped by {element.timestamp}" if element.timestamp else ""
            yield f"{indent}{name}: list of records{stamp}"
            yield from _schema_lines(element, indent + "  ")
        elif type_.is_record:
            yield f"{indent}{name}: record"
            yield from _schema_lines(type_, indent + "  ")
        else:
            yield f"{indent}{name}: {type_}"


# ------------------------------------------------- multi-line input, tokens


@attrs.frozen
class _Token:
    kind: str
    value: str
    end: int


_TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<open_string>["'](?:[^"'\\\n]|\\.)*)
  | (?P<comment>\#[^\n]*)
  | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\.?)
  | (?P<number>\d(?:[\w:]|\.(?=\d))*)
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<operator>==|!=|<=|>=|\.\.|[-+*/%<>=,.])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def _scan(text: str) -> list[_Token]:
    """Rough tokens of (possibly unfinished) input, enough to see brackets,
    strings, comments and the last word."""
    return [_Token(match.lastgroup, match.group(), match.end()) for match in _TOKEN.finditer(text)]


def continues(text: str) -> bool:
    """Whether ``text`` is unfinished and goes on at the next line: a bracket
    is open, it ends with an operator, ``and``, ``or``, ``not``, ``=`` or
    ``,``, or it is a statement whose ``=`` has not come yet. Commands never
    go on."""
    if text.lstrip().startswith(":"):
        return False
    tokens = [token for token in _scan(text) if token.kind not in ("space", "comment")]
    if not tokens:
        return False
    depth = sum(1 if token.kind == "open" else -1 if token.kind == "close" else 0
                for token in tokens)
    last = tokens[-1]
    return (depth > 0 or last.kind == "operator" or last.value in _CONTINUING_WORDS
            or (tokens[0].value in _STATEMENT_KEYWORDS
                and not any(token.value == "=" for token in tokens)))


# ---------------------------------------------------------------- completion


@attrs.frozen
class Candidate:
    """A completion: ``text`` replaces the word that starts ``start``
    characters before the cursor (``start`` is zero or negative)."""

    text: str
    start: int
    meta: str = ""


@attrs.define
class _Call:
    callee: str | None  # None for a parenthesis or a list
    first: str | None = None  # the first argument, when it is a name
    alias: str | None = None  # the name its elements are given: `events as e`


def complete(session: Session, text: str) -> list[Candidate]:
    """The completions of the word before the cursor, ``text`` being the
    whole input up to the cursor."""
    command = text.lstrip()
    if command.startswith(":"):
        return _complete_command(session, command)
    return _complete_rule(session, text)


def _complete_command(session: Session, text: str) -> list[Candidate]:
    name, space, argument = text.partition(" ")
    if not space:
        return [Candidate(c, -len(name), "command") for c in COMMANDS if c.startswith(name)]
    argument = argument.lstrip()
    if name in (":load", ":data"):
        return _complete_path(argument, (".seg",) if name == ":load"
                              else (".jsonl", ".ndjson", ".json", ".csv"))
    if name == ":explain":
        identity = re.match(r"\S+\s+", argument)
        return _complete_rule(session, argument[identity.end():]) if identity else []
    return []


def _complete_path(argument: str, suffixes: tuple[str, ...]) -> list[Candidate]:
    folder, _, prefix = argument.rpartition("/")
    folder = folder + "/" if folder or argument.startswith("/") else ""
    try:
        entries = sorted(os.scandir(os.path.expanduser(folder) or "."), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix):
            continue
        if entry.is_dir():
            found.append(Candidate(folder + entry.name + "/", -len(argument), "folder"))
        elif entry.name.endswith(suffixes):
            found.append(Candidate(folder + entry.name, -len(argument), "file"))
    return found


def _complete_rule(session: Session, text: str) -> list[Candidate]:
    tokens = [token for token in _scan(text) if token.kind != "space"]
    at_end = tokens and tokens[-1].end == len(text)
    if at_end and tokens[-1].kind not in ("name", "operator", "open"):
        return []  # inside a string or comment, or right after a number or a bracket
    word = tokens[-1].value if at_end and tokens[-1].kind == "name" else ""
    before = tokens[:-1] if word else tokens
    vocabulary = _vocabulary(session, _open_calls(before), dotted="." in word,
                             first=not any(token.kind != "comment" for token in before))
    return [Candidate(name, -len(word), meta) for name, meta in sorted(vocabulary.items())
            if name.startswith(word) and name != word]


def _open_calls(tokens: list[_Token]) -> list[_Call]:
    """The calls and brackets still open at the end of ``tokens``, outermost first."""
    calls: list[_Call] = []
    previous: _Token | None = None
    for token in tokens:
        if token.kind == "comment":
            continue
        if token.kind == "open":
            named = token.value == "(" and previous is not None and previous.kind == "name"
            calls.append(_Call(previous.value if named else None))
        elif token.kind == "close":
            if calls:
                calls.pop()
        elif token.kind == "name" and calls and previous is not None and previous.kind == "open":
            calls[-1].first = token.value
        elif (token.kind == "name" and calls and previous is not None and previous.value == "as"
              and calls[-1].first is not None and calls[-1].alias is None):
            calls[-1].alias = token.value
        previous = token
    return calls


def _vocabulary(session: Session, calls: list[_Call], *, dotted: bool,
                first: bool) -> dict[str, str]:
    """Every word that may come next, each with what it is."""
    root = session.record_type()
    in_aggregation = any(call.callee in AGGREGATIONS for call in calls)
    scopes = _element_scopes(root, calls)
    records = [root, *(element for _, element in scopes)]
    words: dict[str, str] = {}
    for record in records:
        for path, type_ in _field_paths(record, "", into_lists=in_aggregation):
            if ("." in path) == dotted:
                words[path] = f"field: {type_}"
    for alias, element in scopes:
        if alias is None:
            continue
        words[alias] = "element"
        for path, type_ in _field_paths(element, f"{alias}.", into_lists=in_aggregation):
            if dotted:
                words[path] = f"field: {type_}"
    if dotted:
        words.update({f"rfm.{measure}": "RFM score" for measure in RFM_MEASURES})
        return words
    words.update({name: "prelude" for name in (s.name for s in prelude().statements)})
    words.update({name: "aggregation" for name in AGGREGATIONS})
    words.update({name: "prelude" for name in ORDER_MACROS})
    words.update({name: "population" for name in POPULATION_FUNCTIONS})
    words.update({function.name: "function" for function in BUILTINS})
    functions = session._options["functions"]  # noqa: SLF001 - the session's own options
    words.update({function.name: "function" for function in functions or ()})
    words.update(session.names())
    words["rfm"] = "RFM scores"
    innermost = calls[-1].callee if calls else None
    if innermost in AGGREGATIONS:
        words.update({option: "option" for option in _AGGREGATION_OPTIONS})
    elif innermost in ORDER_MACROS:
        words.update({option: "option" for option in _ORDER_OPTIONS})
    words.update({keyword: "keyword" for keyword in _KEYWORDS})
    if first:
        words.update({keyword: "statement" for keyword in _STATEMENT_KEYWORDS})
    return words


def _field_paths(record: t.Type, prefix: str, *, into_lists: bool) -> Iterator[tuple[str, t.Type]]:
    """Field names and dotted paths of ``record``: into nested records always,
    into lists of records only where a value path is allowed (aggregations)."""
    for name, type_ in (record.fields or {}).items():
        yield prefix + name, type_
        inner = type_ if type_.is_record else type_.element if into_lists and type_.is_list \
            else None
        if inner is not None and inner.is_record:
            yield from _field_paths(inner, f"{prefix}{name}.", into_lists=into_lists)


def _element_scopes(root: t.Type, calls: list[_Call]) -> list[tuple[str | None, t.Type]]:
    """The element records in scope inside open aggregations, such as the
    fields of an order inside ``count(orders, where = ...)``, each with the name
    ``as`` gave it (or None)."""
    scopes: list[tuple[str | None, t.Type]] = []
    for call in calls:
        if call.callee in AGGREGATIONS and call.first:
            element = next((found for record in [*(e for _, e in reversed(scopes)), root]
                            if (found := _list_element(record, call.first)) is not None), None)
            if element is not None:
                scopes.append((call.alias, element))
    return scopes


def _list_element(record: t.Type, path: str) -> t.Type | None:
    type_ = record
    for part in path.rstrip(".").split("."):
        type_ = (type_.fields or {}).get(part) if type_.is_record else None
        if type_ is None:
            return None
        if type_.is_list:
            element = type_.element
            return element if element is not None and element.is_record else None
    return None


class SessionCompleter(Completer):
    """prompt_toolkit completion of field, function, segment, period, def and
    command names (requires prompt_toolkit)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_completions(self, document, complete_event):
        candidates = complete(self.session, document.text_before_cursor)
        if candidates and candidates[0].start == 0 and not complete_event.completion_requested:
            return  # nothing typed yet: offer everything on Tab only
        for candidate in candidates:
            yield Completion(candidate.text, start_position=candidate.start,
                             display_meta=candidate.meta)


# ---------------------------------------------------------------- front ends


class _Writer:
    """Prints replies, errors in red when the output is a terminal."""

    def __init__(self, out: TextIO, color: bool | None = None) -> None:
        self.out = out
        self.color = _isatty(out) if color is None else color

    def __call__(self, reply: Reply | str) -> None:
        text = reply.text if isinstance(reply, Reply) else reply
        if not text:
            return
        if self.color and isinstance(reply, Reply) and reply.error:
            text = f"\x1b[31m{text}\x1b[0m"
        self.out.write(text + "\n")
        self.out.flush()


def _isatty(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _submit(session: Session, text: str, write: _Writer) -> bool:
    """Answer one input; returns False when the session should end."""
    try:
        reply = session.handle(text)
    except KeyboardInterrupt:
        write(Reply("interrupted", error=True))
        return True
    write(reply)
    return not reply.quit


def run_prompt(session: Session, *, input=None, output=None,  # noqa: A002 - prompt_toolkit's names
               out: TextIO | None = None, history: str | Path | None = HISTORY_FILE) -> None:
    """The prompt_toolkit front end: multi-line editing, history, completion.

    Args:
        session: the session to drive.
        input, output: prompt_toolkit's input and output (default: the terminal).
        out: where answers are printed (default: standard output).
        history: the history file; None keeps history in memory only.
    """
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    @bindings.add("c-j")
    def _enter(event) -> None:
        buffer = event.current_buffer
        if buffer.complete_state is not None and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        text = buffer.text
        if text.endswith("\n") or not continues(text):
            buffer.text = text.rstrip("\n") if text.strip() else ""
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @bindings.add("escape", "enter")
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    stored = FileHistory(str(Path(history).expanduser())) if history else InMemoryHistory()
    prompt = PromptSession(
        PROMPT, multiline=True, key_bindings=bindings, history=stored,
        completer=SessionCompleter(session), complete_while_typing=True,
        prompt_continuation=lambda width, line, soft: CONTINUATION[:width].ljust(width),
        input=input, output=output)
    write = _Writer(out or sys.stdout)
    while True:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C drops the input being typed
        except EOFError:
            return
        if not _submit(session, text, write):
            return


def run_plain(session: Session, *, read: Callable[[str], str] | None = None,
              out: TextIO | None = None, interactive: bool = False,
              history: str | Path | None = READLINE_HISTORY_FILE) -> None:
    """The standard library front end: ``input()`` with ``readline`` when
    ``interactive``; otherwise lines are read from standard input without
    prompts, so a script can be piped in.

    Args:
        read: a function taking a prompt and returning the next line, raising
            EOFError at the end (default: ``input`` or standard input).
    """
    write = _Writer(out or sys.stdout)
    pending: list[str] = []
    if read is None:
        read = input if interactive else _reader(sys.stdin)
    saving = _set_up_readline(session, pending, history) if interactive else None
    try:
        while True:
            prompt = (CONTINUATION if pending else PROMPT) if interactive else ""
            try:
                line = read(prompt)
            except KeyboardInterrupt:
                write.out.write("\n")
                pending.clear()
                continue
            except EOFError:
                if pending:
                    _submit(session, "\n".join(pending), write)
                return
            if pending and not line.strip():
                text = "\n".join(pending)  # a blank line ends a multi-line input
            else:
                pending.append(line)
                text = "\n".join(pending)
                if continues(text):
                    continue
            pending.clear()
            if not _submit(session, text, write):
                return
    finally:
        if saving is not None:
            saving()


def _set_up_readline(session: Session, pending: list[str],
                     history: str | Path | None) -> Callable[[], None] | None:
    """Tab completion and history through readline, when it is available;
    returns the function that saves the history."""
    try:
        import readline
    except ImportError:  # pragma: no cover - e.g. Windows without pyreadline
        return None
    matches: list[str] = []

    def completer(word: str, state: int) -> str | None:
        if state == 0:
            line, begin = readline.get_line_buffer(), readline.get_begidx()
            end = readline.get_endidx()
            matches[:] = _readline_matches(complete(session, "\n".join([*pending, line[:end]])),
                                           line, begin, end)
        return matches[state] if state < len(matches) else None

    readline.set_completer(completer)
    readline.set_completer_delims(" \t\n()[],=<>!+-*%\"'#")
    binding = "bind ^I rl_complete" if "libedit" in (readline.__doc__ or "") else "tab: complete"
    readline.parse_and_bind(binding)
    if history is None:
        return None
    path = Path(history).expanduser()
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)

    def save() -> None:
        try:
            readline.write_history_file(path)
        except OSError:
            pass

    return save


def _readline_matches(candidates: list[Candidate], line: str, begin: int, end: int) -> list[str]:
    """Candidates as readline wants them: replacing ``line[begin:end]``."""
    found = []
    for candidate in candidates:
        ours = end + candidate.start  # where the word we complete starts
        if begin >= ours:
            found.append(candidate.text[begin - ours:])
        else:
            found.append(line[begin:ours] + candidate.text)
    return found


def main(file: str | None = None, data: str | None = None, now: str | None = None, *,
         stdin: TextIO | None = None, stdout: TextIO | None = None,
         options: dict[str, Any] | None = None) -> int:
    """Start a session: load ``file`` and ``data``, then read inputs until
    ``:quit`` or the end of input (``options``: of the rules, as for
    :class:`Session`). Returns the exit status: 1 when a piped script had an
    input that failed, else 0.

    Raises:
        SegdslError: the rule file, the data or ``now`` cannot be used.
    """
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    session = Session(now=now, **(options or {}))
    write = _Writer(stdout)
    interactive = _isatty(stdin) and _isatty(stdout)
    if interactive:
        write("segdsl: type a rule to count the customers it matches, :help for the "
              "commands, Ctrl-D to quit")
    if file:
        opened = session.open_rules(file)
        session.failures += opened.error
        write(opened)
    if data:
        write(session.load_data(data))
    if interactive and Completion is not None:
        run_prompt(session, out=stdout)
    else:
        if interactive:
            write(RICHER_PROMPT_HINT)
        run_plain(session, out=stdout, interactive=interactive,
                  read=None if interactive else _reader(stdin))
    # A script piped in fails like any command when one of its inputs failed.
    return 1 if session.failures and not interactive else 0


def _reader(stream: TextIO) -> Callable[[str], str]:
    def read(prompt: str) -> str:
        line = stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    return read
