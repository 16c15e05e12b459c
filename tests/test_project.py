"""The project file and schema files: discovery, options, table mapping, placed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import segdsl
from segdsl.project import Project, find_file
from segdsl.schema_file import Table, read_schema, write_schema

SCHEMA = '''\
[customers]
table = "crm.customers"
id = "customer_id"

[fields]
id = "number"
country = { type = "string", values = ["BE", "FR"] }
tags = "list[string]"

[fields.address]
city = "string"

[lists.orders]
table = "shop.orders"
columns = { at = "placed_at" }

[lists.orders.fields]
at = "datetime"
total = "number"

[lists."orders.items"]
[lists."orders.items".fields]
category = "string"

[lists.events]
[lists.events.fields]
type = { type = "string", values = ["visit", "cart_abandoned"] }
at = "datetime"
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project directory with segdsl.toml, schema.toml and a subdirectory to run from."""
    (tmp_path / "schema.toml").write_text(SCHEMA)
    (tmp_path / "segdsl.toml").write_text(
        'schema = "schema.toml"\ntimezone = "Europe/Paris"\nrfm_window = "2y"\n'
        'rules = ["rules"]\ndata = "data/customers.jsonl"\n\n'
        '[tables.events]\ntable = "tracking.events"\nkey = "client_id"\n')
    (tmp_path / "rules" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "rules" / "deep")
    return tmp_path


def check_messages(text: str, **options) -> list[tuple[int, int, str, str | None]]:
    """(line, column, message, hint) of every error of ``text``."""
    errors, _ = segdsl.check(text, file="r.seg", **options)
    return [(e.line, e.column, e.message, e.hint) for e in errors]


def test_the_project_file_is_found_from_the_current_directory_upward(project):
    """Run two directories below it, the project file and its options are found."""
    found = Project.find()
    assert found.file == (project / "segdsl.toml").resolve()
    assert (found.timezone, found.rfm_window) == ("Europe/Paris", "2y")
    assert found.schema_file is not None and found.schema_file.name == "schema.toml"
    assert found.rules == (str(project / "rules"),)
    assert found.data == str(project / "data" / "customers.jsonl")


def test_the_schema_of_the_project_makes_the_issues_typos_check_errors(project):
    """With the project's schema, contry, orders.totl, yesterday and FR are errors with hints."""
    options = Project.find().options()
    assert check_messages('segment a = contry == "FR"\n'
                          'segment b = sum(orders.totl, within = 30d) > 100\n'
                          'segment c = last_order_at > yesterday - 30d\n'
                          'segment d = country == FR\n'
                          'segment e = events("vist", 30d) > 1\n', **options) == [
        (1, 13, "unknown name 'contry'", "did you mean 'country'?"),
        (2, 17, "unknown field 'totl' of the elements of orders", "did you mean 'total'?"),
        (3, 29, "unknown name 'yesterday'",
         "did you mean today (the day, a date) or now (the evaluation time)?"),
        (4, 24, "unknown name 'FR'", 'did you mean the text "FR"? (text is written in quotes)'),
        (5, 20, "'vist' is never a value of 'type'",
         "did you mean 'visit'? ('type' is one of cart_abandoned, visit)"),
    ]


def test_without_a_project_the_same_typos_pass(tmp_path, monkeypatch):
    """Outside any project the rules are checked with the open default schema."""
    monkeypatch.chdir(tmp_path)
    assert Project.find() == Project()
    assert check_messages('segment a = contry == "FR"\n', **Project.find().options()) == []


