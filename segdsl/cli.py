"""The ``segdsl`` command: check, format, test, evaluate and explain rule files.

Exit status: 0 on success; 1 on findings (rule errors, ``check --strict``
warnings, files ``fmt --check`` or ``--diff`` would change, failed rule
tests); 2 on bad usage or unreadable input (a missing file, bad data, a bad
``--now``, a bad project file), which wins over 1 when a run has both. Verbs
that take files take several, directories (every ``*.seg`` below, sorted) and
``-`` for standard input; a missing file is reported and the others are still
processed. Options come from the project file (``segdsl.toml`` or
``[tool.segdsl]`` in ``pyproject.toml``, found from the current directory
upward); flags override it. Bad input never shows a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import itertools
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from segdsl.customers import answers_to, id_spellings
from segdsl.errors import SegdslError, UsageError
from segdsl.spool import SpooledIds

EXIT_OK = 0
EXIT_RULE_ERRORS = 1
EXIT_USAGE = 2
STDIN = "-"
STDIN_NAME = "<stdin>"
RULE_SUFFIX = ".seg"

_EXIT_CODES = """\
exit status:
  0  fine
  1  findings: {findings}
  2  usage or input error: bad arguments, a missing or unreadable file, bad data,
     a bad project file (wins over 1)"""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.format_usage()}{self.prog}: error: {message}\n")


class _UsageFailure(Exception):
    """Bad usage or unreadable input: reported as one line, exit status 2."""


class _Reported(Exception):
    """A failure already reported on stderr; ends the run with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Status:
    """The exit status of a run that goes on past failures: the worst seen."""

    def __init__(self) -> None:
        self.value = EXIT_OK

    def add(self, status: int) -> None:
        self.value = max(self.value, status)

    def usage(self, message: str) -> None:
        """Report a usage problem (a missing file) and go on; the run ends with 2."""
        print(f"segdsl: {message}", file=sys.stderr)
        self.add(EXIT_USAGE)


# ------------------------------------------------------------------ inputs


def _read_rule_file(path: str) -> str:
    if path == STDIN:
        return sys.stdin.read()
    from segdsl.project import read_text

    try:
        # newline="": line endings as they are, so that fmt keeps CRLF files CRLF.
        return read_text(path, "a rule file", newline="")
    except UsageError as error:
        raise _UsageFailure(error.message) from None


def _expand(paths: Iterable[str], status: _Status, suffix: str = RULE_SUFFIX) -> list[str]:
    """Files of ``paths``: files and ``-`` as given, directories replaced by every
    ``*suffix`` file below (sorted, hidden directories skipped). A directory
    without such files is reported (status 2)."""
    files: list[str] = []
    for path in paths:
        if path != STDIN and os.path.isdir(path):
            found = _files_below(Path(path), suffix)
            if not found:
                status.usage(f"{path}: no *{suffix} files in this directory")
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(files))


#: Directories a directory walk never enters (as ruff's default excludes), besides hidden ones.
SKIPPED_DIRECTORIES = frozenset({"node_modules", "__pycache__", "venv", "site-packages",
                                 "build", "dist"})


def _files_below(directory: Path, suffix: str) -> list[str]:
    return sorted(str(path) for path in directory.rglob(f"*{suffix}") if path.is_file()
                  and not any(part.startswith(".") or part in SKIPPED_DIRECTORIES
                              for part in path.relative_to(directory).parts[:-1]))


def _shown_name(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def _default_paths(args: argparse.Namespace, project) -> list[str]:
    return list(args.paths) or list(project.rules) or ["."]


def _project(args: argparse.Namespace):
    """The project of the run: the ``--config`` file, else the one found from the
    current directory (none with ``--isolated``), with the flags over it."""
    from segdsl.project import Project

    if args.isolated:
        project = Project()
    elif args.config:
        project = Project.read(args.config)
    else:
        project = Project.find()
    return project.overridden(schema=args.schema, timezone=args.timezone,
                              rfm_window=args.rfm_window, functions=args.functions)


# ------------------------------------------------------------------ check


def _run_check(args: argparse.Namespace) -> int:
    from segdsl.rules import check

    project = _project(args)
    options = project.options()
    status = _Status()
    files = _expand(_default_paths(args, project), status)
    problems: list[tuple[str, Any]] = []  # (severity, error or warning)
    checked = 0
    for path in files:
        try:
            text = _read_rule_file(path)
        except _UsageFailure as failure:
            status.usage(str(failure))
            continue
        checked += 1
        errors, warnings = check(text, file=_shown_name(path), **options)
        found: list[tuple[str, Any]] = sorted(
            [*(("error", e) for e in errors), *(("warning", w) for w in warnings)],
            key=lambda item: _position(item[1]))
        problems.extend(found)
        if args.format == "text":
            for _, problem in found:
                print(problem.render(), file=sys.stderr)
        if errors or (args.strict and warnings):
            status.add(EXIT_RULE_ERRORS)
    counts = _counts(problems)
    if args.format == "json":
        print(json.dumps({"files": checked, "errors": counts[0], "warnings": counts[1],
                          "problems": [_problem_dict(s, p) for s, p in problems]}, indent=2))
    elif args.format == "github":
        for severity, problem in problems:
            print(_annotation(severity, problem))
    print(_summary(*counts, checked), file=sys.stderr)
    return status.value


def _position(problem) -> int:
    return problem.span.start if problem.span is not None else -1


def _counts(problems: list[tuple[str, Any]]) -> tuple[int, int]:
    errors = sum(1 for severity, _ in problems if severity == "error")
    return errors, len(problems) - errors


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _summary(errors: int, warnings: int, files: int) -> str:
    """``2 errors, 1 warning in 3 files``."""
    if not errors and not warnings:
        return f"no problems in {_plural(files, 'file')}"
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')}"


def _problem_dict(severity: str, problem) -> dict[str, Any]:
    span = problem.span
    return {"severity": severity, "file": span.file if span else None,
            "line": span.line if span else None, "column": span.column if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_column if span else None,
            "message": problem.message, "hint": problem.hint}


def _annotation(severity: str, problem) -> str:
    """A GitHub Actions workflow command: ``::error file=F,line=L,col=C::message``."""
    span = problem.span
    fields = []
    if span is not None:
        fields = [f"file={_escape_property(span.file or STDIN_NAME)}", f"line={span.line}",
                  f"col={span.column}", f"endLine={span.end_line}",
                  f"endColumn={span.end_column}"]
    message = problem.message + (f"\nhint: {problem.hint}" if problem.hint else "")
    return f"::{severity} {','.join(fields)}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# ------------------------------------------------------------------ fmt


def _run_fmt(args: argparse.Namespace) -> int:
    from segdsl.formatter import format_text

    project = _project(args)
    status = _Status()
    for path in _expand(_default_paths(args, project), status):
        try:
            text = _read_rule_file(path)
        except _UsageFailure as failure:
            status.usage(str(failure))
            continue
        name = _shown_name(path)
        try:
            formatted = format_text(text, file=name)
        except SegdslError as error:
            print("\n".join(each.render() for each in error.errors or [error]), file=sys.stderr)
            status.add(EXIT_RULE_ERRORS)
            continue
        if args.diff or args.check:
            if formatted != text:
                status.add(EXIT_RULE_ERRORS)
                if args.diff:
                    sys.stdout.writelines(_diff(text, formatted, name))
                else:
                    print(f"would reformat {name}")
        elif path == STDIN:
            sys.stdout.write(formatted)
        elif formatted != text:
            Path(path).write_text(formatted, encoding="utf-8", newline="")
            print(f"reformatted {name}")
    return status.value


def _diff(text: str, formatted: str, name: str) -> list[str]:
    lines = difflib.unified_diff(text.splitlines(keepends=True),
                                 formatted.splitlines(keepends=True),
                                 fromfile=name, tofile=f"{name} (formatted)")
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines]


