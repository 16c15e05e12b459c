"""A segment, period or def named like a field of the data is pointed out when data is read."""

from __future__ import annotations

import segdsl
from segdsl import cli

RULES = ("period vip = 2026-01-01 .. 2026-01-02\n"
         "segment country = visits(30d) > 1\n"
         "def age(x) = x\n"
         "segment fine = true\n")
CUSTOMERS = [{"id": 1, "country": "FR", "vip": True}, {"id": 2, "age": 40}]


def test_definitions_named_like_fields_of_the_data_are_warnings_in_source_order():
    """Each definition hiding a field gets a warning at its name, in the order of the file."""
    rules = segdsl.loads(RULES, file="r.seg")
    warnings = rules.hidden_fields(CUSTOMERS)
    assert [(w.message, w.span.line, w.span.column) for w in warnings] == [
        ("the period 'vip' hides the customers' field 'vip': rules read 'vip' as the period", 1, 8),
        ("the segment 'country' hides the customers' field 'country': rules read 'country' as "
         "the segment", 2, 9),
        ("the def 'age' hides the customers' field 'age': rules read 'age' as the def", 3, 5),
    ]
    assert rules.hidden_fields([{"id": 3, "email": "a@b.fr"}]) == []


def test_eval_prints_the_hidden_field_warnings(tmp_path, capsys):
    """segdsl eval shows the warning with its caret before the sizes."""
    rules = tmp_path / "r.seg"
    rules.write_text(RULES, encoding="utf-8")
    data = tmp_path / "c.jsonl"
    data.write_text('{"id": 1, "country": "FR"}\n', encoding="utf-8")
    assert cli.main(["eval", str(rules), "--data", str(data), "--now", "2026-01-01"]) == 0
    err = capsys.readouterr().err
    assert (f"{rules}:2:9: warning: the segment 'country' hides the customers' field 'country'"
            in err)
    assert "  segment country = visits(30d) > 1\n          ^^^^^^^\n" in err
