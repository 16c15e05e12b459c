"""The membership benchmark's code on a few generated customers: the update is exact."""

from __future__ import annotations

from benchmarks.data import NOW, make_customers
from benchmarks.membership import DAY, main, measure
from tests.test_membership import apply


def test_a_day_of_data_updates_the_members_as_evaluate_and_changes_say():
    """After the benchmark's update, the members are evaluate's and the changes are
    rules.changes' over the day (the additions are all stamped in it: nothing is late)."""
    customers = make_customers(120)
    found = measure(customers, touched=15)
    rules, names, state = found["rules"], found["names"], found["state"]
    records = apply(customers, found["additions"])
    assert len(found["additions"]) == 15
    assert state.result.members == rules.evaluate(records, now=NOW + DAY, segments=names).members
    expected = rules.changes(records, since=NOW, until=NOW + DAY, segments=names)
    assert list(found["changes"]) == list(expected.changes)
    assert found["evaluation"] > 0 and found["update"] > 0


def test_the_benchmark_prints_its_figures(capsys, monkeypatch):
    """The command prints the evaluation, build, update and ratio lines."""
    import benchmarks.membership as bench

    monkeypatch.setattr(bench, "load_customers", lambda n, log=None: make_customers(n))
    main(["--customers", "60", "--touched", "6"])
    printed = capsys.readouterr().out
    for line in ("full evaluation", "build (once)", "update (one day)", "ratio"):
        assert line in printed
