"""Literals a value can never hold are caught before any data is read: RFM groups and the
values a schema declares with OneOf (also proposed by Schema.infer)."""

import random

import pytest

import segdsl
from segdsl.population import RFM_GROUPS

EVENT_TYPES = ("visit", "cart_abandoned", "email_open", "email_click")
SCHEMA = segdsl.Schema({
    "id": "number",
    "country": segdsl.OneOf("FR", "BE", "France"),
    "events": segdsl.ListOf({"type": segdsl.OneOf(*EVENT_TYPES), "at": "datetime"}),
})


def _error(rule, schema=None):
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.loads(f"segment s = {rule}", file="rules.seg", schema=schema)
    error = caught.value
    return error.message, (error.line, error.column, error.span.end_column), error.hint


@pytest.mark.parametrize("rule, literal, column, suggestion", [
    ('rfm.group == "champion"', "champion", 26, "champions"),
    ('rfm.group == "Champions"', "Champions", 26, "champions"),
    ('rfm.group != "loyals"', "loyals", 26, "loyal"),
    ('"at_risks" == rfm.group', "at_risks", 13, "at_risk"),
    ('rfm.group in ["loyal", "champion"]', "champion", 36, "champions"),
    ('rfm.group not in ["Lost"]', "Lost", 31, "lost"),
])
def test_unknown_rfm_group_is_a_check_error_with_did_you_mean(rule, literal, column, suggestion):
    """Comparing rfm.group with a name that is no RFM group is a CheckError on the literal."""
    message, span, hint = _error(rule)
    assert message == f"'{literal}' is never a value of rfm.group"
    assert span == (1, column, column + len(literal) + 2)
    assert hint == (f"did you mean '{suggestion}'? (rfm.group is one of "
                    f"{', '.join(sorted(RFM_GROUPS))})")


def test_every_rfm_group_is_accepted():
    """The eleven group names of segdsl.population check without error."""
    names = ", ".join(f'"{g}"' for g in RFM_GROUPS)
    segdsl.loads(f'segment s = rfm.group in [{names}] or rfm.group == "champions"')


@pytest.mark.parametrize("rule, literal, column, suggestion, what", [
    ('events("vist", 30d) >= 1', "vist", 20, "visit", "'type'"),
    ('count(events, where = type == "vist") > 0', "vist", 43, "visit", "'type'"),
    ('exists(events, where = type in ["visit", "emailopen"])', "emailopen", 54,
     "email_open", "'type'"),
    ('country == "Frnace"', "Frnace", 24, "France", "'country'"),
    ('country != "fr"', "fr", 24, "FR", "'country'"),
    ('country in ["FR", "BEL"]', "BEL", 31, "BE", "'country'"),
])
def test_value_outside_a_declared_one_of_is_a_check_error(rule, literal, column, suggestion,
                                                          what):
    """A literal outside a OneOf field's values is a CheckError with a did-you-mean hint."""
    message, span, hint = _error(rule, SCHEMA)
    assert message == f"'{literal}' is never a value of {what}"
    assert span == (1, column, column + len(literal) + 2)
    assert hint.startswith(f"did you mean '{suggestion}'? ({what} is one of ")


def test_declared_values_check_and_evaluate():
    """Rules using only declared values check, and evaluate as plain string comparisons."""
    rules = segdsl.loads('segment s = events("visit", 30d) >= 1 and country in ["FR", "BE"]',
                         schema=SCHEMA)
    customer = {"id": 1, "country": "FR",
                "events": [{"type": "visit", "at": "2026-07-10T00:00:00Z"}]}
    assert rules["s"].matches(customer, now="2026-07-15T00:00:00Z") is True
    other = dict(customer, country="DE")  # a value the schema did not list equals none
    assert rules["s"].matches(other, now="2026-07-15T00:00:00Z") is False


def test_one_of_needs_strings():
    """OneOf with no values, or values that are not strings, is a UsageError."""
    with pytest.raises(segdsl.UsageError):
        segdsl.OneOf()
    with pytest.raises(segdsl.UsageError):
        segdsl.OneOf("a", 1)
    assert segdsl.OneOf(["a", "b"]) == segdsl.OneOf("b", "a")


def _sample(count, seed=7):
    rng = random.Random(seed)
    return [{"id": i, "email": f"user{i}@shop.fr", "country": rng.choice(["FR", "BE"]),
             "events": [{"type": rng.choice(EVENT_TYPES), "ref": f"r{i}-{j}",
                         "at": "2026-07-01T10:00:00Z"} for j in range(3)]}
            for i in range(count)]


def test_infer_proposes_the_values_of_a_low_cardinality_list_field():
    """Schema.infer gives events.type the values seen; not the unique refs, not customer fields."""
    schema = segdsl.Schema.infer(_sample(20))  # 60 events, 4 types
    fields = schema.fields["events"].element.fields
    assert fields["type"].values == frozenset(EVENT_TYPES)
    assert fields["ref"].values is None
    assert schema.fields["country"].values is None
    with pytest.raises(segdsl.CheckError, match="'vist' is never a value of 'type'"):
        segdsl.loads('segment s = events("vist", 30d) > 0', schema=schema)


def test_infer_proposes_nothing_from_too_few_values():
    """Under 50 values seen, Schema.infer proposes no set (the sample says too little)."""
    schema = segdsl.Schema.infer(_sample(16))  # 48 events
    assert schema.fields["events"].element.fields["type"].values is None


def test_infer_proposes_nothing_beyond_twenty_distinct_values():
    """A list field with more than 20 distinct strings is left a plain string."""
    records = [{"id": i, "events": [{"type": f"kind{i % 21}", "at": "2026-07-01T10:00:00Z"}]}
               for i in range(100)]
    schema = segdsl.Schema.infer(records)
    assert schema.fields["events"].element.fields["type"].values is None


def test_a_misspelling_in_capitals_is_matched_in_lower_case():
    """'VIST' is close to no value as written; in lower case it is close to 'visit'."""
    _, _, hint = _error('events("VIST", 30d) >= 1', SCHEMA)
    assert hint == ("did you mean 'visit'? ('type' is one of cart_abandoned, email_click, "
                    "email_open, visit)")


@pytest.mark.parametrize("count, shown", [
    (20, ", ".join(f"v{i:02}" for i in range(20))),
    (21, "21 values, declared in the schema"),
])
def test_the_hint_lists_up_to_twenty_declared_values(count, shown):
    schema = {"tier": segdsl.OneOf(*(f"v{i:02}" for i in range(count)))}
    _, _, hint = _error('tier == "V05"', schema)
    assert hint == f"did you mean 'v05'? ('tier' is one of {shown})"
