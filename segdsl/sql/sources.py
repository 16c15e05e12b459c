"""Where ``rules.evaluate(source)`` finds the customers, and which engine reads them.

:func:`evaluate` takes, besides the Python engine's iterables of records:

* a DuckDB connection holding the layout's tables (``customers``, ``orders``,
  ``order_items``, ``events``, or those the layout maps), or a ``.duckdb``
  file's path;
* a DuckDB relation: the customers, one per row, their lists as list-of-struct
  columns (the JSON record shape);
* a directory of Parquet, CSV or JSON Lines files named after the layout's
  tables (``customers.parquet`` or a ``customers/`` folder of Parquet files,
  ``orders.csv``, ...), a glob (``data/*.parquet``) or a list of such paths
  (each file is the table its name says);
* one ``.jsonl``/``.ndjson`` or ``.parquet`` file of nested customer records;
* a pandas, polars or pyarrow table of nested customer records, or a mapping of
  table name to such a table (the normalized layout);
* a PostgreSQL connection or ``postgresql://`` URL, a SparkSession: each waits
  for its dialect (:data:`ENGINES`).

Nested records are spread into the normalized tables by DuckDB, never through
Python dicts: each list becomes a table of its elements with their owner's id
(or the enclosing element's key, numbered here) and their position in the list.

Sources the Python engine also reads (tables in memory, JSON Lines files) go
through DuckDB only when its answer is provably the Python engine's: the rules
compile, each column has the type the schema declares (ISO text of a
datetime or a date field is read with a strict pattern both engines parse
alike), and the query raises nothing; otherwise the Python engine runs, and
the result, errors included, is exactly the one it gives. Members come in
the order of the customers in the input, as the Python engine names them.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from segdsl import types as t
from segdsl.errors import DataError, SegdslError, UsageError
from segdsl.sql.layout import Layout, ListTable

#: The engines ``engine=`` names; ``auto`` chooses from the source.
ENGINES = ("auto", "python", "duckdb", "postgres", "spark")
#: File suffixes read as tables, by DuckDB reader.
TABLE_SUFFIXES = {".parquet": "read_parquet", ".csv": "read_csv", ".jsonl": "read_json",
                  ".ndjson": "read_json"}
#: Suffixes of one file of nested customer records.
NESTED_SUFFIXES = (".parquet", ".jsonl", ".ndjson")
DATABASE_SUFFIXES = (".duckdb", ".ddb", ".db")
#: A column added to each list's table: the element's position in its list.
POSITION = "position"
_PREFIX = "__segdsl_"
# ISO text both engines read as the same instant (Python's fromisoformat, DuckDB's
# cast): a date, a time of hours and minutes with optional seconds and 3 or 6
# decimals, and an offset (Z or +hh:mm), which a naive stamp lacks.
_DAY = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{3}|\.\d{6})?)?"
_OFFSET = r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
_NEVER = "\x01%d\x01"  # a date format no text matches: JSON text stays text


def evaluate(rules: Any, source: Any, now: Any = None, *, segments: Any = None,
             engine: str | None = None, layout: Layout | None = None,
             python: Callable[[Any], Any] | None = None) -> Any:
    """The :class:`~segdsl.rules.Result` of ``rules`` over ``source``.

    Args:
        rules: a :class:`~segdsl.rules.RuleSet`.
        source: see the module docstring.
        now: the evaluation time.
        segments: only this segment, or only these segments.
        engine: one of :data:`ENGINES` (None: ``auto``).
        layout: where the lists live (default: the normalized layout of the
            rules' schema).
        python: runs the Python engine on records (``rules.evaluate``'s own).

    Raises:
        UsageError: the source or the engine cannot be used.
    """
    engine = _engine(engine)
    kind = kind_of(source)
    if kind is None and engine in ("auto", "python"):
        return _python(python, source)
    if kind is None and engine == "duckdb":
        return _records_on_duckdb(rules, source, now, segments, layout)
    if kind is None:
        raise UsageError(f"the {engine} engine reads tables, not {type(source).__name__}")
    if kind in ("postgres", "spark") or engine in ("postgres", "spark"):
        return _other_engine(engine if engine in ("postgres", "spark") else kind, kind, rules,
                             source, now, segments, layout)
    if engine == "python" or (engine == "auto" and (kind == "records" or (
            kind == "jsonl" and _small(source)))):
        return _python(python, _records(source, kind))
    if kind == "records":
        raise UsageError(f"{os.fspath(source)}: the DuckDB engine reads JSON Lines, Parquet, "
                         f"CSV tables of the normalized layout or a database, not this file "
                         f"of the Python engine's formats")
    layout = layout if layout is not None else Layout.of_rules(rules)
    fallback = kind in ("frame", "jsonl") and engine == "auto"
    # Nested records are checked against the schema's types (a naive TIMESTAMP is not
    # the instant the Python engine reads in the rules' zone): the Python engine, or an error.
    checked = kind in ("frame", "jsonl", "relation", "nested")
    try:
        return _duckdb(rules, source, kind, now, segments, layout, checked=checked)
    except SegdslError:
        if not fallback:
            raise
    return _python(python, _records(source, kind))


#: A table in memory of at least this many rows goes through DuckDB (below it,
#: the Python engine is faster: DuckDB's fixed cost is about 0.3 s).
SQL_FROM_ROWS = 10_000
#: A JSON Lines file of at least this many bytes goes through DuckDB.
SQL_FROM_BYTES = 16_000_000


def wants_sql(source: Any, plain_ids: bool = True) -> bool:
    """Whether ``rules.evaluate(source)`` goes to :func:`evaluate` (a cheap test:
    a list of records answers at its first element)."""
    kind = type(source)
    if kind is list or kind is tuple:
        return bool(source) and isinstance(source[0], (str, os.PathLike)) \
            and _names_data(source[0]) and kind_of(source) == "files"
    if isinstance(source, (str, os.PathLike)):
        return _names_data(source) and kind_of(source) is not None
    if kind is dict:
        return kind_of(source) is not None
    module = (kind.__module__ or "").lstrip("_")
    if module.startswith(("duckdb", "psycopg", "pyspark")):
        return kind_of(source) is not None
    if plain_ids and module.startswith(("pandas", "polars", "pyarrow")) and _is_frame(source):
        return _rows(source) >= SQL_FROM_ROWS
    return False


def _names_data(path: Any) -> bool:
    """Whether ``path`` names data: a file, a directory, a glob or a database URL (a
    name of nothing stays the Python engine's: text is not customers)."""
    text = os.fspath(path)
    return text.startswith(("postgresql://", "postgres://", "duckdb:")) \
        or glob.has_magic(text) or os.path.exists(text)


def _rows(frame: Any) -> int:
    for attribute in ("num_rows", "height"):
        count = getattr(frame, attribute, None)
        if isinstance(count, int):
            return count
    try:
        return len(frame)
    except TypeError:  # a lazy frame or a stream: unknown, and read once
        return 0


def kind_of(source: Any) -> str | None:
    """What ``source`` is for the SQL engines: ``connection``, ``relation``,
    ``database`` (a DuckDB file), ``files`` (normalized tables), ``nested``
    (one Parquet file of nested records), ``jsonl`` (one JSON Lines file),
    ``records`` (a CSV or JSON file of :mod:`segdsl.data`), ``frame`` (a
    table of nested records), ``frames`` (table name to table),
    ``postgres``, ``spark``; None for what only the Python engine reads."""
    module = (type(source).__module__ or "").lstrip("_")
    if module.startswith("duckdb"):
        name = type(source).__name__
        return "connection" if name == "DuckDBPyConnection" else \
            "relation" if name == "DuckDBPyRelation" else None
    if module.startswith("psycopg"):
        return "postgres"
    if module.startswith("pyspark") and type(source).__name__ == "SparkSession":
        return "spark"
    if isinstance(source, (str, os.PathLike)):
        return _path_kind(os.fspath(source))
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(p, (str, os.PathLike)) for p in source):
        return "files"
    if _is_frame(source):
        return "frame"
    if isinstance(source, Mapping) and source and all(
            isinstance(k, str) and _is_frame(v) for k, v in source.items()):
        return "frames"
    return None


def _path_kind(text: str) -> str:
    if text.startswith(("postgresql://", "postgres://")):
        return "postgres"
    if text.startswith("duckdb:"):
        return "database"
    path = Path(text)
    suffix = path.suffix.lower()
    if path.is_dir() or glob.has_magic(text):
        return "files"
    if suffix in DATABASE_SUFFIXES:
        return "database"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".parquet":
        return "nested"
    if suffix in (".csv", ".json"):
        return "records"
    raise UsageError(f"{text}: cannot tell the kind of data from the name: give a .jsonl, "
                     f".json, .csv, .parquet or .duckdb file, a directory of tables or a "
                     f"postgresql:// URL")


def _small(path: Any) -> bool:
    try:
        return os.path.getsize(path) < SQL_FROM_BYTES
    except OSError:
        return True  # the Python engine's reader names the problem


def _is_frame(value: Any) -> bool:
    from segdsl.customers import _is_table

    return _is_table(value) or hasattr(type(value), "__arrow_c_stream__")


def _engine(engine: str | None) -> str:
    if engine is None:
        return "auto"
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; the engines are {', '.join(ENGINES)}")
    return engine


def _python(python: Callable[[Any], Any] | None, records: Any) -> Any:
    if python is None:
        raise UsageError("this source needs an SQL engine")
    return python(records)


def _records(source: Any, kind: str) -> Any:
    """What the Python engine reads for ``source``."""
    if kind in ("frame", "records", "jsonl"):
        if kind == "frame":
            return source
        from segdsl.data import read_customers

        return read_customers(source)
    raise UsageError(f"the Python engine reads records, JSON, JSON Lines, CSV or tables in "
                     f"memory, not {_what(kind)}: use engine=\"duckdb\"")


def _what(kind: str) -> str:
    return {"connection": "a DuckDB connection", "relation": "a DuckDB relation",
            "database": "a DuckDB database", "files": "a directory of tables",
            "nested": "a Parquet file", "frames": "a mapping of tables"}.get(kind, kind)


# ------------------------------------------------------------ other engines


#: What the engines that run elsewhere than in this process read.
_DATABASES = {"postgres": "a psycopg connection or a postgresql:// URL",
              "spark": "a SparkSession"}


def _other_engine(name: str, kind: str, rules: Any, source: Any, now: Any, segments: Any,
                  layout: Layout | None) -> Any:
    """PostgreSQL and Spark: ``segdsl.sql.evaluate`` finds the runner from the
    connection (a ``postgresql://`` URL, a psycopg connection, a SparkSession)."""
    if kind != name:
        given = os.fspath(source) if isinstance(source, (str, os.PathLike)) else \
            type(source).__name__
        raise UsageError(f"the {name} engine reads {_DATABASES[name]}, not {given}")
    import segdsl.sql

    return segdsl.sql.evaluate(rules, source, now, segments=segments, layout=layout)


# ------------------------------------------------------------ DuckDB


def _duckdb(rules: Any, source: Any, kind: str, now: Any, segments: Any, layout: Layout,
            checked: bool) -> Any:
    from segdsl.sql.engine import evaluate as run

    duckdb = _duckdb_module()
    if kind == "connection":
        return run(rules, source, now, segments=segments, layout=layout)
    if kind == "database":
        text = os.fspath(source).removeprefix("duckdb:").removeprefix("//")
        try:
            connection = duckdb.connect(text, read_only=True)
        except duckdb.Error as error:
            raise UsageError(f"{text}: cannot open the DuckDB database ({error})") from None
        with connection:
            return run(rules, connection, now, segments=segments, layout=layout)
    zone = rules._program.options.timezone
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        order, layout = attach(connection, source, layout, kind=kind, zone=zone, checked=checked)
        result = run(rules, connection, now, segments=segments, layout=layout)
        return _in_order(result, order) if order is not None else result


def _records_on_duckdb(rules: Any, records: Any, now: Any, segments: Any,
                       layout: Layout | None) -> Any:
    """Records written into the tables of an in-memory database (by
    :func:`segdsl.sql.records.load_records`, which reads values as the Python
    engine does), then evaluated there; members in the records' order."""
    from segdsl.customers import listed
    from segdsl.sql.engine import evaluate as run
    from segdsl.sql.records import load_records
    from segdsl.timeline import UTC

    options = rules._program.options
    layout = layout if layout is not None else Layout.from_schema(options.schema)
    rows = listed(records, "evaluate")
    with _duckdb_module().connect() as connection:
        load_records(connection, rows, layout, options.timezone or UTC)
        result = run(rules, connection, now, segments=segments, layout=layout)
    return _in_order(result, [row.get(layout.id) if isinstance(row, dict)
                              else getattr(row, layout.id, None) for row in rows])


def _duckdb_module() -> Any:
    try:
        import duckdb
    except ImportError:
        raise UsageError("the DuckDB engine needs duckdb: pip install 'segdsl[sql]'") from None
    return duckdb


def _in_order(result: Any, order: list[Any]) -> Any:
    """``result`` with each segment's members in the input's order."""
    position = {identity: index for index, identity in enumerate(order)}
    members = {name: sorted(ids, key=position.__getitem__)
               for name, ids in result.members.items()}
    return attrs.evolve(result, members=members)


def attach(connection: Any, source: Any, layout: Layout, *, kind: str | None = None,
           zone: Any = None, checked: bool = False) -> tuple[list[Any] | None, Layout]:
    """Make ``source``'s customers the layout's tables on a DuckDB ``connection``.

    Returns:
        the customers' ids in input order (None when the source has none),
        and the layout to compile for (lists spread from nested records are
        ordered by their position).

    Raises:
        UsageError: a table is missing or cannot be read; with ``checked``,
            a column whose type is not the schema's (the Python engine reads it).
        DataError: a timestamp is not ISO text both engines read alike.
    """
    import duckdb

    kind = kind or kind_of(source)
    try:
        return _attached(connection, source, layout, kind, zone, checked)
    except duckdb.InvalidInputException as error:
        raise DataError(_first_line(error).removeprefix("Invalid Input Error: ")) from None
    except duckdb.Error as error:
        raise UsageError(f"the data cannot be read: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _attached(connection: Any, source: Any, layout: Layout, kind: str | None, zone: Any,
              checked: bool) -> tuple[list[Any] | None, Layout]:
    if kind == "files":
        layout = _attach_files(connection, source, layout)
        order = None
    elif kind == "frames":
        for name, frame in source.items():
            _view(connection, name, _register(connection, name, frame))
        order = None
    elif kind in ("relation", "frame", "jsonl", "nested"):
        relation = _nested_relation(connection, source, kind)
        layout = _spread(connection, relation, layout, zone)
        order = [row[0] for row in connection.execute(
            f'SELECT {_quote(layout.id)} FROM {_quote(layout.customers)}').fetchall()]
    else:
        raise UsageError(f"DuckDB reads no tables from {_what(kind or type(source).__name__)}")
    if checked:
        _check_types(connection, layout)
    return order, layout


def _register(connection: Any, name: str, frame: Any) -> str:
    """``frame`` as a relation DuckDB scans (through Arrow: a pandas column of
    mixed values is refused, as the Python engine would meet it value by value)."""
    view = f"{_PREFIX}{name}"
    connection.register(view, _arrow(frame))
    return view


def _arrow(frame: Any) -> Any:
    from segdsl.customers import _is

    try:
        import pyarrow as pa
    except ImportError:
        raise UsageError("tables in memory reach DuckDB through pyarrow: pip install pyarrow") \
            from None
    try:
        if _is(frame, "pandas", "DataFrame"):
            if any(name is not None for name in frame.index.names):
                raise UsageError("a named index is a field: the Python engine reads it")
            return pa.Table.from_pandas(frame, preserve_index=False)
        if _is(frame, "polars", "LazyFrame"):
            frame = frame.collect()
        if _is(frame, "polars", "DataFrame"):
            return frame.to_arrow()
        if _is(frame, "pyarrow", "Table", "RecordBatch", "RecordBatchReader"):
            return frame
        return pa.RecordBatchReader.from_stream(frame)
    except (pa.ArrowException, ValueError, TypeError) as error:
        raise UsageError(f"the table cannot be read through Arrow: {error}") from None


def _view(connection: Any, name: str, scan: str) -> None:
    """The view ``name`` over ``scan``, NaN read as null (as the Python engine reads it)."""
    columns = connection.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    parts = [f"NULLIF({_quote(c)}, 'NaN'::{kind}) AS {_quote(c)}" if kind in (
        "DOUBLE", "FLOAT") else _quote(c) for c, kind, *_ in columns]
    connection.execute(f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT "
                       f"{', '.join(parts) or '*'} FROM {scan}")


def _attach_files(connection: Any, source: Any, layout: Layout) -> Layout:
    """Views over the files of each table; a list table without an order column
    of its own is ordered by its ``position`` column when it has one (as
    :func:`write_tables` writes it)."""
    files = _table_files(source)
    wanted = [layout.customers, *(table.table for table in layout.lists.values())]
    if layout.customers not in files:
        shown = source if not isinstance(source, (list, tuple)) else ", ".join(map(str, source))
        found = f"it holds {', '.join(sorted(files))}" if files else "it holds no table"
        raise UsageError(f"{shown}: no {layout.customers} table (a {layout.customers}.parquet, "
                         f".csv or .jsonl file, or a {layout.customers}/ folder of Parquet "
                         f"files): {found}; the layout reads {', '.join(wanted)}")
    for name in wanted:
        if name in files:
            _view(connection, name, files[name])
    lists = dict(layout.lists)
    for path, table in layout.lists.items():
        if table.order is None and table.table in files and POSITION in dict(
                _describe(connection, f"SELECT * FROM {_quote(table.table)}")):
            lists[path] = attrs.evolve(table, order=POSITION)
    return attrs.evolve(layout, lists=lists)


def _table_files(source: Any) -> dict[str, str]:
    """Table name to the DuckDB scan of its files."""
    paths: list[Path] = []
    for each in (source if isinstance(source, (list, tuple)) else [source]):
        text = os.fspath(each)
        if Path(text).is_dir():
            paths.extend(sorted(Path(text).iterdir()))
        elif glob.has_magic(text):
            paths.extend(Path(p) for p in sorted(glob.glob(text)))
        elif Path(text).exists():
            paths.append(Path(text))
        else:
            raise UsageError(f"{text}: no such file or directory")
    _refuse_csv_set(paths)
    scans: dict[str, str] = {}
    for path in paths:
        if path.is_dir() and any(path.glob("*.parquet")):
            scans[path.name] = f"read_parquet({_literal(str(path / '*.parquet'))})"
        elif path.suffix.lower() in TABLE_SUFFIXES:
            reader = TABLE_SUFFIXES[path.suffix.lower()]
            scans[path.stem] = f"{reader}({_literal(str(path))})"
    return scans


def _refuse_csv_set(paths: list[Path]) -> None:
    """Refuses the CSV files :func:`segdsl.read_customers` reads (an ``orders.csv``
    of one row per order line, keyed by ``order_id``): read as tables, an order
    of two lines would be two orders."""
    names = {path.name for path in paths}
    for path in paths:
        if path.name != "orders.csv" or "order_items.csv" in names:
            continue
        try:
            with path.open(encoding="utf-8-sig", newline="") as file:
                header = next(csv.reader(file), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            continue  # the table scan reports it
        if "order_id" in header and "id" not in header:
            customers = path.with_name("customers.csv")
            raise UsageError(
                f"{path}: one row per order line (an order_id, no id): these are the CSV "
                f"files segdsl.read_customers reads, from {customers}; give that file as the "
                f"data (as tables, each order needs an id and its lines an order_items table)")


# ------------------------------------------------------------ nested records


def _nested_relation(connection: Any, source: Any, kind: str) -> str:
    """The scan of the nested customer records of ``source``."""
    if kind == "relation":
        name = f"{_PREFIX}relation"
        connection.register(name, source.arrow())
        return name
    if kind == "frame":
        return _register(connection, "customers_source", source)
    path = os.fspath(source)
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    if kind == "jsonl":
        # Text stays text (never a DATE or TIMESTAMP by the look of it), as
        # Python's json reads it; datetime fields are read below, strictly.
        return (f"read_json({_literal(path)}, format='newline_delimited', sample_size=-1, "
                f"dateformat={_literal(_NEVER)}, timestampformat={_literal(_NEVER)})")
    return f"read_parquet({_literal(path)})"


def _spread(connection: Any, scan: str, layout: Layout, zone: Any) -> Layout:
    """The normalized tables of the nested records of ``scan``: ``customers``
    without its list columns, and one table per list, its elements in list
    order (a null element is no element) with their owner and position."""
    columns = dict(_describe(connection, f"SELECT * FROM {scan}"))
    if layout.id not in columns:
        raise UsageError(f"the customers have no {layout.id} column")
    lists = {path[0] for path in layout.lists}
    kept = [c for c in columns if c not in lists]
    selected = ", ".join([*(_read_column(c, columns[c], layout.fields.get(c), zone)
                            for c in kept), *_nulls(layout.fields, columns, layout.column)])
    source = f"{_PREFIX}nested"
    connection.execute(f"CREATE TEMP TABLE {source} AS SELECT * FROM {scan}")
    connection.execute(f"CREATE TEMP TABLE {_quote(layout.customers)} AS SELECT {selected} "
                       f"FROM {source}")
    tables: dict[tuple[str, ...], ListTable] = {}
    fields: dict[tuple[str, ...], dict[str, str]] = {(): columns}
    for path, table in sorted(layout.lists.items(), key=lambda item: len(item[0])):
        parent = tables.get(path[:-1])
        owner_scan = source if parent is None else _quote(f"{_PREFIX}{parent.table}")
        owner_key = _quote(layout.id) if parent is None else _quote(parent.key or "")
        table = attrs.evolve(table, order=POSITION) if table.order is None else table
        tables[path] = table
        fields[path] = _spread_list(connection, owner_scan, owner_key, path[-1], table, zone,
                                    path[-1] not in fields.get(path[:-1], {}))
    return attrs.evolve(layout, lists={**layout.lists, **tables})


def _spread_list(connection: Any, owner_scan: str, owner_key: str, field: str,
                 table: ListTable, zone: Any, absent: bool) -> dict[str, str]:
    """The table of one list's elements; returns their columns and types."""
    full = _quote(f"{_PREFIX}{table.table}")
    key = f"row_number() OVER (ORDER BY {_quote(table.owner)}, {_quote(POSITION)}) AS " \
          f"{_quote(table.key)}, " if table.key is not None and table.key != POSITION else ""
    columns = {} if absent else _element_columns(connection, owner_scan, field)
    clash = {table.owner, POSITION, table.key} & set(columns or {})
    if clash:
        raise UsageError(f"the elements of {'.'.join(table.path)} have a field "
                         f"{min(c for c in clash if c)!r}, the name of a column the "
                         f"table of the list needs")
    if columns is None and not absent:
        if _elements(connection, owner_scan, field):
            raise UsageError(f"{'.'.join(table.path)} is not a list of records of one shape")
        absent = True  # every list empty or null: as if no customer had it
    fields = [_read_column(f"e.{_quote(name)}", kind, table.fields.get(name), zone, name)
              for name, kind in (columns or {}).items()]
    fields += _nulls(table.fields, columns or {}, table.column)
    if absent:
        # No customer has the list: an empty table of the declared columns.
        owner_type = _describe(connection, f"SELECT {owner_key} FROM {owner_scan}")[0][1]
        key_column = f"NULL::BIGINT AS {_quote(table.key)}, " if key and table.key else ""
        connection.execute(
            f"CREATE TEMP TABLE {full} AS SELECT NULL::{owner_type} AS {_quote(table.owner)}, "
            f"NULL::BIGINT AS {_quote(POSITION)}, {key_column}"
            f"{', '.join(fields) or 'NULL AS __none'} WHERE false")
    else:
        connection.execute(
            f"CREATE TEMP TABLE {full} AS SELECT {_quote(table.owner)}, {_quote(POSITION)}, "
            f"{key}{', '.join(fields) or 'NULL AS __none'} FROM (SELECT {owner_key} AS "
            f"{_quote(table.owner)}, unnest(range(len({_quote(field)}))) AS {_quote(POSITION)}, "
            f"unnest({_quote(field)}) AS e FROM {owner_scan}) WHERE e IS NOT NULL")
    nested = [name for name, kind in (columns or {}).items() if kind.endswith("[]")
              and kind.startswith("STRUCT")]
    shown = f"* EXCLUDE ({', '.join(_quote(n) for n in nested)})" if nested else "*"
    connection.execute(f"CREATE TEMP VIEW {_quote(table.table)} AS SELECT {shown} FROM {full}")
    return columns or {}


#: The column type holding each declared type's values.
_SQL_TYPES = {"number": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN", "date": "DATE",
              "datetime": "TIMESTAMPTZ"}


def _nulls(declared: Mapping[str, t.Type], present: Mapping[str, str],
           column: Callable[[str], str]) -> list[str]:
    """Null columns for the declared fields no record has (the Python engine reads
    a missing field as null)."""
    items = []
    for name, type_ in declared.items():
        if column(name) in present:
            continue
        element = type_.element if type_.is_list else None
        found = _SQL_TYPES.get(element.name if element is not None else type_.name)
        if found is not None and (element is None or not element.is_record):
            items.append(f"NULL::{found}{'[]' if element is not None else ''} AS "
                         f"{_quote(column(name))}")
    return items


def _elements(connection: Any, scan: str, field: str) -> int:
    """How many elements (not null) the lists ``field`` of ``scan`` hold."""
    return connection.execute(f"SELECT count(e) FROM (SELECT unnest({_quote(field)}) AS e "
                              f"FROM {scan})").fetchone()[0]


def _element_columns(connection: Any, scan: str, field: str) -> dict[str, str] | None:
    found = _describe(connection, f"SELECT unnest({_quote(field)}) AS e FROM {scan}")
    kind = found[0][1] if found else ""
    if not kind.startswith("STRUCT("):
        return None  # not a list of records: the rules' checks see it as it is
    return dict(_describe(connection, f"SELECT e.* FROM (SELECT unnest({_quote(field)}) AS e "
                                      f"FROM {scan})"))


def _read_column(column: str, kind: str, declared: t.Type | None, zone: Any,
                 name: str | None = None) -> str:
    """The select item reading ``column``: ISO text of a datetime or date field
    read as one (strictly), NaN as null, the rest as it is."""
    alias = _quote(name if name is not None else column)
    source = column if name is not None else _quote(column)
    if kind in ("DOUBLE", "FLOAT"):
        return f"NULLIF({source}, 'NaN'::{kind}) AS {alias}"
    if kind.strip('"') == "NULL" and declared is not None and declared.name in _SQL_TYPES:
        # no record holds a value there: the declared type's nulls
        return f"{source}::{_SQL_TYPES[declared.name]} AS {alias}"
    if kind == "VARCHAR" and declared is not None and declared.name in ("datetime", "date"):
        return f"{_iso(source, declared.name, zone)} AS {alias}"
    return f"{source} AS {alias}"


def _iso(column: str, kind: str, zone: Any) -> str:
    from segdsl.timeline import UTC

    if kind == "date":
        pattern, target = _DAY, "DATE"
    else:
        naive = zone is None or zone is UTC or str(zone) == "UTC"
        pattern = f"{_DAY}[T ]{_TIME}{_OFFSET}{'?' if naive else ''}"
        target = "TIMESTAMPTZ"
    message = f"'the text ' || {column} || ' is not read as a {kind} by the DuckDB engine'"
    return (f"CASE WHEN {column} IS NULL THEN NULL WHEN regexp_full_match({column}, "
            f"{_literal(pattern)}) THEN CAST({column} AS {target}) "
            f"ELSE error({message}) END")


def _check_types(connection: Any, layout: Layout) -> None:
    """Refuse (UsageError) a declared column that is missing or of another type, and
    ids the Python engine refuses (booleans) or reads otherwise (lists, records)."""
    ids = dict(_describe(connection, f"SELECT {_quote(layout.id)} FROM "
                                     f"{_quote(layout.customers)}"))
    kind = ids.get(layout.id, "")
    if kind == "JSON":  # what DuckDB makes of a column of text and numbers
        raise UsageError("the ids are of several kinds (text and numbers, or values that are "
                         "neither): the DuckDB engine reads ids of one kind")
    if kind == "BOOLEAN" or kind.endswith("]") or kind.startswith(("STRUCT", "MAP")):
        raise UsageError(f"the ids are {kind}: an id is text or a number")
    tables = [(layout.customers, layout.fields, layout.column),
              *((table.table, table.fields, table.column) for table in layout.lists.values())]
    for table, fields, column in tables:
        try:
            found = dict(_describe(connection, f"SELECT * FROM {_quote(table)}"))
        except SegdslError:
            found = {}
        for name, declared in fields.items():
            if name == layout.id or declared.name == "any" or (
                    declared.is_list and declared.element is not None
                    and declared.element.is_record):
                continue
            held = found.get(column(name))
            if held is None or not _fits(held, declared):
                raise UsageError(f"{table}.{column(name)} is {held or 'missing'}, not a "
                                 f"{declared}")


def _fits(kind: str, declared: t.Type) -> bool:
    """Whether a column of DuckDB type ``kind`` holds the values of ``declared``
    as the Python engine reads them."""
    from segdsl.sql.layout import _COLUMN_TYPES, _WIDENED

    found = t.NUMBER if kind.upper() in _WIDENED else _COLUMN_TYPES.get(kind.upper())
    if found is None or found.name != declared.name:
        return False
    return not declared.is_list or (found.element is not None and declared.element is not None
                                    and found.element.name == declared.element.name)


def _describe(connection: Any, query: str) -> list[tuple[str, str]]:
    import duckdb

    try:
        return [(row[0], row[1]) for row in connection.execute(f"DESCRIBE {query}").fetchall()]
    except duckdb.Error as error:
        raise UsageError(f"the data cannot be read: {str(error).splitlines()[0]}") from None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ------------------------------------------------------------ writing


def write_tables(source: Any, directory: str | os.PathLike[str], *,
                 layout: Layout | None = None, format: str = "parquet",
                 zone: Any = None) -> list[Path]:
    """Write nested customer records (a JSON Lines or Parquet file, a table in
    memory) as the normalized layout's tables, one file per table, in
    ``directory``: what ``evaluate(directory)`` reads.

    Args:
        source: the nested records.
        directory: where to write (made if missing).
        layout: the tables (default: the default schema's normalized layout).
        format: ``parquet``, ``csv`` or ``jsonl``.
        zone: the zone of naive timestamps in the records (default UTC).

    Returns:
        the files written.
    """
    if format not in ("parquet", "csv", "jsonl"):
        raise UsageError(f"format must be parquet, csv or jsonl, not {format!r}")
    layout = layout if layout is not None else Layout.from_schema(None)
    duckdb = _duckdb_module()
    Path(directory).mkdir(parents=True, exist_ok=True)
    written = []
    kind = kind_of(source)
    if kind not in ("jsonl", "nested", "frame", "relation"):
        raise UsageError(f"write_tables reads nested customer records, not {_what(kind or '')}")
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        _, spread = attach(connection, source, layout, kind=kind, zone=zone)
        options = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true",
                   "jsonl": "FORMAT json"}[format]
        for name in [spread.customers, *(table.table for table in spread.lists.values())]:
            target = Path(directory) / f"{name}.{format}"
            connection.execute(f"COPY (SELECT * FROM {_quote(name)}) TO "
                               f"{_literal(str(target))} ({options})")
            written.append(target)
    return written


def database(source: Any, *, writable: bool = False) -> Any:
    """A DuckDB connection to the database file ``source`` (``shop.duckdb`` or
    ``duckdb:shop.duckdb``); made when missing only if ``writable``."""
    duckdb = _duckdb_module()
    text = os.fspath(source).removeprefix("duckdb:").removeprefix("//")
    if not writable and not Path(text).is_file():
        raise UsageError(f"{text}: no such file")
    try:
        return duckdb.connect(text, read_only=not writable)
    except duckdb.Error as error:
        raise UsageError(f"{text}: cannot open the DuckDB database ({_first_line(error)})") \
            from None


def write_memberships(connection: Any, table: str, members: Mapping[str, list[Any]],
                      now: Any) -> int:
    """Append the memberships to ``table`` (made when missing) of a DuckDB
    connection, or of a PostgreSQL connection or URL: one row ``(segment,
    customer_id, now)`` per member.

    Returns:
        the number of rows written.

    Raises:
        UsageError: the connection is of no database, or the table has other
            columns.
    """
    kind = kind_of(connection)
    rows = [(name, identity) for name, ids in members.items() for identity in ids]
    kinds = {type(identity) for _, identity in rows}
    id_type = "VARCHAR" if kinds == {str} else "BIGINT" if kinds <= {int} else "DOUBLE"
    if kind == "postgres":
        from segdsl.sql import postgres

        postgres.write_memberships(connection, table, rows, id_type, now)
        return len(rows)
    if kind != "connection":
        what = f"files ({os.fspath(connection)})" if kind == "files" else \
            type(connection).__name__
        raise UsageError(f"--into writes into a DuckDB database or PostgreSQL, not into "
                         f"{what}")
    import duckdb

    ids = [identity for _, identity in rows]
    target = ".".join(_quote(part) for part in table.split("."))
    try:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {target} (segment VARCHAR, "
                           f"customer_id {id_type}, now TIMESTAMPTZ)")
        # Lists bound as parameters: one statement, however many members.
        connection.execute(f"INSERT INTO {target} (segment, customer_id, now) SELECT "
                           f"unnest($1::VARCHAR[]), unnest($2::{id_type}[]), $3::TIMESTAMPTZ",
                           [[name for name, _ in rows], ids, now])
    except duckdb.Error as error:
        raise UsageError(f"cannot write the memberships into {table}: "
                         f"{_first_line(error)}") from None
    return len(rows)


def skeleton(source: Any) -> list[dict[str, Any]]:
    """One record naming every field the customers of a JSON Lines file have, and
    in each list of records one element naming every field its elements have
    (what :meth:`~segdsl.rules.RuleSet.missing_fields` needs, without the records)."""
    duckdb = _duckdb_module()
    if kind_of(source) != "jsonl":
        return []
    with duckdb.connect() as connection:
        try:
            columns = _describe(connection, f"SELECT * FROM {_nested_relation(connection, source, 'jsonl')}")
        except UsageError:
            return []
        record: dict[str, Any] = {}
        for name, kind in columns:
            fields = _struct_fields(kind.removesuffix("[]")) if kind.endswith("[]") else None
            record[name] = [dict.fromkeys(fields)] if fields else None
        return [record]


def _struct_fields(kind: str) -> list[str]:
    """The field names of a DuckDB ``STRUCT(a T, "b" U, ...)`` type's text."""
    if not kind.startswith("STRUCT(") or not kind.endswith(")"):
        return []
    inner, names, depth, start = kind[7:-1], [], 0, 0
    parts = []
    for index, char in enumerate(inner):
        depth += char in "(["
        depth -= char in ")]"
        if char == "," and depth == 0:
            parts.append(inner[start:index].strip())
            start = index + 1
    parts.append(inner[start:].strip())
    for part in parts:
        if part.startswith('"'):
            names.append(part[1:part.index('"', 1)].replace('""', '"'))
        elif part:
            names.append(part.split(" ", 1)[0])
    return names
