"""segdsl: a declarative language for customer-segment rules.

    >>> import segdsl
    >>> tree = segdsl.parse('segment undecided = visits(30d) >= 10 and not purchased(30d)')
"""

from importlib import metadata as _metadata

from segdsl.errors import (
    CheckError,
    DataError,
    EvaluationError,
    LimitError,
    ParseError,
    SegdslError,
    UsageError,
)
from segdsl.data import read_customers
from segdsl.explain import Explanation
from segdsl.functions import Function, Functions
from segdsl.membership import Membership
from segdsl.parser import MAX_NESTING, MAX_SOURCE_LENGTH, parse, parse_expression
from segdsl.project import Project
from segdsl.rules import PopulationStats, Result, RuleSet, Segment, check, compile, load, loads
from segdsl.schema import ListOf, OneOf, Schema

try:
    __version__ = _metadata.version("segdsl")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CheckError",
    "Explanation",
    "Function",
    "Functions",
    "ListOf",
    "Membership",
    "OneOf",
    "PopulationStats",
    "Project",
    "Result",
    "RuleSet",
    "Schema",
    "Segment",
    "check",
    "compile",
    "load",
    "loads",
    "DataError",
    "EvaluationError",
    "LimitError",
    "MAX_NESTING",
    "MAX_SOURCE_LENGTH",
    "ParseError",
    "SegdslError",
    "UsageError",
    "format",
    "parse",
    "read_customers",
    "parse_expression",
]


def format(text: str, *, file: str | None = None) -> str:  # noqa: A001 - the brief's name
    """Canonical layout of a rule file, comments kept.

    ``format(format(t)) == format(t)`` for every rule file ``t``.

    Raises:
        ParseError: the text is not a well-formed rule file.
    """
    from segdsl.formatter import format_text

    return format_text(text, file=file)
