"""Fixtures shared by the test files: a PostgreSQL server of the tests' own."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a database on a PostgreSQL server started for the session (stopped
    at its end). Without one, the tests are skipped, with the reason; in CI (the
    environment variable CI set) they fail instead."""
    from tests.servers import PostgresServer, ServerUnavailable

    try:
        import psycopg  # noqa: F401

        server = PostgresServer()
    except (ImportError, ServerUnavailable) as why:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL: {why}")
        pytest.skip(f"no PostgreSQL server could be started: {why}")
    yield server.url
    server.stop()
