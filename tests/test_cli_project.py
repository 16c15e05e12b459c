"""The command line with a project: its schema in every verb, and the conventions of CI tools."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from command_line import run

from segdsl.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
JSONL = str(ROOT / "examples" / "data" / "customers.jsonl")
NOW = "2026-07-15T12:00:00Z"
SCHEMA = '''[fields]
id = "number"
country = "string"
email = "string"

[lists.orders]
[lists.orders.fields]
at = "datetime"
total = "number"

[lists.events]
[lists.events.fields]
type = { type = "string", values = ["visit", "cart_abandoned"] }
at = "datetime"
'''
TYPOS = ('segment a = contry == "FR"\n'
         'segment b = sum(orders.totl, within = 30d) > 100\n'
         'segment c = last_order_at > yesterday - 30d\n'
         'segment d = country == FR\n')
TYPOS_REPORT = (
    "rules/typos.seg:1:13: unknown name 'contry'\n"
    '  segment a = contry == "FR"\n'
    "              ^^^^^^\n"
    "  hint: did you mean 'country'?\n"
    "rules/typos.seg:2:17: unknown field 'totl' of the elements of orders\n"
    "  segment b = sum(orders.totl, within = 30d) > 100\n"
    "                  ^^^^^^^^^^^\n"
    "  hint: did you mean 'total'?\n"
    "rules/typos.seg:3:29: unknown name 'yesterday'\n"
    "  segment c = last_order_at > yesterday - 30d\n"
    "                              ^^^^^^^^^\n"
    "  hint: did you mean today (the day, a date) or now (the evaluation time)?\n"
    "rules/typos.seg:4:24: unknown name 'FR'\n"
    "  segment d = country == FR\n"
    "                         ^^\n"
    '  hint: did you mean the text "FR"? (text is written in quotes)\n')


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project: segdsl.toml naming schema.toml, rules/ with the issue's typos and a good file."""
    (tmp_path / "segdsl.toml").write_text('schema = "schema.toml"\nrules = ["rules"]\n'
                                          f'data = "{JSONL}"\n')
    (tmp_path / "schema.toml").write_text(SCHEMA)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "typos.seg").write_text(TYPOS)
    (tmp_path / "rules" / "good.seg").write_text('segment fr = country == "FR"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ check


def test_check_with_the_projects_schema_fails_on_every_typo(capsys, project):
    """segdsl check (no path: the project's rules) reports the four typos of the issue, exit 1."""
    assert run(capsys, "check") == (1, "", TYPOS_REPORT + "4 errors, 0 warnings in 2 files\n")


def test_isolated_ignores_the_project_and_schema_flag_brings_it_back(capsys, project):
    """--isolated checks with the open default schema (every typo reads an undeclared field);
    --schema FILE restores the errors."""
    status, _, err = run(capsys, "check", "--isolated", "rules")
    assert (status, err.splitlines()[-1]) == (0, "no problems in 2 files")
    status, _, err = run(capsys, "check", "--isolated", "--schema", "schema.toml", "rules")
    assert (status, err) == (1, TYPOS_REPORT + "4 errors, 0 warnings in 2 files\n")


def test_config_names_the_project_file(capsys, project, tmp_path_factory):
    """--config FILE reads that project file, wherever the command runs."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "typos.seg").write_text(TYPOS)
    status, _, err = run(capsys, "check", "--config", str(project / "segdsl.toml"),
                         str(elsewhere / "typos.seg"))
    assert (status, err.splitlines()[-1]) == (1, "4 errors, 0 warnings in 1 file")


def test_check_json_is_one_document_on_stdout(capsys, project):
    """--format json lists every problem with its position, severity and hint."""
    status, out, err = run(capsys, "check", "--format", "json", "rules/typos.seg")
    document = json.loads(out)
    assert (status, err) == (1, "4 errors, 0 warnings in 1 file\n")
    assert (document["files"], document["errors"], document["warnings"]) == (1, 4, 0)
    assert document["problems"][0] == {
        "severity": "error", "file": "rules/typos.seg", "line": 1, "column": 13, "end_line": 1,
        "end_column": 19, "message": "unknown name 'contry'", "hint": "did you mean 'country'?"}


def test_check_github_prints_workflow_annotations(capsys, project):
    """--format github prints ::error and ::warning commands with escaped newlines."""
    (project / "rules" / "warn.seg").write_text('segment w = country != "FR"\n')
    status, out, _ = run(capsys, "check", "--format", "github", "rules/warn.seg",
                         "rules/typos.seg")
    assert status == 1
    assert out.splitlines()[:2] == [
        ("::warning file=rules/warn.seg,line=1,col=13,endLine=1,endColumn=28::customers whose "
        "country is null are left out: the negation is unknown, not true, for them%0Ahint: add "
        "'or country is null' to keep them"),
        ("::error file=rules/typos.seg,line=1,col=13,endLine=1,endColumn=19::unknown name "
        "'contry'%0Ahint: did you mean 'country'?")]


def test_strict_makes_warnings_fail(capsys, project):
    """A warning alone passes check, and fails it with --strict."""
    (project / "rules" / "warn.seg").write_text('segment w = country != "FR"\n')
    assert run(capsys, "check", "rules/warn.seg")[0] == 0
    status, _, err = run(capsys, "check", "--strict", "rules/warn.seg")
    assert (status, err.splitlines()[-1]) == (1, "0 errors, 1 warning in 1 file")


def test_directories_are_searched_for_rule_files_sorted(capsys, project):
    """A directory stands for every *.seg below it, sorted; hidden directories and
    node_modules are skipped."""
    (project / "rules" / "a" / "deep").mkdir(parents=True)
    (project / "rules" / "a" / "deep" / "z.seg").write_text("segment z = vists(1d) > 1\n")
    (project / "rules" / ".hidden").mkdir()
    (project / "rules" / ".hidden" / "x.seg").write_text("segment x = nope\n")
    (project / "rules" / "node_modules").mkdir()
    (project / "rules" / "node_modules" / "y.seg").write_text("segment y = nope\n")
    status, _, err = run(capsys, "check", "rules")
    files = [line.split(":")[0] for line in err.splitlines() if line.startswith("rules/")]
    assert status == 1
    assert list(dict.fromkeys(files)) == ["rules/a/deep/z.seg", "rules/typos.seg"]
    assert err.splitlines()[-1] == "5 errors, 0 warnings in 3 files"


def test_a_missing_file_and_an_empty_directory_are_status_2_at_the_end(capsys, project):
    """Missing paths are reported and the other files checked; the run exits 2."""
    (project / "empty").mkdir()
    assert run(capsys, "check", "missing.seg", "empty", "rules/good.seg") == (
        2, "", ("segdsl: empty: no *.seg files in this directory\n"
               "segdsl: missing.seg: no such file\n"
               "no problems in 1 file\n"))


def test_dash_reads_standard_input():
    """check - reads the rules from standard input and names them <stdin>."""
    done = subprocess.run([sys.executable, "-m", "segdsl", "check", "--isolated", "-"],
                          input="segment a = vists(3d) > 1\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[0] == "<stdin>:1:13: unknown function 'vists'"


def test_a_bad_project_file_is_status_2_with_its_place(capsys, project):
    """A misspelt option in segdsl.toml stops every verb with the option shown, exit 2."""
    (project / "segdsl.toml").write_text('schema = "schema.toml"\ntimzone = "UTC"\n')
    assert run(capsys, "check", "rules") == (2, "", (
        "segdsl.toml:2:1: unknown key 'timzone' in the project file\n"
        '  timzone = "UTC"\n'
        "  ^^^^^^^\n"
        "  hint: did you mean 'timezone'?\n"))


# ------------------------------------------------------------------ fmt


def test_fmt_diff_prints_a_unified_diff_and_exits_1(capsys, project):
    """fmt --diff shows what would change and leaves the file alone."""
    path = project / "rules" / "messy.seg"
    path.write_text("segment vip=country in ['FR','BE']\n")
    assert run(capsys, "fmt", "--diff", "rules/messy.seg", "rules/good.seg") == (1, (
        "--- rules/messy.seg\n"
        "+++ rules/messy.seg (formatted)\n"
        "@@ -1 +1 @@\n"
        "-segment vip=country in ['FR','BE']\n"
        '+segment vip = country in ["FR", "BE"]\n'), "")
    assert path.read_text() == "segment vip=country in ['FR','BE']\n"
    assert run(capsys, "fmt", "--diff", "rules/good.seg") == (0, "", "")


def test_fmt_of_standard_input_writes_standard_output():
    """fmt - prints the formatted text, as black and ruff do."""
    done = subprocess.run([sys.executable, "-m", "segdsl", "fmt", "-"],
                          input="segment a=x>1\n", capture_output=True, text=True, cwd=ROOT,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "segment a = x > 1\n", "")


# ------------------------------------------------------------------ eval


def test_eval_reads_the_projects_data_and_adds_columns(capsys, project):
    """Without --data the project's data is read; --columns adds fields to each CSV row."""
    status, out, _ = run(capsys, "eval", "rules/good.seg", "--now", NOW, "--format", "csv",
                         "--columns", "email,country")
    lines = out.splitlines()
    assert status == 0
    assert lines[:3] == ["segment,customer_id,email,country",
                         "fr,6,jgarcia6@mail.example,FR", "fr,9,lea_r9@post.example,FR"]


def test_eval_output_json_with_columns(capsys, project):
    """--output members.json writes JSON there (format from the name), members as objects."""
    assert run(capsys, "eval", "rules/good.seg", "--now", NOW, "--columns", "country",
               "--output", "members.json") == (0, "", "")
    document = json.loads((project / "members.json").read_text())
    assert document["members"]["fr"][0] == {"customer_id": 6, "country": "FR"}
    assert document["sizes"] == {"fr": len(document["members"]["fr"])}


def test_eval_output_parquet(capsys, project):
    """--output members.parquet writes a Parquet table of segment, customer_id and columns."""
    pq = pytest.importorskip("pyarrow.parquet")
    assert run(capsys, "eval", "rules/good.seg", "--now", NOW, "--columns", "email",
               "--output", "members.parquet") == (0, "", "")
    table = pq.read_table(project / "members.parquet")
    assert table.column_names == ["segment", "customer_id", "email"]
    assert table.slice(0, 1).to_pylist() == [
        {"segment": "fr", "customer_id": 6, "email": "jgarcia6@mail.example"}]


def test_eval_repeated_segments_and_several_files(capsys, project):
    """--segment repeats, across files, in the order given."""
    (project / "rules" / "b.seg").write_text('segment be = country == "BE"\n')
    status, out, _ = run(capsys, "eval", "rules/good.seg", "rules/b.seg", "--now", NOW,
                         "--segment", "be", "--segment", "fr", "--format", "json")
    assert status == 0
    assert list(json.loads(out)["sizes"]) == ["be", "fr"]


def test_eval_now_now_is_the_current_time(capsys, project):
    """--now now evaluates at the current time."""
    import datetime as dt

    status, out, _ = run(capsys, "eval", "rules/good.seg", "--now", "now", "--format", "json")
    stamp = dt.datetime.fromisoformat(json.loads(out)["now"])
    assert status == 0
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=5)


