"""The example rule files: valid, free of warnings, and in canonical layout."""

from __future__ import annotations

from pathlib import Path

import pytest

import segdsl

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.seg"))


def test_the_examples_exist():
    """The example files ship: the lifecycle segments, the platforms' recipes, the ten formulas."""
    assert [path.name for path in EXAMPLES] == ["lifecycle.seg", "recipes.seg", "summer_sale.seg"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_checks_cleanly(path):
    """Each example compiles with no error and no warning."""
    errors, warnings = segdsl.check(path.read_text(), file=str(path))
    assert (errors, warnings) == ([], [])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_is_canonically_formatted(path):
    """segdsl fmt would leave each example unchanged."""
    text = path.read_text()
    assert segdsl.format(text) == text


def test_the_ten_formulas_are_all_there():
    """summer_sale.seg defines the ten segment formulas of the domain."""
    rules = segdsl.load(EXAMPLES[2])
    assert list(rules) == [
        "loyal_buyers", "bargain_hunters", "repeat_shoe_buyers", "last_sale_buyers",
        "discount_buyers", "big_rare_spenders", "recommendation_clickers", "undecided",
        "sale_cart_abandoners", "sale_buyers",
    ]
