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

import calendar
import datetime as dt
import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from segdsl import types as t
from segdsl.errors import UsageError
from segdsl.values import normalise_items, safe_repr


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
    if isinstance(spec, Iterable) and not isinstance(spec, Mapping):
        found = tuple(type_ for item in spec for type_ in _as_types(item))
        if found:
            return found
    raise UsageError(f"cannot read a type from {spec!r}: spell it like 'number', "
                     f"'string|list[string]' or 'datetime'")


_NO_PARAMS: Mapping[str, Any] = {}


class Functions:
    """A registry of functions that rules may call, on top of the built-ins."""

    def __init__(self, functions: Iterable[Function] = ()) -> None:
        self._functions: dict[str, Function] = {}
        if isinstance(functions, Functions):
            functions = list(functions)
        elif not isinstance(functions, Iterable) or isinstance(functions, (str, Mapping)):
            raise UsageError(f"Functions takes a list of Function objects, not "
                             f"{type(functions).__name__}")
        for function in functions:
            self.add(function)

    @classmethod
    def _builtins(cls, functions: Iterable[Function]) -> Functions:
        registry = object.__new__(cls)
        registry._functions = {function.name: function for function in functions}
        return registry

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._functions

    def __iter__(self):
        return iter(self._functions.values())

    def __len__(self) -> int:
        return len(self._functions)

    def __repr__(self) -> str:
        return f"Functions({', '.join(self._functions)})"

    def get(self, name: str) -> Function | None:
        """The function called ``name``, or None."""
        return self._functions.get(name) if isinstance(name, str) else None

    def add(self, function: Function) -> None:
        """Add ``function``; a name can be registered once, and not a built-in's.

        Raises:
            UsageError: the name is taken, or the declared parameters do not
                match the Python function's signature.
        """
        if not isinstance(function, Function):
            raise UsageError(f"Functions.add takes a segdsl.Function, not "
                             f"{type(function).__name__}")
        _check_name(function.name)
        if function.name in self._functions:
            raise UsageError(f"a function named {function.name!r} is already registered")
        _check_signature(function)
        self._functions[function.name] = function

    def register(self, name: str | None = None, *, params: Mapping[str, Any] = _NO_PARAMS,
                 returns: Any = None, null_safe: bool = True, doc: str | None = None) -> Callable:
        """Decorator registering a Python function under ``name`` (default: its own).

        Args:
            name: the name rules use.
            params: parameter names to type spellings (``"number"``,
                ``"string|list[string]"``), in call order; they must be the
                Python function's own parameters.
            returns: the result type's spelling.
            null_safe: return null without calling when an argument is null.
            doc: a one-line description (default: the docstring's first line).

        Raises:
            UsageError: the arguments are malformed, the name is taken, or
                ``params`` does not match the function's signature (when it
                is decorated).
        """
        if callable(name) and not isinstance(name, str):
            raise UsageError("register needs the parameters' and result's types: "
                             "@functions.register(params={...}, returns=...)")
        if name is not None:
            _check_name(name)
        if params is _NO_PARAMS or not isinstance(params, Mapping):
            shown = "nothing" if params is _NO_PARAMS else type(params).__name__
            raise UsageError(f"register: params must be a dict of parameter names to types, such "
                             f"as {{'email': 'string'}}, not {shown}")
        if returns is None:
            raise UsageError("register: returns= must name the result's type, such as 'number'")
        if not isinstance(null_safe, bool):
            raise UsageError(f"register: null_safe must be True or False, not {null_safe!r}")
        if doc is not None and not isinstance(doc, str):
            raise UsageError(f"register: doc must be text, not {type(doc).__name__}")
        label = name or "a function"
        try:
            parameters = tuple(Parameter(_parameter_name(p, label), _as_types(spec))
                               for p, spec in params.items())
            results = _as_types(returns)
        except ValueError as error:
            raise UsageError(f"function {label}: {error}") from None
        if len(results) != 1:
            raise UsageError(f"function {label}: returns must be one type, not {returns!r}")

        def decorate(implementation: Callable) -> Callable:
            if not callable(implementation):
                raise UsageError(f"register decorates a Python function, not "
                                 f"{type(implementation).__name__}")
            own = getattr(implementation, "__name__", None)
            summary = doc or (getattr(implementation, "__doc__", None) or "").strip().split("\n")[0]
            self.add(Function(name or own or "", _checking_arguments(implementation, parameters),
                              parameters, results[0], null_safe, summary))
            return implementation

        return decorate


