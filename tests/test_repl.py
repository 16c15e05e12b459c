"""The REPL: the session's answers, multi-line input, completion, and its front ends."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

import segdsl
from segdsl import cli, repl
from segdsl.data import read_customers
from segdsl.repl import Session, SessionCompleter, continues, run_plain, run_prompt

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "data" / "customers.jsonl"
SUMMER_SALE = ROOT / "examples" / "summer_sale.seg"
NOW = "2026-07-15T12:00:00Z"

# Four customers whose memberships are worked out by hand at NOW:
# 1 bought 120 five days ago; 2 visited three times this month and never bought;
# 3 has no country and spent 40 in January; 4 spent 140 in the last year, the
# latest order in May (more than 30 days ago).
CUSTOMERS = [
    {"id": 1, "country": "FR", "orders": [{"at": "2026-07-10T10:00:00Z", "total": 120.0}]},
    {"id": 2, "country": "BE",
     "events": [{"type": "visit", "at": f"2026-07-{day:02d}T09:00:00Z"} for day in (1, 8, 14)]},
    {"id": 3, "orders": [{"at": "2026-01-05T10:00:00Z", "total": 40.0}]},
    {"id": 4, "country": "FR", "orders": [{"at": "2026-05-01T10:00:00Z", "total": 80.0},
                                          {"at": "2025-12-01T10:00:00Z", "total": 60.0}]},
]


@pytest.fixture(scope="module")
def shop_customers():
    """The 2,000 example customers, read once."""
    return read_customers(SHOP)


@pytest.fixture(scope="module")
def shop(shop_customers) -> Session:
    """A session on the example data with the summer sale rules loaded (tests only read it)."""
    session = Session(now=NOW)
    session.use_customers(shop_customers, "customers.jsonl")
    session.load_rules(SUMMER_SALE)
    return session


def small_session() -> Session:
    """A session on the four customers above."""
    session = Session(now=NOW)
    session.use_customers(CUSTOMERS, "shop.jsonl")
    return session


def completions(session: Session, text: str, *, tab: bool = False) -> list[str]:
    """The completions the prompt_toolkit completer offers with the cursor after ``text``."""
    event = CompleteEvent(completion_requested=tab)
    found = SessionCompleter(session).get_completions(Document(text), event)
    return [completion.text for completion in found]


# ------------------------------------------------------------ expressions


def test_an_expression_shows_how_many_customers_match_and_which():
    """Typing a rule prints the count, the share and the matching ids."""
    assert small_session().run('country == "FR"') == (
        "2 of 4 customers match (50.0%)\n"
        "ids: 1, 4")


def test_no_match_prints_no_ids():
    """A rule nobody matches prints the count alone."""
    assert small_session().run('country == "DE"') == "0 of 4 customers match (0.0%)"


def test_the_undecided_visitors_of_the_example_data(shop, shop_customers):
    """The count agrees with RuleSet.evaluate, and only ten ids are shown."""
    rule = "visits(30d) >= 10 and not purchased(30d)"
    expected = segdsl.loads(f"segment s = {rule}").evaluate(shop_customers, now=NOW)["s"]
    assert len(expected) == 153
    assert shop.run(rule) == (
        "153 of 2,000 customers match (7.7%)\n"
        "ids: 8, 18, 52, 72, 79, 82, 89, 105, 114, 133 and 143 more")
    assert expected[:10] == [8, 18, 52, 72, 79, 82, 89, 105, 114, 133]


def test_a_segment_name_evaluates_the_segment(shop):
    """Typing the name of a loaded segment evaluates it."""
    assert shop.run("undecided").splitlines()[0] == (
        "153 of 2,000 customers match (7.7%)")


def test_population_functions_rank_among_the_loaded_customers(shop, shop_customers):
    """rfm.* scores use the loaded customers as the population."""
    expected = segdsl.compile("rfm.frequency >= 4").filter(shop_customers, now=NOW)
    answer = shop.run("rfm.frequency >= 4")
    assert len(expected) == 510
    assert answer.splitlines()[0] == "510 of 2,000 customers match (25.5%)"


def test_without_customers_a_rule_is_only_checked():
    """Before :data, an expression is checked and the session says how to evaluate it."""
    assert Session(now=NOW).run("visits(30d) >= 10") == (
        "the rule checks; load customers with :data FILE to see whom it matches")


def test_warnings_are_shown_before_the_count():
    """A negation that drops null customers is warned about, with its caret."""
    assert small_session().run('country != "FR"') == (
        "<input>:1:1: warning: customers whose country is null are left out: the negation is "
        "unknown, not true, for them\n"
        '  country != "FR"\n'
        "  ^^^^^^^^^^^^^^^\n"
        "  hint: add 'or country is null' to keep them\n"
        "1 of 4 customers match (25.0%)\n"
        "ids: 2")


def test_a_field_no_customer_has_gets_a_note():
    """A misspelt field, null for everyone, is pointed out with a did-you-mean."""
    assert small_session().run('contry == "FR" or contry == "BE"') == (
        "<input>:1:1: note: no customer in shop.jsonl has a field 'contry'\n"
        '  contry == "FR" or contry == "BE"\n'
        "  ^^^^^^\n"
        "  hint: did you mean 'country'?\n"
        "0 of 4 customers match (0.0%)")


def test_a_field_only_the_last_customer_has_is_known():
    """Field names come from every customer, not only the sample whose types are inferred."""
    session = Session(now=NOW)
    session.use_customers([{"id": n} for n in range(150)] + [{"id": 150, "vip": True}])
    assert session.run("vip") == "1 of 151 customers match (0.7%)\nids: 150"
    assert completions(session, "vi") == ["vip", "visits"]


def test_a_multi_line_expression_is_one_input():
    """An expression written over several lines is evaluated as one."""
    assert small_session().run("spent(365d) >= 100 and\nnot purchased(30d)") == (
        "1 of 4 customers match (25.0%)\n"
        "ids: 4")


def test_the_readme_transcript_is_what_the_session_answers(shop_customers):
    """Each input of the README's REPL transcript gets the answer shown there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    transcript = readme.split("## The REPL", 1)[1].split("```", 2)[1].splitlines()
    session = Session(now=NOW)
    session.use_customers(shop_customers, "customers.jsonl")
    session.load_rules(SUMMER_SALE)
    inputs: list[tuple[list[str], list[str]]] = []  # the lines of each input, and its answer
    for line in transcript:
        if line.startswith(repl.PROMPT):
            inputs.append(([line[len(repl.PROMPT):]], []))
        elif line.startswith(repl.CONTINUATION):
            inputs[-1][0].append(line[len(repl.CONTINUATION):])
        elif inputs:
            inputs[-1][1].append(line)
    assert len(inputs) == 4
    for lines, answer in inputs:
        assert session.run("\n".join(lines)).splitlines() == answer


