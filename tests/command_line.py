"""Shared by the command-line tests: a run of ``segdsl`` in this process."""

from __future__ import annotations

from segdsl import cli


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``(status, stdout, stderr)`` of the command line run in this process."""
    status = cli.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err
