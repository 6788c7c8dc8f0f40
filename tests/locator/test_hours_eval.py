"""`locator hours eval` lines: a bad line answers with its error and the stream goes on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from locator.hours_eval import evaluate_line
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("coordinates", "error"),
    [
        ({"lat": 200, "lon": 0}, "'lat' must be a number between -90 and 90"),
        ({"lat": 48.8, "lon": -181}, "'lon' must be a number between -180 and 180"),
        ({"lat": "north", "lon": 2.3}, "'lat' must be a number between -90 and 90"),
        ({"lat": True, "lon": 2.3}, "'lat' must be a number between -90 and 90"),
        ({"lat": 48.8}, "'lat' and 'lon' go together"),
    ],
)
def test_bad_coordinates_answer_on_their_own_line(coordinates: dict[str, object], error: str) -> None:
    # The engine raises its own error type on coordinates out of range, which ended the whole stream.
    line = json.dumps({"value": "sunrise-12:00", "from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z",
                       **coordinates})  # fmt: skip
    assert evaluate_line(line) == {"ok": False, "normalized": None, "warnings": [], "intervals": [], "error": error}


def test_coordinates_as_strings_place_the_sun() -> None:
    line = json.dumps({"value": "sunrise-12:00", "lat": "48.8566", "lon": "2.3522", "timezone": "Europe/Paris",
                       "from": "2025-01-01T00:00:00+01:00", "to": "2025-01-02T00:00:00+01:00"})  # fmt: skip
    out = evaluate_line(line)
    assert out["ok"] and out["intervals"][0]["from"] == "2025-01-01T08:44:00+01:00"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"country": 5}, "'country' must be a string"),
        ({"country": "DE", "region": 5}, "'region' must be a string"),
        ({"region": ["x"]}, "'region' must be a string"),
        ({"timezone": ["UTC"]}, "'timezone' must be a string"),
        (
            {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z", "timezone": "America/New_York"},
            "'from' must lie between 1900 and 2200",
        ),
        (
            {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:00:00Z", "timezone": "Asia/Tokyo"},
            "'from' must lie between 1900 and 2200",
        ),
        ({"from": 1765000000}, "'from' must be an ISO-8601 string"),
        # Python's own words, without the field they were about
        ({"from": "2026-13-01T00:00:00Z"}, "'from' is no ISO-8601 instant (month must be in 1..12)"),
    ],
)
def test_lines_that_ended_the_stream_answer_on_their_own(fields: dict[str, object], error: str) -> None:
    # Each raised past evaluate (AttributeError, OverflowError), ending the stream with a traceback.
    out = evaluate_line(json.dumps({"value": "24/7", **fields}))
    assert out == {"ok": False, "normalized": None, "warnings": [], "intervals": [], "error": error}


def test_a_line_that_is_not_utf8_answers_on_its_own() -> None:
    assert evaluate_line(b'{"value": "Mo-Fr 09:00-18:00 \xff"}')["error"] == "not UTF-8 (byte 30 of the line)"
    assert evaluate_line(b'{"value": "24/7"}')["ok"]


def test_an_internal_error_is_the_line_s_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from locator import hours_eval

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(hours_eval.Schedule, "parse", broken)
    out = evaluate_line(json.dumps({"value": "24/7"}))
    assert not out["ok"] and out["error"].startswith("internal error (KeyError")


def test_a_type_error_of_ours_is_not_blamed_on_the_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the request's own faults and the hours' errors are the line's: a TypeError or ValueError raised in
    the engine (a bug) was answered as if the line were wrong, and never logged."""
    from locator import hours_eval

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("bad operand type")

    monkeypatch.setattr(hours_eval.Schedule, "parse", broken)
    out = evaluate_line(json.dumps({"value": "24/7"}))
    assert out["error"] == "internal error (TypeError: bad operand type); please report it with this line"


def test_the_cli_keeps_going_past_bad_lines_and_names_a_missing_file(tmp_path: Path) -> None:
    lines = tmp_path / "lines.jsonl"
    lines.write_bytes(
        b'{"value":"24/7","from":"2026-12-07T00:00:00Z","to":"2026-12-07T01:00:00Z"}\n'
        b'{"value":"24/7","country":5}\n'
        b'{"value":"Mo \xff"}\n'
        b'{"value":"24/7","from":"2026-12-07T00:00:00Z","to":"2026-12-07T01:00:00Z"}\n'
    )
    result = subprocess.run([sys.executable, "-m", "locator", "hours", "eval", str(lines)], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)  # fmt: skip
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["ok"] for o in outs] == [True, False, False, True] and result.returncode == 1, result.stderr
    assert outs[0]["error"] is None and "Traceback" not in result.stderr
    missing = subprocess.run([sys.executable, "-m", "locator", "hours", "eval", str(tmp_path / "none.jsonl")],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize(
    ("fields", "first_open", "warning"),
    [
        ({"timezone": "Europe/Paris"}, "2026-12-07T10:00:00+01:00", None),
        ({"country": "FR"}, "2026-12-07T10:00:00+01:00", "Europe/Paris, FR's clock"),
        ({"country": "DE"}, "2026-12-07T10:00:00+01:00", "Europe/Berlin, DE's clock"),  # Büsingen keeps it too
        ({"lat": 55.75, "lon": 37.62}, "2026-12-07T10:00:00+03:00", "Europe/Moscow, the zone at lat/lon"),
        ({"country": "RU"}, "2026-12-07T10:00:00+00:00", "RU keeps several clocks"),
        ({}, "2026-12-07T10:00:00+00:00", "times read in UTC"),
    ],
)
def test_a_line_without_a_timezone_says_which_it_used(
    fields: dict[str, object], first_open: str, warning: str | None
) -> None:
    # A French line without a zone read 10:00 as 11:00 Paris time in winter, and said nothing.
    line = {"value": "Mo-Su 10:00-18:00", "from": "2026-12-07T00:00:00+00:00", "to": "2026-12-08T00:00:00+00:00"}
    out = evaluate_line(json.dumps({**line, **fields}))
    assert out["ok"] and out["intervals"][0]["from"] == first_open
    zone_warnings = [w for w in out["warnings"] if w.startswith("no timezone")]
    assert (zone_warnings == []) if warning is None else (len(zone_warnings) == 1 and warning in zone_warnings[0])


def test_a_timezone_path_is_an_unknown_timezone() -> None:
    out = evaluate_line(json.dumps({"value": "Mo-Fr 09:00-18:00", "timezone": "posix/Europe/Paris"}))
    assert out["error"] == "unknown timezone 'posix/Europe/Paris'"
