"""The public Python API: compile, load, loads, evaluate, and their options."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"


def visit(day: int) -> dict:
    return {"type": "visit", "at": f"2026-07-{day:02d}T08:00:00Z"}


def customer(id_, country="FR", visits=0, orders=(), **extra) -> dict:
    return {
        "id": id_,
        "country": country,
        "orders": [{"at": at, "total": total, "items": []} for at, total in orders],
        "events": [visit(1 + d % 14) for d in range(visits)],
        **extra,
    }


UNDECIDED = customer(1, visits=12)
BUYER = customer(2, visits=12, orders=[("2026-07-10T10:00:00Z", 40.0)])
QUIET = customer(3, country=None)
CUSTOMERS = [UNDECIDED, BUYER, QUIET]

RULES = """
period summer_sale = 2026-06-24 .. 2026-07-21

segment undecided "Visits, no order" =
    visits(30d) >= 10 and not purchased(30d)

segment sale_buyers = purchased(summer_sale)

segment engaged = undecided or sale_buyers
"""


def test_compile_matches_each_customer():
    """A compiled rule says true exactly for the customers it describes."""
    seg = segdsl.compile("visits(30d) >= 10 and not purchased(30d)")
    assert [seg.matches(c, now=NOW) for c in CUSTOMERS] == [True, False, False]


def test_filter_keeps_input_order():
    """filter returns the members themselves, in the order given."""
    seg = segdsl.compile("visits(30d) >= 10")
    assert seg.filter([BUYER, QUIET, UNDECIDED], now=NOW) == [BUYER, UNDECIDED]


def test_objects_with_attributes_are_customers():
    """Dataclass instances evaluate exactly like dicts."""

    @dataclasses.dataclass
    class Customer:
        id: int
        country: str | None
        orders: list
        events: list

    objects = [Customer(c["id"], c["country"], c["orders"], c["events"]) for c in CUSTOMERS]
    seg = segdsl.compile('visits(30d) >= 10 and country == "FR"')
    assert [seg.matches(o, now=NOW) for o in objects] == [True, True, False]


def test_evaluate_gives_members_and_sizes():
    """A rule set evaluates every segment; segments may use one another."""
    result = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW)
    assert result.members == {"undecided": [1], "sale_buyers": [2], "engaged": [1, 2]}
    assert result.sizes == {"undecided": 1, "sale_buyers": 1, "engaged": 2}
    assert result.total == 3
    assert result.to_dict()["members"]["engaged"] == [1, 2]


def test_evaluate_only_named_segments():
    """segments= restricts the evaluation; referenced segments still work."""
    result = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW, segments=["engaged"])
    assert result.members == {"engaged": [1, 2]}


def test_customers_without_id_are_named_by_position_when_asked():
    """With ids="position" a member is reported by its index in the input."""
    anonymous = {"events": [visit(3)] * 10}
    rules = segdsl.loads("segment s = visits(30d) >= 10")
    assert rules.evaluate([QUIET, anonymous], now=NOW, ids="position")["s"] == [1]
    with pytest.raises(segdsl.DataError, match="the customer at position 1 has no id field"):
        rules.evaluate([QUIET, anonymous], now=NOW)


def test_rule_set_lookup_and_repr():
    """Segments are found by name, listed in file order, and shown readably."""
    rules = segdsl.loads(RULES, file="sale.seg")
    assert list(rules) == ["undecided", "sale_buyers", "engaged"]
    assert "sale_buyers" in rules and len(rules) == 3
    assert rules["undecided"].description == "Visits, no order"
    assert repr(rules) == "<RuleSet from sale.seg: undecided, sale_buyers, engaged>"
    assert repr(rules["undecided"]) == (
        "<Segment undecided: visits(30d) >= 10 and not purchased(30d)>")


def test_unknown_segment_name_is_a_usage_error():
    """Asking for a segment that does not exist names the ones that do."""
    with pytest.raises(segdsl.UsageError, match="no segment named 'vip'; the segments are "
                                                "undecided, sale_buyers, engaged"):
        segdsl.loads(RULES)["vip"]


def test_load_reads_a_file_and_names_it_in_errors(tmp_path):
    """load() compiles a file; its errors carry the file name."""
    path = tmp_path / "broken.seg"
    path.write_text("segment s =\n    visits(30d) >= \n")
    with pytest.raises(segdsl.ParseError) as caught:
        segdsl.load(path)
    assert caught.value.location == f"{path}:2:17"


def test_load_of_a_missing_file_is_a_usage_error(tmp_path):
    """A missing rule file is reported as such, not as an OSError."""
    with pytest.raises(segdsl.UsageError, match="cannot read the rule file"):
        segdsl.load(tmp_path / "nope.seg")


def test_all_check_errors_are_listed_on_the_raised_error():
    """The error raised by loads() lists every error of the file, in source order."""
    text = "segment a = vists(30d) > 1\nsegment b = country > 3 and unknown_fn(1)\n"
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.loads(text)
    assert [(e.line, e.column) for e in caught.value.errors] == [(1, 13), (2, 29)]


@pytest.mark.parametrize("now", [
    "2026-07-15T12:00:00Z",
    "2026-07-15T14:00:00+02:00",
    dt.datetime(2026, 7, 15, 12, tzinfo=dt.timezone.utc),
    dt.datetime(2026, 7, 15, 12),
])
def test_now_spellings_agree(now):
    """now may be ISO text, an aware datetime, or a naive one read as UTC."""
    seg = segdsl.compile("last_order_at > now - 6d and last_order_at < now - 5d")
    assert seg.matches(BUYER, now=now)


def test_now_as_a_date_is_its_midnight():
    """A date for now means the start of that day."""
    seg = segdsl.compile("last_order_at <= now")
    assert seg.matches(BUYER, now=dt.date(2026, 7, 11))
    assert not seg.matches(BUYER, now=dt.date(2026, 7, 10))


def test_bad_now_is_a_usage_error():
    """A now that is not a date is refused with the accepted spellings."""
    with pytest.raises(segdsl.UsageError, match="now must be a date or datetime"):
        segdsl.compile("true").matches(BUYER, now="tomorrow")


def test_unknown_timezone_is_a_usage_error():
    """The timezone option is validated when the rules are compiled."""
    with pytest.raises(segdsl.UsageError, match="unknown timezone 'Mars/Olympus'"):
        segdsl.compile("true", timezone="Mars/Olympus")


def test_registered_function_is_called_and_type_checked():
    """A user's Python function is called with values, and checked like a built-in."""
    functions = segdsl.Functions()

    @functions.register(params={"email": "string"}, returns="string")
    def email_domain(email):
        return email.rpartition("@")[2]

    seg = segdsl.compile('email_domain(email) == "shop.fr"', functions=functions)
    assert seg.matches({"email": "a@shop.fr"}, now=NOW)
    assert not seg.matches({"email": None}, now=NOW)
    with pytest.raises(segdsl.CheckError, match="'email' of email_domain must be a string, "
                                                "not a number"):
        segdsl.compile("email_domain(3) == 1", functions=functions)
    # Without a schema the checker cannot tell: the value is checked before the call.
    with pytest.raises(segdsl.DataError) as raised:
        seg.matches({"id": 7, "email": 5}, now=NOW)
    assert str(raised.value) == ("customer 7, field email: email_domain: email must be a "
                                 "string, not int 5")