# ----------------------------------------------------------------- errors


def test_an_error_shows_the_caret_and_the_session_goes_on():
    """A check error is rendered with caret and hint; the next input still works."""
    session = small_session()
    reply = session.handle("spent(365d) > 100 and vists(30d) > 2")
    assert reply.error and not reply.quit
    assert reply.text == (
        "<input>:1:23: unknown function 'vists'\n"
        "  spent(365d) > 100 and vists(30d) > 2\n"
        "                        ^^^^^^^^^^\n"
        "  hint: did you mean 'visits'?")
    assert session.run('country == "BE"') == "1 of 4 customers match (25.0%)\nids: 2"


def test_a_syntax_error_points_into_the_typed_line():
    """A syntax error on the second line of an input points at that line."""
    lines = small_session().run('country == "FR" and\n(visits(30d) > 1').splitlines()
    assert lines[0].startswith("<input>:2:1: ")
    assert lines[1:3] == ["  (visits(30d) > 1", "  ^"]


def test_an_unexpected_exception_is_one_line(monkeypatch):
    """A bug inside the session prints one line and does not end the session."""
    session = small_session()

    def broken(text):
        raise RuntimeError("boom\nat line 2")

    monkeypatch.setattr(session, "_evaluate", broken)
    reply = session.handle("true")
    assert reply.error and not reply.quit
    assert reply.text == "internal error (RuntimeError: boom at line 2); please report it"
    assert session.run(":now") == "now = 2026-07-15T12:00:00Z"


# ------------------------------------------------------------- statements