def test_columns_with_the_size_table_is_a_usage_error(capsys, project):
    """--columns adds fields to members, so the size table refuses it, exit 2."""
    assert run(capsys, "eval", "rules/good.seg", "--now", NOW, "--columns", "email") == (
        2, "", ("segdsl: --columns adds customer fields to csv, json or parquet output; give "
               "--format csv, json or parquet\n"))


def test_progress_is_drawn_only_after_a_second_on_a_terminal():
    """The bar stays hidden during the first second, then draws, and is erased at the end."""
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(50_000, stream, clock=lambda: now[0], interactive=True)
    progress(10_000)
    assert stream.getvalue() == ""
    now[0] = 1.5
    progress(20_000)
    assert stream.getvalue() == "\r[############..................] 20,000/50,000 customers " \
                                "evaluated"
    progress(50_000)
    assert stream.getvalue().endswith("\r\033[K")
    quiet = io.StringIO()
    Progress(10, quiet, clock=lambda: 5.0, interactive=False)(5)
    assert quiet.getvalue() == ""


# ------------------------------------------------------------------ usage and help


def test_no_arguments_prints_the_usage(capsys):
    """segdsl alone prints the verbs on stderr and exits 2."""
    status, out, err = run(capsys)
    assert (status, out) == (2, "")
    assert err.startswith("usage: segdsl [-h] [--version] VERB ...\n")
    assert "    check" in err and "    test" in err and "    init" in err


