"""A Result is a read-only mapping of segment name to member ids, and keeps
its sizes, members, total, now and conversions."""

from __future__ import annotations

import collections.abc
import datetime as dt

import pytest

import segdsl

NOW = "2026-07-15T12:00:00Z"
RULES = """
segment french = country == "FR"
segment belgian = country == "BE"
segment nobody = false
"""
CUSTOMERS = [{"id": 1, "country": "FR"}, {"id": 2, "country": "BE"}, {"id": 3, "country": "FR"}]


@pytest.fixture
def result() -> segdsl.Result:
    return segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW)


def test_a_result_is_a_mapping_of_segments_to_ids(result):
    """in, iteration, len, keys, values, items, get and dict() behave as for a mapping."""
    assert isinstance(result, collections.abc.Mapping)
    assert "french" in result and "german" not in result and 5 not in result and [] not in result
    assert list(result) == ["french", "belgian", "nobody"] == list(result.keys())
    assert len(result) == 3
    assert list(result.values()) == [[1, 3], [2], []]
    assert list(result.items()) == [("french", [1, 3]), ("belgian", [2]), ("nobody", [])]
    assert result.get("belgian") == [2]
    assert result.get("german") is None and result.get("german", []) == []
    assert dict(result) == {"french": [1, 3], "belgian": [2], "nobody": []}


def test_an_unknown_name_is_a_usage_error_with_did_you_mean(result):
    """result["frenh"] says which segments there are and suggests the closest, as RuleSet does."""
    with pytest.raises(segdsl.UsageError) as raised:
        result["frenh"]
    assert raised.value.message == ("no segment named 'frenh'; did you mean 'french'? the "
                                    "segments are french, belgian, nobody")
    with pytest.raises(segdsl.UsageError, match="no segment named 5; the segments are"):
        result[5]
    with pytest.raises(segdsl.UsageError, match=r"no segment named \[\]"):
        result[[]]


def test_a_result_cannot_be_changed_through_the_mapping(result):
    """There is no item assignment or deletion, and the attributes are frozen."""
    with pytest.raises(TypeError):
        result["french"] = []  # type: ignore[index]
    with pytest.raises(TypeError):
        del result["french"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        result.total = 0  # type: ignore[misc]


def test_a_result_keeps_its_figures_and_conversions(result):
    """sizes, members, total, now, to_dict, rows and to_dataframe are as before."""
    assert result.sizes == {"french": 2, "belgian": 1, "nobody": 0}
    assert result.members == {"french": [1, 3], "belgian": [2], "nobody": []}
    assert result.total == 3
    assert result.now == dt.datetime(2026, 7, 15, 12, tzinfo=dt.timezone.utc)
    assert result.to_dict() == {"now": "2026-07-15T12:00:00Z", "total": 3,
                                "sizes": {"french": 2, "belgian": 1, "nobody": 0},
                                "members": {"french": [1, 3], "belgian": [2], "nobody": []}}
    assert result.rows() == [("french", 1), ("french", 3), ("belgian", 2)]
    frame = result.to_dataframe()
    assert frame.to_dict("list") == {"segment": ["french", "french", "belgian"],
                                     "customer_id": [1, 3, 2]}
    assert result.to_dataframe("polars").to_dicts()[0] == {"segment": "french", "customer_id": 1}


def test_two_results_are_equal_when_members_total_and_now_are(result):
    """Equality compares the whole evaluation, not only the members."""
    rules = segdsl.loads(RULES)
    assert result == rules.evaluate(CUSTOMERS, now=NOW)
    assert result != rules.evaluate(CUSTOMERS, now="2026-07-16T12:00:00Z")


def test_a_result_of_named_segments_knows_only_those(result):
    """A segment that was not evaluated is not in the result."""
    only = segdsl.loads(RULES).evaluate(CUSTOMERS, now=NOW, segments=["belgian"])
    assert list(only) == ["belgian"] and "french" not in only
    with pytest.raises(segdsl.UsageError, match="the segments are belgian"):
        only["french"]


@pytest.mark.parametrize("ids", [[1, "k"], [1, 2.5]])
def test_ids_of_several_types_make_a_polars_column_of_objects(ids):
    """Ids 1 and "k" (two ids, as pandas keeps them) stay what they are in polars too."""
    rules = segdsl.loads('segment french = country == "FR"')
    result = rules.evaluate([{"id": i, "country": "FR"} for i in ids], now=NOW)
    frame = result.to_dataframe("polars")
    assert frame["customer_id"].to_list() == ids
    assert result.to_dataframe()["customer_id"].to_list() == ids
    visitors = segdsl.loads("segment visiting = visits(30d) >= 1")
    changes = visitors.changes([{"id": i, "events": [{"type": "visit", "at": "2026-07-10"}]}
                                for i in ids], since="2026-07-01", until=NOW)
    assert changes.to_dataframe("polars")["customer_id"].to_list() == ids