def test_a_segment_statement_is_added_and_redefining_says_so():
    """segment defines, the same name again replaces it, and its name evaluates it."""
    session = small_session()
    assert session.run('segment fr = country == "FR"') == (
        "segment fr defined: 2 of 4 customers match (50.0%)")
    assert session.run('segment fr = country == "BE"') == (
        "segment fr redefined: 1 of 4 customers match (25.0%)")
    assert session.run("fr") == "1 of 4 customers match (25.0%)\nids: 2"


def test_a_name_redefined_as_another_kind_says_what_it_replaces():
    """A period replacing a segment of the same name says so."""
    session = small_session()
    session.run("segment sale = true")
    assert session.run("period sale = 2026-07-01 .. 2026-07-31") == (
        "period sale defined, replacing segment sale")
    assert session.run("purchased(sale)") == "1 of 4 customers match (25.0%)\nids: 1"


def test_a_definition_that_breaks_another_is_refused():
    """The error points into the statement it breaks, typed earlier; nothing changes."""
    session = small_session()
    session.run('segment fr = country == "FR"')
    session.run("segment fr_buyers = fr and purchased(365d)")
    assert session.run("period fr = 2026-07-01 .. 2026-07-31") == (
        "<input>:1:21: each side of 'and' must be a condition (true or false), but this is a "
        "period\n"
        "  segment fr_buyers = fr and purchased(365d)\n"
        "                      ^^")
    assert session.run("fr_buyers") == "2 of 4 customers match (50.0%)\nids: 1, 4"


def test_a_def_typed_in_the_session_can_be_called():
    """A def is added to the session and inlined where it is called."""
    session = small_session()
    answer = session.run("def big_spender(amount) = spent(365d) >= amount")
    assert answer == "def big_spender defined"
    assert session.run("big_spender(130)") == "1 of 4 customers match (25.0%)\nids: 4"


def test_two_statements_of_one_name_in_one_input_are_an_error():
    """A name defined twice in one input is refused with the file's own message."""
    assert small_session().run("segment a = true\nsegment a = false") == (
        "<input>:2:9: 'a' is defined twice (first on line 1)\n"
        "  segment a = false\n"
        "          ^\n"
        "  hint: rename one of them")


# --------------------------------------------------------------- commands


def write_rules(folder: Path) -> Path:
    """A small rule file, the segment indented over three lines."""
    path = folder / "rules.seg"
    path.write_text("# July\nperiod july = 2026-07-01 .. 2026-07-31\n\n"
                    '  segment july_fr "French buyers in July" =\n'
                    "    purchased(july)\n      and country == 'FR'\n", encoding="utf-8")
    return path


def test_load_adds_the_statements_of_a_rule_file(tmp_path):
    """:load reports what the file defines; its segments are then known."""
    path = write_rules(tmp_path)
    session = small_session()
    assert session.run(f":load {path}") == f"loaded {path}: 1 segment and 1 period"
    assert session.run("july_fr") == "1 of 4 customers match (25.0%)\nids: 1"
    assert session.run(f":load {path}") == (
        f"loaded {path}: 1 segment and 1 period\nreplaced july, july_fr")


def test_errors_in_loaded_statements_point_into_their_file(tmp_path):
    """Breaking a loaded segment from the prompt shows the file's own line and column."""
    path = write_rules(tmp_path)
    session = small_session()
    session.run(f":load {path}")
    assert session.run("segment july = true") == (
        f"{path}:5:15: a window is a duration (30d) or a period, not a bool\n"
        "      purchased(july)\n"
        "                ^^^^\n"
        "  hint: within = 30d, during = summer_sale")


def test_load_refuses_a_file_with_errors_and_lists_them_all(tmp_path):
    """Every error of a bad file is shown and none of its statements is added."""
    path = tmp_path / "bad.seg"
    path.write_text("segment a = nope(1)\nsegment b = zzz(2) > 1\n", encoding="utf-8")
    session = small_session()
    answer = session.run(f":load {path}")
    assert [line for line in answer.splitlines() if line.startswith(str(path))] == [
        f"{path}:1:13: unknown function 'nope'", f"{path}:2:13: unknown function 'zzz'"]
    assert session.run(":segments") == "no segments yet: type segment NAME = RULE, or :load FILE"


