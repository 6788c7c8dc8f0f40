"""What the CSV files ops give (location feeds, support lines) share: Python's csv errors in the words of what to
fix in the file."""

from __future__ import annotations

import csv
from pathlib import Path

DELIMITERS = (",", ";", "\t", "|")


def delimiter_of(header_line: str) -> str:
    """The delimiter of a CSV file: its header line's commonest (a spreadsheet's export in a French or German
    locale uses `;`)."""
    return max(DELIMITERS, key=header_line.count)


def csv_problem(exc: csv.Error) -> str:
    """Python's csv messages, in the words of what to fix."""
    message = str(exc)
    if message == "unexpected end of data":
        return "a quoted value in this row is never closed (a missing quote?)"
    if message.startswith("field larger than field limit"):
        return f"a value longer than {csv.field_size_limit():,} characters (a quoted value never closed?)"
    if message.endswith("expected after '\"'"):
        return 'text after the closing quote of a quoted value (a quote inside a value is written "")'
    return f"not a readable CSV file ({message})"


def first_undecodable(path: Path) -> tuple[int, int, int] | None:
    """Where the file stops being UTF-8: (line, column, the byte), counted from 1, as an editor shows them; None
    when every line decodes."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, exc.start + 1, line[exc.start]
    return None
