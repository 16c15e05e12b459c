"""Numbers and places: sqrt, floor, ceil and distance_km."""

from __future__ import annotations

import math

import pytest

import segdsl
from segdsl.functions import BUILTINS, EARTH_RADIUS_KM

NOW = "2026-07-15T12:00:00Z"

SCHEMA = segdsl.Schema({"id": "number", "x": "number", "lat": "number", "lng": "number"})

PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)


def _members(rule: str, customers: list, **options) -> list:
    """The ids in the segment by matches, filter, evaluate and explain (all must agree)."""
    seg = segdsl.compile(rule, **options)
    rules = segdsl.loads(f"segment s = {rule}", **options)
    by_matches = [c["id"] for c in customers if seg.matches(c, now=NOW)]
    by_filter = [c["id"] for c in seg.filter(customers, now=NOW)]
    by_evaluate = sorted(rules.evaluate(customers, now=NOW).members["s"])
    by_explain = [c["id"] for c in customers if seg.explain(c, now=NOW).value is True]
    assert by_matches == by_filter == by_evaluate == by_explain, rule
    return by_matches


NUMBERS = [{"id": 1, "x": 16}, {"id": 2, "x": -4.5}, {"id": 3, "x": 2.5}, {"id": 4, "x": None},
           {"id": 5}, {"id": 6, "x": 0}]


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_sqrt_floor_and_ceil(schema):
    """sqrt is null for a negative number; floor and ceil round down and up to whole numbers."""
    assert _members("sqrt(x) == 4", NUMBERS, schema=schema) == [1]
    assert _members("sqrt(x) is null", NUMBERS, schema=schema) == [2, 4, 5]
    assert _members("floor(x) == -5 or floor(x) == 2", NUMBERS, schema=schema) == [2, 3]
    assert _members("ceil(x) == -4 or ceil(x) == 3", NUMBERS, schema=schema) == [2, 3]
    assert _members("floor(x) == x", NUMBERS, schema=schema) == [1, 6]


def test_floor_and_ceil_return_python_ints():
    """Whole numbers are ints, not floats."""
    assert type(BUILTINS.get("floor").implementation(2.7)) is int
    assert BUILTINS.get("ceil").implementation(-2.7) == -2
    assert type(BUILTINS.get("ceil").implementation(2.2)) is int


@pytest.mark.parametrize("function", ["floor", "ceil"])
def test_an_infinity_is_bad_data(function):
    """floor or ceil of an infinite number is a DataError naming the customer and field."""
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile(f"{function}(x) > 1").matches({"id": 7, "x": math.inf}, now=NOW)
    assert str(caught.value) == (f"customer 7, field x: {function}: inf is not finite, so it "
                                 f"has no whole part")


def test_a_boolean_is_not_a_number_for_sqrt():
    """Without a schema, sqrt(true) is bad data, never 1."""
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile("sqrt(x) == 1").matches({"id": 8, "x": True}, now=NOW)
    assert str(caught.value) == "customer 8, field x: sqrt: expected a number, found bool True"


def test_distance_km_is_the_haversine_distance_on_the_mean_earth_radius():
    """Paris to Lyon is about 392 km (WGS-84: 391.9 km), within 0.5%; a point is 0 km from itself."""
    distance = BUILTINS.get("distance_km").implementation(*PARIS, *LYON)
    assert abs(distance - 391.9) / 391.9 < 0.005
    assert BUILTINS.get("distance_km").implementation(*PARIS, *PARIS) == 0
    antipodes = BUILTINS.get("distance_km").implementation(0, 0, 0, 180)
    assert antipodes == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert EARTH_RADIUS_KM == 6371.0088


@pytest.mark.parametrize("schema", [None, SCHEMA], ids=["no-schema", "schema"])
def test_within_50_km_of_the_store(schema):
    """Customers near Paris are within 50 km; one in Lyon is not; a missing coordinate is null."""
    customers = [{"id": 1, "lat": 48.80, "lng": 2.13}, {"id": 2, "lat": LYON[0], "lng": LYON[1]},
                 {"id": 3, "lat": 48.8566}, {"id": 4, "lat": 49.2, "lng": 2.35}]
    rule = "distance_km(lat, lng, 48.8566, 2.3522) <= 50"
    assert _members(rule, customers, schema=schema) == [1, 4]


@pytest.mark.parametrize(("customer", "path", "message"), [
    ({"id": 1, "lat": 95, "lng": 0}, "lat", "a latitude is from -90 to 90 degrees, not 95"),
    ({"id": 2, "lat": 10, "lng": -180.5}, "lng",
     "a longitude is from -180 to 180 degrees, not -180.5"),
    ({"id": 3, "lat": 10, "lng": "east"}, "lng",
     "a longitude is a number of degrees, not str 'east'"),
])
def test_coordinates_out_of_range_are_bad_data_naming_the_field(customer, path, message):
    """A latitude outside [-90, 90] or a longitude outside [-180, 180] is a DataError at its field."""
    with pytest.raises(segdsl.DataError) as caught:
        segdsl.compile("distance_km(lat, lng, 0, 0) < 10").matches(customer, now=NOW)
    assert (caught.value.customer_id, caught.value.field_path) == (customer["id"], path)
    assert str(caught.value) == f"customer {customer['id']}, field {path}: distance_km: {message}"


def test_a_constant_out_of_range_is_a_check_error():
    """A written latitude of 95 is a mistake in the rule: a CheckError at the number."""
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile("distance_km(lat, lng, 95, 2.35) < 10")
    error = caught.value
    assert (error.message, error.column, error.span.end_column) == (
        "a latitude is from -90 to 90 degrees, not 95", 23, 25)


def test_types_are_checked_and_fmt_keeps_the_calls():
    """A string argument is refused when checking; fmt prints the calls unchanged."""
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.compile('floor("a") == 1')
    assert caught.value.message == "'number' of floor must be a number, not a string"
    text = "segment near = distance_km(lat, lng, 48.8566, 2.3522) <= 50 and sqrt(x) >= ceil(1.5)\n"
    assert segdsl.format(text) == text


def test_the_repl_completes_the_new_functions():
    """The built-ins come from BUILTINS, so the REPL offers them."""
    names = {f.name for f in BUILTINS}
    assert {"sqrt", "floor", "ceil", "distance_km", "lower", "upper"} <= names