def test_data_loads_customers(tmp_path):
    """:data reads JSON Lines and replaces the customers."""
    path = tmp_path / "two.jsonl"
    path.write_text('{"id": "a", "vip": true}\n{"id": "b", "vip": false}\n', encoding="utf-8")
    session = small_session()
    assert session.run(f":data {path}") == f"loaded 2 customers from {path}"
    assert session.run("vip") == "1 of 2 customers match (50.0%)\nids: a"


def test_segments_lists_names_descriptions_sizes_periods_and_defs():
    """:segments is a table of segments, then the periods and defs."""
    session = small_session()
    session.run('segment fr "From France" = country == "FR"')
    session.run("segment big = spent(365d) >= 100")
    session.run("period july = 2026-07-01 .. 2026-07-31")
    session.run("def over(amount) = spent(365d) > amount")
    assert session.run(":segments") == (
        "segment  customers  share  description\n"
        "fr               2  50.0%  From France\n"
        "big              2  50.0%\n"
        "periods: july (2026-07-01 .. 2026-07-31)\n"
        "defs: over(amount)")


def test_segments_without_customers_lists_names_and_descriptions():
    """Before :data, :segments has no sizes."""
    session = Session(now=NOW)
    session.run('segment fr "From France" = country == "FR"')
    session.run("segment everyone = true")
    assert session.run(":segments") == "fr        From France\neveryone"


def test_explain_the_last_expression():
    """:explain ID explains the expression typed last, sub-expression by sub-expression."""
    session = small_session()
    session.run("spent(365d) >= 100 and not purchased(30d)")
    assert session.run(":explain 3") == (
        "spent(365d) >= 100 and not purchased(30d) -> false\n"
        "├── spent(365d) >= 100 -> false\n"
        "│   └── spent(365d) = 40\n"
        "└── not purchased(30d) -> not evaluated")


def test_explain_a_segment_or_an_expression():
    """:explain ID SEGMENT explains the segment; any other text is an expression."""
    session = small_session()
    session.run('segment fr = country == "FR"')
    assert session.run(":explain 1 fr") == (
        "fr -> true\n"
        '└── country == "FR" -> true\n'
        '    └── country = "FR"')
    assert session.run(":explain 2 visits(30d) >= 3") == (
        "visits(30d) >= 3 -> true\n"
        "└── visits(30d) = 3")


@pytest.mark.parametrize("session, command, message", [
    (Session(now=NOW), ":explain 1 true", "no customers loaded: use :data FILE"),
    (small_session(), ":explain 9 true", "no customer with id 9 in shop.jsonl"),
    (small_session(), ":explain 1", "nothing to explain yet: type an expression first, or give "
                                    "one: :explain ID SEGMENT|EXPRESSION"),
    (small_session(), ":explain", "usage: :explain ID [SEGMENT|EXPRESSION]"),
    (small_session(), ":load", "usage: :load FILE"),
])
def test_command_misuse_is_explained(session, command, message):
    """A command missing its data or arguments says what it needs."""
    reply = session.handle(command)
    assert (reply.text, reply.error) == (message, True)


def test_show_prints_the_record_as_compact_json():
    """:show ID prints the customer on one line."""
    assert small_session().run(":show 4") == (
        '{"id": 4, "country": "FR", "orders": [{"at": "2026-05-01T10:00:00Z", "total": 80.0}, '
        '{"at": "2025-12-01T10:00:00Z", "total": 60.0}]}')


def test_now_is_shown_set_and_reset():
    """:now shows the time, :now DATE changes the answers, :now now follows the clock."""
    session = small_session()
    assert session.run(":now") == "now = 2026-07-15T12:00:00Z"
    assert session.run("purchased(30d)") == "1 of 4 customers match (25.0%)\nids: 1"
    assert session.run(":now 2026-05-15") == "now = 2026-05-15T00:00:00Z"
    assert session.run("purchased(30d)") == "1 of 4 customers match (25.0%)\nids: 4"
    assert session.run(":now now").startswith("now = the current time (20")


