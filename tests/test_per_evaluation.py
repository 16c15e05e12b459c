"""What depends only on ``now`` and the rules (window bounds, period bounds,
calendar steps such as ``now - 12m``) is computed once per evaluation, not once
per customer, and the answers stay those of every customer evaluated alone."""

from __future__ import annotations

import threading

import pytest

import segdsl
from segdsl import aggregates, compiler, timeline

NOW = "2026-07-15T12:00:00Z"
LATER = "2026-09-15T12:00:00Z"

RULES = """
period sale = 2026-06-24 .. 2026-07-21
segment recent = purchased(12m)
segment in_sale = purchased(sale)
segment monthly = last(orders.at) > now - 1m
segment weekly = count(orders, within = 7d) >= 1
"""


def _customer(identity: int, *stamps: str) -> dict:
    return {"id": identity, "orders": [{"at": at, "total": 10} for at in stamps]}


# Hand-checked at NOW: 12 months back is 2025-07-15T12:00:00Z (excluded), one
# month back 2026-06-15T12:00:00Z (excluded), 7 days back 2026-07-08T12:00:00Z.
CUSTOMERS = [
    _customer(1, "2025-07-15T12:00:00Z"),                          # just out of 12m
    _customer(2, "2025-07-15T12:00:01Z"),                          # just in 12m
    _customer(3, "2026-06-24T00:00:00Z"),                          # sale's first instant
    _customer(4, "2026-06-15T12:00:00Z", "2026-06-23T23:59:59Z"),  # before the sale
    _customer(5, "2026-07-08T12:00:01Z"),                          # in 7 days
    _customer(6, "2026-07-15T12:00:01Z"),                          # after now: never counted
    _customer(7),
]
EXPECTED = {"recent": [2, 3, 4, 5], "in_sale": [3, 5], "monthly": [3, 4, 5], "weekly": [5]}


@pytest.fixture()
def rules() -> segdsl.RuleSet:
    return segdsl.loads(RULES)


def _count_calls(monkeypatch, module, name: str) -> list:
    calls: list = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_memberships_at_the_window_edges_are_hand_checked(rules):
    """The windows' edges: 12m and 1m back excluded, the sale's first instant included."""
    assert rules.evaluate(CUSTOMERS, now=NOW).members == EXPECTED


def test_evaluate_agrees_with_each_customer_matched_alone(rules):
    """evaluate over all customers gives what matches gives one customer at a time."""
    result = rules.evaluate(CUSTOMERS, now=NOW)
    for name in rules:
        assert result[name] == [c["id"] for c in CUSTOMERS if rules[name].matches(c, now=NOW)]


def test_calendar_steps_are_computed_once_per_evaluation(monkeypatch, rules):
    """`12m` and `now - 1m` step the calendar once per evaluate call, not per customer."""
    shifts = _count_calls(monkeypatch, aggregates, "shift")
    steps = _count_calls(monkeypatch, compiler, "shift")
    many = [_customer(i, "2026-07-01T00:00:00Z") for i in range(1, 201)]
    result = rules.evaluate(many, now=NOW)
    assert result["recent"] == list(range(1, 201))
    assert result["monthly"] == list(range(1, 201))
    assert len(shifts) == 2  # the windows 12m and 7d
    assert len(steps) == 1  # now - 1m


def test_period_bounds_are_computed_once_per_evaluation(monkeypatch, rules):
    """A period's first and last instants are computed once per evaluate call."""
    bounds = _count_calls(monkeypatch, aggregates, "_period_bounds")
    days = _count_calls(monkeypatch, timeline, "day_start")
    many = [_customer(i, "2026-07-01T00:00:00Z") for i in range(1, 201)]
    assert rules.evaluate(many, now=NOW)["in_sale"] == list(range(1, 201))
    assert len(bounds) == 1
    assert len(days) <= 2


def test_filter_steps_the_calendar_once(monkeypatch, rules):
    """Segment.filter computes its window once for all its customers."""
    shifts = _count_calls(monkeypatch, aggregates, "shift")
    many = [_customer(i, "2026-07-01T00:00:00Z") for i in range(1, 101)]
    assert len(rules["recent"].filter(many, now=NOW)) == 100
    assert len(shifts) == 1


def test_each_matches_call_computes_its_own_bounds(monkeypatch, rules):
    """matches computes the window at its own now, once per call."""
    shifts = _count_calls(monkeypatch, aggregates, "shift")
    customer = _customer(1, "2025-08-01T00:00:00Z")
    assert rules["recent"].matches(customer, now=NOW)
    assert not rules["recent"].matches(customer, now="2026-09-01T00:00:00Z")
    assert len(shifts) == 2


def test_a_new_now_is_never_answered_with_the_last_evaluations_bounds(rules):
    """Two evaluations at different times, one after the other, each use their own now."""
    assert rules.evaluate(CUSTOMERS, now=NOW).members == EXPECTED
    later = rules.evaluate(CUSTOMERS, now=LATER).members
    # At LATER, 12 months back is 2025-09-15T12:00:00Z, 7 days back 2026-09-08T12:00:00Z.
    assert later == {"recent": [3, 4, 5, 6], "in_sale": [3, 5, 6], "monthly": [],
                     "weekly": []}
    assert rules.evaluate(CUSTOMERS, now=NOW).members == EXPECTED


def test_threads_evaluating_at_different_times_each_get_their_own_answer(rules):
    """Threads sharing the rules, each at its own now, get the answers of one thread alone."""
    expected = {now: rules.evaluate(CUSTOMERS, now=now).members for now in (NOW, LATER)}
    wrong: list = []

    def work(now: str) -> None:
        for _ in range(60):
            if rules.evaluate(CUSTOMERS, now=now).members != expected[now]:
                wrong.append(now)

    threads = [threading.Thread(target=work, args=(now,)) for now in (NOW, LATER) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_window_read_from_data_is_still_computed_per_customer():
    """A window that depends on the customer is computed for each customer."""
    rules = segdsl.loads("segment recent = count(orders, within = window) >= 1")
    people = [{**_customer(1, "2026-07-01T00:00:00Z"), "window": segdsl_days(30)},
              {**_customer(2, "2026-07-01T00:00:00Z"), "window": segdsl_days(7)}]
    assert rules.evaluate(people, now=NOW)["recent"] == [1]


def segdsl_days(days: int):
    import datetime as dt

    return dt.timedelta(days=days)


def test_an_overflowing_step_still_names_each_customer():
    """A failure of a computation of now alone is not kept: it names the customer met."""
    rules = segdsl.loads("segment far = last(orders.at) > now + 9000y")
    with pytest.raises(segdsl.DataError, match="customer 1"):
        rules.evaluate([_customer(1, "2026-07-01T00:00:00Z")], now=NOW)
    with pytest.raises(segdsl.DataError, match="customer 2"):
        rules.evaluate([_customer(2, "2026-07-01T00:00:00Z")], now=NOW)
