"""Schemathesis over the serving routes' own OpenAPI documents: the replica in process, and a real router
in front of a real replica. No generated request gets a 500; every answer has a documented status and,
for errors, the one error shape. The hostile corpus of RELIABILITY case 45 runs as explicit cases in
``test_hostile.py`` over the same two hops."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    status_code_conformance,
)

from loopml.serve import ModelServer, from_estimator
from tests.serve.conftest import SIGNATURE, fitted

app = ModelServer(from_estimator(fitted()[0], SIGNATURE, name="churn"))
BOTH = [DataGenerationMethod.positive, DataGenerationMethod.negative]
replica_schema = schemathesis.from_asgi("/openapi.json", app, data_generation_methods=BOTH)
router_schema = schemathesis.from_pytest_fixture("live_router_schema")
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance)
#: the cases are drawn from both sides of its document: valid requests, and requests it forbids
#: (a wrong type, a missing field), which must be refused with a 4xx in the error shape, never a 500 or a 2xx
BOTH_CHECKS = (*CHECKS, negative_data_rejection)


def _check_error_shape(response: Any) -> None:
    if response.status_code >= 400:
        doc = response.json()
        assert doc["error_id"].startswith("err_") and doc["message"], doc


@pytest.mark.timeout(900)  # a busy machine (CPU hogs at 2x the cores) stretches it several times
@replica_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_replica_answers_every_generated_request_without_a_500(case) -> None:  # noqa: ANN001
    response = case.call_and_validate(checks=BOTH_CHECKS)
    response.json()
    _check_error_shape(response)


@pytest.fixture(scope="module")
def live_router_schema(live: Any) -> Any:
    return schemathesis.from_uri(live[1] + "/openapi.json", data_generation_methods=BOTH)


@pytest.mark.timeout(900)  # a busy machine (CPU hogs at 2x the cores) stretches it several times
@pytest.mark.slow
@router_schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_router_answers_every_generated_request_without_a_500(case) -> None:  # noqa: ANN001
    response = case.call_and_validate(checks=BOTH_CHECKS, timeout=60)
    response.json()
    _check_error_shape(response)
