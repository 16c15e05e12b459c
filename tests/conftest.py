"""Fixtures shared by the test files: a PostgreSQL server of the tests' own."""

from __future__ import annotations

import os
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
