"""``rules.membership``: memberships kept current by updates, against evaluate and changes."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl
from segdsl.membership import Membership
from tests.test_dynamics_property import LENGTH, SCHEMA, STARTS, customers, rules_text

UTC = dt.UTC
T0 = dt.datetime(2026, 7, 15, 12, tzinfo=UTC)
UNDECIDED = "segment undecided = visits(30d) >= 10 and not purchased(30d)"


def text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def visit(moment: dt.datetime) -> dict:
    return {"type": "visit", "at": text(moment)}


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours)


def apply(records: list[dict], additions: list[dict]) -> list[dict]:
    """The records after ``additions``, by the documented rule (lists appended, others replaced)."""
    found = [dict(record) for record in records]
    by_id = {record["id"]: record for record in found}
    for addition in additions:
        record = by_id.get(addition["id"])
        if record is None:
            record = by_id[addition["id"]] = dict(addition)
            found.append(record)
            continue
        for name, value in addition.items():
            if isinstance(value, list):
                record[name] = [*(record.get(name) or []), *value]
            else:
                record[name] = value
    return found


def undecided_people() -> list[dict]:
    """Customer 1: 9 visits in the month; 2: 10 (a member); 3: nothing yet."""
    return [{"id": 1, "events": [visit(at(-d, -2)) for d in range(1, 10)], "orders": []},
            {"id": 2, "events": [visit(at(-d, -2)) for d in range(5, 15)], "orders": []},
            {"id": 3, "events": [], "orders": []}]


def test_undecided_enters_and_leaves_at_the_exact_instants():
    """A tenth visit makes customer 1 undecided at its stamp, an order takes it out at
    the order's stamp; customer 2 leaves by time alone when its oldest visit is 30 days old."""
    rules = segdsl.loads(UNDECIDED)
    state = rules.membership(undecided_people(), now=T0)
    assert state["undecided"] == [2] and state.total == 3
    first = state.update([{"id": 1, "events": [visit(at(0, 3))]}], now=at(1))
    assert first.rows() == [(1, "undecided", "entered", at(0, 3))]
    assert first.start == {"undecided": []}  # only customer 1 is concerned
    assert state["undecided"] == [1, 2] and state.now == at(1)
    # Customer 2's oldest visit (T0 - 14d - 2h) leaves the 30-day window 16 days from now.
    second = state.update([{"id": 1, "orders": [{"at": text(at(2)), "total": 10}]}], now=at(17))
    assert second.rows() == [(1, "undecided", "exited", at(2)),
                             (2, "undecided", "exited", at(16, -2))]
    assert state["undecided"] == []
    assert state.result.members == rules.evaluate(
        apply(apply(undecided_people(), [{"id": 1, "events": [visit(at(0, 3))]}]),
              [{"id": 1, "orders": [{"at": text(at(2)), "total": 10}]}]), now=at(17)).members


def test_time_alone_moves_customers_that_receive_nothing():
    """An update with no additions reports the exits due by time, and only those."""
    rules = segdsl.loads(UNDECIDED)
    state = rules.membership(undecided_people(), now=T0)
    assert len(state.update(now=at(15))) == 0
    assert state.update(now=at(16)).rows() == [(2, "undecided", "exited", at(16, -2))]
    assert state["undecided"] == []


def test_late_data_is_reported_at_the_previous_now():
    """A visit stamped before the state's now that completes ten visits is an entry at the
    previous now, and the new interval's own changes follow it."""
    rules = segdsl.loads(UNDECIDED)
    state = rules.membership(undecided_people(), now=T0)
    changes = state.update([{"id": 1, "events": [visit(at(-1))]}], now=at(1))
    assert changes.rows() == [(1, "undecided", "entered", T0)]
    assert changes.start == {"undecided": []}
    # Without moving now, the correction is the only change.
    again = state.update([{"id": 3, "events": [visit(at(-d)) for d in range(10)]}])
    assert again.rows() == [(3, "undecided", "entered", at(1))]
    assert state["undecided"] == [1, 2, 3]