def test_compiled_rules_are_shared_safely_between_threads():
    """Threads evaluating one fresh rule set at once (compiling it lazily) give the right sizes."""
    import sys

    rules_text = RULES + """
segment spent = sum(orders.total) > 30
segment regular = count(events, where = type == "visit") >= 12
segment late = exists(events, within = 3d)
segment big = max(orders.total) >= 40
"""
    population = [{**c, "id": 10 * k + c["id"]} for k in range(5) for c in CUSTOMERS]
    # By hand: customers 1 and 2 visited 12 times (July 1..12 at 08:00, none in the 3 days up to
    # July 15 12:00); customer 2 ordered for 40.0 on July 10, in the summer sale.
    expected = {"undecided": 5, "sale_buyers": 5, "engaged": 10, "spent": 5, "regular": 10,
                "late": 0, "big": 5}
    names = list(expected)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(100):
            rules = segdsl.loads(rules_text)  # nothing compiled: the threads race to compile
            orders = [names[k:] + names[:k] for k in range(len(names))]
            start = threading.Barrier(len(orders))
            results = []

            def work(order, rules=rules, start=start, results=results):
                start.wait()
                for name in order:
                    rules[name].matches(UNDECIDED, now=NOW)
                results.append(rules.evaluate(population, now=NOW).sizes)

            threads = [threading.Thread(target=work, args=(order,)) for order in orders]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert results == [expected] * len(orders)
    finally:
        sys.setswitchinterval(interval)


def test_evaluation_never_mutates_records():
    """Records are read, never written: evaluation leaves them equal to before."""
    import copy

    records = copy.deepcopy(CUSTOMERS)
    rules = segdsl.loads(RULES + "\nsegment top = ntile(spent(365d), 4) == 4\n")
    rules.evaluate(records, now=NOW)
    rules["undecided"].explain(records[0], now=NOW)
    assert records == CUSTOMERS


