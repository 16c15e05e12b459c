"""Streaming: customers are read, evaluated and dropped one by one, by
``rules.evaluate`` and by ``segdsl eval``; rules that rank customers read a
re-readable source twice instead of keeping it."""

from __future__ import annotations

import itertools
import json
import weakref
from pathlib import Path

import pytest
from command_line import run

import segdsl
from segdsl import data as data_module

ROOT = Path(__file__).resolve().parent.parent
SUMMER = ROOT / "examples" / "summer_sale.seg"
NOW = "2026-07-15T12:00:00Z"


class Tracked(dict):
    """A customer whose life a test can watch (a plain dict cannot be weakly referenced)."""


class Watched:
    """A re-readable source of customers counting its passes and the customers alive."""

    def __init__(self, customers: list[dict]) -> None:
        self.texts = [json.dumps(customer) for customer in customers]
        self.alive: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.passes = 0
        self.most_alive = 0
        self.made = itertools.count()

    def __iter__(self):
        self.passes += 1
        for text in self.texts:
            # The one before may still be the loop's variable; no other may live.
            self.most_alive = max(self.most_alive, len(self.alive))
            customer = Tracked(json.loads(text))
            self.alive[next(self.made)] = customer
            yield customer


@pytest.fixture(scope="module")
def customers() -> list[dict]:
    """Generated customers, as read from JSON."""
    from benchmarks.data import make_customers

    return make_customers(300)


@pytest.fixture(scope="module")
def summer() -> segdsl.RuleSet:
    return segdsl.load(SUMMER)


MIXED = """
segment loyal_fr = rfm.recency >= 4 and country == "FR"
segment top_spenders = ntile(spent(365d), 10) == 10 and visits(30d) >= 1
segment undecided = visits(30d) >= 10 and not purchased(30d)
"""


def test_rfm_segments_read_a_source_once_keeping_no_customer(customers, summer):
    """Segments reading customers only through RFM scores need one pass and keep no customer."""
    source = Watched(customers)
    streamed = summer.evaluate(source, now=NOW)
    assert (source.passes, source.most_alive) == (1, 1)
    assert streamed.members == summer.evaluate(customers, now=NOW).members
    assert streamed.total == len(customers)


def test_rfm_segments_over_a_generator_are_evaluated_as_it_is_read(customers, summer):
    """A generator ranked by RFM alone is read once, never listed."""
    source = Watched(customers)
    streamed = summer.evaluate(iter(source), now=NOW)
    assert (source.passes, source.most_alive) == (1, 1)
    assert streamed.members == summer.evaluate(customers, now=NOW).members


def test_rankings_mixed_with_data_read_a_rereadable_source_twice(customers):
    """A ranking segment that also reads the customer takes two passes, one customer at a time."""
    rules = segdsl.loads(MIXED)
    source = Watched(customers)
    streamed = rules.evaluate(source, now=NOW)
    assert (source.passes, source.most_alive) == (2, 1)
    listed = rules.evaluate(customers, now=NOW)
    assert streamed.members == listed.members
    assert streamed.total == len(customers)
    assert all(listed.sizes.values())  # every segment has members: the test means something


def test_rules_without_rankings_read_a_source_once_keeping_no_customer(customers, summer):
    """Without rankings a source is read once, each customer dropped before the next is read."""
    source = Watched(customers)
    names = [name for name in summer if not summer[name].needs_population]
    streamed = summer.evaluate(source, now=NOW, segments=names)
    assert (source.passes, source.most_alive) == (1, 1)
    assert streamed.members == summer.evaluate(customers, now=NOW, segments=names).members


def test_a_generator_is_evaluated_as_it_is_read(customers):
    """Each customer of a generator is evaluated before the next one is read."""
    log: list[tuple[str, int]] = []
    functions = segdsl.Functions()

    @functions.register(params={"identity": "number"}, returns="bool")
    def seen(identity):
        log.append(("evaluated", identity))
        return True

    rules = segdsl.loads("segment all = seen(id)", functions=functions)

    def generated():
        for customer in customers[:5]:
            log.append(("read", customer["id"]))
            yield customer

    result = rules.evaluate(generated(), now=NOW)
    ids = [customer["id"] for customer in customers[:5]]
    assert log == [(what, i) for i in ids for what in ("read", "evaluated")]
    assert result["all"] == ids


