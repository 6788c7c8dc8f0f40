"""schemathesis against the running app's own OpenAPI schema: every public GET endpoint, real uvicorn over the
test database. No 5xx, and every response (status, content type, body, headers) matches what the schema says.

A failure here is fixed in the schema or the code, never by loosening this test. One schemathesis check is
left out: `positive_data_acceptance` (every schema-valid request gets a 2xx/404). OpenAPI cannot say "either `q`
or `lat` with `lon`" about query parameters, so a request with neither is schema-valid and rightly a 422.
`negative_data_rejection` (schema-invalid requests are refused) stays on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Ok

from tests.conftest import Server

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 250
MIN_CASES = 1_000


def test_every_public_get_endpoint_conforms_to_its_schema(server: Server) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json").exclude(path_regex="^/v1/admin")
    counts: Counter[str] = Counter()
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"a malformed operation in the schema: {result.err()}"
        operations.append(result.ok())
    labels = sorted(op.label for op in operations)
    for path in ("/v1/locations/nearest", "/v1/locations/{location_id}", "/v1/geocode", "/v1/map",
                 "/v1/support/contacts", "/v1/health"):  # fmt: skip
        assert f"GET {path}" in labels, labels

    for op in operations:
        assert op.method.upper() == "GET", op.label
        _fuzz(op, counts, failures)

    assert not failures, "\n\n".join(failures)
    assert sum(counts.values()) >= MIN_CASES, counts


def _fuzz(operation: Any, counts: Counter[str], failures: list[str]) -> None:
    label = operation.label

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a red build is reproducible
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't spend minutes minimising
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        counts[label] += 1
        try:
            case.call_and_validate(timeout=30, excluded_checks=[positive_data_acceptance])
        except (Exception, BaseExceptionGroup) as exc:  # collect them all: one run shows every kind of breakage
            if len(failures) < 20:
                failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:1500]}")

    check()
