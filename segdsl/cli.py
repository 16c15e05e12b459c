"""The ``segdsl`` command: check, format, evaluate and explain rule files.

Exit status: 0 on success, 1 when rules have errors (or ``fmt --check`` finds
files to reformat), 2 on bad usage or unreadable input (a missing file, bad
data, a bad ``--now``), which wins over 1 when a run has both. A rule file
with errors gets every error and warning shown, by every verb, as ``check``
shows them. Bad input never shows a traceback: one clear line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from segdsl.errors import SegdslError

EXIT_OK = 0
EXIT_RULE_ERRORS = 1
EXIT_USAGE = 2
_PROGRESS_THRESHOLD = 50_000


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _read_rule_file(path: str) -> str:
    try:
        # newline="": line endings as they are, so that fmt keeps CRLF files CRLF.
        with open(path, encoding="utf-8", newline="") as file:
            return file.read()
    except FileNotFoundError:
        raise _UsageFailure(f"{path}: no such file") from None
    except IsADirectoryError:
        raise _UsageFailure(f"{path}: is a directory, not a rule file") from None
    except UnicodeDecodeError as error:
        raise _UsageFailure(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise _UsageFailure(f"{path}: cannot read ({error.strerror})") from None


class _UsageFailure(Exception):
    """Bad usage or unreadable input: reported as one line, exit status 2."""


class _Reported(Exception):
    """A failure already reported on stderr; ends the run with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


# ------------------------------------------------------------------ verbs


def _run_check(args: argparse.Namespace) -> int:
    from segdsl.rules import check

    # A file that cannot be read does not stop the others from being checked.
    status = EXIT_OK
    for path in args.files:
        try:
            text = _read_rule_file(path)
        except _UsageFailure as failure:
            print(f"segdsl: {failure}", file=sys.stderr)
            status = EXIT_USAGE
            continue
        errors, warnings = check(text, file=path)
        _print_problems(errors, warnings)
        if errors:
            status = max(status, EXIT_RULE_ERRORS)
    return status


def _print_problems(errors: list, warnings: list) -> None:
    """Errors and warnings of a rule file on stderr, in source order."""
    for problem in sorted([*errors, *warnings], key=_position):
        print(problem.render(), file=sys.stderr)


def _position(problem) -> int:
    return problem.span.start if problem.span is not None else -1


def _run_fmt(args: argparse.Namespace) -> int:
    from segdsl.formatter import format_text

    # Read every file first: a missing one stops the run before any is rewritten.
    texts = {path: _read_rule_file(path) for path in args.files}
    status = EXIT_OK
    for path, text in texts.items():
        try:
            formatted = format_text(text, file=path)
        except SegdslError as error:
            print("\n".join(each.render() for each in error.errors or [error]), file=sys.stderr)
            status = EXIT_RULE_ERRORS
            continue
        if formatted == text:
            continue
        if args.check:
            print(f"would reformat {path}")
            status = EXIT_RULE_ERRORS
        else:
            Path(path).write_text(formatted, encoding="utf-8", newline="")
            print(f"reformatted {path}")
    return status


def _load_rules(path: str):
    """The rules of ``path``; when they have errors, all of them are shown
    (with the warnings, as ``check`` shows them) and the run ends with status 1."""
    from segdsl.rules import check, loads

    text = _read_rule_file(path)
    try:
        return loads(text, file=path)
    except SegdslError as error:
        if error.span is None:
            raise
        errors, warnings = check(text, file=path)
        _print_problems(errors or list(error.errors), warnings)
        raise _Reported(EXIT_RULE_ERRORS) from None


def _evaluation_inputs(args: argparse.Namespace):
    from segdsl.data import read_customers
    from segdsl.rules import evaluation_time

    rules = _load_rules(args.file)
    now = evaluation_time(args.now, rules)
    customers = read_customers(args.data)
    if not customers:
        print(f"segdsl: warning: {args.data} holds no customers", file=sys.stderr)
    return rules, customers, now


def _run_eval(args: argparse.Namespace) -> int:
    rules, customers, now = _evaluation_inputs(args)
    for warning in [*rules.warnings, *rules.missing_fields(customers),
                    *rules.hidden_fields(customers)]:
        print(warning.render(), file=sys.stderr)
    names = args.segment or None
    for name in names or ():
        rules[name]  # an unknown name fails before the data is evaluated
    result = rules.evaluate(customers, now=now, segments=names,
                            progress=_progress_bar(len(customers)),
                            id_field=args.id_field, ids=args.ids)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, default=str))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["segment", "customer_id"])
        for name, ids in result.members.items():
            writer.writerows([name, identity] for identity in ids)
    else:
        print(_size_table(rules, result))
    return EXIT_OK