def _checking_arguments(implementation: Callable, params: tuple[Parameter, ...]) -> Callable:
    """``implementation``, called only with values of the types its parameters accept:
    a value read without a schema (``email`` holding 5) is refused as bad data naming
    the parameter, rather than left to fail inside the user's code."""
    tests = [(index, param, _accepting(param.accepts)) for index, param in enumerate(params)]
    tests = [(index, param, test) for index, param, test in tests if test is not None]
    if not tests:
        return implementation

    @functools.wraps(implementation)  # its signature is the one register checks
    def checked(*values: Any) -> Any:
        for index, param, test in tests:
            value = values[index] if index < len(values) else None
            if value is not None and not test(value):
                types = " or ".join(f"a {accepted}" for accepted in param.accepts)
                raise ArgumentError(f"{param.name} must be {types}, not "
                                    f"{type(value).__name__} {safe_repr(value, 60)}", index)
        return implementation(*values)

    return checked


def _accepting(accepts: tuple[t.Type, ...]) -> Callable[[Any], bool] | None:
    """Whether a value is of one of the types ``accepts`` (None: any value is)."""
    tests = [_VALUE_TESTS.get(accepted.name) for accepted in accepts]
    if any(test is None for test in tests):
        return None  # any, or a type not told apart here
    return lambda value: any(test(value) for test in tests)  # type: ignore[misc]


_VALUE_TESTS: dict[str, Callable[[Any], bool]] = {
    "number": lambda v: isinstance(v, (int, float)) and type(v) is not bool,
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: type(v) is bool,
    "date": lambda v: type(v) is dt.date,
    "datetime": lambda v: isinstance(v, dt.date),  # a date is its midnight, as the checker says
    "list": lambda v: isinstance(v, list),
    "record": lambda v: isinstance(v, dict),
}


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"a function's name must be an identifier such as 'email_domain', not "
                         f"{name!r}")
    if name in _taken_names():
        raise UsageError(f"function {name!r} is already a built-in of segdsl: register it under "
                         f"another name")


def _taken_names() -> set[str]:
    # The checker owns the language's own functions; it imports this module.
    from segdsl.checker import AGGREGATIONS, ORDER_MACROS, POPULATION_FUNCTIONS, prelude

    return ({d.name for d in prelude().statements} | set(AGGREGATIONS) | set(ORDER_MACROS)
            | set(POPULATION_FUNCTIONS) | {f.name for f in BUILTINS})


def _parameter_name(name: Any, label: str) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"function {label}: a parameter's name must be an identifier, not "
                         f"{name!r}")
    return name


def _check_signature(function: Function) -> None:
    """Refuse declared parameters the Python function cannot be called with."""
    try:
        signature = inspect.signature(function.implementation)
    except (TypeError, ValueError):  # some built-in callables have no signature to read
        return
    declared = [param.name for param in function.params]
    required = sum(1 for param in function.params if param.required)
    for count in {required, len(declared)}:
        try:
            signature.bind(*declared[:count])
        except TypeError:
            raise UsageError(
                f"function {function.name!r}: params declare {_count(count)} "
                f"({', '.join(declared[:count]) or 'none'}), but the Python function's "
                f"signature is {function.name}{signature}") from None
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for number, (name, actual) in enumerate(zip(declared, positional, strict=False), start=1):
        if actual.kind is actual.POSITIONAL_OR_KEYWORD and name != actual.name:
            raise UsageError(
                f"function {function.name!r}: parameter {number} is declared {name!r}, but the "
                f"Python function calls it {actual.name!r} ({function.name}{signature})")


