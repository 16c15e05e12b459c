"""The benchmark suite on tiny inputs: every contestant gives the baseline's answer.

Speed is never asserted here; these tests keep ``benchmarks/`` from rotting: each workload's
contestants must agree with the baseline (peer libraries only when the ``[bench]`` extra is
installed), and the checks that guard the timings must catch a wrong answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import segdsl  # noqa: E402
from benchmarks import common, compile_time, data, histories, scalar, scaling  # noqa: E402

SMALL = 200


@pytest.fixture(scope="module")
def customers() -> list[dict]:
    """The first generated customers, through JSON text as the suite reads them."""
    return data.make_customers(SMALL)


def _flat(customer_id, frequency, visits, purchases):
    return {"id": customer_id, "rfm_frequency": frequency, "visits_30d": visits,
            "purchases_30d": purchases}


def _visits(count, day="2026-07-01"):
    return [{"type": "visit", "at": f"{day}T{hour:02d}:00:00Z"} for hour in range(count)]


def _customer(customer_id, events, orders=()):
    return {"id": customer_id, "events": list(events), "orders": [{"at": at} for at in orders]}


# Window of workload 2: after 2026-06-15T12:00:00Z, up to 2026-07-15T12:00:00Z included.
WINDOW_EDGES = [
    _customer(1, _visits(10)),
    _customer(2, _visits(9) + [{"type": "visit", "at": "2026-06-15T12:00:00Z"}]),
    _customer(3, _visits(9) + [{"type": "visit", "at": "2026-07-15T12:00:00Z"}]),
    _customer(4, _visits(9) + [{"type": "visit", "at": "2026-07-15T12:00:01Z"}]),
    _customer(5, _visits(10), orders=["2026-06-15T12:00:00Z"]),
    _customer(6, _visits(10), orders=["2026-07-15T12:00:00Z"]),
    _customer(7, _visits(10), orders=["2026-07-15T12:00:01Z"]),
    _customer(8, [{"type": "email_open", "at": e["at"]} for e in _visits(10)]),
    _customer(9, _visits(9) + [{"type": "visit", "at": "2026-07-15T14:00:00+02:00"}]),
    _customer(10, _visits(9) + [{"type": "visit", "at": "2026-06-15T14:00:00+02:00"}]),
]


def test_scalar_baseline_members_at_the_boundaries():
    """The comprehension keeps frequency 4+, visits 10+ and no purchase, boundaries included."""
    records = [_flat(1, 4, 10, 0), _flat(2, 3, 10, 0), _flat(3, 4, 9, 0), _flat(4, 4, 10, 1),
               _flat(5, 5, 30, 0)]
    assert common.ids(scalar.comprehension(records)) == [1, 5]


def test_scalar_contestants_agree_on_edges_and_generated_records():
    """Every workload 1 contestant finds the comprehension's members."""
    records = [_flat(1, 4, 10, 0), _flat(2, 3, 10, 0), _flat(4, 4, 10, 1)] + \
        data.flat_records(SMALL)
    assert scalar.comprehension(records)[0]["id"] == 1
    common.check_contestants(records, scalar.contestants())


def test_flat_records_hold_some_members():
    """The generated flat records include members, so agreeing on them means something."""
    members = scalar.comprehension(data.flat_records(SMALL))
    assert 0.02 * SMALL < len(members) < 0.2 * SMALL


def test_hand_written_window_edges():
    """The hand-written function counts after now-30d up to now included, offsets read."""
    assert common.ids(histories.hand_written(WINDOW_EDGES)) == [1, 3, 5, 7, 9]


def test_history_contestants_agree_on_window_edges():
    """segdsl and the peers find the hand-written function's members at the window's edges."""
    common.check_contestants(WINDOW_EDGES, histories.contestants(peer_sample=None))


def test_history_contestants_agree_on_generated_customers(customers):
    """Every workload 2 contestant finds the baseline's members among generated customers."""
    first = customers[:100]  # rule-engine takes milliseconds per customer
    assert len(histories.hand_written(first)) >= 5
    common.check_contestants(first, histories.contestants(peer_sample=None))