def test_a_pyproject_without_the_tool_table_is_passed_over(project):
    """A pyproject.toml without [tool.segdsl] between the directory and segdsl.toml is skipped."""
    (project / "rules" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_file(Path.cwd()) == (project / "segdsl.toml").resolve()


def test_the_tool_segdsl_table_of_pyproject_is_a_project_file(project):
    """[tool.segdsl] in a nearer pyproject.toml wins, with its paths relative to it."""
    (project / "rules" / "pyproject.toml").write_text(
        '[tool.segdsl]\ntimezone = "UTC"\n\n[tool.segdsl.schema.fields]\nvip = "bool"\n')
    found = Project.find()
    assert found.file == (project / "rules" / "pyproject.toml").resolve()
    assert found.timezone == "UTC"
    assert found.schema is not None and str(found.schema) == "Schema({vip: bool})"


def test_the_table_mapping_is_data_for_the_sql_engine(project):
    """Tables come from the schema file, the project's [tables] over them, defaults elsewhere."""
    tables = Project.find().tables
    assert tables["customers"] == Table("customers", "crm.customers", "customer_id", None)
    assert tables["orders"] == Table("orders", "shop.orders", "id", "customer_id",
                                     {"at": "placed_at"})
    assert tables["orders.items"] == Table("orders.items", "order_items", None, "order_id")
    assert tables["events"] == Table("events", "tracking.events", None, "client_id")
    assert tables["orders"].column("at") == "placed_at"


def test_flags_override_the_project_file(project, tmp_path):
    """overridden() puts another schema and timezone over the file's, keeping its [tables]."""
    other = project / "other.toml"
    other.write_text('[fields]\nid = "number"\n')
    changed = Project.find().overridden(schema=str(other), timezone="UTC")
    assert str(changed.schema) == "Schema({id: number})"
    assert changed.timezone == "UTC"
    assert changed.tables["events"].table == "tracking.events"


def test_load_with_project_true_uses_the_schema(project):
    """segdsl.load(path, project=True) refuses a misspelt field; without it the file loads."""
    rules = project / "rules" / "a.seg"
    rules.write_text('segment a = contry == "FR"\n')
    assert segdsl.load(rules).segments.keys() == {"a"}
    with pytest.raises(segdsl.CheckError) as caught:
        segdsl.load(rules, project=True)
    assert caught.value.message == "unknown name 'contry'"
    with pytest.raises(segdsl.CheckError):
        segdsl.load(rules, project=Project.find())


def test_custom_functions_are_imported_from_the_project_directory(project):
    """functions = "shop_rules:functions" imports the module from the project's directory."""
    (project / "shop_rules.py").write_text(
        "import segdsl\nfunctions = segdsl.Functions()\n\n"
        "@functions.register(params={'email': 'string'}, returns='string')\n"
        "def email_domain(email):\n    return email.rpartition('@')[2]\n")
    (project / "segdsl.toml").write_text('functions = "shop_rules:functions"\n')
    rules = segdsl.loads('segment shop = email_domain(email) == "shop.fr"',
                         **Project.find().options())
    assert rules["shop"].matches({"id": 1, "email": "a@shop.fr"}, now="2026-01-01")


@pytest.mark.parametrize("text, line, column, message, hint", [
    ('timezon = "UTC"\n', 1, 1, "unknown key 'timezon' in the project file",
     "did you mean 'timezone'?"),
    ('timezone = "Mars/Olympus"\n', 1, 12,
     "unknown timezone 'Mars/Olympus': use a name such as 'Europe/Paris' or 'UTC'", None),
    ('rfm_window = "a year"\n', 1, 14,
     "the RFM window must be a duration such as 365d or 2y, not 'a year'", None),
    ('engine = "duckdbb"\n', 1, 10, "unknown engine 'duckdbb'",
     "the engines are python, duckdb, postgres, spark"),
    ('schema = "nowhere.toml"\n', 1, 10,
     "no such file (the schema file 'nowhere.toml')", None),
    ('timezone = "UTC"\nrfm_window = \n', 2, 14,
     "not valid TOML: invalid value", None),
])
def test_bad_project_files_are_errors_placed_on_the_option(tmp_path, text, line, column, message,
                                                          hint):
    """Each bad option is a UsageError at its line and column, with a hint where one helps."""
    path = tmp_path / "segdsl.toml"
    path.write_text(text)
    with pytest.raises(segdsl.UsageError) as caught:
        Project.read(path)
    error = caught.value
    assert (error.line, error.column, error.message, error.hint) == (line, column, message, hint)
    assert error.file == str(path)


@pytest.mark.parametrize("text, line, column, message, hint", [
    ('[fields]\nid = "numbr"\n', 2, 6, "field id: unknown type 'numbr'",
     "did you mean 'number'?"),
    ('[lists.orders]\ntabel = "o"\n', 2, 1, "unknown key 'tabel' in [lists.orders]",
     "did you mean 'table'?"),
    ('[lists.orders]\ntimestamp = "when"\n[lists.orders.fields]\nat = "datetime"\n', 2, 1,
     "list orders: timestamp field 'when' is not among its fields", "expected one of at"),
    ('[lists."orders.items"]\ntable = "x"\n', 1, 8,
     "list orders.items: orders is not a list declared before it",
     "declare [lists.orders] too"),
    ('[fields]\ncountry = { type = "string", values = [] }\n', 2, 30,
     'field country: values are for string fields: type = "string", values = ["a", "b"]', None),
])
def test_bad_schema_files_are_errors_placed_on_the_key(text, line, column, message, hint):
    """Each mistake in a schema file is a UsageError at its place, with a did-you-mean."""
    with pytest.raises(segdsl.UsageError) as caught:
        read_schema(text, "schema.toml")
    error = caught.value
    assert (error.line, error.column, error.message, error.hint) == (line, column, message, hint)


def test_a_schema_file_declares_nested_records_lists_and_values():
    """The schema file's fields become a Schema the checker uses, lists with their timestamps."""
    read = read_schema(SCHEMA, "schema.toml")
    assert check_messages('segment a = address.cty == "Paris"\n'
                          'segment b = count(orders.items, where = category == "shoes") > 1\n'
                          'segment c = exists(events, where = type == "visitt")\n',
                          schema=read.schema) == [
        (1, 13, "unknown field 'cty' of address", "did you mean 'city'?"),
        (3, 44, "'visitt' is never a value of 'type'",
         "did you mean 'visit'? ('type' is one of cart_abandoned, visit)"),
    ]


def test_an_inferred_schema_written_and_read_back_is_the_same_file():
    """write_schema of the example data's inferred schema reads back and writes the same text."""
    customers = segdsl.read_customers(Path(__file__).parent.parent / "examples" / "data"
                                      / "customers.jsonl")
    text = write_schema(segdsl.Schema.infer(customers))
    read = read_schema(text, "schema.toml")
    assert write_schema(read.schema, tables=read.tables) == text
    assert 'type = { type = "string", values = ["cart_abandoned", "email_click", "email_open", ' \
           '"recommendation_click", "visit"] }' in text


def test_the_readmes_schema_and_project_files_read():
    """The schema file and project file shown in the README are valid as shown."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Rules in git"):]
    project_block = section[section.index("### The project file"):].split("```toml\n", 1)[1]
    schema_block = section[section.index("### The schema file"):].split("```toml\n", 1)[1]
    read = read_schema(schema_block.split("```", 1)[0], "schema.toml")
    assert read.tables["orders"].column("at") == "placed_at"
    assert read.tables["orders.items"].key == "order_id"
    import tomllib

    keys = set(tomllib.loads(project_block.split("```", 1)[0]))
    assert keys == {"schema", "timezone", "rfm_window", "rules", "data", "engine"}


def test_rules_loaded_with_a_project_read_its_tables_on_duckdb(tmp_path, monkeypatch):
    """segdsl.load(path, project=...) evaluates on a database through the project's
    [tables] (orders in "sales", placed_at for at); without the project the
    tables are not where the default layout looks."""
    duckdb = pytest.importorskip("duckdb")
    (tmp_path / "segdsl.toml").write_text(
        '[tables.orders]\ntable = "sales"\ncolumns = { at = "placed_at" }\n')
    (tmp_path / "a.seg").write_text("segment buyers = orders(30d) >= 1\n")
    monkeypatch.chdir(tmp_path)
    connection = duckdb.connect()
    connection.execute("CREATE TABLE customers AS SELECT * FROM (VALUES (1), (2), (3)) t(id)")
    connection.execute(
        "CREATE TABLE sales AS SELECT * FROM (VALUES (10, 1, TIMESTAMPTZ '2026-07-01 10:00:00+00', "
        "5.0), (11, 3, TIMESTAMPTZ '2026-01-01 10:00:00+00', 7.0)) t(id, customer_id, placed_at, "
        "total)")
    connection.execute("CREATE TABLE events (customer_id BIGINT, type VARCHAR, "
                       "\"at\" TIMESTAMPTZ)")
    connection.execute("CREATE TABLE order_items (order_id BIGINT, sku VARCHAR, "
                       "category VARCHAR, price DOUBLE, discounted BOOLEAN)")
    rules = segdsl.load(tmp_path / "a.seg", project=True)
    assert rules.evaluate(connection, now="2026-07-15T00:00:00Z")["buyers"] == [1]
    assert "FROM sales" in rules.to_sql(now="2026-07-15T00:00:00Z")
    with pytest.raises(segdsl.UsageError,
                       match=r"no orders table, which the rules read \(orders.customer_id\)"):
        segdsl.load(tmp_path / "a.seg").evaluate(connection, now="2026-07-15T00:00:00Z")
