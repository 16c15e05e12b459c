"""Shared by the tests that run with another timezone for the process itself."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator


@contextlib.contextmanager
def host_zone(name: str) -> Iterator[None]:
    """The process's own timezone set to ``name`` (``TZ``) inside the block."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()