@pytest.mark.parametrize("verb", ["check", "fmt", "test", "eval", "explain", "repl", "init"])
def test_every_verb_help_has_an_example_and_the_exit_codes(capsys, verb):
    """VERB --help describes the arguments, gives an example and the exit codes, exit 0."""
    status, out, _ = run(capsys, verb, "--help")
    assert status == 0
    assert f"usage: segdsl {verb}" in out
    assert "\nexample:\n  segdsl " in out
    assert "exit status:\n  0  fine\n  1  findings: " in out
    assert "  2  usage or input error" in out


def test_completion_needs_argcomplete(capsys, monkeypatch):
    """Without argcomplete, segdsl completion says how to install it, exit 2."""
    monkeypatch.setitem(sys.modules, "argcomplete", None)
    assert run(capsys, "completion", "bash") == (
        2, "", ("segdsl: shell completion needs argcomplete: pip install "
               "'segdsl[completion]'\n"))


def test_completion_prints_the_shell_code(capsys):
    """With argcomplete, segdsl completion zsh prints code that registers segdsl."""
    pytest.importorskip("argcomplete")
    status, out, _ = run(capsys, "completion", "zsh")
    assert status == 0 and "segdsl" in out


# ------------------------------------------------------------------ init and schema infer


def test_init_starts_a_project_that_checks_and_tests(capsys, tmp_path, monkeypatch):
    """init writes segdsl.toml, schema.toml and rules/ whose check and test pass."""
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "init") == (0, ("wrote segdsl.toml\nwrote schema.toml\n"
                                      "wrote rules/undecided.seg\n"
                                      "wrote rules/undecided.segtest.toml\n"), "")
    assert run(capsys, "check") == (0, "", "no problems in 1 file\n")
    assert run(capsys, "test") == (0, "", "1 passed in 1 file\n")
    (tmp_path / "rules" / "typo.seg").write_text('segment t = events("vist", 30d) > 1\n')
    assert run(capsys, "check")[0] == 1
    assert run(capsys, "init") == (2, "", "segdsl: segdsl.toml exists; --force overwrites it\n")


