"""Schemathesis against the published OpenAPI document: no request makes the API fail.

Every operation gets positive and negative cases (a few per operation, derandomised,
so the run is fast and repeatable), checked by schemathesis' default checks: no 5xx,
documented status codes and content types, responses that match their schemas, bad
input rejected. Requests carry the operator token, so the mutating endpoints are
exercised too (on a private copy of the seeded desk, with the paper broker). The
live-update stream never ends by design; tests/api/test_stream.py covers it.

schemathesis' pytest plugin (``from_fixture``) does not run under pytest 9, so the
operations are driven from one test with Hypothesis directly.
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.api.conftest import TOKEN, TestClient

EXAMPLES = 10
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def test_no_request_to_any_endpoint_makes_the_api_fail(
    make_client: Callable[..., TestClient],
) -> None:
    app = make_client().app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/events/stream")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=HEADERS)

            try:
                check()
            except Unsatisfiable:
                # an operation without parameters or body has no invalid input to send
                assert mode is GenerationMode.NEGATIVE, operation.label
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations >= 12
    assert not failures, "\n\n".join(failures)