def _progress_bar(total: int):
    """A progress callback drawing on stderr, when it is a terminal and the data is large."""
    if total < _PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return None

    def draw(done: int) -> None:
        width = 40
        filled = width * done // total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} customers")
        if done >= total:
            sys.stderr.write("\r" + " " * (width + 40) + "\r")
        sys.stderr.flush()

    return draw


def _size_table(rules, result) -> str:
    from segdsl.rules import percent

    rows = [("segment", "customers", "share")]
    for name, size in result.sizes.items():
        rows.append((name, f"{size:,}", percent(size, result.total)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{rows[0][0]:<{widths[0]}}  {rows[0][1]:>{widths[1]}}  {rows[0][2]:>{widths[2]}}"]
    lines.append("  ".join("-" * w for w in widths))
    for name, size, share in rows[1:]:
        lines.append(f"{name:<{widths[0]}}  {size:>{widths[1]}}  {share:>{widths[2]}}")
    from segdsl.timeline import iso_text

    stamp = iso_text(result.now)
    lines.append(f"\n{result.total:,} customers evaluated at {stamp}")
    return "\n".join(lines)


def _run_explain(args: argparse.Namespace) -> int:
    rules, customers, now = _evaluation_inputs(args)
    segment = rules[args.segment]
    wanted = str(args.customer)
    # Customers are named as `eval` names them: by the id field, or by position.
    customer = next((c for index, c in enumerate(customers)
                     if str(index if args.ids == "position" else c.get(args.id_field)) == wanted),
                    None)
    if customer is None:
        what = "position" if args.ids == "position" else args.id_field
        raise _UsageFailure(f"{args.data}: no customer with {what} {wanted}")
    population = customers if segment.needs_population else None
    print(segment.explain(customer, now=now, population=population).render())
    return EXIT_OK


def _run_repl(args: argparse.Namespace) -> int:
    from segdsl.repl import main as repl

    return repl(args.file, args.data, args.now)


def _version() -> str:
    from segdsl import __version__

    return __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="segdsl", description="Check, format and evaluate customer-segment rules.")
    parser.add_argument("--version", action="version", version=f"segdsl {_version()}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_Parser)

    check = verbs.add_parser("check", help="report every error in rule files (exit 1 on any)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=_run_check)

    fmt = verbs.add_parser("fmt", help="rewrite rule files in the canonical layout")
    fmt.add_argument("files", nargs="+", metavar="FILE")
    fmt.add_argument("--check", action="store_true",
                     help="only list the files that would change; exit 1 if any would")
    fmt.set_defaults(run=_run_fmt)

    evaluate = verbs.add_parser("eval", help="evaluate the segments of a rule file over customers")
    evaluate.add_argument("file", metavar="FILE")
    _data_arguments(evaluate)
    evaluate.add_argument("--segment", metavar="NAME", action="append",
                          help="only this segment (repeat for several)")
    evaluate.add_argument("--format", choices=("table", "csv", "json"), default="table",
                          help="sizes as a table (default), or members as CSV or JSON")
    evaluate.set_defaults(run=_run_eval)

    explain = verbs.add_parser("explain", help="show why a customer is or is not in a segment")
    explain.add_argument("file", metavar="FILE")
    explain.add_argument("segment", metavar="SEGMENT")
    _data_arguments(explain)
    explain.add_argument("--customer", required=True, metavar="ID", help="the customer's id")
    explain.set_defaults(run=_run_explain)

    repl = verbs.add_parser("repl", help="an interactive prompt to try rules on customers")
    repl.add_argument("file", nargs="?", metavar="FILE", help="a rule file to start with")
    repl.add_argument("--data", metavar="DATA", help="customers to start with (as for eval)")
    repl.add_argument("--now", metavar="DATE",
                      help="evaluation time: 2026-07-15 or 2026-07-15T12:00:00Z (default: now)")
    repl.set_defaults(run=_run_repl)
    return parser


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DATA",
                        help="customers: .jsonl, .json, or .csv with orders.csv/events.csv beside it")
    parser.add_argument("--now", metavar="DATE",
                        help="evaluation time: 2026-07-15 or 2026-07-15T12:00:00Z (default: now)")
    parser.add_argument("--id-field", default="id", metavar="NAME",
                        help="the field holding each customer's id (default: id)")
    parser.add_argument("--ids", choices=("field", "position"), default=None,
                        help="'position' names customers by their position in the data, from 0")


def _command_line_words(message: str) -> str:
    """A library message with the Python spellings of options replaced by the flags."""
    return message.replace('id_field="..."', "--id-field NAME").replace(
        'ids="position"', "--ids position")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    _tolerant_output()
    args = _build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
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
        return EXIT_RULE_ERRORS
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
