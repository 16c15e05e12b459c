"""Room on Python's stack for deeply nested rules.

The checker, the compiler and the closures they build recurse once per level
of a rule's nesting. Rules are limited to :data:`MAX_NESTING` levels once
every def is expanded and every segment reference followed (a chain of a
thousand defs, each calling the previous, needs about 2,000), so the stages
raise Python's recursion limit while they work on a deep rule, and put it back
when the last of them, in any thread, is done.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

#: Deepest nesting of a rule once every def is expanded in place.
MAX_NESTING = 6_000

# Python frames a stage may need per level of nesting, at most.
_FRAMES_PER_LEVEL = 5

#: Nesting that fits the default recursion limit: shallower rules need no room.
SHALLOW = 150

_lock = threading.Lock()
_users = 0
_saved_limit = 0


@contextlib.contextmanager
def recursion_room() -> Iterator[None]:
    """Room for :data:`MAX_NESTING` levels while the block runs."""
    global _users, _saved_limit
    with _lock:
        if _users == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, MAX_NESTING * _FRAMES_PER_LEVEL + 2_000))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                sys.setrecursionlimit(_saved_limit)
