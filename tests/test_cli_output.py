"""`segdsl eval --format json` writes its document as it formats it: the text is, to the
character, the standard library's ``json.dumps(document, indent=2)``."""

import datetime as dt
import io
import json

import pytest

from segdsl import cli
from segdsl.spool import SpooledIds
from segdsl.timeline import iso_text

NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)
LOOKUP = {1: {"id": 1, "country": "FR", "orders": [{"at": "2026-07-01", "total": 2.5}]},
          "é": {"id": "é", "tags": []}}


@pytest.mark.parametrize(("members", "columns"), [
    ({}, []),
    ({"empty": [], "some": [1, 2, 3]}, []),
    ({"ü": list(range(2_500)), "quoted": ["é", 'q"uote']}, []),  # past a thousand: chunks
    ({"with_fields": [1, "é", 7]}, ["country", "orders", "tags"]),
])
def test_the_streamed_document_is_json_dumps_of_it(members, columns):
    out = io.StringIO()
    cli._write_json(out, members, columns, LOOKUP, NOW, 42)
    shown = {name: [cli._member_object(i, columns, LOOKUP) for i in ids] if columns
             else list(ids) for name, ids in members.items()}
    document = {"now": iso_text(NOW), "total": 42,
                "sizes": {name: len(ids) for name, ids in members.items()}, "members": shown}
    assert out.getvalue() == json.dumps(document, indent=2, default=cli._json_default) + "\n"


@pytest.fixture
def shop(tmp_path):
    (tmp_path / "rules.seg").write_text("segment big = x > 1\n", encoding="utf-8")
    (tmp_path / "customers.jsonl").write_text('{"id": 1, "email": "a@b.fr", "x": 5}\n'
                                              '{"id": 2, "x": 3}\n', encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("data", ["customers.jsonl", "customers.json"])
def test_a_column_no_customer_has_is_written_empty_with_a_warning(capsys, shop, data):
    """A misspelt --columns field: its column is empty, and stderr says so with the field
    meant (JSON Lines are read as a stream, a JSON document whole: the same note)."""
    from tests.command_line import run

    lines = (shop / "customers.jsonl").read_text(encoding="utf-8").splitlines()
    (shop / "customers.json").write_text("[" + ",".join(lines) + "]", encoding="utf-8")
    status, out, err = run(capsys, "eval", str(shop / "rules.seg"), "--data", str(shop / data),
                           "--now", "2026-07-15", "--isolated", "--columns", "emial,email",
                           "--format", "csv")
    assert (status, out) == (0, "segment,customer_id,emial,email\nbig,1,,a@b.fr\nbig,2,,\n")
    assert err == ("segdsl: warning: --columns emial: no customer has a value there, the column "
                   "is empty; did you mean email?\n")


@pytest.mark.parametrize("column", ["segment", "customer_id"])
def test_a_column_named_as_the_outputs_own_is_refused(capsys, shop, column):
    from tests.command_line import run

    status, out, err = run(capsys, "eval", str(shop / "rules.seg"), "--data",
                           str(shop / "customers.jsonl"), "--now", "2026-07-15", "--isolated",
                           "--columns", f"email,{column}", "--format", "csv")
    assert (status, out) == (2, "")
    assert err == (f"segdsl: --columns {column}: the output's own column is named so; the "
                   "customer's id is in customer_id\n")


def test_spooled_members_are_written_as_listed_ones():
    spooled = SpooledIds(chunk=700)
    for identity in range(2_500):
        spooled.append(identity)
    written, listed = io.StringIO(), io.StringIO()
    cli._write_json(written, {"s": spooled, "t": SpooledIds()}, [], LOOKUP, NOW, 42)
    cli._write_json(listed, {"s": list(range(2_500)), "t": []}, [], LOOKUP, NOW, 42)
    assert written.getvalue() == listed.getvalue()


def test_eval_of_a_stream_keeps_members_on_disk_and_answers_as_a_list(tmp_path, monkeypatch,
                                                                     capsys):
    """Read as a stream (JSON Lines), the members go through a spool of 3 ids a chunk; read
    as a list (JSON), they stay in memory. The documents are the same."""
    rules = tmp_path / "rules.seg"
    rules.write_text('segment even = id % 2 == 0\nsegment thirds = id % 3 != 0\n',
                     encoding="utf-8")
    customers = [{"id": i} for i in range(1, 40)]
    lines, listed = tmp_path / "customers.jsonl", tmp_path / "customers.json"
    lines.write_text("".join(json.dumps(c) + "\n" for c in customers), encoding="utf-8")
    listed.write_text(json.dumps(customers), encoding="utf-8")
    made = []

    def small_spool():
        made.append(SpooledIds(chunk=3))
        return made[-1]

    monkeypatch.setattr(cli, "SpooledIds", small_spool)
    documents = []
    for data in (lines, listed):
        assert cli.main(["eval", str(rules), "--data", str(data), "--now", "2026-07-15",
                         "--format", "json"]) == 0
        documents.append(json.loads(capsys.readouterr().out))
    assert len(made) == 2 and all(spool._file is not None for spool in made)
    assert documents[0] == documents[1]
    assert documents[0]["members"] == {"even": list(range(2, 40, 2)),
                                       "thirds": [i for i in range(1, 40) if i % 3]}


def test_a_spool_reads_back_in_order_after_an_unfinished_reading():
    spooled = SpooledIds(chunk=4)
    for identity in ["a", 1, None, 2.5, "é", 7, 8, 9, 10]:
        spooled.append(identity)
    reading = iter(spooled)
    assert [next(reading), next(reading)] == ["a", 1]
    spooled.append("last")
    spooled.append("after")  # the second chunk written: at the end, not where reading stopped
    assert len(spooled) == 11
    assert list(spooled) == ["a", 1, None, 2.5, "é", 7, 8, 9, 10, "last", "after"]
    spooled.close()
    assert list(spooled) == [] and len(spooled) == 0