def _count(number: int) -> str:
    return f"{number} parameter" + ("" if number == 1 else "s")


# ---------------------------------------------------------------- built-ins


def _days_between(start: dt.datetime, end: dt.datetime) -> int:
    return math.floor((end - start).total_seconds() / 86400)


def _round(value: float, digits: float = 0) -> float:
    return round(value, int(digits))


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


_NUMBER, _STRING = (t.NUMBER,), (t.STRING,)


def _length(value: Any) -> int:
    # Only text and lists have a length: a record (a dict) where a list is
    # expected is bad data, not an empty list.
    if not isinstance(value, (str, list, tuple)):
        raise TypeError(f"expected text or a list, found {type(value).__name__}")
    return len(value)

def _case(convert: Callable[[str], str]) -> Callable[[Any], Any]:
    """``lower``/``upper`` of a text, or of each text of a list (null items stay null)."""
    def change(value: Any) -> Any:
        if type(value) is str:
            return convert(value)
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected text or a list of texts, found "
                            f"{type(value).__name__} {safe_repr(value, 40)}")
        items = []
        for item in normalise_items(list(value)):
            if item is not None and type(item) is not str:
                raise TypeError(f"expected a list of texts, found {type(item).__name__} "
                                f"{safe_repr(item, 40)} in it")
            items.append(None if item is None else convert(item))
        return items

    return change


_TEXTS = (t.STRING, t.list_of(t.STRING))


def _number_in(value: Any) -> float:
    # A boolean is not a number, in rules.
    if type(value) not in (int, float):
        raise ArgumentError(f"expected a number, found {type(value).__name__} "
                            f"{safe_repr(value, 40)}", 0)
    return value


def _sqrt(value: Any) -> float | None:
    number = _number_in(value)
    return None if number < 0 else math.sqrt(number)


def _whole(function: Callable[[float], int]) -> Callable[[Any], int]:
    def whole(value: Any) -> int:
        number = _number_in(value)
        if math.isinf(number):
            raise ArgumentError(f"{number} is not finite, so it has no whole part", 0)
        return int(function(number))

    return whole


#: The mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088


class ArgumentError(ValueError):
    """A built-in's argument out of its domain; ``index`` says which argument."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def _distance_km(lat1: Any, lng1: Any, lat2: Any, lng2: Any) -> float:
    """Great-circle distance by the haversine formula on a sphere of the mean Earth radius."""
    coordinates = (lat1, lng1, lat2, lng2)
    for index, value in enumerate(coordinates):
        what = "latitude" if index % 2 == 0 else "longitude"
        limit = 90 if index % 2 == 0 else 180
        if type(value) not in (int, float):
            raise ArgumentError(f"a {what} is a number of degrees, not {type(value).__name__} "
                                f"{safe_repr(value, 40)}", index)
        if not -limit <= value <= limit:
            raise ArgumentError(f"a {what} is from -{limit} to {limit} degrees, not {value!r}",
                                index)
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lng2 - lng1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# A datetime argument is taken as its day in the configured timezone: the
# checker hands these functions dates (see CALENDAR_FUNCTIONS).


def _year(day: dt.date) -> int:
    return day.year


def _month(day: dt.date) -> int:
    return day.month


def _day(day: dt.date) -> int:
    return day.day


def _weekday(day: dt.date) -> int:
    return day.isoweekday()


def _day_of_year(day: dt.date) -> int:
    return day.timetuple().tm_yday


def _on_year(day: dt.date, year: int) -> dt.date:
    """``day``'s month and day in ``year``; 29 February is 28 February in a common year."""
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def _anniversary(day: dt.date, today: dt.date) -> dt.date:
    found = _on_year(day, today.year)
    if found >= today:
        return found
    if today.year == dt.MAXYEAR:
        raise ValueError(f"the anniversary of {day.isoformat()} after {today.isoformat()} is "
                         f"after the year {dt.MAXYEAR}")
    return _on_year(day, today.year + 1)