def test_a_new_customer_enters_where_its_data_makes_it_a_member():
    """An unknown id adds a customer: a member at the previous now enters there, and
    its later changes come at their instants."""
    rules = segdsl.loads(UNDECIDED)
    state = rules.membership(undecided_people(), now=T0)
    events = [visit(at(-d)) for d in range(1, 11)]
    changes = state.update([{"id": 9, "events": events, "orders": [{"at": text(at(0, 5))}]}],
                           now=at(1))
    assert changes.rows() == [(9, "undecided", "entered", T0),
                              (9, "undecided", "exited", at(0, 5))]
    assert state.total == 4 and state["undecided"] == [2]


def test_the_callers_data_is_never_changed():
    """Appending to a customer's lists leaves the caller's records and additions as they were."""
    rules = segdsl.loads(UNDECIDED)
    people = undecided_people()
    kept = copy.deepcopy(people)
    addition = {"id": 1, "events": [visit(at(0, 3))]}
    state = rules.membership(people, now=T0)
    state.update([addition], now=at(1))
    state.update([addition], now=at(2))
    assert people == kept and addition == {"id": 1, "events": [visit(at(0, 3))]}
    assert len(state.customer(1)["events"]) == 11


def test_ranking_segments_are_recomputed_daily_and_at_the_update():
    """A ranking segment is re-evaluated over everyone at each midnight and at the new now."""
    rules = segdsl.loads("segment top = ntile(count(orders), 2) == 2\n" + UNDECIDED)
    people = undecided_people()
    state = rules.membership(people, now=T0)
    assert rules["top"].needs_population
    orders = [{"at": text(at(0, 1)), "total": 5}, {"at": text(at(0, 2)), "total": 5}]
    changes = state.update([{"id": 3, "orders": orders}], now=at(0, 6))
    assert changes.granularity == {"top": "daily", "undecided": "exact"}
    expected = rules.evaluate(apply(people, [{"id": 3, "orders": orders}]), now=at(0, 6))
    assert state.result.members == expected.members
    entered = [row for row in changes.rows() if row[1] == "top"]
    assert (3, "top", "entered", at(0, 6)) in entered


def test_bad_updates_raise_segdsl_errors_and_change_nothing():
    """Going back in time, junk additions and bad data raise UsageError or DataError
    naming the customer and field, and the state stays as it was."""
    rules = segdsl.loads(UNDECIDED)
    state = rules.membership(undecided_people(), now=T0)
    with pytest.raises(segdsl.UsageError, match="before the state's now"):
        state.update(now=at(-1))
    with pytest.raises(segdsl.UsageError, match="iterable of customer records"):
        state.update({"id": 1})
    with pytest.raises(segdsl.UsageError, match="addition 0 is int 5, not a customer record"):
        state.update([5])
    with pytest.raises(segdsl.DataError, match="addition 0 has no id field"):
        state.update([{"events": []}])
    with pytest.raises(segdsl.DataError, match="cannot append to events") as error:
        state.update([{"id": 1, "events": [visit(at(1))]}, {"id": 1, "events": 7},
                      {"id": 1, "events": [1]}])
    with pytest.raises(segdsl.DataError) as error:
        state.update([{"id": 2, "events": [{"type": "visit", "at": "yesterday"}]}], now=at(1))
    assert error.value.customer_id == 2 and "events" in (error.value.field_path or "")
    assert state.now == T0 and state["undecided"] == [2]
    assert len(state.customer(2)["events"]) == 10


JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
              st.sampled_from(["2026-07-15T13:00:00Z", "2026-07-15", "visit", "id"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["id", "events", "orders", "at",
                                                             "type", "total"]), inner,
                                            max_size=4)),
    max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(JUNK, st.one_of(st.none(), JUNK))
def test_junk_updates_raise_only_segdsl_errors(additions, now):
    """Whatever is passed to update, it succeeds or raises a SegdslError."""
    rules = segdsl.loads(UNDECIDED)
    state = rules.membership(undecided_people(), now=T0)
    try:
        state.update(additions, now=now)
    except segdsl.SegdslError:
        pass


