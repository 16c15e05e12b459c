"""Fixtures shared by the test modules: database servers the project starts itself."""

from __future__ import annotations

import os
import tempfile

import pytest


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
