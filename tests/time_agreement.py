"""Shared by the tests of `today`, calendar functions, duration arithmetic and windows: the
members of a rule by every public path, which must agree."""

from __future__ import annotations

import segdsl


def members(rule: str, customers: list[dict], now: str, **options) -> list:
    """The ids of the customers matching ``rule`` at ``now``, after checking that
    matches, filter, evaluate and explain all give the same answer."""
    segment = segdsl.compile(rule, **options)
    by_matches = [c["id"] for c in customers if segment.matches(c, now=now)]
    by_filter = [c["id"] for c in segment.filter(customers, now=now)]
    by_explain = [c["id"] for c in customers if segment.explain(c, now=now).matched]
    rules = segdsl.loads(f"segment s = {rule}\n", **options)
    by_evaluate = rules.evaluate(customers, now=now)["s"]
    assert by_matches == by_filter == by_explain == by_evaluate, (
        by_matches, by_filter, by_explain, by_evaluate)
    return by_matches


def check_error(rule: str, **options) -> segdsl.CheckError:
    """The CheckError that ``rule`` raises when compiled."""
    try:
        segdsl.compile(rule, **options)
    except segdsl.CheckError as error:
        return error
    raise AssertionError(f"{rule!r} compiled")


def located(error: segdsl.SegdslError) -> tuple:
    """``(message, column, end column, hint)`` of an error in a one-line rule."""
    return error.message, error.span.column, error.span.end_column, error.hint