def test_compare_stops_on_a_different_answer():
    """A contestant that misses a member makes the comparison raise Mismatch, not time it."""
    records = data.flat_records(SMALL)
    wrong = common.Contestant("wrong", "drops the first member",
                              lambda rs: scalar.comprehension(rs)[1:])
    with pytest.raises(common.Mismatch, match="drops the first member found"):
        common.compare("w", records, [scalar.contestants()[0], wrong], {}, repeat=1, budget=0)


def test_compare_rows_carry_ratios_and_verdicts():
    """The baseline's ratio is 1 and a target's verdict is PASS or MISS as its test says."""
    records = data.flat_records(SMALL)
    baseline, twin = (common.Contestant(name, name, scalar.comprehension)
                      for name in ("base", "twin"))
    targets = {"twin": common.Target("never", lambda ratios: False)}
    rows = common.compare("w", records, [baseline, twin], targets, repeat=2, budget=10)
    assert (rows[0].contestant, rows[0].ratio, rows[0].result) == ("base", 1.0, "")
    assert (rows[1].contestant, rows[1].target, rows[1].result) == ("twin", "never", "MISS")


def test_replicate_gives_new_ids_and_shares_histories(customers):
    """Copies follow the originals under ids base+1.. and share their lists."""
    population = data.replicate(customers[:3], 7)
    assert [c["id"] for c in population] == [1, 2, 3, 4, 5, 6, 7]
    assert population[4]["events"] is customers[1]["events"]
    assert population[4]["email"] == customers[1]["email"]


def test_copies_fall_in_their_originals_segments(customers):
    """Every rule file over 3x-replicated customers passes the copies check."""
    population = data.replicate(customers, 3 * SMALL + 17)
    for rules in scaling.rule_sets().values():
        scaling.check_replicas(rules, scaling.evaluate(rules, population), SMALL)


def test_copies_check_catches_a_lost_member(customers):
    """Dropping one copy from a segment's members makes the copies check raise Mismatch."""
    rules = scaling.rule_sets()["lifecycle.seg"]
    result = scaling.evaluate(rules, data.replicate(customers, 2 * SMALL))
    result.members["prospects"].pop()
    with pytest.raises(common.Mismatch, match="segment prospects"):
        scaling.check_replicas(rules, result, SMALL)


def test_cold_compilation_reports_import_separately():
    """A fresh process compiles a rule file; the time with the import exceeds the time without."""
    times = compile_time.cold(ROOT / "examples" / "lifecycle.seg", processes=1)
    assert times["with_import"] > times["without_import"] > 0


def test_table_renders_every_row():
    """The text and Markdown tables show each row's contestant, ratio and verdict."""
    rows = [common.Row("1 w", "segdsl", 100, 2e6, "0.5 µs/record", 3.0, "<= 1.2x", "MISS"),
            common.Row("1 w", "baseline", 100, 6e6, "0.17 µs/record", 1.0)]
    text = common.render_text(rows)
    assert "segdsl" in text and "3.00x" in text and "MISS" in text and "2,000,000" in text
    assert common.render_markdown(rows).splitlines()[2].startswith("| 1 w | segdsl | 100 |")


def _report(size, distinct, seconds, cpu_seconds, loaded, peak):
    return {"size": size, "distinct": distinct, "before": 0, "loaded": loaded, "peak": peak,
            "exact_peak": True,
            "files": {"a.seg": {"seconds": seconds, "cpu_seconds": cpu_seconds, "sizes": {"s": 1}}}}


def test_scaling_rows_judge_cpu_time_and_memory():
    """The larger size is judged on CPU time per customer (within 15%) and peak memory (2x)."""
    rows = scaling.rows_of([_report(100, 100, 1.0, 1.0, 1000, 1500),
                            _report(1000, 100, 20.0, 11.0, 2000, 4100)])
    assert [(r.size, round(r.ratio, 2), r.result) for r in rows] == [
        (100, 1.0, ""), (100, 1.5, "PASS"), (1000, 1.1, "PASS"), (1000, 2.05, "MISS")]
    assert rows[2].note == "100 distinct x 10, wall-clock ratio 2.00x"


