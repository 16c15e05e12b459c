"""Rule texts as editors save them: a byte-order mark changes nothing; warnings print like errors."""

import pytest

import segdsl


def test_byte_order_mark_leaves_positions_unchanged():
    """With a BOM first, the parsed spans are those of the same text without it."""
    text = 'segment a = country == "FR"\nsegment b = a and x > 1\n'
    assert segdsl.parse("\ufeff" + text) == segdsl.parse(text)
    with_bom = segdsl.parse("\ufeff" + text).statements[1].body.span
    assert with_bom == segdsl.parse(text).statements[1].body.span
    assert (segdsl.parse("\ufeff" + text).statements[0].span.column,
            segdsl.parse("\ufeff" + text).statements[0].span.start) == (1, 0)


def test_byte_order_mark_is_accepted_by_loads_and_load(tmp_path):
    """loads and load accept a text that starts with a BOM, and evaluate it."""
    text = '\ufeffsegment french = country == "FR"\n'
    assert segdsl.loads(text)["french"].matches({"id": 1, "country": "FR"}) is True
    path = tmp_path / "rules.seg"
    path.write_bytes(text.encode("utf-8"))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert segdsl.load(path)["french"].matches({"id": 1, "country": "BE"}) is False


def test_errors_after_a_byte_order_mark_point_where_the_editor_shows():
    """A check error in a text with a BOM has the line, column and caret of the text without it."""
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.loads("\ufeffsegment a = visits(30d)\n")
    error = caught.value
    assert (error.line, error.column) == (1, 13)
    assert str(error).splitlines()[1:3] == ["  segment a = visits(30d)",
                                            "              ^^^^^^^^^^^"]


def test_str_of_a_warning_renders_location_source_line_and_caret():
    """str(warning) is file:line:col, the source line, carets and the hint, like an error."""
    _, warnings = segdsl.check('segment a = not (country == "FR")', file="rules.seg")
    assert str(warnings[0]) == (
        "rules.seg:1:13: warning: customers whose country is null are left out: the negation is "
        "unknown, not true, for them\n"
        '  segment a = not (country == "FR")\n'
        "              ^^^^^^^^^^^^^^^^^^^^^\n"
        "  hint: add 'or country is null' to keep them")
