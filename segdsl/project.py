"""The project file: one place for the options every verb and ``segdsl.load`` use.

``segdsl.toml``, or a ``[tool.segdsl]`` table in ``pyproject.toml``, is looked
for from the current directory upward (the first directory holding either
wins; a ``pyproject.toml`` without the table is passed over)::

    schema = "schema.toml"            # a schema file, or an inline [schema] table
    timezone = "Europe/Paris"
    rfm_window = "365d"
    functions = "shop.rules:functions" # module:attribute naming a segdsl.Functions
    rules = ["rules"]                 # what check, fmt and test read by default
    data = "data/customers.jsonl"     # the default --data
    engine = "python"

    [tables.orders]                   # table mapping, over the schema file's
    table = "shop.orders"

Paths are relative to the directory of the project file. Command-line flags
(``--schema``, ``--timezone``, ``--rfm-window``, ``--functions``, ``--config``)
override the file, through :meth:`Project.overridden`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from segdsl.errors import SegdslError, UsageError
from segdsl.functions import Function, Functions
from segdsl.schema import Schema
from segdsl.schema_file import (
    CUSTOMER_KEYS,
    LIST_KEYS,
    Table,
    default_table,
    read_schema,
    schema_from_table,
)
from segdsl.toml_source import TomlSource

PROJECT_FILE = "segdsl.toml"
PYPROJECT_FILE = "pyproject.toml"
KEYS = ("schema", "timezone", "rfm_window", "functions", "rules", "data", "engine", "tables")
ENGINES = ("python", "duckdb", "postgres", "spark")


@attrs.frozen
class Project:
    """The options of a project, read from its project file (or none).

    Attributes:
        file: the project file (None: no project file, every option unset).
        schema: the customers' fields.
        schema_file: the schema file the schema came from, if any.
        timezone: zone of naive datetimes and period days.
        rfm_window: analysis window of RFM frequency and monetary scores.
        functions: import path (``module:attribute``) of custom functions.
        rules: paths read by ``check``, ``fmt`` and ``test`` when none is given.
        data: the default data source.
        engine: the engine that evaluates (``python`` today).
        tables: where the customers and each list live in a database, by
            path (``customers``, ``orders``, ``orders.items``): the schema
            file's mapping with the project file's ``[tables]`` over it.
    """

    file: Path | None = None
    schema: Schema | None = None
    schema_file: Path | None = None
    timezone: str | None = None
    rfm_window: str | None = None
    functions: str | None = None
    rules: tuple[str, ...] = ()
    data: str | None = None
    engine: str | None = None
    tables: Mapping[str, Table] = attrs.field(factory=dict)
    #: the project file's own [tables], which stay over another schema's mapping
    mapped: Mapping[str, Table] = attrs.field(factory=dict, repr=False)

    @property
    def root(self) -> Path:
        """The directory of the project file (the current directory without one)."""
        return self.file.parent if self.file is not None else Path.cwd()

    @classmethod
    def find(cls, start: str | Path | None = None) -> Project:
        """The project of the first directory from ``start`` (default: the current
        directory) upward holding ``segdsl.toml`` or a ``pyproject.toml`` with
        ``[tool.segdsl]``; an empty project when there is none."""
        found = find_file(Path(start) if start is not None else Path.cwd())
        return cls.read(_shorter(found)) if found is not None else cls()

    @classmethod
    def read(cls, path: str | Path) -> Project:
        """The project of a ``segdsl.toml`` or ``pyproject.toml`` file.

        Raises:
            UsageError: the file cannot be read or holds a bad option (placed
                on the option).
        """
        path = Path(path)
        source = TomlSource(_read(path), str(path))
        if path.name == PYPROJECT_FILE:
            table = source.data.get("tool", {}).get("segdsl")
            if not isinstance(table, Mapping):
                raise UsageError(f"{path}: no [tool.segdsl] table")
            return _Reader(source, path, "tool.segdsl.").project(table)
        return _Reader(source, path, "").project(source.data)

    def overridden(self, *, schema: str | None = None, timezone: str | None = None,
                   rfm_window: str | None = None, functions: str | None = None) -> Project:
        """This project with the options given (not None) in place of its own;
        ``schema`` is the path of a schema file."""
        changes: dict[str, Any] = {}
        if schema is not None:
            schema_file = Path(schema)
            read = read_schema(_read(schema_file), schema)
            changes.update(schema=read.schema, schema_file=schema_file,
                           tables={**read.tables, **self.mapped})
        for name, value in (("timezone", timezone), ("rfm_window", rfm_window),
                            ("functions", functions)):
            if value is not None:
                changes[name] = value
        return attrs.evolve(self, **changes)

    def options(self) -> dict[str, Any]:
        """The options of :func:`segdsl.loads`: schema, functions (imported),
        timezone and RFM window.

        Raises:
            UsageError: the custom functions cannot be imported.
        """
        return {"schema": self.schema, "functions": self.load_functions(),
                "timezone": self.timezone, "rfm_window": self.rfm_window}

    def load_functions(self) -> Functions | None:
        """The :class:`segdsl.Functions` named by ``functions``, imported (the
        project's directory comes first on the import path)."""
        if self.functions is None:
            return None
        return import_functions(self.functions, self.root)

    def table(self, path: str) -> Table:
        """Where the customers (``customers``) or a list live in a database."""
        return self.tables.get(path) or default_table(path)


def find_file(start: Path) -> Path | None:
    """The project file of ``start`` or its nearest ancestor holding one."""
    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        own = candidate / PROJECT_FILE
        if own.is_file():
            return own
        pyproject = candidate / PYPROJECT_FILE
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return "[tool.segdsl" in text and isinstance(
        _quiet_toml(text).get("tool", {}).get("segdsl"), Mapping)


def _quiet_toml(text: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {"tool": {"segdsl": {}}}  # reading it again reports the error with its place


def read_text(path: Path | str, kind: str, newline: str | None = None) -> str:
    """The UTF-8 text of the file at ``path`` (``kind`` names what it should be
    in messages: "a TOML file", "a rule file").

    Raises:
        UsageError: the file is missing, a directory, not UTF-8 or unreadable.
    """
    try:
        with open(path, encoding="utf-8", newline=newline) as file:
            return file.read()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not {kind}") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read ({error.strerror})") from None


def _read(path: Path) -> str:
    return read_text(path, "a TOML file")


def import_functions(spec: str, root: Path) -> Functions:
    """The :class:`Functions` registry named by ``module:attribute``.

    Raises:
        UsageError: the module cannot be imported, or the attribute is
            missing or no ``segdsl.Functions``.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"functions must be an import path such as 'shop.rules:functions', "
                         f"not {spec!r}")
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except SegdslError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure of user code is one message
        raise UsageError(f"cannot import {module_name} for functions = {spec!r} "
                         f"({type(error).__name__}: {error})") from None
    finally:
        if added:
            sys.path.remove(str(root))
    value = getattr(module, attribute, None)
    if isinstance(value, (list, tuple)) and all(isinstance(f, Function) for f in value):
        value = Functions(value)
    if not isinstance(value, Functions):
        what = "nothing" if value is None else f"a {type(value).__name__}"
        raise UsageError(f"{spec} must name a segdsl.Functions registry, but {module_name}."
                         f"{attribute} is {what}")
    return value


class _Reader:
    """Reads a project table, placing each bad option."""

    def __init__(self, source: TomlSource, path: Path, prefix: str) -> None:
        self.source = source
        self.path = path
        self.prefix = prefix

    def project(self, table: Mapping[str, Any]) -> Project:
        what = f"[{self.prefix.rstrip('.')}]" if self.prefix else "the project file"
        self.source.unknown_keys(table, KEYS, what)
        schema, schema_file, tables = self.schema(table.get("schema"))
        mapped = self.tables(table.get("tables", {}))
        tables.update(mapped)
        engine = self.text(table, "engine")
        if engine is not None and engine not in ENGINES:
            raise self.source.fail(f"unknown engine '{engine}'", engine,
                                   hint=f"the engines are {', '.join(ENGINES)}")
        project = Project(self.path.resolve(), schema, schema_file,
                          self.text(table, "timezone"), self.text(table, "rfm_window"),
                          self.text(table, "functions"), self.paths(table.get("rules", ())),
                          self.relative(self.text(table, "data")), engine, tables, mapped)
        self.validate(project)
        return project

    def validate(self, project: Project) -> None:
        from segdsl.rules import loads

        # The options are checked as loads checks them, placed on the option.
        for name in ("timezone", "rfm_window"):
            value = getattr(project, name)
            try:
                loads("", **{name: value})
            except UsageError as error:
                raise self.source.fail(error.message, str(value)) from None

    def text(self, table: Mapping[str, Any], key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.source.fail(f"'{key}' must be text in quotes", key)
        return value

    def relative(self, path: str | None) -> str | None:
        if path is None:
            return None
        return str(_shorter(self.path.parent / path))

    def paths(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.source.fail("'rules' is a list of paths: rules = [\"rules\"]", "rules")
        return tuple(str(_shorter(self.path.parent / each)) for each in value)

    def schema(self, value: Any) -> tuple[Schema | None, Path | None, dict[str, Table]]:
        if value is None:
            return None, None, {}
        if isinstance(value, str):
            schema_path = _shorter(self.path.parent / value)
            try:
                read = read_schema(_read(schema_path), str(schema_path))
            except UsageError as error:
                if error.span is None:
                    raise self.source.fail(error.message.removeprefix(f"{schema_path}: ")
                                           + f" (the schema file {value!r})", value) from None
                raise
            return read.schema, schema_path, dict(read.tables)
        if isinstance(value, Mapping):
            read = schema_from_table(value, self.source, f"{self.prefix}schema.")
            return read.schema, None, dict(read.tables)
        raise self.source.fail("'schema' is the path of a schema file or a [schema] table",
                               "schema")

    def tables(self, value: Any) -> dict[str, Table]:
        if not isinstance(value, Mapping):
            raise self.source.fail("'tables' is a table of tables: [tables.orders]", "tables")
        mapped = {}
        for path, spec in value.items():
            header = f"{self.prefix}tables.{path if '.' not in path else chr(34) + path + chr(34)}"
            lines = self.source.table_lines(header)
            if not isinstance(spec, Mapping):
                raise self.source.fail(f"[{header}] must be a table", path, lines)
            keys = CUSTOMER_KEYS if path == "customers" else LIST_KEYS[1:-1]
            self.source.unknown_keys(spec, keys, f"[{header}]", lines)
            base = default_table(path)
            for key in ("table", "id", "key"):
                if key in spec and not isinstance(spec[key], str):
                    raise self.source.fail(f"'{key}' must be a name in quotes", key, lines)
            columns = spec.get("columns", dict(base.columns))
            if not isinstance(columns, Mapping):
                raise self.source.fail("'columns' maps fields to column names", "columns", lines)
            mapped[path] = Table(path, spec.get("table", base.table), spec.get("id", base.id),
                                 spec.get("key", base.key), dict(columns))
        return mapped


def _shorter(path: Path) -> Path:
    """``path`` relative to the current directory when it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def project_of(project: Any) -> Project:
    """The :class:`Project` ``project`` names: True (found from the current
    directory), a :class:`Project`, or the path of a project file."""
    if project is True:
        return Project.find()
    if isinstance(project, Project):
        return project
    if isinstance(project, (str, Path)):
        return Project.read(project)
    raise UsageError(f"project must be True, a segdsl.Project or the path of a project file, "
                     f"not {type(project).__name__}")
