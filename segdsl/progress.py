"""Progress on standard error for the command line, shown only for slow work.

Nothing is drawn during the first second (:data:`DELAY`), nor when standard
error is not a terminal (a CI log would fill with redrawn lines): quick runs
and piped runs stay silent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Self, TextIO

DELAY = 1.0
_REDRAW = 0.25
_WIDTH = 30


class Progress:
    """A counter of customers evaluated, drawn as a bar once work takes over a second.

    Args:
        total: how many customers there are.
        stream: where to draw (standard error).
        clock: seconds, monotonic (a parameter so that tests need not wait).
    """

    def __init__(self, total: int, stream: TextIO, clock: Callable[[], float] = time.monotonic,
                 interactive: bool | None = None) -> None:
        self.total = total
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.drawn = False
        self.interactive = _is_terminal(stream) if interactive is None else interactive

    def __call__(self, done: int) -> None:
        """Record that ``done`` customers are evaluated."""
        if not self.interactive or self.total <= 0:
            return
        if done < self.total and self.clock() - self.started < DELAY:
            return
        if done >= self.total:
            self.clear()
            return
        filled = _WIDTH * done // self.total
        self.stream.write(f"\r[{'#' * filled}{'.' * (_WIDTH - filled)}] "
                          f"{done:,}/{self.total:,} customers evaluated")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        """Erase the bar, if it was drawn."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False


class Activity:
    """``reading FILE ... 2.3 s`` redrawn on ``stream`` while a step with no
    counter runs (reading data), from one second after it starts.

    Use as a context manager around the step.
    """

    def __init__(self, what: str, stream: TextIO, interactive: bool | None = None,
                 delay: float = DELAY) -> None:
        self.what = what
        self.stream = stream
        self.interactive = _is_terminal(stream) if interactive is None else interactive
        self.delay = delay
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.drawn = False

    def __enter__(self) -> Self:
        if self.interactive:
            self._thread = threading.Thread(target=self._draw, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self) -> None:
        started = time.monotonic()
        if self._done.wait(self.delay):
            return
        while not self._done.is_set():
            self.stream.write(f"\r{self.what} ... {time.monotonic() - started:.1f} s")
            self.stream.flush()
            self.drawn = True
            self._done.wait(_REDRAW)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False
