"""`locator hours eval` lines: a bad line answers with its error and the stream goes on."""

from __future__ import annotations

import json

import pytest

from locator.hours_eval import evaluate_line


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