# ------------------------------------------------------------------ rules for eval


class _Loaded:
    """The rule files of an evaluation, each compiled with the project's options."""

    def __init__(self, rule_sets: list[Any]) -> None:
        self.rule_sets = rule_sets

    def owner(self, name: str):
        """The rule set defining segment ``name``."""
        from segdsl.rules import _unknown_segment

        for rules in self.rule_sets:
            if name in rules.segments:
                return rules
        raise UsageError(_unknown_segment(name, self.names()))

    def names(self) -> list[str]:
        return [name for rules in self.rule_sets for name in rules.segments]


def _load_rules(path: str, options: dict[str, Any]):
    """The rules of ``path``; when they have errors, all of them are shown
    (with the warnings, as ``check`` shows them) and the run ends with status 1."""
    from segdsl.rules import check, loads

    text = _read_rule_file(path)
    name = _shown_name(path)
    try:
        return loads(text, file=name, **options)
    except SegdslError as error:
        if error.span is None or isinstance(error, UsageError):
            raise
        errors, warnings = check(text, file=name, **options)
        _print_problems(errors or list(error.errors), warnings)
        raise _Reported(EXIT_RULE_ERRORS) from None


def _print_problems(errors: list, warnings: list) -> None:
    """Errors and warnings of a rule file on stderr, in source order."""
    for problem in sorted([*errors, *warnings], key=_position):
        print(problem.render(), file=sys.stderr)


def _load_all(files: list[str], options: dict[str, Any], status: _Status) -> _Loaded:
    """Every rule file that can be read; a missing one is reported, one with
    errors has them shown; the run stops (after all are tried) if none is usable
    or any has errors."""
    rule_sets = []
    owners: dict[str, str] = {}
    for path in files:
        try:
            rules = _load_rules(path, options)
        except _UsageFailure as failure:
            status.usage(str(failure))
            continue
        except _Reported as reported:
            status.add(reported.status)
            continue
        for name in rules.segments:
            if name in owners:
                raise _UsageFailure(f"segment {name} is defined in both {owners[name]} and "
                                    f"{_shown_name(path)}; evaluate them separately")
            owners[name] = _shown_name(path)
        rule_sets.append(rules)
    if status.value == EXIT_RULE_ERRORS or not rule_sets:
        raise _Reported(status.value or EXIT_USAGE)
    return _Loaded(rule_sets)


def _now(args: argparse.Namespace) -> Any:
    return None if args.now in (None, "now") else args.now


def _read_data(args: argparse.Namespace, project, stream: bool = False) -> Any:
    """The customers of ``--data``; with ``stream``, a JSON Lines file comes as
    a :class:`segdsl.data.CustomerLines`, read later one customer at a time."""
    from segdsl.data import read_customers, stream_customers
    from segdsl.progress import Activity

    data = args.data or project.data
    if data is None:
        raise _UsageFailure(f"{args.verb} needs --data DATA (or data = \"...\" in the project "
                            f"file)")
    if stream:
        customers = stream_customers(data, schema=project.schema)
        if type(customers) is not list:
            args.data = data
            return customers
    else:
        with Activity(f"reading {data}", sys.stderr):
            customers = read_customers(data, schema=project.schema)
    if not customers:
        print(f"segdsl: warning: {data} holds no customers", file=sys.stderr)
    args.data = data
    return customers


# ------------------------------------------------------------------ eval


def _run_eval(args: argparse.Namespace) -> int:
    from segdsl.progress import Progress
    from segdsl.rules import FieldSurvey, evaluation_time

    project = _project(args)
    status = _Status()
    output_format = _output_format(args)
    columns = _columns(args, output_format)
    loaded = _load_all(_expand(args.files, status), project.options(), status)
    names = list(dict.fromkeys(args.segment or loaded.names()))
    wanted = {id(rules): [n for n in names if n in rules.segments] for rules in loaded.rule_sets}
    for name in names:
        loaded.owner(name)  # an unknown name fails before the data is read
    now = evaluation_time(_now(args), loaded.rule_sets[0])
    engine = _engine_choice(args, project, loaded, columns)
    if engine != "python":
        return _run_eval_sql(args, project, loaded, names, wanted, now, engine, output_format,
                             status)
    if args.into:
        raise _UsageFailure("--into writes into the database the data comes from: give --data "
                            "a DuckDB file or a postgresql:// URL")
    customers = _read_data(args, project, stream=True)
    if type(customers) is list:
        _print_data_notes(loaded, customers)
        source: Any = customers
        count = len(customers)
    else:
        # A JSON Lines file is read customer by customer, never held: what the
        # notes and --columns need is gathered on the way.
        source = _Stream(customers, FieldSurvey(loaded.rule_sets), columns, args)
        for rules in loaded.rule_sets:
            for warning in rules.warnings:
                print(warning.render(), file=sys.stderr)
        count = _line_count(customers.path) if _is_terminal(sys.stderr) else 0
    results = {}
    total = 0
    for rules in loaded.rule_sets:
        if not wanted[id(rules)]:
            continue
        progress = Progress(count, sys.stderr)
        if type(customers) is list:
            result = rules.evaluate(source, now=now, segments=wanted[id(rules)],
                                    progress=progress, id_field=args.id_field,
                                    ids=args.ids, engine="python")
        else:  # nothing grows with the customers: the members wait on disk
            result = rules._evaluate_python(source, now, wanted[id(rules)], progress,
                                            args.id_field, args.ids, kept_in=SpooledIds)
        results[id(rules)] = result
        total = result.total
        progress.clear()
    if type(customers) is not list:
        total = source.complete(loaded)
        lookup = source.lookup
        fields: Iterable[str] = source.survey.fields
        if not total:
            print(f"segdsl: warning: {args.data} holds no customers", file=sys.stderr)
    else:
        lookup = _customer_lookup(args, customers) if columns else {}
        fields = {name for customer in customers if isinstance(customer, dict)
                  for name in customer} if columns else ()
    if total:
        _note_empty_columns(columns, lookup, fields)
    members = {name: results[id(loaded.owner(name))].members[name] for name in names}
    _write_output(args, output_format, columns, members, [], now, total, lookup)
    return status.value


def _print_data_notes(loaded: _Loaded, customers: list[Any], rule_warnings: bool = True) -> None:
    for rules in loaded.rule_sets:
        for warning in [*(rules.warnings if rule_warnings else ()),
                        *rules.missing_fields(customers), *rules.hidden_fields(customers)]:
            print(warning.render(), file=sys.stderr)