def test_schema_lists_the_fields_of_the_loaded_customers():
    """:schema shows the inferred fields, lists of records indented."""
    assert small_session().run(":schema") == (
        "id: number\n"
        "country: string\n"
        "orders: list of records, stamped by at\n"
        "  at: datetime\n"
        "  total: number\n"
        "events: list of records, stamped by at\n"
        "  type: string\n"
        "  at: datetime")


def test_help_documents_every_command():
    """:help has a line for each command."""
    answer = Session().run(":help")
    for command in repl.COMMANDS.values():
        assert f"  {command.usage}  " in answer


@pytest.mark.parametrize("typed, message", [
    (":lod x", "unknown command :lod; did you mean :load? (:help lists the commands)"),
    (":s", ":s is short for several commands: :segments, :show, :schema"),
])
def test_unknown_commands_get_a_hint(typed, message):
    """An unknown or ambiguous command is an error with a hint."""
    assert Session().handle(typed) == repl.Reply(message, error=True)


@pytest.mark.parametrize("typed", [":quit", ":q", ":exit"])
def test_quit(typed):
    """:quit, its prefix :q, and :exit end the session."""
    assert Session().handle(typed) == repl.Reply("", quit=True)


# ------------------------------------------------------- multi-line input


@pytest.mark.parametrize("text, goes_on", [
    ("visits(30d) >= 10 and", True),
    ("visits(30d) >= 10 and not", True),
    ("visits(30d) >= 10 or", True),
    ("spent(365d) >=", True),
    ("count(orders,", True),
    ("count(orders, within = 30d", True),
    ('country in ["FR",\n"BE"', True),
    ("segment undecided =", True),
    ('segment undecided "no order yet"', True),
    ("period sale = 2026-06-24 ..", True),
    ("visits(30d) >= 10", False),
    ('country in ["FR", "BE"]', False),
    ("visits(30d) >= 10 # and", False),
    ('name == "(and"', False),
    ("segment undecided = visits(30d) >= 10", False),
    (":explain 8 (", False),
    ("", False),
])
def test_an_input_goes_on_while_brackets_are_open_or_it_ends_with_an_operator(text, goes_on):
    """continues() is true exactly for unfinished inputs; strings, comments and commands
    do not count."""
    assert continues(text) is goes_on


# ------------------------------------------------------------- completion


def test_completes_prelude_functions():
    """'vis' completes to the prelude's visits."""
    assert completions(Session(), "vis") == ["visits"]


def test_completes_rfm_scores_after_the_dot():
    """'rfm.' offers the five RFM measures."""
    assert completions(Session(), "rfm.") == [
        "rfm.frequency", "rfm.group", "rfm.monetary", "rfm.recency", "rfm.score"]


def test_completes_command_names():
    """':ex' completes to ':explain'; ':s' to the three commands it starts."""
    assert completions(Session(), ":ex") == [":explain"]
    assert completions(Session(), ":s") == [":segments", ":show", ":schema"]


def test_completes_fields_of_the_loaded_customers(shop):
    """Field names come from the loaded data."""
    session = shop
    assert completions(session, "email_") == ["email_subscribed"]
    assert completions(session, "loyal") == ["loyal_buyers", "loyalty_points"]


def test_completes_segment_period_and_def_names():
    """Names defined in the session are offered, keywords after the first word too."""
    session = small_session()
    session.run("segment frequent = true")
    session.run("period july = 2026-07-01 .. 2026-07-31")
    assert completions(session, "country == 'FR' and fre") == ["frequent"]
    assert completions(session, "purchased(ju") == ["july"]
    assert completions(session, "se") == ["segment"]
    assert completions(session, "x and se") == []


def test_completes_value_paths_only_inside_aggregations():
    """orders.total is a value path inside sum(...), not a field elsewhere."""
    session = small_session()
    assert completions(session, "sum(orders.t") == ["orders.total"]
    assert completions(session, "orders.t") == []


def test_completes_element_fields_inside_where():
    """Inside count(events, where = ...), the event's fields are in scope."""
    session = small_session()
    assert completions(session, "count(events, where = ty") == ["type"]
    assert completions(session, "count(events, wh") == ["where"]


def test_completion_after_a_space_waits_for_tab():
    """With no word typed, names are offered only when Tab asks for them."""
    session = small_session()
    assert completions(session, "country == 'FR' and ") == []
    offered = completions(session, "country == 'FR' and ", tab=True)
    assert {"visits", "country", "not", "rfm"} <= set(offered)


