"""How the command line names customers: by their id field, or by position when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from command_line import run

NOW = "2026-07-15T12:00:00Z"
RULES = 'segment a = name == "ann"\nsegment b = name == "bob"\n'


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    """A rule file, and customers of whom the first has no id."""
    rules = tmp_path / "rules.seg"
    rules.write_text(RULES, encoding="utf-8")
    data = tmp_path / "customers.jsonl"
    data.write_text('{"name": "ann", "code": "A1"}\n{"name": "bob", "id": 7, "code": "B2"}\n',
                    encoding="utf-8")
    return str(rules), str(data)


def test_eval_refuses_a_customer_without_id_and_names_the_flags(capsys, files):
    """A missing id is a usage error whose advice names the command line's flags."""
    status, out, err = run(capsys, "eval", files[0], "--data", files[1], "--now", NOW)
    assert (status, out) == (2, "")
    assert err == ("segdsl: the customer at position 0 has no id field: give every customer an "
                   "id, name the field holding it (--id-field NAME), or pass --ids position to "
                   "name customers by position\n")


def test_eval_names_members_by_position_or_by_another_field(capsys, files):
    """--ids position and --id-field choose the names of the members."""
    by_position = run(capsys, "eval", files[0], "--data", files[1], "--now", NOW, "--ids",
                      "position", "--format", "csv")
    assert by_position == (0, "segment,customer_id\na,0\nb,1\n", "")
    by_code = run(capsys, "eval", files[0], "--data", files[1], "--now", NOW, "--id-field",
                  "code", "--format", "csv")
    assert by_code == (0, "segment,customer_id\na,A1\nb,B2\n", "")


def test_eval_keeps_every_segment_named(capsys, files):
    """--segment given twice evaluates both segments, not only the last."""
    status, out, _ = run(capsys, "eval", files[0], "--data", files[1], "--now", NOW, "--ids",
                         "position", "--format", "csv", "--segment", "b", "--segment", "a")
    assert (status, out) == (0, "segment,customer_id\nb,1\na,0\n")


def test_explain_finds_customers_as_eval_names_them(capsys, files):
    """explain --customer takes the name eval gives: an id field's value, or a position."""
    status, out, _ = run(capsys, "explain", files[0], "a", "--data", files[1], "--now", NOW,
                         "--id-field", "code", "--customer", "A1")
    assert (status, out.splitlines()[0]) == (0, "a -> true")
    status, out, _ = run(capsys, "explain", files[0], "b", "--data", files[1], "--now", NOW,
                         "--ids", "position", "--customer", "1")
    assert (status, out.splitlines()[0]) == (0, "b -> true")
    status, _, err = run(capsys, "explain", files[0], "a", "--data", files[1], "--now", NOW,
                         "--customer", "0")
    assert (status, err) == (2, f"segdsl: {files[1]}: no customer with id 0\n")


@pytest.fixture
def mixed_ids(tmp_path: Path) -> tuple[str, str]:
    """Customers whose ids are the text "1", the number 1, 2.0 and a 20-digit number."""
    rules = tmp_path / "rules.seg"
    rules.write_text("segment big = x > 1\n", encoding="utf-8")
    data = tmp_path / "customers.jsonl"
    data.write_text('{"id": "1", "x": 5}\n{"id": 1, "x": 0}\n{"id": 2.0, "x": 3}\n'
                    '{"id": 12345678901234567890, "x": 0}\n', encoding="utf-8")
    return str(rules), str(data)


@pytest.mark.parametrize(("customer", "first_line"), [
    ('"1"', "big -> true"),  # the text id, quoted
    ("1.0", "big -> false"),  # the number 1, as eval names 1 and 1.0 one id
    ("2", "big -> true"),  # the id 2.0
    ("12345678901234567890", "big -> false"),  # beyond a double's integers
])
def test_explain_names_ids_as_eval_tells_them_apart(capsys, mixed_ids, customer, first_line):
    status, out, err = run(capsys, "explain", mixed_ids[0], "big", "--data", mixed_ids[1],
                           "--now", NOW, "--customer", customer)
    assert (status, out.splitlines()[0], err) == (0, first_line, "")


def test_explain_of_an_id_two_customers_answer_to_is_refused(capsys, mixed_ids):
    """`--customer 1` could be the text "1" or the number 1: neither is chosen silently."""
    status, out, err = run(capsys, "explain", mixed_ids[0], "big", "--data", mixed_ids[1],
                           "--now", NOW, "--customer", "1")
    assert (status, out) == (2, "")
    assert err == (f"segdsl: {mixed_ids[1]}: --customer 1 names two customers, \"1\" "
                   "(position 0) and 1 (position 1): give --customer '\"1\"' for the text id, "
                   "--customer 1.0 for the number\n")