# ------------------------------------------------------------------------------ workload 5


@pytest.fixture(scope="module")
def parquet_tables(tmp_path_factory) -> Path:
    """Workload 5's tables of 400 generated customers, in parts of 150 customers."""
    from benchmarks import columnar_data

    directory = tmp_path_factory.mktemp("columnar") / "data"
    columnar_data.generate(400, directory, part=150)
    return directory


def test_columnar_tables_hold_realistic_histories(parquet_tables):
    """The generated tables have every customer, orders with items and tens of events each."""
    from benchmarks import columnar_data

    counts = columnar_data.manifest(parquet_tables)
    assert counts["customers"] == 400
    assert 2 * 400 < counts["orders"] < 6 * 400
    assert counts["orders"] < counts["order_items"] < 3 * counts["orders"]
    assert 30 * 400 < counts["events"] < 80 * 400


def test_columnar_generation_is_seeded(parquet_tables, tmp_path):
    """The same seed writes the same rows; the parts do not change them."""
    import duckdb

    from benchmarks import columnar_data

    again = tmp_path / "again"
    columnar_data.generate(400, again, part=400)
    connection = duckdb.connect()
    for table in columnar_data.TABLES:
        query = "SELECT * FROM read_parquet('{}/{}/*.parquet') ORDER BY ALL"
        assert connection.execute(query.format(parquet_tables, table)).fetchall() == \
            connection.execute(query.format(again, table)).fetchall()


@pytest.mark.parametrize("name", ["summer_sale.seg", "lifecycle.seg"])
def test_columnar_engines_find_the_hand_written_members(parquet_tables, name):
    """The hand-written SQL, segdsl's DuckDB engine and its Python engine agree, segment by
    segment, on generated tables where every segment of the file has members or not alike."""
    from benchmarks import columnar
    from benchmarks.data import NOW

    hand = columnar.run_hand(name, parquet_tables)
    assert columnar.run_segdsl(name, parquet_tables) == hand
    rules = segdsl.load(ROOT / "examples" / name)
    python = rules.evaluate(columnar.customer_dicts(parquet_tables), now=NOW).members
    assert python == hand
    assert sum(len(ids) for ids in hand.values()) > 100


def test_columnar_child_reports_time_memory_and_members(parquet_tables):
    """A child process measures one engine and reports its members' digest and peak memory."""
    from benchmarks import columnar

    report = columnar.run_child("segdsl-sql", "lifecycle.seg", parquet_tables, 1)
    assert report["members"] == columnar.digest(columnar.run_hand("lifecycle.seg",
                                                                  parquet_tables))
    assert report["seconds"] > 0 and report["peak"] > 10e6


def test_columnar_rows_judge_the_targets():
    """Ratios to the hand-written query, the Python gap, the memory and the linearity."""
    from benchmarks import columnar

    def report(seconds, peak=1e9):
        return {"seconds": seconds, "peak": peak}

    reports = {}
    for size, scale in ((10, 1), (100, 10)):
        for name in columnar.RULE_FILES:
            reports[size, name, "hand"] = report(1.0 * scale)
            reports[size, name, "segdsl-sql"] = report(1.1 * scale, 5e9 if scale > 1 else 1e9)
    reports[10, "lifecycle.seg", "python"] = report(20.0)
    rows = columnar.rows_of(reports, (10, 100))
    judged = {row.contestant: (round(row.ratio, 2) if row.ratio else None, row.result)
              for row in rows if row.result}
    assert judged["segdsl DuckDB engine, lifecycle.seg x 10"] == (1.1, "PASS")
    assert judged["segdsl Python engine, lifecycle.seg x 10"] == (20.0, "MISS")
    assert judged["segdsl DuckDB engine peak memory, summer_sale.seg x 100"] == (None, "MISS")
    assert judged["segdsl DuckDB engine per customer, summer_sale.seg x 100 / 10"] == \
        (1.0, "PASS")
