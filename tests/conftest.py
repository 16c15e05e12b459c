"""Fixtures shared by the test modules: database servers the project starts itself."""

from __future__ import annotations

import os
import tempfile
import warnings

import pytest


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a database on a PostgreSQL server started for the session (stopped
    at its end). Without one, the tests are skipped, with the reason (also given as a
    warning, shown in the summary); in CI (the environment variable CI set) they fail."""
    from servers import PostgresServer, ServerUnavailable

    try:
        import psycopg  # noqa: F401

        server = PostgresServer()
    except (ImportError, ServerUnavailable) as why:
        reason = f"no PostgreSQL server could be started: {why}"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL: {reason}")
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession (2 cores, UTC, ANSI mode off) for the whole run; skipped
    with the reason when Spark or Java cannot start here, a failure in CI."""
    try:
        from pyspark.sql import SparkSession

        session = (SparkSession.builder.master("local[2]").appName("segdsl-tests")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.default.parallelism", "2")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.driver.memory", "1g")
                   .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="segdsl-spark-"))
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.ansi.enabled", "false")
                   .getOrCreate())
    except Exception as error:  # noqa: BLE001 - no pyspark, no Java, no room: say which
        reason = f"Spark cannot start here: {type(error).__name__}: {error}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
