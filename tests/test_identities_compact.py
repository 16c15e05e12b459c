"""Ids are checked in compact storage: ascending whole numbers as runs and single ids, the
rest in a dict. Whatever the order and the kinds of ids, a repeated id is refused naming both
positions, exactly as one dict of every id would."""

import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segdsl
from segdsl.customers import INT64_MAX, INT64_MIN, Identities, Rising

NOW = "2026-07-15T12:00:00Z"

_IDS = st.lists(st.one_of(st.integers(-5, 40), st.integers(-5, 40).map(float),
                          st.sampled_from(["a", "7", "b"]),
                          st.sampled_from([INT64_MAX, INT64_MAX + 1, INT64_MIN, 2**70]),
                          st.integers(-5, 40).map(decimal.Decimal)),
                max_size=30)


def _by_dict(ids: list) -> tuple[dict, tuple[int, int] | None]:
    """The reference: one dict of every id, the first repeat's two positions."""
    seen: dict = {}
    for position, identity in enumerate(ids):
        if identity in seen:
            return seen, (seen[identity], position)
        seen[identity] = position
    return seen, None


@settings(max_examples=400, deadline=None)
@given(_IDS)
def test_repeats_and_positions_are_those_of_one_dict(ids):
    expected, repeat = _by_dict(ids)
    identities = Identities()
    for position, identity in enumerate(ids):
        if repeat is not None and position == repeat[1]:
            with pytest.raises(segdsl.DataError) as raised:
                identities.of({"id": identity}, position)
            assert raised.value.message.startswith(
                f"the customers at positions {repeat[0]} and {position} have the same id ")
            return
        identities.of({"id": identity}, position)
    assert identities.positions() == expected
    assert all(identities.position(i) == p for i, p in expected.items())


@settings(max_examples=150, deadline=None)
@given(_IDS)
def test_evaluate_refuses_the_same_repeats(ids):
    """The evaluation's inlined path for ascending ids agrees with the reference."""
    rules = segdsl.loads("segment everyone = true")
    _, repeat = _by_dict(ids)
    customers = [{"id": i} for i in ids]
    if repeat is None:
        assert rules.evaluate(customers, now=NOW)["everyone"] == ids
        return
    with pytest.raises(segdsl.DataError) as raised:
        rules.evaluate(customers, now=NOW)
    assert raised.value.message.startswith(
        f"the customers at positions {repeat[0]} and {repeat[1]} have the same id ")


def test_scattered_ascending_ids_take_eight_bytes_each():
    identities = Identities()
    for position in range(10_000):
        identities.of({"id": 3 * position + 1}, position)
    rising = identities.rising
    assert not identities.seen and not rising.starts and len(rising.alone) == 10_000
    assert rising.alone.itemsize == 8


def test_consecutive_ids_are_kept_as_runs():
    """Ids 1..5000, then 7000..9999 and 12345: two runs and one id apart."""
    identities = Identities()
    ids = [*range(1, 5001), *range(7000, 10_000), 12345]
    for position, identity in enumerate(ids):
        identities.of({"id": identity}, position)
    rising = identities.rising
    assert list(rising.starts) == [1, 7000] and list(rising.lengths) == [5000, 3000]
    assert list(rising.in_runs_before) == [0, 5000] and list(rising.alone) == [12345]
    assert identities.position(5000) == 4999 and identities.position(7000) == 5000
    assert identities.position(12345) == 8000 and identities.position(6000) is None
    with pytest.raises(segdsl.DataError, match="positions 5001 and 8001 have the same id"):
        identities.of({"id": 7001}, 8001)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 6), max_size=40), st.integers(INT64_MIN, INT64_MAX - 400))
def test_rising_ids_rank_as_a_sorted_list(steps, first):
    """Steps of 1 make runs, longer ones ids apart: whatever the mix, every kept id
    has its rank in the sorted list, the ids between them none."""
    ids = [first + sum(steps[:i]) for i in range(len(steps) + 1)]
    rising = Rising()
    for identity in ids:
        rising.add(identity)
    assert list(rising) == ids and rising.count == len(ids) and rising.top == ids[-1]
    for identity in range(ids[0] - 1, ids[-1] + 2):
        assert rising.rank(identity) == (ids.index(identity) if identity in ids else None)