def test_schema_infer_writes_a_schema_file(capsys, tmp_path):
    """schema infer --data prints a schema file that reads back, event types as values."""
    from segdsl.schema_file import read_schema

    status, out, _ = run(capsys, "schema", "infer", "--data", JSONL)
    assert status == 0
    assert out.splitlines()[0].startswith("# Inferred by `segdsl schema infer --data ")
    assert "[lists.events.fields]\ntype = { type = \"string\", values = [\"cart_abandoned\"," in out
    assert read_schema(out, "schema.toml").schema.fields["country"].name == "string"


# ------------------------------------------------------------------ every verb, every flag


def test_repl_uses_the_projects_schema(capsys, project, monkeypatch):
    """A piped repl session checks typed rules against the project's schema."""
    monkeypatch.setattr(sys, "stdin", io.StringIO('contry == "FR"\n'))
    status, out, _ = run(capsys, "repl", "--now", NOW)
    assert status == 1
    assert "<input>:1:1: unknown name 'contry'\n" in out
    assert "hint: did you mean 'country'?" in out


def test_explain_uses_the_projects_schema(capsys, project):
    """explain of a file with a typo the schema catches shows the error, exit 1."""
    status, out, err = run(capsys, "explain", "rules/typos.seg", "a", "--customer", "6",
                           "--now", NOW)
    assert (status, out) == (1, "")
    assert err == TYPOS_REPORT


def test_functions_flag_imports_a_registry(capsys, project):
    """--functions module:name adds Python functions the rules may call."""
    (project / "shop_functions.py").write_text(
        "import segdsl\nfunctions = segdsl.Functions()\n\n"
        "@functions.register(params={'email': 'string'}, returns='string')\n"
        "def email_domain(email):\n    return email.rpartition('@')[2]\n")
    (project / "rules" / "domain.seg").write_text(
        'segment mail = email_domain(email) == "mail.example"\n')
    assert run(capsys, "check", "rules/domain.seg")[0] == 1
    assert run(capsys, "check", "--functions", "shop_functions:functions",
               "rules/domain.seg") == (0, "", "no problems in 1 file\n")
    assert run(capsys, "check", "--functions", "shop_functions:nothing", "rules/domain.seg") == (
        2, "", ("segdsl: shop_functions:nothing must name a segdsl.Functions registry, but "
               "shop_functions.nothing is nothing\n"))


@pytest.mark.parametrize("flag, value, message", [
    ("--rfm-window", "a year", ("the RFM window must be a duration such as 365d or 2y, not "
                               "'a year'")),
    ("--timezone", "Mars/Olympus", ("unknown timezone 'Mars/Olympus': use a name such as "
                                   "'Europe/Paris' or 'UTC'")),
])
def test_bad_option_flags_are_status_2(capsys, project, flag, value, message):
    """A bad --rfm-window or --timezone is one line and status 2."""
    assert run(capsys, "check", flag, value, "rules/good.seg") == (2, "", f"segdsl: {message}\n")


