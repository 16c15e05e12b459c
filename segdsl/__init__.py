"""segdsl: a declarative language for customer-segment rules.

    >>> import segdsl
    >>> tree = segdsl.parse('segment undecided = visits(30d) >= 10 and not purchased(30d)')
"""

from segdsl.errors import (
    CheckError,
    DataError,
    EvaluationError,
    LimitError,
    ParseError,
    SegdslError,
    UsageError,
)
from segdsl.parser import MAX_NESTING, MAX_SOURCE_LENGTH, parse, parse_expression

__all__ = [
    "CheckError",
    "DataError",
    "EvaluationError",
    "LimitError",
    "MAX_NESTING",
    "MAX_SOURCE_LENGTH",
    "ParseError",
    "SegdslError",
    "UsageError",
    "parse",
    "parse_expression",
]