class _Stream:
    """The customers of a JSON Lines file for ``eval``: read anew at each pass
    (a rule set that ranks customers reads it twice), the first complete pass
    surveying the fields for the notes and keeping the ``--columns`` values of
    every customer (not the customers)."""

    def __init__(self, lines: Any, survey: Any, columns: list[str],
                 args: argparse.Namespace) -> None:
        self.lines = lines
        self.survey = survey
        self.columns = columns
        self.by_position = args.ids == "position"
        self.id_field = args.id_field
        self.lookup: dict[Any, Any] = {}
        self.read = 0  # customers of the first complete pass, or -1 before it

    def __iter__(self) -> Iterator[Any]:
        return iter(self.lines) if self.read else self._first()

    def _first(self) -> Iterator[Any]:
        see, columns, lookup = self.survey.see, self.columns, self.lookup
        position = 0
        for record in self.lines:
            see(record)
            if columns:
                key = position if self.by_position else _hashable(_field(record, self.id_field))
                lookup[key] = _Columns({c: _field(record, c) for c in columns})
            position += 1
            yield record
        self.read = position or -1

    def complete(self, loaded: _Loaded) -> int:
        """Prints the notes on the data once it was read (reading it for them when
        no rule set was evaluated); returns the number of customers."""
        if not self.read:
            for _ in self:
                pass
        _print_data_notes(loaded, self.survey.customers(), rule_warnings=False)
        return max(self.read, 0)


class _Columns(dict):
    """The ``--columns`` values of one customer, by column path."""


def _line_count(path: Any) -> int:
    """The number of lines of a file (the progress bar's length), counted in bytes."""
    count = 0
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _is_terminal(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _engine_choice(args: argparse.Namespace, project, loaded: _Loaded,
                   columns: list[str]) -> str:
    """The engine of ``eval``: ``--engine``, else the project's ``engine``, else
    chosen from DATA: a database or Parquet files go to an SQL engine, JSON Lines
    to DuckDB when it is large and the answer provably the same (else, and
    for JSON and CSV, the Python engine)."""
    from segdsl.sql.sources import SQL_FROM_BYTES, kind_of

    data = args.data or project.data
    engine = args.engine or project.engine
    if data is None:
        return "python"  # _read_data names what is missing
    kind = kind_of(data)
    by_position = args.ids == "position"
    if engine in (None, "auto"):
        if kind in ("records", "jsonl"):
            small = kind == "records" or _size(data) < SQL_FROM_BYTES
            return "python" if small or columns or by_position or args.id_field != "id" \
                else "auto"
        engine = "postgres" if kind == "postgres" else "duckdb"
    if engine != "python" and (columns or by_position):
        what = "--columns" if columns else "--ids position"
        raise _UsageFailure(f"{what} reads the customers' records: give --engine python (with "
                            f"JSON, JSON Lines or CSV data)")
    if engine == "python" and kind not in ("records", "jsonl"):
        raise _UsageFailure(f"{data}: the Python engine reads .jsonl, .json or .csv files; "
                            f"this data needs an SQL engine (--engine duckdb)")
    return engine


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _run_eval_sql(args: argparse.Namespace, project, loaded: _Loaded, names: list[str],
                  wanted: dict[int, list[str]], now, engine: str, output_format: str,
                  status: _Status) -> int:
    """``eval`` on an SQL engine: DATA read where it lies, never as Python records."""
    from segdsl.sql import sources

    data = args.data or project.data
    args.data = data
    layout = _layout(project, loaded.rule_sets[0], args.id_field)
    for rules in loaded.rule_sets:
        for warning in rules.warnings:
            print(warning.render(), file=sys.stderr)
        if engine == "auto" and rules._program.options.schema is None:
            # The notes on fields no customer has, from the columns the data holds.
            skeleton = sources.skeleton(data)
            for warning in [*rules.missing_fields(skeleton), *rules.hidden_fields(skeleton)]:
                print(warning.render(), file=sys.stderr)
    target = sources.database(data, writable=bool(args.into)) if sources.kind_of(data) in (
        "database",) else data
    try:
        results = {}
        total = 0
        for rules in loaded.rule_sets:
            if not wanted[id(rules)]:
                continue
            result = rules.evaluate(target, now=now, segments=wanted[id(rules)],
                                    engine=None if engine == "auto" else engine, layout=layout)
            results[id(rules)] = result
            total = result.total
        members = {name: results[id(loaded.owner(name))].members[name] for name in names}
        if not total and not any(members.values()):
            print(f"segdsl: warning: {data} holds no customers", file=sys.stderr)
        if args.into:
            written = sources.write_memberships(target, args.into, members, now)
            print(f"wrote {written:,} memberships into {args.into}", file=sys.stderr)
    finally:
        if target is not data:
            target.close()
    _write_output(args, output_format, [], members, [], now, total)
    return status.value


def _layout(project, rules, id_field: str = "id"):
    """The SQL layout of the project's table mapping (the rules' schema's own without one)."""
    import attrs

    from segdsl.sql.layout import Layout

    schema = rules._program.options.schema
    layout = Layout.from_tables(schema, project.tables) if project.tables \
        else Layout.from_schema(schema)
    return attrs.evolve(layout, id=id_field) if id_field != "id" else layout


def _output_format(args: argparse.Namespace) -> str:
    suffix = Path(args.output).suffix.lower() if args.output else ""
    by_suffix = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".txt": "table"}
    if args.format is not None:
        if args.format == "parquet" and not args.output:
            raise _UsageFailure("--format parquet needs --output FILE.parquet")
        return args.format
    if args.output and suffix not in by_suffix:
        raise _UsageFailure(f"{args.output}: cannot tell the format from the name; give "
                            f"--format table|csv|json|parquet")
    return by_suffix.get(suffix, "table")


def _columns(args: argparse.Namespace, output_format: str) -> list[str]:
    if not args.columns:
        return []
    columns = [name.strip() for name in args.columns.split(",") if name.strip()]
    if output_format == "table":
        raise _UsageFailure("--columns adds customer fields to csv, json or parquet output; "
                            "give --format csv, json or parquet")
    taken = [name for name in columns if name in ("segment", "customer_id")]
    if taken:
        raise _UsageFailure(f"--columns {taken[0]}: the output's own column is named so; "
                            f"the customer's id is in customer_id")
    return columns


def _note_empty_columns(columns: list[str], lookup: dict[Any, Any],
                        fields: Iterable[str]) -> None:
    """A warning for each ``--columns`` path no customer has a value at (a misspelt
    field gives an empty column), with the closest field name seen."""
    for column in columns:
        if any(_field(customer, column) is not None for customer in lookup.values()):
            continue
        close = difflib.get_close_matches(column.split(".")[0], sorted(fields), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        print(f"segdsl: warning: --columns {column}: no customer has a value there, the "
              f"column is empty{hint}", file=sys.stderr)


def _write_output(args: argparse.Namespace, output_format: str, columns: list[str],
                  members: dict[str, list[Any]], customers: list[Any], now,
                  total: int | None = None, lookup: dict[Any, Any] | None = None) -> None:
    """The memberships in ``output_format``, written as they are formatted: a million
    members never become one string in memory."""
    total = len(customers) if total is None else total
    if lookup is None:
        lookup = _customer_lookup(args, customers) if columns else {}
    if output_format == "parquet":
        rows = [(name, identity) for name, ids in members.items() for identity in ids]
        _write_parquet(args.output, rows, columns, lookup)
        return
    with _output(args.output) as out:
        if output_format == "json":
            _write_json(out, members, columns, lookup, now, total)
        elif output_format == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["segment", "customer_id", *columns])
            for name, ids in members.items():
                writer.writerows([name, identity, *(_cell(_field(lookup.get(identity), c))
                                                    for c in columns)] for identity in ids)
        else:
            out.write(_size_table(members, total, now) + "\n")


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """The file at ``path`` (standard output without one), opened for writing."""
    if not path:
        yield sys.stdout
        return
    try:
        with open(path, "w", encoding="utf-8") as out:
            yield out
    except OSError as error:
        raise _UsageFailure(f"{path}: cannot write ({error.strerror})") from None


