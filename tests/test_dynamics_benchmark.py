"""The changes benchmark's rules on generated customers: the changes account for every difference."""

from __future__ import annotations

import datetime as dt

from benchmarks.changes import rule_sets
from benchmarks.data import NOW, make_customers


def test_changes_lead_from_the_start_to_the_end_on_generated_customers():
    """Replaying each customer's changes from the members at since gives the members at until,
    and every reported change is a real flip (the member just before differs)."""
    customers = make_customers(150)
    since = NOW - dt.timedelta(days=30)
    for rules, names in rule_sets().values():
        changes = rules.changes(customers, since=since, until=NOW, segments=names)
        at_end = rules.evaluate(customers, now=NOW, segments=names)
        by_id = {customer["id"]: customer for customer in customers}
        for name in names or list(rules):
            members = set(changes.start[name])
            for change in changes:
                if change.segment != name:
                    continue
                customer = by_id[change.customer_id]
                before = rules[name].matches(customer, now=change.at - dt.timedelta(microseconds=1))
                assert before == (change.customer_id in members)
                assert rules[name].matches(customer, now=change.at) == (change.event == "entered")
                (members.add if change.event == "entered" else members.discard)(change.customer_id)
            assert members == set(at_end[name])
