"""What every dialect provides to the compiler."""

from __future__ import annotations

from sqlglot import exp

from segdsl.errors import CheckError


class Dialect:
    """A database's spellings of the operations rules need.

    Each method returns a ``sqlglot`` expression; a dialect that cannot express
    an operation exactly raises :class:`CheckError` naming it (see
    :meth:`refuse`).
    """

    #: the dialect's name, as sqlglot knows it
    name = "generic"

    def refuse(self, construct: str, why: str = "") -> CheckError:
        """The error for ``construct``, which this dialect cannot compute exactly."""
        return CheckError(f"{construct} is not supported by the {self.name} engine yet"
                          + (f": {why}" if why else ""))

    def function(self, name: str, *args: exp.Expression) -> exp.Expression:
        """A call of the database's own function ``name``."""
        return exp.Anonymous(this=name, expressions=list(args))

    def fail(self, message: str) -> exp.Expression:
        """An expression that stops the query with ``message`` when evaluated."""
        raise self.refuse("raising an error from a query")

    def now(self) -> exp.Expression:
        """The evaluation time, a parameter bound when the query runs."""
        raise self.refuse("now as a parameter")


def case(condition: exp.Expression, then: exp.Expression,
         otherwise: exp.Expression | None = None) -> exp.Expression:
    """``CASE WHEN condition THEN then ELSE otherwise END``."""
    return exp.Case(ifs=[exp.If(this=condition, true=then)], default=otherwise)


# Operators (sqlglot counts AND and OR among functions, and parentheses among unary operators).
_COMPOUND = (exp.Binary, exp.Connector, exp.Unary, exp.Predicate, exp.Between, exp.In, exp.Is)


def wrap(operand: exp.Expression) -> exp.Expression:
    """``operand`` in parentheses when it is an operation: sqlglot prints a
    tree as built, so ``a - (b - c)`` needs them written in."""
    if isinstance(operand, exp.Paren) or not isinstance(operand, _COMPOUND):
        return operand
    return exp.Paren(this=operand)


def binary(kind: type[exp.Binary], left: exp.Expression, right: exp.Expression
           ) -> exp.Expression:
    """``left <kind> right``, each side parenthesised where needed."""
    return kind(this=wrap(left), expression=wrap(right))