def _write_json(out: TextIO, members: dict[str, list[Any]], columns: list[str],
                lookup: dict[Any, Any], now, total: int) -> None:
    """``json.dumps(document, indent=2)`` of ``{now, total, sizes, members}``, to the
    character, written a thousand members at a time."""
    from segdsl.timeline import iso_text

    def dumped(value: Any, depth: int) -> str:
        text = json.dumps(value, indent=2, default=_json_default)
        return text.replace("\n", "\n" + "  " * depth)

    sizes = {name: len(ids) for name, ids in members.items()}
    out.write(f'{{\n  "now": {dumped(iso_text(now), 1)},\n  "total": {dumped(total, 1)},\n'
              f'  "sizes": {dumped(sizes, 1)},\n  "members": ')
    if not members:
        out.write("{}")
    for number, (name, ids) in enumerate(members.items()):
        out.write(("{\n" if number == 0 else ",\n") + f"    {dumped(name, 2)}: ")
        if not ids:
            out.write("[]")
            continue
        remaining = iter(ids)
        for start in range(0, len(ids), 1000):
            chunk = itertools.islice(remaining, 1000)
            shown = (_member_object(i, columns, lookup) for i in chunk) if columns else chunk
            out.write(("[\n" if start == 0 else ",\n")
                      + ",\n".join("      " + dumped(item, 3) for item in shown))
        out.write("\n    ]")
    out.write("\n  }\n}\n" if members else "\n}\n")


def _customer_lookup(args: argparse.Namespace, customers: list[Any]) -> dict[Any, Any]:
    if args.ids == "position":
        return dict(enumerate(customers))
    return {_hashable(_field(c, args.id_field)): c for c in customers}


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def _field(customer: Any, path: str) -> Any:
    if type(customer) is _Columns:
        return customer.get(path)
    value = customer
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _member_object(identity: Any, columns: list[str], lookup: dict[Any, Any]) -> dict[str, Any]:
    customer = lookup.get(identity)
    return {"customer_id": identity, **{c: _field(customer, c) for c in columns}}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=_json_default)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _json_default(value) if hasattr(value, "isoformat") else value


