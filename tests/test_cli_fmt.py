"""``segdsl fmt FILE... [--check]`` from end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segdsl.cli import main

UNFORMATTED = "segment vip=loyal and country in ['FR','BE']  # best\n"
FORMATTED = 'segment vip = loyal and country in ["FR", "BE"]  # best\n'
BROKEN = "segment vip = loyal and\n"


@pytest.fixture
def rule_files(tmp_path: Path) -> tuple[Path, Path]:
    """One rule file that needs formatting and one that does not."""
    messy = tmp_path / "messy.seg"
    messy.write_text(UNFORMATTED, encoding="utf-8")
    tidy = tmp_path / "tidy.seg"
    tidy.write_text(FORMATTED, encoding="utf-8")
    return messy, tidy


def test_fmt_rewrites_files_in_place(rule_files, capsys) -> None:
    """fmt rewrites the files that need it, names them, and exits 0."""
    messy, tidy = rule_files
    assert main(["fmt", str(messy), str(tidy)]) == 0
    assert messy.read_text(encoding="utf-8") == FORMATTED
    assert tidy.read_text(encoding="utf-8") == FORMATTED
    assert capsys.readouterr() == (f"reformatted {messy}\n", "")


def test_check_lists_the_files_that_would_change(rule_files, capsys) -> None:
    """--check names the files that would change, exits 1, and writes nothing."""
    messy, tidy = rule_files
    assert main(["fmt", "--check", str(messy), str(tidy)]) == 1
    assert messy.read_text(encoding="utf-8") == UNFORMATTED
    assert tidy.read_text(encoding="utf-8") == FORMATTED
    assert capsys.readouterr() == (f"would reformat {messy}\n", "")


def test_check_passes_when_every_file_is_formatted(rule_files, capsys) -> None:
    """--check exits 0 and prints nothing when no file would change."""
    _, tidy = rule_files
    assert main(["fmt", "--check", str(tidy)]) == 0
    assert capsys.readouterr() == ("", "")


def test_a_syntax_error_is_shown_with_a_caret(rule_files, tmp_path, capsys) -> None:
    """A file that does not parse is reported like a compiler error and left
    alone; the other files are still formatted; the exit status is 1."""
    messy, _ = rule_files
    broken = tmp_path / "broken.seg"
    broken.write_text(BROKEN, encoding="utf-8")
    assert main(["fmt", str(broken), str(messy)]) == 1
    assert broken.read_text(encoding="utf-8") == BROKEN
    assert messy.read_text(encoding="utf-8") == FORMATTED
    out, err = capsys.readouterr()
    assert out == f"reformatted {messy}\n"
    location, source_line, carets, *_ = err.splitlines()
    assert location.startswith(f"{broken}:")
    assert source_line == "  segment vip = loyal and"
    assert carets.strip() and set(carets.strip()) == {"^"}


def test_a_missing_file_is_reported_and_the_others_formatted(rule_files, tmp_path,
                                                             capsys) -> None:
    """A missing file is one line on stderr; the other files are still rewritten; status 2."""
    messy, _ = rule_files
    missing = tmp_path / "missing.seg"
    assert main(["fmt", str(missing), str(messy)]) == 2
    assert messy.read_text(encoding="utf-8") == FORMATTED
    assert capsys.readouterr() == (f"reformatted {messy}\n",
                                   f"segdsl: {missing}: no such file\n")


def test_python_dash_m_segdsl_fmt(rule_files) -> None:
    """``python -m segdsl fmt`` rewrites a file and exits 0."""
    messy, _ = rule_files
    done = subprocess.run([sys.executable, "-m", "segdsl", "fmt", str(messy)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"reformatted {messy}\n", "")
    assert messy.read_text(encoding="utf-8") == FORMATTED
