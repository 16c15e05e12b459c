"""``changes`` and ``next_change`` against brute force on random rules and histories.

Brute force evaluates the rules at instants chosen without the candidates'
help (every minute of the interval, and random seconds) and at the candidates
themselves, one second and one microsecond each side: any membership there
must be the one the reported changes imply. The histories straddle the
daylight-saving changes of Europe/Paris.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segdsl
from segdsl import dynamics

UTC = dt.UTC
SECOND = dt.timedelta(seconds=1)
TICK = dt.timedelta(microseconds=1)

# The interval's start: the spring change (2026-03-29 01:00Z), the autumn one
# (2026-10-25 01:00Z) and a day far from both; each interval lasts 36 hours.
STARTS = [dt.datetime(2026, 3, 28, 12, tzinfo=UTC), dt.datetime(2026, 10, 24, 12, tzinfo=UTC),
          dt.datetime(2026, 7, 14, 22, 30, tzinfo=UTC), dt.datetime(2026, 2, 27, 12, tzinfo=UTC)]
LENGTH = dt.timedelta(hours=36)

WINDOWS = ["1h", "12h", "1d", "2d", "1w", "1m", "2m"]
ATOMS = [
    st.builds("visits({}) >= {}".format, st.sampled_from(WINDOWS), st.integers(1, 3)),
    st.builds("count(events, within = {}, where = type == \"visit\") < {}".format,
              st.sampled_from(WINDOWS), st.integers(1, 3)),
    st.builds("purchased({})".format, st.sampled_from(WINDOWS)),
    st.builds("spent({}) > {}".format, st.sampled_from(WINDOWS), st.sampled_from([0, 10, 25])),
    st.builds("last(orders.at) {} now - {}".format, st.sampled_from(["<", "<=", ">", ">="]),
              st.sampled_from(["1h", "1d", "36h", "1m", "1w"])),
    st.builds("signed_up_at {} now - {}".format, st.sampled_from(["<", ">=", "=="]),
              st.sampled_from(["1d", "12h", "1m"])),
    st.builds("signed_up_day {} today - {}".format, st.sampled_from(["<", ">=", "=="]),
              st.sampled_from(["1d", "0d", "1m"])),
    st.builds("now - last(orders.at) {} {}".format, st.sampled_from(["<", ">"]),
              st.sampled_from(["1d", "30h"])),
    st.builds("days_between(last(events.at), now) {} {}".format,
              st.sampled_from([">=", "<", "=="]), st.integers(0, 3)),
    st.builds("weekday(today) == {}".format, st.integers(1, 7)),
    st.builds("today {} {}".format, st.sampled_from([">=", "<", "=="]),
              st.sampled_from(["2026-03-29", "2026-10-25", "2026-07-15", "2026-02-28"])),
    st.builds("now {} {}".format, st.sampled_from([">=", "<"]),
              st.sampled_from(["2026-03-29T02:30:00", "2026-10-25T02:30:00Z",
                               "2026-07-15T12:00:00Z"])),
    st.just("count(orders, during = spring) >= 1"),
    st.just("first(orders.at) between now - 2d and now - 1h"),
    st.just("signed_up_at is null"),
]


@st.composite
def condition(draw, atoms: list) -> str:
    """One to three of ``atoms`` joined by ``and``/``or``, negated half the time."""
    chosen = draw(st.lists(st.one_of(*atoms), min_size=1, max_size=3))
    joined = chosen[0]
    for atom in chosen[1:]:
        joined = f"{joined} {draw(st.sampled_from(['and', 'or']))} {atom}"
    return f"not ({joined})" if draw(st.booleans()) else joined


@st.composite
def rules_text(draw, atoms: list = ATOMS) -> str:
    """A rule file with two segments, the second using the first."""
    return (f"period spring = 2026-03-29 .. 2026-03-29\n"
            f"segment a = {draw(condition(atoms))}\n"
            f"segment b = a or {draw(condition(atoms))}\n")


@st.composite
def customers(draw, start: dt.datetime) -> list[dict]:
    """Two or three customers whose events and orders fall around the interval."""
    def stamp():
        minutes = draw(st.integers(-70 * 24 * 60, int(LENGTH.total_seconds() // 60)))
        seconds = draw(st.sampled_from([0, 0, 0, 17]))
        return start + dt.timedelta(minutes=minutes, seconds=seconds)

    def text(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    found = []
    for number in range(draw(st.integers(2, 3))):
        events = [{"type": draw(st.sampled_from(["visit", "visit", "email_open"])),
                   "at": text(stamp())} for _ in range(draw(st.integers(0, 5)))]
        orders = [{"at": text(stamp()), "total": draw(st.sampled_from([5, 20, None]))}
                  for _ in range(draw(st.integers(0, 3)))]
        signed = draw(st.one_of(st.none(), st.builds(stamp)))
        found.append({"id": number, "events": events, "orders": orders,
                      "signed_up_at": None if signed is None else signed.isoformat(),
                      "signed_up_day": None if signed is None else signed.date()})
    return found


def _check(rules, people, start, end) -> None:
    changes = rules.changes(people, since=start, until=end)
    zone = rules._program.options.timezone
    for person in people:
        for name in rules:
            assert changes.granularity[name] == "exact"
            flips = [ch for ch in changes if ch.customer_id == person["id"] and ch.segment == name]
            initial = rules[name].matches(person, now=start)
            assert (person["id"] in changes.start[name]) == initial

            def expected(at, flips=flips, initial=initial):
                state = initial
                for ch in flips:
                    if ch.at <= at:
                        state = ch.event == "entered"
                return state

            timeline = dynamics._Timeline(rules._program, person, "id")
            instants = {start, end}
            for candidate in timeline.candidates(name, start, end):
                instants.update({candidate, candidate - SECOND, candidate + SECOND,
                                 candidate - TICK})
            moment = start
            while moment <= end:
                instants.add(moment)
                moment += dt.timedelta(minutes=1)
            for ch in flips:
                instants.update({ch.at, ch.at - TICK})
                assert start < ch.at <= end
            for at in sorted(instants):
                if start <= at <= end:
                    assert rules[name].matches(person, now=at) == expected(at), (name, at, zone)
            # next_change from the start agrees with the first reported change.
            following = rules[name].next_change(person, now=start, until=end)
            assert following == (flips[0].at if flips else None)


SCHEMA = {"id": "number", "signed_up_at": "datetime", "signed_up_day": "date",
          "orders": segdsl.ListOf({"at": "datetime", "total": "number"}),
          "events": segdsl.ListOf({"type": "string", "at": "datetime"})}

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_changes_agree_with_brute_force(data):
    """Every change is where brute force sees one, and brute force sees no other, in Paris or UTC."""
    start = data.draw(st.sampled_from(STARTS))
    zone = data.draw(st.sampled_from(["Europe/Paris", None]))
    rules = segdsl.loads(data.draw(rules_text()), timezone=zone, schema=SCHEMA)
    people = data.draw(customers(start))
    _check(rules, people, start, start + LENGTH)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_next_change_agrees_with_brute_force(data):
    """next_change from a random instant is the first instant, found by brute force, that differs."""
    start = data.draw(st.sampled_from(STARTS))
    zone = data.draw(st.sampled_from(["Europe/Paris", None]))
    rules = segdsl.loads(data.draw(rules_text()), timezone=zone, schema=SCHEMA)
    person = data.draw(customers(start))[0]
    now = start + dt.timedelta(seconds=data.draw(st.integers(0, int(LENGTH.total_seconds()))))
    end = start + LENGTH + dt.timedelta(hours=12)
    for name in rules:
        found = rules[name].next_change(person, now=now, until=end)
        before = rules[name].matches(person, now=now)
        moment = now + dt.timedelta(minutes=1)
        first_seen = None
        while moment <= end:
            if rules[name].matches(person, now=moment) != before:
                first_seen = moment
                break
            moment += dt.timedelta(minutes=1)
        if found is None:
            assert first_seen is None, (name, first_seen)
        else:
            assert now < found <= end
            assert rules[name].matches(person, now=found) != before
            assert rules[name].matches(person, now=found - TICK) == before
            # (a flip shorter than a minute, `signed_up_at == now - 12h`, escapes the grid)
            assert first_seen is None or found <= first_seen