def test_timezone_flag_moves_period_days(capsys, project):
    """--timezone decides which day of the period an instant falls in."""
    (project / "rules" / "day.seg").write_text(
        "period july_first = 2026-07-01 .. 2026-07-01\nsegment early = purchased(july_first)\n")
    data = project / "c.jsonl"
    data.write_text('{"id": 1, "orders": [{"at": "2026-06-30T23:30:00Z", "total": 1}]}\n')
    utc = run(capsys, "eval", "rules/day.seg", "--data", str(data), "--now", NOW,
              "--format", "csv")
    tokyo = run(capsys, "eval", "rules/day.seg", "--data", str(data), "--now", NOW,
                "--format", "csv", "--timezone", "Asia/Tokyo")
    assert utc == (0, "segment,customer_id\n", "")
    assert tokyo == (0, "segment,customer_id\nearly,1\n", "")


def test_the_projects_engine_evaluates_and_an_unknown_one_is_refused(capsys, project):
    """engine = "duckdb" in the project gives the Python engine's output; an engine
    that does not exist is an error at its line."""
    answers = []
    for engine in ("python", "duckdb"):
        (project / "segdsl.toml").write_text(f'engine = "{engine}"\ndata = "{JSONL}"\n')
        answers.append(run(capsys, "eval", "rules/good.seg", "--now", NOW, "--format", "csv"))
    assert answers[0] == answers[1] and answers[0][0] == 0
    assert answers[0][1].count("\n") > 1
    (project / "segdsl.toml").write_text('engine = "oracle"\n')
    status, _, err = run(capsys, "eval", "rules/good.seg", "--now", NOW)
    assert status == 2 and "segdsl.toml:1:10: unknown engine 'oracle'" in err


def test_reading_shows_activity_after_the_delay():
    """A slow step is named on a terminal after the delay, then erased."""
    import time

    from segdsl.progress import Activity

    stream = io.StringIO()
    with Activity("reading big.jsonl", stream, interactive=True, delay=0.0):
        time.sleep(0.1)
    assert stream.getvalue().startswith("\rreading big.jsonl ... 0.")
    assert stream.getvalue().endswith("\r\033[K")
    quiet = io.StringIO()
    with Activity("reading big.jsonl", quiet, interactive=True):
        pass
    assert quiet.getvalue() == ""


def test_init_with_data_infers_the_schema_and_names_the_data(capsys, tmp_path, monkeypatch):
    """init --data infers schema.toml from the sample and makes it the project's data."""
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "init", "--data", JSONL)[0] == 0
    data_lines = [line for line in (tmp_path / "segdsl.toml").read_text().splitlines()
                  if line.startswith("data = ")]
    assert len(data_lines) == 1 and data_lines[0].endswith('examples/data/customers.jsonl"')
    status, out, _ = run(capsys, "eval", "rules", "--now", NOW, "--format", "csv")
    assert (status, len(out.splitlines())) == (0, 1 + 153)
    (tmp_path / "rules" / "typo.seg").write_text('segment t = loyalty_pionts > 10\n')
    status, _, err = run(capsys, "check", "rules/typo.seg")
    assert (status, err.splitlines()[-1]) == (1, "1 error, 0 warnings in 1 file")
    assert "hint: did you mean 'loyalty_points'?" in err


def test_parquet_without_pyarrow_says_how_to_get_it(capsys, project, monkeypatch):
    """Without pyarrow, --output x.parquet is a usage error naming the extra to install."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert run(capsys, "eval", "rules/good.seg", "--now", NOW, "--output", "m.parquet") == (
        2, "", "segdsl: writing Parquet needs pyarrow: pip install 'segdsl[parquet]'\n")
    assert not (project / "m.parquet").exists()


def test_an_output_name_without_a_known_suffix_needs_a_format(capsys, project):
    """--output members.dat cannot tell its format: a usage error before any work."""
    assert run(capsys, "eval", "rules/good.seg", "--now", NOW, "--output", "members.dat") == (
        2, "", ("segdsl: members.dat: cannot tell the format from the name; give --format "
               "table|csv|json|parquet\n"))
