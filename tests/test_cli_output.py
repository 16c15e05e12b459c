"""`segdsl eval --format json` writes its document as it formats it: the text is, to the
character, the standard library's ``json.dumps(document, indent=2)``."""

import datetime as dt
import io
import json

import pytest

from segdsl import cli
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