@st.composite
def updates(draw, start: dt.datetime, people: list[dict]) -> list[tuple[list[dict], dt.datetime]]:
    """A few updates: advances (some of none) and additions stamped mostly in the
    interval they arrive in, sometimes late, sometimes for a new customer."""
    steps = []
    moment = start
    ids = [person["id"] for person in people]
    for _ in range(draw(st.integers(1, 4))):
        advance = dt.timedelta(minutes=draw(st.sampled_from([0, 1, 90, 600, 1440, 2160, 7200])))
        new = moment + advance
        additions = []
        for identity in draw(st.lists(st.sampled_from([*ids, 100]), max_size=3)):
            def stamp(moment=moment, new=new):
                if draw(st.integers(0, 4)) == 0:
                    back = draw(st.integers(0, 40 * 24 * 60))
                    return moment - dt.timedelta(minutes=back)
                span = max(1, int((new - moment).total_seconds()))
                return moment + dt.timedelta(seconds=draw(st.integers(1, span)))

            addition: dict = {"id": identity}
            if draw(st.booleans()):
                addition["events"] = [
                    {"type": draw(st.sampled_from(["visit", "email_open"])), "at": text(stamp())}
                    for _ in range(draw(st.integers(1, 3)))]
            if draw(st.booleans()):
                addition["orders"] = [{"at": text(stamp()),
                                       "total": draw(st.sampled_from([5, 20, None]))}]
            if draw(st.integers(0, 5)) == 0:
                signed = stamp()
                addition["signed_up_at"] = signed.isoformat()
                addition["signed_up_day"] = signed.date()
            additions.append(addition)
        steps.append((additions, new))
        moment = new
    return steps


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_updates_agree_with_evaluate_and_changes(data):
    """After each update the state's members are evaluate's at its now, and the changes
    are rules.changes over the interval, after the late corrections at its start."""
    _agree(data)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_updates_agree_when_horizons_are_short(data):
    """With horizons of hours and one kept instant, customers are followed anew often:
    the members and changes still agree with evaluate and changes."""
    from segdsl import membership

    saved = membership.HORIZON, membership.RENEW, membership.KEPT
    membership.HORIZON, membership.RENEW = dt.timedelta(hours=3), dt.timedelta(hours=1)
    membership.KEPT = 1
    try:
        _agree(data)
    finally:
        membership.HORIZON, membership.RENEW, membership.KEPT = saved


def _agree(data) -> None:
    start = data.draw(st.sampled_from(STARTS))
    zone = data.draw(st.sampled_from(["Europe/Paris", None]))
    rules = segdsl.loads(data.draw(rules_text()), timezone=zone, schema=SCHEMA)
    people = data.draw(customers(start))
    for person in people:
        person.setdefault("signed_up_day", None)
    state = rules.membership(people, now=start)
    records = people
    for additions, new in data.draw(updates(start, people)):
        previous = state.now
        before = {name: list(state[name]) for name in rules}
        changes = state.update(additions, now=new)
        records = apply(records, additions)
        assert state.now == new
        assert state.result.members == rules.evaluate(records, now=new).members
        expected = rules.changes(records, since=previous, until=new)
        for name in rules:
            assert set(changes.start[name]) <= set(before[name])
        for change in changes:
            assert (change.customer_id in changes.start[change.segment]) == \
                (change.customer_id in before[change.segment])
        late = [change for change in changes if change.at == previous]
        rest = [change for change in changes if change.at != previous]
        assert rest == list(expected.changes)
        wrong = {(identity, name) for name in rules
                 for identity in set(before[name]) ^ set(expected.start[name])}
        assert {(change.customer_id, change.segment) for change in late} == wrong
        for change in late:
            assert (change.customer_id in expected.start[change.segment]) == \
                (change.event == "entered")
    assert isinstance(state, Membership)
    assert LENGTH  # the interval length of the brute-force tests, shared


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_an_update_takes_a_dataframe_one_addition_per_row(library):
    """A DataFrame of additions is read row by row, as evaluate reads customers (its column
    names are no customers)."""
    frames = pytest.importorskip(library)
    rules = segdsl.loads('segment french = country == "FR"')
    state = rules.membership([{"id": 1, "country": "BE"}, {"id": 2, "country": "BE"}],
                             now="2026-07-15T00:00:00Z")
    changes = state.update(frames.DataFrame({"id": [2], "country": ["FR"]}),
                           now="2026-07-16T00:00:00Z")
    assert [(c.customer_id, c.segment, c.event) for c in changes] == [(2, "french", "entered")]
    assert state["french"] == [2]