def test_mixed_rankings_over_a_generator_keep_it_and_give_the_listed_answer(customers):
    """A one-shot iterator cannot be read twice: it is listed, and the answer is the list's."""
    rules = segdsl.loads(MIXED)
    streamed = rules.evaluate(iter(customers), now=NOW)
    assert streamed.members == rules.evaluate(customers, now=NOW).members


def test_population_statistics_read_a_source_once_keeping_no_customer(customers, summer):
    """RuleSet.population over a re-readable source reads it once and scores as over the list."""
    source = Watched(customers)
    stats = summer.population(source, now=NOW)
    assert (source.passes, source.most_alive, stats.size) == (1, 1, len(customers))
    loyal = summer["loyal_buyers"]
    listed = summer.population(customers, now=NOW)
    assert [loyal.matches(c, now=NOW, population=stats) for c in customers] == \
        [loyal.matches(c, now=NOW, population=listed) for c in customers]


def test_a_source_that_changes_between_the_two_readings_is_refused(customers):
    """A re-readable source giving fewer customers the second time is a data error."""

    class Shrinking:
        def __init__(self) -> None:
            self.passes = 0

        def __iter__(self):
            self.passes += 1
            return iter(customers if self.passes == 1 else customers[:-1])

    with pytest.raises(segdsl.DataError, match=r"^the customers changed between the two "
                                               r"readings: 300 ranked, then 299 evaluated$"):
        segdsl.loads(MIXED).evaluate(Shrinking(), now=NOW)


@pytest.fixture()
def jsonl(tmp_path: Path, customers) -> Path:
    path = tmp_path / "customers.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in customers), encoding="utf-8")
    return path


def _watch_reader(monkeypatch) -> dict:
    """Make ``segdsl eval``'s JSON Lines reader count its passes and the customers alive."""
    watch = {"passes": 0, "most_alive": 0}
    alive: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
    original = data_module._json_lines

    def lines(path):
        watch["passes"] += 1
        for record in original(path):
            watch["most_alive"] = max(watch["most_alive"], len(alive))
            customer = Tracked(record)
            watch["made"] = watch.get("made", 0) + 1
            alive[watch["made"]] = customer
            yield customer

    monkeypatch.setattr(data_module, "_json_lines", lines)
    return watch


def test_eval_streams_a_json_lines_file_once_for_rfm_segments(capsys, monkeypatch, jsonl,
                                                              customers, summer):
    """`segdsl eval` of summer_sale.seg reads the file once, one customer alive at a time."""
    watch = _watch_reader(monkeypatch)
    status, out, _ = run(capsys, "eval", str(SUMMER), "--data", str(jsonl), "--now", NOW,
                         "--format", "json")
    assert status == 0
    assert (watch["passes"], watch["most_alive"]) == (1, 1)
    assert json.loads(out)["members"] == summer.evaluate(customers, now=NOW).members
    assert json.loads(out)["total"] == len(customers)


def test_eval_streams_a_json_lines_file_twice_for_mixed_rankings(capsys, monkeypatch, jsonl,
                                                                 customers, tmp_path):
    """`segdsl eval` of rankings mixed with data reads the file twice, keeping no customer."""
    rules_file = tmp_path / "mixed.seg"
    rules_file.write_text(MIXED, encoding="utf-8")
    watch = _watch_reader(monkeypatch)
    status, out, _ = run(capsys, "eval", str(rules_file), "--data", str(jsonl), "--now", NOW,
                         "--format", "json")
    assert status == 0
    assert (watch["passes"], watch["most_alive"]) == (2, 1)
    expected = segdsl.loads(MIXED).evaluate(customers, now=NOW)
    assert json.loads(out)["members"] == expected.members


