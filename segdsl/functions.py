"""Functions callable from rules: scalar built-ins and users' Python functions.

Aggregations over lists (``count``, ``sum``, ...), population functions
(``ntile``, ``percentile``) and the prelude's ``orders``/``purchased`` are
shaped by the checker itself (they take a list path, a window and an
element-scoped ``where``); everything here is an ordinary function of values,
with a typed signature that the checker verifies like a built-in's::

    functions = segdsl.Functions()

    @functions.register(params={"email": "string"}, returns="string")
    def email_domain(email):
        return email.rpartition("@")[2]

    segdsl.compile('email_domain(email) == "shop.fr"', functions=functions)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from segdsl import types as t
from segdsl.errors import UsageError


@attrs.frozen
class Parameter:
    """One parameter of a function: its name and the types it accepts."""

    name: str
    accepts: tuple[t.Type, ...]
    required: bool = True


@attrs.frozen
class Function:
    """A function callable from rules.

    Attributes:
        name: the name rules call it by.
        implementation: the Python callable, given the argument values.
        params: the parameters, in order.
        returns: the result type.
        null_safe: when true, a null argument makes the result null without
            calling the implementation (SQL's behaviour for most functions).
        doc: one line shown in the REPL's help.
    """

    name: str
    implementation: Callable[..., Any] = attrs.field(eq=False)
    params: tuple[Parameter, ...]
    returns: t.Type
    null_safe: bool = True
    doc: str = ""

    @property
    def signature(self) -> str:
        """``name(param: type, ...) -> type`` as shown in messages and help."""
        shown = []
        for param in self.params:
            types = " or ".join(str(a) for a in param.accepts)
            shown.append(f"{param.name}: {types}" + ("" if param.required else " = null"))
        return f"{self.name}({', '.join(shown)}) -> {self.returns}"


def _as_types(spec: Any) -> tuple[t.Type, ...]:
    if isinstance(spec, t.Type):
        return (spec,)
    if isinstance(spec, str):
        return tuple(t.parse_type(part) for part in spec.split("|"))
    if isinstance(spec, Iterable):
        return tuple(type_ for item in spec for type_ in _as_types(item))
    raise UsageError(f"cannot read a type from {spec!r}")


class Functions:
    """A registry of functions that rules may call, on top of the built-ins."""

    def __init__(self, functions: Iterable[Function] = ()) -> None:
        self._functions: dict[str, Function] = {}
        for function in functions:
            self.add(function)

    def __contains__(self, name: str) -> bool:
        return name in self._functions

    def __iter__(self):
        return iter(self._functions.values())

    def __repr__(self) -> str:
        return f"Functions({', '.join(self._functions)})"

    def get(self, name: str) -> Function | None:
        """The function called ``name``, or None."""
        return self._functions.get(name)

    def add(self, function: Function) -> None:
        """Add ``function``; a name can be registered once."""
        if function.name in self._functions:
            raise UsageError(f"a function named {function.name!r} is already registered")
        self._functions[function.name] = function

    def register(self, name: str | None = None, *, params: Mapping[str, Any], returns: Any,
                 null_safe: bool = True, doc: str | None = None) -> Callable:
        """Decorator registering a Python function under ``name`` (default: its own).

        Args:
            name: the name rules use.
            params: parameter names to type spellings (``"number"``,
                ``"string|list[string]"``), in call order.
            returns: the result type's spelling.
            null_safe: return null without calling when an argument is null.
            doc: a one-line description (default: the docstring's first line).
        """
        def decorate(implementation: Callable) -> Callable:
            try:
                parameters = tuple(Parameter(p, _as_types(spec)) for p, spec in params.items())
                result = _as_types(returns)[0]
            except ValueError as error:
                raise UsageError(f"function {name or implementation.__name__}: {error}") from None
            summary = doc or (implementation.__doc__ or "").strip().split("\n")[0]
            self.add(Function(name or implementation.__name__, implementation, parameters,
                              result, null_safe, summary))
            return implementation

        return decorate


# ---------------------------------------------------------------- built-ins


def _days_between(start: dt.datetime, end: dt.datetime) -> int:
    return math.floor((end - start).total_seconds() / 86400)


def _round(value: float, digits: float = 0) -> float:
    return round(value, int(digits))


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


_NUMBER, _STRING = (t.NUMBER,), (t.STRING,)

BUILTINS = Functions([
    Function("lower", str.lower, (Parameter("text", _STRING),), t.STRING,
             doc="the text in lower case"),
    Function("upper", str.upper, (Parameter("text", _STRING),), t.STRING,
             doc="the text in upper case"),
    Function("length", len, (Parameter("value", (t.STRING, t.list_of(t.ANY))),), t.NUMBER,
             doc="the number of characters of a string or items of a list"),
    Function("abs", abs, (Parameter("number", _NUMBER),), t.NUMBER, doc="the absolute value"),
    Function("round", _round, (Parameter("number", _NUMBER), Parameter("digits", _NUMBER, False)),
             t.NUMBER, doc="the number rounded to `digits` decimals (default 0)"),
    Function("days_between", _days_between,
             (Parameter("start", (t.DATETIME,)), Parameter("end", (t.DATETIME,))), t.NUMBER,
             doc="whole days from start to end (negative when end is earlier)"),
    Function("coalesce", _coalesce, (Parameter("value", (t.ANY,)), Parameter("fallback", (t.ANY,))),
             t.ANY, null_safe=False, doc="the first of its arguments that is not null"),
])