def _months_between(start: dt.date, end: dt.date) -> int:
    step = relativedelta(end, start)
    return step.years * 12 + step.months


def _years_between(start: dt.date, end: dt.date) -> int:
    return relativedelta(end, start).years


_DAY = (t.DATE, t.DATETIME)

#: The built-ins whose date arguments the checker gives as days (a datetime's
#: day in the configured timezone, text read as a date); ``anniversary`` also
#: gets ``today`` after its argument.
CALENDAR_FUNCTIONS = frozenset(("year", "month", "day", "weekday", "day_of_year", "anniversary",
                                "years_between", "months_between"))
NEEDS_TODAY = frozenset(("anniversary",))


BUILTINS = Functions._builtins([
    Function("lower", _case(str.lower), (Parameter("text", _TEXTS),), t.STRING,
             doc="the text in lower case; of a list of texts, each in lower case"),
    Function("upper", _case(str.upper), (Parameter("text", _TEXTS),), t.STRING,
             doc="the text in upper case; of a list of texts, each in upper case"),
    Function("length", _length, (Parameter("value", (t.STRING, t.list_of(t.ANY))),), t.NUMBER,
             doc="the number of characters of a string or items of a list"),
    Function("abs", abs, (Parameter("number", _NUMBER),), t.NUMBER, doc="the absolute value"),
    Function("round", _round, (Parameter("number", _NUMBER), Parameter("digits", _NUMBER, False)),
             t.NUMBER, doc="the number rounded to `digits` decimals (default 0)"),
    Function("days_between", _days_between,
             (Parameter("start", (t.DATETIME,)), Parameter("end", (t.DATETIME,))), t.NUMBER,
             doc="whole days from start to end (negative when end is earlier)"),
    Function("coalesce", _coalesce, (Parameter("value", (t.ANY,)), Parameter("fallback", (t.ANY,))),
             t.ANY, null_safe=False, doc="the first of its arguments that is not null"),
    # numbers and places
    Function("sqrt", _sqrt, (Parameter("number", _NUMBER),), t.NUMBER,
             doc="the square root (null for a negative number)"),
    Function("floor", _whole(math.floor), (Parameter("number", _NUMBER),), t.NUMBER,
             doc="the largest whole number not above the number"),
    Function("ceil", _whole(math.ceil), (Parameter("number", _NUMBER),), t.NUMBER,
             doc="the smallest whole number not below the number"),
    Function("distance_km", _distance_km,
             (Parameter("lat1", _NUMBER), Parameter("lng1", _NUMBER), Parameter("lat2", _NUMBER),
              Parameter("lng2", _NUMBER)), t.NUMBER,
             doc="kilometres between two points given in degrees (haversine, mean Earth radius)"),
    # calendar
    Function("year", _year, (Parameter("date", _DAY),), t.NUMBER, doc="the year of a date"),
    Function("month", _month, (Parameter("date", _DAY),), t.NUMBER,
             doc="the month of a date, 1 (January) to 12"),
    Function("day", _day, (Parameter("date", _DAY),), t.NUMBER,
             doc="the day of the month of a date, 1 to 31"),
    Function("weekday", _weekday, (Parameter("date", _DAY),), t.NUMBER,
             doc="the ISO day of the week of a date, 1 (Monday) to 7 (Sunday)"),
    Function("day_of_year", _day_of_year, (Parameter("date", _DAY),), t.NUMBER,
             doc="the day of the year of a date, 1 to 366"),
    Function("anniversary", _anniversary, (Parameter("date", _DAY),), t.DATE,
             doc="the next day with the date's month and day, today or after (29 February: "
                 "28 February in common years)"),
    Function("years_between", _years_between,
             (Parameter("start", _DAY), Parameter("end", _DAY)), t.NUMBER,
             doc="whole calendar years from start to end (negative when end is earlier)"),
    Function("months_between", _months_between,
             (Parameter("start", _DAY), Parameter("end", _DAY)), t.NUMBER,
             doc="whole calendar months from start to end (negative when end is earlier)"),
])