def test_eval_streams_a_json_lines_file_once_without_rankings(capsys, monkeypatch, jsonl, summer,
                                                              customers):
    """`segdsl eval` of rules without rankings reads the file once, one customer alive at a time."""
    watch = _watch_reader(monkeypatch)
    status, out, _ = run(capsys, "eval", str(SUMMER), "--data", str(jsonl), "--now", NOW,
                         "--segment", "undecided", "--segment", "sale_buyers",
                         "--format", "json")
    assert status == 0
    assert (watch["passes"], watch["most_alive"]) == (1, 1)
    expected = summer.evaluate(customers, now=NOW, segments=["undecided", "sale_buyers"])
    assert json.loads(out)["members"] == expected.members


def test_streamed_eval_gives_the_notes_and_columns_of_a_listed_one(capsys, tmp_path):
    """A streamed JSON Lines file gets the same field notes and --columns as the same JSON file."""
    rules = tmp_path / "rules.seg"
    rules.write_text('segment fr = contry == "FR" or sum(orders.totl) > 1\n'
                     'segment big = sum(orders.total) > 10\n', encoding="utf-8")
    people = [{"id": 1, "country": "FR", "name": "Ann", "orders": [{"total": 12}]},
              {"id": 2, "country": "DE", "name": "Bob", "orders": []},
              {"id": 3, "name": "Cy", "orders": [{"total": 20, "at": "2026-01-01T00:00:00Z"}]}]
    listed = tmp_path / "customers.json"
    listed.write_text(json.dumps(people), encoding="utf-8")
    lines = tmp_path / "customers.jsonl"
    lines.write_text("".join(json.dumps(p) + "\n" for p in people), encoding="utf-8")
    outputs = []
    for path in (listed, lines):
        status, out, err = run(capsys, "eval", str(rules), "--data", str(path), "--now", NOW,
                               "--format", "csv", "--columns", "name,orders")
        outputs.append((status, out, err))
    assert outputs[0] == outputs[1]
    status, out, err = outputs[1]
    assert status == 0
    assert "no customer has a field 'contry'" in err and "did you mean 'country'?" in err
    assert "no customer has a field 'totl'" in err and "did you mean 'total'?" in err
    assert out.splitlines()[1:] == ['big,1,Ann,"[{""total"": 12}]"',
                                    'big,3,Cy,"[{""total"": 20, ""at"": ""2026-01-01T00:00:00Z""}]"']


def test_eval_of_an_empty_json_lines_file_warns(capsys, tmp_path):
    """A streamed file without customers is no error: eval warns and reports none."""
    empty = tmp_path / "customers.jsonl"
    empty.write_text("", encoding="utf-8")
    status, out, err = run(capsys, "eval", str(SUMMER), "--data", str(empty), "--now", NOW,
                           "--format", "json")
    assert status == 0
    assert err == f"segdsl: warning: {empty} holds no customers\n"
    assert json.loads(out)["total"] == 0


def test_streamed_eval_by_position_gives_the_listed_columns(capsys, tmp_path):
    """--ids position with --columns reads the same values from a stream as from a list."""
    rules = tmp_path / "rules.seg"
    rules.write_text('segment fr = country == "FR"\n', encoding="utf-8")
    people = [{"country": "FR", "name": "Ann"}, {"country": "DE", "name": "Bob"},
              {"country": "FR", "name": "Cy"}]
    outputs = []
    for suffix in (".json", ".jsonl"):
        path = tmp_path / f"customers{suffix}"
        text = json.dumps(people) if suffix == ".json" else "".join(
            json.dumps(p) + "\n" for p in people)
        path.write_text(text, encoding="utf-8")
        outputs.append(run(capsys, "eval", str(rules), "--data", str(path), "--now", NOW,
                           "--format", "csv", "--columns", "name", "--ids", "position"))
    assert outputs[0] == outputs[1]
    assert outputs[1][1].splitlines() == ["segment,customer_id,name", "fr,0,Ann", "fr,2,Cy"]
