"""The benchmarks' hand-written summer_sale.seg gives segdsl's members, so its timing
compares like with like."""

from __future__ import annotations

from pathlib import Path

import segdsl
from benchmarks import whole_file
from benchmarks.data import NOW, make_customers

ROOT = Path(__file__).resolve().parent.parent


def test_the_hand_written_file_gives_segdsls_members():
    """All ten segments, RFM included, over generated customers: the same ids in the same order."""
    customers = make_customers(400)
    rules = segdsl.load(ROOT / "examples" / "summer_sale.seg")
    expected = rules.evaluate(customers, now=NOW).members
    assert whole_file.summer_sale(customers, NOW) == expected
    assert all(expected.values())


def test_the_hand_written_file_reads_a_stream():
    """The baseline takes its customers one by one, as segdsl eval reads a file."""
    customers = make_customers(100)
    assert whole_file.summer_sale(iter(customers), NOW) == whole_file.summer_sale(customers, NOW)