def _json_default(value: Any) -> Any:
    import datetime as dt

    from segdsl.timeline import iso_text

    if isinstance(value, dt.datetime):
        return iso_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _write_parquet(path: str, rows: list[tuple[str, Any]], columns: list[str],
                   lookup: dict[Any, Any]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise _UsageFailure("writing Parquet needs pyarrow: pip install 'segdsl[parquet]'") from None
    table = {"segment": [row[0] for row in rows], "customer_id": [row[1] for row in rows]}
    for column in columns:
        table[column] = [_parquet_value(_field(lookup.get(row[1]), column)) for row in rows]
    try:
        pq.write_table(pa.table(table), path)
    except (pa.ArrowException, OSError) as error:
        raise _UsageFailure(f"{path}: cannot write Parquet ({error})") from None


def _parquet_value(value: Any) -> Any:
    # Nested values (lists of orders) become JSON text: one column type for every row.
    return json.dumps(value, default=_json_default) if isinstance(value, (list, dict)) else value


def _size_table(members: dict[str, list[Any]], total: int, now) -> str:
    from segdsl.rules import percent
    from segdsl.timeline import iso_text

    rows = [("segment", "customers", "share")]
    for name, ids in members.items():
        rows.append((name, f"{len(ids):,}", percent(len(ids), total)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{rows[0][0]:<{widths[0]}}  {rows[0][1]:>{widths[1]}}  {rows[0][2]:>{widths[2]}}"]
    lines.append("  ".join("-" * w for w in widths))
    for name, size, share in rows[1:]:
        lines.append(f"{name:<{widths[0]}}  {size:>{widths[1]}}  {share:>{widths[2]}}")
    lines.append(f"\n{total:,} customers evaluated at {iso_text(now)}")
    return "\n".join(lines)


# ------------------------------------------------------------------ changes and history


def _interval(values: tuple[str, str], flags: tuple[str, str], rules) -> tuple[Any, Any]:
    """The two ends of ``--since/--until`` or ``--from/--to``, the second not before the first."""
    from segdsl.rules import evaluation_time
    from segdsl.timeline import iso_text

    ends = []
    for value, flag in zip(values, flags):
        try:
            ends.append(evaluation_time(value, rules))
        except UsageError:
            raise _UsageFailure(f"{flag} must be a date or datetime such as 2026-07-15 or "
                                f"2026-07-15T12:00:00Z, not {value!r}") from None
    if ends[1] < ends[0]:
        raise _UsageFailure(f"{flags[1]} ({iso_text(ends[1])}) is before {flags[0]} "
                            f"({iso_text(ends[0])})")
    return ends[0], ends[1]


def _every(value: str) -> Any:
    from segdsl import nodes as n
    from segdsl.parser import parse_expression
    from segdsl.timeline import Duration

    try:
        expression = parse_expression(value)
    except SegdslError:
        expression = None
    if not isinstance(expression, n.Duration) or expression.amount <= 0:
        raise _UsageFailure(f"--every must be a positive duration such as 1d, 12h, 1w or 1m, not "
                            f"{value!r}")
    return Duration(expression.amount, expression.unit.value).step()


def _loaded_for(args: argparse.Namespace):
    project = _project(args)
    status = _Status()
    loaded = _load_all(_expand(args.files, status), project.options(), status)
    names = list(dict.fromkeys(args.segment or loaded.names()))
    for name in names:
        loaded.owner(name)  # an unknown name fails before the data is read
    wanted = [(rules, [n for n in names if n in rules.segments]) for rules in loaded.rule_sets]
    return project, status, loaded, names, [(r, w) for r, w in wanted if w]


def _run_changes(args: argparse.Namespace) -> int:
    project, status, loaded, names, wanted = _loaded_for(args)
    first = loaded.rule_sets[0]
    since, until = _interval((args.since, args.until), ("--since", "--until"), first)
    engine = _engine_choice(args, project, loaded, [])
    if engine != "python":
        found = _changes_on_duckdb(args, project, wanted, since, until, engine)
        customers: Any = ()
    else:
        customers = _read_data(args, project)
        found = [rules.changes(customers, since=since, until=until, segments=segments,
                               id_field=args.id_field, ids=args.ids)
                 for rules, segments in wanted]
    # Each result is in time order; the files' results merge by instant (stable).
    changes = sorted((change for result in found for change in result),
                     key=lambda change: change.at)
    granularity = {name: result.granularity[name] for result in found
                   for name in result.granularity}
    total = found[0].total if found else len(customers)
    text = _changes_text(args.format, changes, granularity, total, since, until)
    _emit(args, text)
    return status.value


def _changes_on_duckdb(args: argparse.Namespace, project, wanted: list, since, until,
                       engine: str) -> list:
    """``changes`` where DATA lies, as ``eval`` chooses: a database, Parquet or CSV
    tables, a large JSON Lines file (see :mod:`segdsl.sql.changes`)."""
    from segdsl.sql import changes as on_duckdb

    data = args.data or project.data
    if engine not in ("duckdb", "auto"):
        raise _UsageFailure(f"changes runs on the Python or the DuckDB engine, not {engine}: "
                            f"give --engine duckdb with a DuckDB file or tables, or JSON Lines")
    args.data = data
    return [on_duckdb.changes(rules, data, since, until, segments,
                              layout=_layout(project, rules, args.id_field))
            for rules, segments in wanted]


def _changes_text(output_format: str, changes: list, granularity: dict[str, str], total: int,
                  since, until) -> str:
    from segdsl.timeline import iso_text

    rows = [(change.customer_id, change.segment, change.event, iso_text(change.at))
            for change in changes]
    if output_format == "json":
        return json.dumps({"since": iso_text(since), "until": iso_text(until), "total": total,
                           "granularity": granularity,
                           "changes": [dict(zip(("customer_id", "segment", "event", "at"), row,
                                                strict=True)) for row in rows]},
                          indent=2, default=_json_default)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("customer_id", "segment", "event", "at"))
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    table = [("at", "customer_id", "segment", "event")]
    table += [(row[3], str(row[0]), row[1], row[2]) for row in rows]
    lines = _aligned(table)
    lines.append(f"\n{len(rows):,} changes of {total:,} customers from {iso_text(since)} to "
                 f"{iso_text(until)}")
    daily = [name for name, kind in granularity.items() if kind != "exact"]
    if daily:
        lines.append(f"sampled daily at midnight (ranking, or a calendar use without exact "
                     f"instants): {', '.join(daily)}")
    return "\n".join(lines)


def _aligned(table: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(f"{cell:<{w}}" for cell, w in zip(table[0], widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in table[1:]]
    return lines


def _emit(args: argparse.Namespace, text: str) -> None:
    if args.output:
        try:
            Path(args.output).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise _UsageFailure(f"{args.output}: cannot write ({error.strerror})") from None
    else:
        print(text)


def _run_history(args: argparse.Namespace) -> int:
    from segdsl.dynamics import history
    from segdsl.timeline import iso_text

    project, status, loaded, names, wanted = _loaded_for(args)
    first = loaded.rule_sets[0]
    start, end = _interval((args.start, args.end), ("--from", "--to"), first)
    step = _every(args.every)
    customers = _read_data(args, project)
    steps: list[tuple[Any, dict[str, int]]] = []
    for rules, segments in wanted:
        for index, (moment, sizes) in enumerate(history(rules, customers, start, end, step,
                                                        segments)):
            if index == len(steps):
                steps.append((moment, {}))
            steps[index][1].update(sizes)
    rows = [(iso_text(moment), [sizes[name] for name in names]) for moment, sizes in steps]
    if args.format == "json":
        text = json.dumps({"total": len(customers), "every": args.every,
                           "sizes": [{"at": at, "sizes": dict(zip(names, counts, strict=True))}
                                     for at, counts in rows]}, indent=2)
    elif args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("at", *names))
        writer.writerows((at, *counts) for at, counts in rows)
        text = buffer.getvalue().rstrip("\n")
    else:
        table = [("at", *names)] + [(at, *(f"{count:,}" for count in counts))
                                    for at, counts in rows]
        text = "\n".join([*_aligned(table), f"\n{len(customers):,} customers, every "
                          f"{args.every}"])
    _emit(args, text)
    return status.value


def _interval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="PATH", help=_PATHS_HELP.split(" (")[0])
    parser.add_argument("--data", metavar="DATA",
                        help="customers: .jsonl, .json, or .csv with orders.csv/events.csv "
                             "beside it (default: data in the project file)")
    parser.add_argument("--segment", metavar="NAME", action="append",
                        help="only this segment (repeat for several)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="a table (default), CSV or JSON")
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of standard "
                                                         "output")
    parser.add_argument("--id-field", default="id", metavar="NAME",
                        help="the field holding each customer's id (default: id)")
    parser.add_argument("--ids", choices=("field", "position"), default=None,
                        help="'position' names customers by their position in the data, from 0")


# ------------------------------------------------------------------ sql


def _run_sql(args: argparse.Namespace) -> int:
    from segdsl.sql.dialects import dialect as find_dialect

    project = _project(args)
    find_dialect(args.dialect)  # an unknown dialect fails before the rules are read
    status = _Status()
    loaded = _load_all([args.file], project.options(), status)
    rules = loaded.rule_sets[0]
    layout = _layout(project, rules)
    if args.data:
        layout = _typed_layout(args.data, layout)
    now = None if args.now is None else _now(args)
    if args.now == "now":
        raise _UsageFailure("--now now would write the current time into the query; give a "
                            "time, or no --now for the $now parameter")
    query = rules.to_sql(args.dialect, now=now, segments=args.segment, layout=layout)
    sys.stdout.write(query.rstrip("\n") + "\n")
    return status.value


def _typed_layout(data: str, layout):
    """``layout`` knowing the column types of the tables of ``data``."""
    import duckdb

    from segdsl.sql import layout_of, sources

    kind = sources.kind_of(data)
    if kind == "database":
        with sources.database(data) as connection:
            return layout_of(connection, layout)
    if kind != "files":
        raise _UsageFailure(f"{data}: --data of sql is a DuckDB file or a directory of tables")
    with duckdb.connect() as connection:
        _, layout = sources.attach(connection, data, layout, kind=kind)
        return layout_of(connection, layout)


# ------------------------------------------------------------------ explain


def _run_explain(args: argparse.Namespace) -> int:
    from segdsl.rules import evaluation_time

    project = _project(args)
    status = _Status()
    loaded = _load_all(_expand(args.files, status), project.options(), status)
    rules = loaded.owner(args.segment)
    segment = rules[args.segment]
    now = evaluation_time(_now(args), rules)
    customers = _read_data(args, project)
    customer = _customer_named(args, customers)
    population = customers if segment.needs_population else None
    print(segment.explain(customer, now=now, population=population).render())
    return status.value


def _customer_named(args: argparse.Namespace, customers: list[Any]) -> Any:
    """The customer ``--customer`` names, as `eval` names customers: by position, or
    by id, where ``1`` is the number 1 (as is ``1.0``) or the text "1", and ``'"1"'``
    the text alone."""
    wanted = str(args.customer)
    if args.ids == "position":
        found = [c for index, c in enumerate(customers) if str(index) == wanted]
        if not found:
            raise _UsageFailure(f"{args.data}: no customer at position {wanted}")
        return found[0]
    named = id_spellings(wanted)
    found = [(index, c) for index, c in enumerate(customers)
             if answers_to(_field(c, args.id_field), named)]
    if not found:
        raise _UsageFailure(f"{args.data}: no customer with {args.id_field} {wanted}")
    if len(found) > 1:
        shown = " and ".join(f"{json.dumps(_field(c, args.id_field), default=str)} (position "
                             f"{index})" for index, c in found[:2])
        advice = (f": give --customer '\"{wanted}\"' for the text id, --customer "
                  f"{float(named[1])!r} for the number" if named[1] is not None else "")
        raise _UsageFailure(f"{args.data}: --customer {wanted} names two customers, "
                            f"{shown}{advice}")
    return found[0][1]


# ------------------------------------------------------------------ repl


def _run_repl(args: argparse.Namespace) -> int:
    from segdsl.repl import main as repl

    project = _project(args)
    return repl(args.file, args.data or project.data, _now(args), options=project.options())


# ------------------------------------------------------------------ test


def _run_test(args: argparse.Namespace) -> int:
    from segdsl.testing import SUFFIX, load_cases, run_case

    project = _project(args)
    options = project.options()
    status = _Status()
    files = _expand(_default_paths(args, project), status, SUFFIX)
    passed = failed = read = broken = 0
    for path in files:
        if path == STDIN:
            status.usage("test reads test files, not standard input")
            continue
        try:
            cases = load_cases(path, options)
        except SegdslError as error:
            if error.span is None and isinstance(error, UsageError):
                status.usage(error.message)
            else:
                print("\n".join(each.render() for each in error.errors or [error]),
                      file=sys.stderr)
                status.add(EXIT_RULE_ERRORS)
                broken += 1
            continue
        read += 1
        for case in cases:
            outcome = run_case(case)
            if outcome.passed:
                passed += 1
                if args.verbose:
                    print(f"PASS {case.title}")
            else:
                failed += 1
                print(outcome.render())
    if failed:
        status.add(EXIT_RULE_ERRORS)
    counts = [f"{failed:,} failed"] if failed else []
    if passed or not failed:
        counts.append(f"{passed:,} passed")
    if broken:
        counts.append(_plural(broken, "error"))
    print(f"{', '.join(counts)} in {_plural(read + broken, 'file')}", file=sys.stderr)
    return status.value


# ------------------------------------------------------------------ init, schema


_PROJECT_TEMPLATE = '''\
# The segdsl project file: every segdsl command run in this directory, or
# below it, reads it (like ruff's pyproject.toml section). Flags override it:
# --schema, --timezone, --rfm-window, --functions, --config.

# The customers' fields: with a schema, a misspelt field or event type is an
# error of `segdsl check`, not a segment that silently matches no one.
schema = "schema.toml"

# The zone of datetimes without an offset in the data, and of period days.
timezone = "UTC"

# The analysis window of the RFM frequency and monetary scores.
rfm_window = "365d"

# Functions written in Python, as module:attribute naming a segdsl.Functions.
# functions = "shop.rules:functions"

# What `segdsl check`, `segdsl fmt` and `segdsl test` read when given no path.
rules = ["rules"]

# The data `segdsl eval`, `explain` and `repl` read when given no --data.
{data_line}

# The engine that evaluates the rules.
engine = "python"

# Where each list lives in a database, over the schema file's mapping:
# [tables.orders]
# table = "shop.orders"
# key = "customer_id"
'''

_STARTER_RULES = '''\
# Segments of this project: `segdsl check`, `segdsl fmt` and `segdsl test` read this folder.

segment undecided "10+ visits and no order in 30 days" =
    visits(30d) >= 10 and not purchased(30d)
'''

_STARTER_TESTS = '''\
# Unit tests of undecided.seg: `segdsl test` runs them.
now = 2026-07-15T12:00:00Z

[[case]]
name = "a visitor who never ordered is not undecided after one visit"

[[case.customers]]
id = 1
events = [{ type = "visit", at = 2026-07-10T08:00:00Z }]

[[case.expect]]
customer = 1
not_in = ["undecided"]
values = { "visits(30d)" = 1 }
'''


def _starter_schema():
    from segdsl.schema import ListOf, OneOf, Schema

    item = {"sku": "string", "category": "string", "price": "number", "discounted": "bool"}
    events = OneOf("visit", "cart_abandoned", "recommendation_click", "email_open", "email_click")
    return Schema({
        "id": "number", "country": "string", "email": "string", "tags": "list[string]",
        "email_subscribed": "bool",
        "orders": ListOf({"at": "datetime", "total": "number", "items": [item]}),
        "events": ListOf({"type": events, "at": "datetime"}),
    })


_SCHEMA_COMMENT = """\
The fields of the customer records: the types are bool, number, string,
date, datetime, duration, any, record and list[T]; a string with a fixed set
of values is { type = "string", values = [...] }. Lists of records are
[lists.NAME] tables, with their timestamp field and where they live in a
database (table, the key column naming the customer, column renames).
open = false: a field not declared here is an error in rules."""


def _run_init(args: argparse.Namespace) -> int:
    from segdsl.schema import Schema
    from segdsl.schema_file import write_schema

    directory = Path(args.directory)
    data_line = '# data = "data/customers.jsonl"'
    if args.data:
        data_line = f"data = {json.dumps(_relative_to(Path(args.data), directory))}"
    targets = {"segdsl.toml": _PROJECT_TEMPLATE.replace("{data_line}", data_line)}
    if args.data:
        customers = _read_data(args, _project_without_file())
        schema = Schema.infer(customers)
        comment = f"Inferred by `segdsl init --data {args.data}`: review it.\n{_SCHEMA_COMMENT}"
    else:
        schema = _starter_schema()
        comment = _SCHEMA_COMMENT
    targets["schema.toml"] = write_schema(schema, comment=comment)
    targets[str(Path("rules") / "undecided.seg")] = _STARTER_RULES
    targets[str(Path("rules") / "undecided.segtest.toml")] = _STARTER_TESTS
    existing = [name for name in targets if (directory / name).exists()]
    if existing and not args.force:
        raise _UsageFailure(f"{directory / existing[0]} exists; --force overwrites it")
    for name, text in targets.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return EXIT_OK


def _relative_to(path: Path, directory: Path) -> str:
    """``path`` as the project file in ``directory`` names it (relative when it can be)."""
    try:
        return Path(os.path.relpath(path.resolve(), directory.resolve())).as_posix()
    except ValueError:  # another drive
        return path.resolve().as_posix()


def _project_without_file():
    from segdsl.project import Project

    return Project()


def _run_schema_infer(args: argparse.Namespace) -> int:
    from segdsl.schema import Schema
    from segdsl.schema_file import write_schema

    customers = _read_data(args, _project_without_file())
    schema = Schema.infer(customers, limit=args.limit)
    text = write_schema(schema, comment=f"Inferred by `segdsl schema infer --data {args.data}` "
                                        f"from {min(len(customers), args.limit):,} customers: "
                                        f"review it.\n{_SCHEMA_COMMENT}")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


# ------------------------------------------------------------------ completion


def _run_completion(args: argparse.Namespace) -> int:
    try:
        import argcomplete
    except ImportError:
        raise _UsageFailure("shell completion needs argcomplete: pip install "
                            "'segdsl[completion]'") from None
    sys.stdout.write(argcomplete.shellcode(["segdsl"], shell=args.shell))
    return EXIT_OK


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer a completion request from the shell (argcomplete sets the variable)."""
    if "_ARGCOMPLETE" not in os.environ:
        return  # importing argcomplete on every run would slow every command
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


# ------------------------------------------------------------------ the parser


def _version() -> str:
    from segdsl import __version__

    return __version__


def _help(summary: str, example: str, findings: str, more: str = "") -> dict[str, Any]:
    epilog = (more + "\n" if more else "") + f"example:\n{textwrap.indent(example, '  ')}\n\n" \
        + _EXIT_CODES.format(findings=findings)
    return {"description": textwrap.fill(summary, 79), "epilog": epilog,
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def _project_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("project options (override the project file)")
    group.add_argument("--config", metavar="FILE",
                       help="the project file (default: segdsl.toml or pyproject.toml's "
                            "[tool.segdsl], from the current directory upward)")
    group.add_argument("--isolated", action="store_true", help="ignore every project file")
    group.add_argument("--schema", metavar="FILE", help="a schema file (TOML)")
    group.add_argument("--timezone", metavar="ZONE",
                       help="zone of naive datetimes and period days, e.g. Europe/Paris")
    group.add_argument("--rfm-window", metavar="DURATION",
                       help="analysis window of RFM frequency and monetary, e.g. 365d")
    group.add_argument("--functions", metavar="MODULE:NAME",
                       help="custom functions: a segdsl.Functions, e.g. shop.rules:functions")


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DATA",
                        help="customers: .jsonl, .json, or .csv with orders.csv/events.csv "
                             "beside it (default: data in the project file)")
    parser.add_argument("--now", metavar="DATE",
                        help="evaluation time: 2026-07-15, 2026-07-15T12:00:00Z or now "
                             "(default: now)")
    parser.add_argument("--id-field", default="id", metavar="NAME",
                        help="the field holding each customer's id (default: id)")
    parser.add_argument("--ids", choices=("field", "position"), default=None,
                        help="'position' names customers by their position in the data, from 0")


_TEST_FILE_FORMAT = """\
a test file (rules.segtest.toml tests rules.seg beside it; rules = "x.seg" names another):
  now = 2026-07-15T12:00:00Z            # required, here or in each case

  [[case]]
  name = "ten visits and no order"
  [[case.customers]]                    # or customers = "fixtures.jsonl"
  id = 1
  events = [{ type = "visit", at = 2026-07-10T08:00:00Z }]

  [case.members]                        # exactly these customers are members
  undecided = []

  [[case.expect]]                       # or one customer at a time
  customer = 1
  in = []
  not_in = ["undecided"]
  values = { "visits(30d)" = 1 }
"""

_PATHS_HELP = ("rule files, directories (every *.seg below) or - for standard input "
               "(default: rules in the project file, else the current directory)")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="segdsl", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check, format, test and evaluate customer-segment rules.",
        epilog="Run 'segdsl VERB --help' for a verb's arguments, an example and its exit codes.")
    parser.add_argument("--version", action="version", version=f"segdsl {_version()}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)

    check = verbs.add_parser("check", help="report every error in rule files (exit 1 on any)",
                             **_help("Report every error and warning of rule files, as "
                                     "file:line:col with the source line and a caret.",
                                     "segdsl check rules/ --format github --strict",
                                     "a rule error (or a warning, with --strict)"))
    check.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    check.add_argument("--format", choices=("text", "json", "github"), default="text",
                       help="text on stderr (default), a JSON document, or GitHub Actions "
                            "annotations (::error file=...::message) on stdout")
    check.add_argument("--strict", action="store_true", help="warnings fail the check too")
    _project_arguments(check)
    check.set_defaults(run=_run_check)

    fmt = verbs.add_parser("fmt", help="rewrite rule files in the canonical layout",
                           **_help("Rewrite rule files in the canonical layout, comments kept; "
                                   "standard input (-) is written formatted to standard output.",
                                   "segdsl fmt --diff rules/",
                                   "with --check or --diff, a file would change; a file that "
                                   "does not parse"))
    fmt.add_argument("paths", nargs="*", metavar="PATH", help=_PATHS_HELP)
    fmt.add_argument("--check", action="store_true",
                     help="only list the files that would change; exit 1 if any would")
    fmt.add_argument("--diff", action="store_true",
                     help="print what would change as a unified diff; exit 1 if anything would")
    _project_arguments(fmt)
    fmt.set_defaults(run=_run_fmt)

    test = verbs.add_parser("test", help="run rule unit tests (*.segtest.toml)",
                            **_help("Run the rule unit tests of *.segtest.toml files: each case "
                                    "gives customers and a time, and the segments each customer "
                                    "must and must not be in. A failure shows the explanation "
                                    "tree of the customer.",
                                    "segdsl test rules/",
                                    "a failed case, or a test file that does not check",
                                    _TEST_FILE_FORMAT))
    test.add_argument("paths", nargs="*", metavar="PATH",
                      help="test files or directories (every *.segtest.toml below; default: "
                           "rules in the project file, else the current directory)")
    test.add_argument("-v", "--verbose", action="store_true", help="name every case that passes")
    _project_arguments(test)
    test.set_defaults(run=_run_test)

    evaluate = verbs.add_parser(
        "eval", help="evaluate the segments of rule files over customers",
        **_help("Evaluate segments over customers: their sizes as a table, or their members "
                "as CSV, JSON or Parquet.",
                "segdsl eval rules/ --data customers.jsonl --now 2026-07-15 \\\n"
                "    --segment undecided --columns email,country --output undecided.csv",
                "a rule error"))
    evaluate.add_argument("files", nargs="+", metavar="PATH", help=_PATHS_HELP.split(" (")[0])
    _data_arguments(evaluate)
    evaluate.add_argument("--segment", metavar="NAME", action="append",
                          help="only this segment (repeat for several)")
    evaluate.add_argument("--format", choices=("table", "csv", "json", "parquet"), default=None,
                          help="sizes as a table (default), or members as CSV, JSON or Parquet "
                               "(default: from the --output name)")
    evaluate.add_argument("--columns", metavar="FIELD,...",
                          help="customer fields to add to each member in csv, json and parquet "
                               "output, e.g. email,country,address.city")
    evaluate.add_argument("--output", metavar="FILE",
                          help="write to FILE instead of standard output (.parquet needs "
                               "pyarrow)")
    evaluate.add_argument("--engine", choices=("python", "duckdb", "postgres", "spark"),
                          default=None,
                          help="the engine (default: the project's, else chosen from DATA: a "
                               "database or Parquet on SQL, JSON Lines on DuckDB when large "
                               "and the rules compile, else Python)")
    evaluate.add_argument("--into", metavar="TABLE",
                          help="also append the memberships (segment, customer_id, now) to "
                               "TABLE of the database DATA names (made when missing)")
    _project_arguments(evaluate)
    evaluate.set_defaults(run=_run_eval)

    changes = verbs.add_parser(
        "changes", help="who entered and left each segment, and when, in an interval",
        **_help("List every membership change between two instants: the customer, the "
                "segment, entered or exited, and the exact instant (segments that rank "
                "customers are sampled at each midnight).",
                "segdsl changes rules/ --data customers.jsonl --since 2026-07-01 \\\n"
                "    --until 2026-07-31 --segment undecided --format csv",
                "a rule error"))
    _interval_arguments(changes)
    changes.add_argument("--engine", choices=("python", "duckdb"), default=None,
                         help="the engine (default: the project's, else chosen from DATA as "
                              "eval does: a DuckDB file or Parquet/CSV tables on DuckDB)")
    changes.add_argument("--since", required=True, metavar="T0",
                         help="the start: changes after it are listed")
    changes.add_argument("--until", required=True, metavar="T1",
                         help="the end: changes at or before it are listed")
    _project_arguments(changes)
    changes.set_defaults(run=_run_changes)

    history = verbs.add_parser(
        "history", help="each segment's size at regular steps of time",
        **_help("Print each segment's size at --from, --from + --every, ... up to --to.",
                "segdsl history rules/ --data customers.jsonl --from 2026-06-01 \\\n"
                "    --to 2026-07-01 --every 1d --format csv",
                "a rule error"))
    _interval_arguments(history)
    history.add_argument("--from", dest="start", required=True, metavar="T0",
                         help="the first instant")
    history.add_argument("--to", dest="end", required=True, metavar="T1",
                         help="the last instant (included when a step falls on it)")
    history.add_argument("--every", default="1d", metavar="DURATION",
                         help="the step: 1d (default), 12h, 1w, 1m")
    _project_arguments(history)
    history.set_defaults(run=_run_history)

    sql = verbs.add_parser(
        "sql", help="print the SQL query computing the segments of a rule file",
        **_help("Print the query computing every segment of a rule file (or the --segment "
                "ones) on a database: one row per customer, customer_id and one boolean "
                "column per segment. Tables and columns follow the project's table mapping.",
                "segdsl sql examples/summer_sale.seg --dialect duckdb --now 2026-07-15 \\\n"
                "    --segment undecided > undecided.sql",
                "a rule the dialect cannot compute exactly (a check error)"))
    sql.add_argument("file", metavar="FILE", help="a rule file, or - for standard input")
    sql.add_argument("--dialect", default="duckdb", metavar="D",
                     help="the SQL dialect (default: duckdb)")
    sql.add_argument("--now", metavar="DATE",
                     help="the evaluation time written into the query (default: a $now "
                          "parameter bound when it runs)")
    sql.add_argument("--segment", metavar="NAME", action="append",
                     help="only this segment (repeat for several)")
    sql.add_argument("--data", metavar="DATA",
                     help="a DuckDB file or directory of tables whose column types type the "
                          "fields the schema leaves untyped")
    _project_arguments(sql)
    sql.set_defaults(run=_run_sql)

    explain = verbs.add_parser(
        "explain", help="show why a customer is or is not in a segment",
        **_help("Show every sub-expression of a segment's rule and its value for one customer.",
                "segdsl explain rules/ undecided --data customers.jsonl --customer 8",
                "a rule error"))
    explain.add_argument("files", nargs="+", metavar="PATH", help="rule files or directories")
    explain.add_argument("segment", metavar="SEGMENT")
    _data_arguments(explain)
    explain.add_argument("--customer", required=True, metavar="ID", help="the customer's id")
    _project_arguments(explain)
    explain.set_defaults(run=_run_explain)

    repl = verbs.add_parser("repl", help="an interactive prompt to try rules on customers",
                            **_help("Try rules interactively against loaded customers.",
                                    "segdsl repl rules/undecided.seg --data customers.jsonl",
                                    "with a script piped in, an input that failed"))
    repl.add_argument("file", nargs="?", metavar="FILE", help="a rule file to start with")
    repl.add_argument("--data", metavar="DATA", help="customers to start with (as for eval)")
    repl.add_argument("--now", metavar="DATE",
                      help="evaluation time: 2026-07-15 or 2026-07-15T12:00:00Z (default: now)")
    _project_arguments(repl)
    repl.set_defaults(run=_run_repl)

    init = verbs.add_parser("init", help="start a project: segdsl.toml, schema.toml, rules/",
                            **_help("Write a commented project file (segdsl.toml), a schema file "
                                    "(schema.toml, inferred from --data when given) and a "
                                    "starter rule file with its tests under rules/.",
                                    "segdsl init --data data/customers.jsonl", "never"))
    init.add_argument("directory", nargs="?", default=".", metavar="DIR",
                      help="where to write (default: the current directory)")
    init.add_argument("--data", metavar="DATA", help="sample customers to infer the schema from")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.set_defaults(run=_run_init, id_field="id", ids=None)

    schema = verbs.add_parser("schema", help="schema files: schema infer --data DATA",
                              **_help("Schema files.",
                                      "segdsl schema infer --data customers.jsonl > schema.toml",
                                      "never"))
    schema_verbs = schema.add_subparsers(dest="schema_verb", metavar="VERB", required=True,
                                         parser_class=_Parser)
    infer = schema_verbs.add_parser(
        "infer", help="write a schema file from sample customers",
        **_help("Write a schema file (TOML) from sample customers: field types, lists and "
                "their timestamps, and the values of list fields that take few.",
                "segdsl schema infer --data customers.jsonl --output schema.toml", "never"))
    infer.add_argument("--data", required=True, metavar="DATA", help="sample customers")
    infer.add_argument("--output", metavar="FILE", help="write to FILE (default: standard output)")
    infer.add_argument("--limit", type=int, default=1000, metavar="N",
                       help="how many customers to read (default: 1000)")
    infer.set_defaults(run=_run_schema_infer, id_field="id", ids=None)

    completion = verbs.add_parser(
        "completion", help="shell completion script for bash or zsh",
        **_help("Print the shell code that completes segdsl's verbs and options (needs "
                "argcomplete: pip install 'segdsl[completion]').",
                'eval "$(segdsl completion bash)"    # in ~/.bashrc (zsh: in ~/.zshrc)', "never"))
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(run=_run_completion)
    return parser


def _command_line_words(message: str) -> str:
    """A library message with the Python spellings of options replaced by the flags."""
    return message.replace('id_field="..."', "--id-field NAME").replace(
        'ids="position"', "--ids position")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    _tolerant_output()
    parser = _build_parser()
    _complete(parser)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        args = parser.parse_args(arguments)
    except SystemExit as leaving:
        return leaving.code if isinstance(leaving.code, int) else EXIT_USAGE
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    run: Callable[[argparse.Namespace], int] = args.run
    return _guarded(run, args)


def _guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return run(args)
    except _Reported as reported:
        return reported.status
    except _UsageFailure as failure:
        print(f"segdsl: {failure}", file=sys.stderr)
        return EXIT_USAGE
    except SegdslError as error:
        if error.span is None:
            print(f"segdsl: {_command_line_words(error.message)}", file=sys.stderr)
            return EXIT_USAGE
        print("\n".join(each.render() for each in error.errors or [error]), file=sys.stderr)
        return EXIT_USAGE if isinstance(error, UsageError) else EXIT_RULE_ERRORS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`segdsl eval ... | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except RecursionError:
        print("segdsl: the input is nested too deeply to be processed", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("segdsl: out of memory", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - a bug is one line, never a traceback
        print(f"segdsl: internal error ({type(error).__name__}: {_one_line(str(error))}); "
              f"please report it", file=sys.stderr)
        return EXIT_USAGE


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tolerant_output() -> None:
    """Text no encoding of the terminal can write (a lone surrogate in an id)
    is printed as an escape instead of failing the run."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that refuses
                pass


if __name__ == "__main__":
    sys.exit(main())