def test_every_error_lists_its_fellows():
    """A syntax error comes alone in .errors; a check error with all the others."""
    with pytest.raises(segdsl.ParseError) as caught:
        segdsl.loads("segment a = (")
    assert caught.value.errors == [caught.value]


def test_a_function_named_without_parentheses_is_an_error():
    """`not purchased` (no window) is refused rather than read as a field."""
    with pytest.raises(segdsl.CheckError, match="'purchased' is a function: call it with "
                                                "parentheses") as caught:
        segdsl.compile("not purchased")
    assert (caught.value.line, caught.value.column) == (1, 5)


def test_a_misspelt_segment_name_gets_a_suggestion():
    """Looking up a segment by a near name suggests the real one."""
    with pytest.raises(segdsl.UsageError, match="did you mean 'undecided'"):
        segdsl.loads(RULES)["undecidd"]


def test_long_lines_are_cut_around_the_error():
    """A very long rule line is shown around the offending text, not whole."""
    with pytest.raises(segdsl.ParseError) as caught:
        segdsl.compile("a and " * 100 + "b c")
    source_line, carets = caught.value.render().splitlines()[1:3]
    assert source_line.startswith("  ...") and source_line.endswith("b c")
    assert len(source_line) < 140
    assert carets.index("^") == source_line.rindex("c")


def test_version_is_known():
    """The package says its version."""
    assert segdsl.__version__.count(".") == 2


def test_read_customers_reads_the_example_data():
    """The data reader behind the command line is part of the API."""
    customers = segdsl.read_customers("examples/data/customers.jsonl")
    assert len(customers) == 2000 and customers[0]["id"] == 1


def test_population_statistics_belong_to_their_time():
    """Statistics computed at one time are refused at another, not silently reused."""
    rules = segdsl.loads("segment top = ntile(spent(365d), 2) == 2")
    stats = rules.population(CUSTOMERS, now=NOW)
    assert not rules["top"].matches(QUIET, now=NOW, population=stats)
    with pytest.raises(segdsl.EvaluationError, match="computed at 2026-07-15T12:00:00Z"):
        rules["top"].matches(QUIET, now="2026-07-16", population=stats)


def test_text_timestamps_are_read_for_date_functions():
    """Without a schema, ISO text given to days_between is read as a datetime."""
    seg = segdsl.compile("days_between(signed_up_at, now) > 30")
    assert seg.matches({"signed_up_at": "2026-01-01T00:00:00Z"}, now=NOW)
    with pytest.raises(segdsl.DataError, match="field signed_up_at: cannot read 'soon'"):
        seg.matches({"signed_up_at": "soon"}, now=NOW)


def test_a_datetime_minus_a_date_is_a_check_error():
    """Mixing a datetime and a date in a subtraction is refused before any data is read."""
    with pytest.raises(segdsl.CheckError, match="cannot apply '-' to a datetime and a date"):
        segdsl.compile("now - 2026-07-01 > 3d")


def test_result_as_rows_and_html():
    """A result turns into plain rows, and Jupyter shows it as a table of sizes."""
    result = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW)
    assert result.rows() == [("undecided", 1), ("sale_buyers", 2), ("engaged", 1), ("engaged", 2)]
    html = result._repr_html_()
    assert "<caption>3 customers at 2026-07-15T12:00:00+00:00</caption>" in html
    assert "<tr><td>engaged</td><td style='text-align:right'>2</td>" in html
    assert repr(result) == "<Result of 3 customers: undecided=1, sale_buyers=1, engaged=2>"


def test_result_as_a_pandas_dataframe():
    """With pandas installed, a result becomes a DataFrame of segment and customer_id."""
    pytest.importorskip("pandas")
    frame = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW).to_dataframe()
    assert list(frame.columns) == ["segment", "customer_id"]
    assert frame.values.tolist() == [["undecided", 1], ["sale_buyers", 2], ["engaged", 1],
                                     ["engaged", 2]]


def test_result_as_a_dataframe_needs_the_library():
    """Asking for an unknown library is a usage error naming the choices."""
    with pytest.raises(segdsl.UsageError, match="library must be 'pandas' or 'polars'"):
        segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW).to_dataframe("spark")


def test_a_function_cannot_take_a_built_in_name():
    """Registering a function under a prelude name is refused at registration, not shadowed."""
    functions = segdsl.Functions()

    def visits(window):
        return 0

    with pytest.raises(segdsl.UsageError, match="function 'visits' is already a built-in"):
        functions.register(params={"window": "duration"}, returns="number")(visits)
    assert "visits" not in functions
