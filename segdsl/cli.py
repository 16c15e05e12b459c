"""The ``segdsl`` command: check, format, evaluate and explain rule files.

Exit status: 0 on success, 1 when rules have errors (or ``fmt --check`` finds
files to reformat), 2 on bad usage or unreadable input. Bad input never shows
a traceback: one clear line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from segdsl.errors import SegdslError

EXIT_OK = 0
EXIT_RULE_ERRORS = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _read_rule_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
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


# ------------------------------------------------------------------ verbs


def _run_check(args: argparse.Namespace) -> int:
    from segdsl.parser import parse

    status = EXIT_OK
    for path in args.files:
        text = _read_rule_file(path)
        try:
            parse(text, file=path)
        except SegdslError as error:
            print(error.render(), file=sys.stderr)
            status = EXIT_RULE_ERRORS
    return status


def _run_fmt(args: argparse.Namespace) -> int:
    from segdsl.formatter import format_text

    changed = []
    status = EXIT_OK
    for path in args.files:
        text = _read_rule_file(path)
        try:
            formatted = format_text(text, file=path)
        except SegdslError as error:
            print(error.render(), file=sys.stderr)
            status = EXIT_RULE_ERRORS
            continue
        if formatted == text:
            continue
        changed.append(path)
        if not args.check:
            Path(path).write_text(formatted, encoding="utf-8")
    for path in changed:
        print(f"would reformat {path}" if args.check else f"reformatted {path}")
    if args.check and changed:
        status = EXIT_RULE_ERRORS
    return status


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="segdsl", description="Check, format and evaluate customer-segment rules.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_Parser)

    check = verbs.add_parser("check", help="report every error in rule files (exit 1 on any)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=_run_check)

    fmt = verbs.add_parser("fmt", help="rewrite rule files in the canonical layout")
    fmt.add_argument("files", nargs="+", metavar="FILE")
    fmt.add_argument("--check", action="store_true",
                     help="only list the files that would change; exit 1 if any would")
    fmt.set_defaults(run=_run_fmt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = _build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except _UsageFailure as failure:
        print(f"segdsl: {failure}", file=sys.stderr)
        return EXIT_USAGE
    except SegdslError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