def test_no_completion_inside_strings_comments_or_numbers():
    """Text inside a string or comment, or a duration, is not completed."""
    session = small_session()
    assert completions(session, 'country == "vi', tab=True) == []
    assert completions(session, "true # vi", tab=True) == []
    assert completions(session, "visits(30d", tab=True) == []


def test_completes_file_names_after_load_and_data(tmp_path):
    """:load offers rule files and folders, :data data files."""
    (tmp_path / "rules.seg").write_text("", encoding="utf-8")
    (tmp_path / "customers.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "rules_old").mkdir()
    assert completions(Session(), f":load {tmp_path}/ru") == [
        f"{tmp_path}/rules.seg", f"{tmp_path}/rules_old/"]
    assert completions(Session(), f":data {tmp_path}/") == [
        f"{tmp_path}/customers.jsonl", f"{tmp_path}/rules_old/"]


def test_explain_completes_segment_names_after_the_id():
    """:explain ID completes the segment or expression that follows."""
    session = small_session()
    session.run("segment frequent = true")
    assert completions(session, ":explain 4 freq") == ["frequent"]


def test_readline_gets_completions_for_its_own_word():
    """readline's word may start later than ours (at a '/'): the candidate is cut to fit."""
    candidates = [repl.Candidate("visits", -3)]
    assert repl._readline_matches(candidates, "2/vis", begin=2, end=5) == ["visits"]
    assert repl._readline_matches(candidates, "a/vis", begin=0, end=5) == ["a/visits"]


# ------------------------------------------------------------- front ends


def test_prompt_toolkit_front_end_runs_a_scripted_session(tmp_path):
    """Lines typed at the prompt_toolkit prompt, one of them over two lines, are answered
    in order; the history file keeps each input; :quit ends the session."""
    out = io.StringIO()
    history = tmp_path / "history"
    with create_pipe_input() as keys:
        keys.send_text('segment fr = country == "FR"\r')
        keys.send_text("spent(365d) >= 100 and\r")
        keys.send_text("not purchased(30d)\r")
        keys.send_text("country ==\r\r")
        keys.send_text(":explain 4\r")
        keys.send_text(":quit\r")
        keys.send_text("true\r")  # never read
        run_prompt(small_session(), input=keys, output=DummyOutput(), out=out, history=history)
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["segment fr defined: 2 of 4 customers match (50.0%)",
                         "1 of 4 customers match (25.0%)",
                         "ids: 4"]
    assert lines[3].startswith("<input>:1:9: ")  # the blank line ended 'country ==' unfinished
    assert lines[4] == "  country =="
    assert lines[-5:] == ["spent(365d) >= 100 and not purchased(30d) -> true",
                          "├── spent(365d) >= 100 -> true",
                          "│   └── spent(365d) = 140",
                          "└── not purchased(30d) -> true",
                          "    └── purchased(30d) -> false"]
    stored = history.read_text(encoding="utf-8")
    assert "+spent(365d) >= 100 and\n+not purchased(30d)\n" in stored
    assert "+:quit\n" in stored


def test_prompt_toolkit_front_end_ends_at_end_of_input():
    """Ctrl-D (the end of input) ends the session like :quit."""
    out = io.StringIO()
    with create_pipe_input() as keys:
        keys.send_text('country == "BE"\r')
        keys.close()
        run_prompt(small_session(), input=keys, output=DummyOutput(), out=out, history=None)
    assert out.getvalue() == "1 of 4 customers match (25.0%)\nids: 2\n"


class Terminal(io.StringIO):
    """An output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_errors_are_red_only_on_a_terminal():
    """Errors are coloured when the output is a terminal; answers and files stay plain."""
    error, answer = repl.Reply("unknown command :x", error=True), repl.Reply("now = ...")
    terminal, file = Terminal(), io.StringIO()
    for out in (terminal, file):
        write = repl._Writer(out)
        write(error)
        write(answer)
    assert terminal.getvalue() == "\x1b[31munknown command :x\x1b[0m\nnow = ...\n"
    assert file.getvalue() == "unknown command :x\nnow = ...\n"


def scripted(lines: list[str]):
    """A read() for run_plain that returns ``lines`` and then ends the input."""
    pending = list(lines)
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        if not pending:
            raise EOFError
        return pending.pop(0)

    return read, prompts


def test_plain_front_end_continues_lines_and_a_blank_line_ends_an_input():
    """The fallback shows the ... prompt while an input goes on; a blank line submits it."""
    read, prompts = scripted(["country ==", '"FR"', "spent(365d) >=", "", "true and", "true"])
    out = io.StringIO()
    run_plain(small_session(), read=read, out=out, interactive=True, history=None)
    answer = out.getvalue()
    assert answer.startswith("2 of 4 customers match (50.0%)\nids: 1, 4\n<input>:1:")
    assert answer.endswith("4 of 4 customers match (100.0%)\nids: 1, 2, 3, 4\n")
    assert prompts == ["segdsl> ", "...     ", "segdsl> ", "...     ", "segdsl> ", "...     ",
                       "segdsl> "]


def test_plain_front_end_tells_about_the_richer_prompt(monkeypatch, tmp_path):
    """Without prompt_toolkit an interactive session says how to get it, then works."""
    read, _ = scripted([":now", ":quit"])
    monkeypatch.setattr(repl, "Completion", None)
    monkeypatch.setattr("builtins.input", read)
    monkeypatch.setenv("HOME", str(tmp_path))
    out = Terminal()
    assert repl.main(now=NOW, stdin=Terminal(), stdout=out) == 0
    assert out.getvalue().splitlines()[1:] == [
        "pip install 'segdsl[repl]' gives a richer prompt: multi-line editing, completion "
        "as you type",
        "now = 2026-07-15T12:00:00Z"]


def test_segdsl_repl_reads_a_piped_script(tmp_path):
    """With stdin not a terminal, `segdsl repl` answers each input without prompts,
    an error does not stop it (but makes the exit status 1), and a blank line ends
    a multi-line input."""
    rules = write_rules(tmp_path)
    data = tmp_path / "shop.jsonl"
    data.write_text("".join(json.dumps(customer) + "\n" for customer in CUSTOMERS),
                    encoding="utf-8")
    script = ("spent(365d) >= 100 and\n"
              "not purchased(30d)\n"
              "\n"
              "vists(30d) > 1\n"
              "july_fr\n"
              ":explain 1 july_fr\n")
    run = subprocess.run(
        [sys.executable, "-m", "segdsl", "repl", str(rules), "--data", str(data), "--now", NOW],
        input=script, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (run.returncode, run.stderr) == (1, "")
    assert run.stdout == (
        f"loaded {rules}: 1 segment and 1 period\n"
        f"loaded 4 customers from {data}\n"
        "1 of 4 customers match (25.0%)\n"
        "ids: 4\n"
        "<input>:1:1: unknown function 'vists'\n"
        "  vists(30d) > 1\n"
        "  ^^^^^^^^^^\n"
        "  hint: did you mean 'visits'?\n"
        "1 of 4 customers match (25.0%)\n"
        "ids: 1\n"
        "july_fr -> true\n"
        "└── purchased(july) and country == \"FR\" -> true\n"
        "    ├── purchased(july) -> true\n"
        "    └── country == \"FR\" -> true\n"
        "        └── country = \"FR\"\n")


def test_segdsl_repl_at_a_bad_file_fails_before_starting(capsys):
    """An unreadable rule file ends the command with status 2 and one line."""
    assert cli.main(["repl", "missing.seg"]) == 2
    assert capsys.readouterr() == ("", "segdsl: missing.seg: cannot read the rule file "
                                       "(No such file or directory)\n")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_segdsl_repl_in_a_terminal_completes_as_you_type(tmp_path):
    """In a real terminal `segdsl repl` runs prompt_toolkit: typing 'vis' pops up
    'visits', Enter answers, Ctrl-D leaves, and the history lands in the home folder."""
    import pty

    pid, terminal = pty.fork()
    if pid == 0:  # the child: the command, in the pseudo-terminal
        os.environ.update(HOME=str(tmp_path), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        os.execv(sys.executable, [sys.executable, "-m", "segdsl", "repl", "--now", NOW])
    screen = Screen(terminal)
    try:
        assert screen.wait_for(b"segdsl>")
        os.write(terminal, b"vis")
        assert screen.wait_for(b"visits")
        os.write(terminal, b"\x15segment a = true\r")  # Ctrl-U clears the line first
        assert screen.wait_for(b"segment a defined")
        assert screen.wait_for(b"segdsl>")  # keys sent before the prompt may be lost
        os.write(terminal, b"\x04")
        screen.wait_for(b"never printed", timeout=10)
    finally:
        status = exit_status(pid)
        os.close(terminal)
    assert status == 0
    assert (tmp_path / ".segdsl_history").read_text(encoding="utf-8").endswith(
        "\n+segment a = true\n")


# Runs `segdsl repl` as if prompt_toolkit were not installed.
WITHOUT_PROMPT_TOOLKIT = """
import sys

class NoPromptToolkit:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "prompt_toolkit":
            raise ImportError(name)

sys.meta_path.insert(0, NoPromptToolkit())
from segdsl.cli import main
sys.exit(main(["repl", "--now", "2026-07-15"]))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs a pseudo-terminal")
def test_the_plain_prompt_in_a_terminal_completes_with_tab(tmp_path):
    """Without prompt_toolkit, a terminal session says how to get it and uses readline:
    Tab completes (with the lines typed before as context), ... continues an input."""
    import pty

    pid, terminal = pty.fork()
    if pid == 0:
        os.environ.update(HOME=str(tmp_path), TERM="xterm")
        os.execv(sys.executable, [sys.executable, "-c", WITHOUT_PROMPT_TOOLKIT])
    screen = Screen(terminal)
    try:
        assert screen.wait_for(b"pip install 'segdsl[repl]' gives a richer prompt")
        assert screen.wait_for(b"segdsl> ")
        os.write(terminal, b"rfm.fr\t")
        assert screen.wait_for(b"rfm.frequency")
        os.write(terminal, b" >= 4 and\r")
        assert screen.wait_for(b"...     ")
        os.write(terminal, b"count(orders.to\t")
        assert screen.wait_for(b"orders.total")
        os.write(terminal, b") > 1\r")
        assert screen.wait_for(b"the rule checks")
        assert screen.wait_for(b"segdsl> ")
        os.write(terminal, b"\x04")
        screen.wait_for(b"never printed", timeout=10)
    finally:
        status = exit_status(pid)
        os.close(terminal)
    assert status == 0
    assert (tmp_path / ".segdsl_readline_history").exists()


def exit_status(pid: int, timeout: float = 10) -> int | None:
    """The exit status of child ``pid``; None if it had to be killed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended, status = os.waitpid(pid, os.WNOHANG)
        if ended:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


class Screen:
    """What a pseudo-terminal shows, read as it comes."""

    def __init__(self, terminal: int) -> None:
        self.terminal = terminal
        self.seen = b""
        self.position = 0  # where the next wait_for looks from

    def wait_for(self, marker: bytes, timeout: float = 20) -> bool:
        """Whether ``marker`` appears before the terminal closes or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.seen.find(marker, self.position)
            if found >= 0:
                self.position = found + len(marker)
                return True
            ready, _, _ = select.select([self.terminal], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.terminal, 4096)
            except OSError:  # the command ended
                return False
            if not chunk:
                return False
            self.seen += chunk
        return False


def test_explain_names_ids_as_eval_tells_them_apart():
    """`:explain 1` finds the id 1.0; the text "1" is quoted; an id that both the text "1"
    and the number 1 answer to is refused, naming both."""
    session = Session(now=NOW)
    session.use_customers([{"id": "1", "x": 5}, {"id": 2.0, "x": 0}], "mixed.jsonl")
    assert session.run(':explain "1" x > 1') == "x > 1 -> true\n└── x = 5"
    assert session.run(":explain 2 x > 1") == "x > 1 -> false\n└── x = 0"
    session.use_customers([{"id": "1", "x": 5}, {"id": 1, "x": 0}], "mixed.jsonl")
    reply = session.handle(":explain 1 x > 1")
    assert (reply.text, reply.error) == (
        "id 1 names two customers of mixed.jsonl, '1' (position 0) and 1 (position 1): give "
        "'\"1\"' for the text id", True)
