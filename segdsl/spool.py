"""Member ids kept on disk as they are found, so that ``segdsl eval`` over a
stream holds a few thousand ids per segment, whatever the number of customers."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

#: Ids kept in memory per segment before they are written out.
CHUNK = 8192


class SpooledIds:
    """Ids appended one by one and read back in the same order, as a list's
    ``append``, ``len`` and iteration; beyond ``chunk`` of them, they wait in an
    unnamed temporary file (removed when closed or collected), ``chunk`` at a time."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self._chunk = chunk
        self._memory: list[Any] = []
        self._file: IO[bytes] | None = None
        self._chunks = 0  # written to the file, each of ``chunk`` ids

    def append(self, identity: Any) -> None:
        self._memory.append(identity)
        if len(self._memory) >= self._chunk:
            self._write()

    def _write(self) -> None:
        if self._file is None:
            # Open across calls, until close(): no context manager can hold it.
            self._file = tempfile.TemporaryFile(prefix="segdsl-members-")  # noqa: SIM115
        self._file.seek(0, 2)  # an iteration left unfinished moved the position
        pickle.dump(self._memory, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._chunks += 1
        self._memory = []

    def __len__(self) -> int:
        return self._chunks * self._chunk + len(self._memory)

    def __iter__(self) -> Iterator[Any]:
        if self._file is not None:
            self._file.seek(0)
            for _ in range(self._chunks):
                yield from pickle.load(self._file)
        yield from self._memory

    def close(self) -> None:
        """Removes the temporary file; the ids are gone."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory, self._chunks = [], 0
