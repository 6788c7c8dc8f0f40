"""What the CSV files ops give (location feeds, support lines) share: Python's csv errors in the words of what to
fix in the file."""

from __future__ import annotations

import csv


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
