"""schemathesis against the live gateway, with the OpenAPI document it serves
at /openapi.json: every operation gets generated requests (valid and
invalid), and every answer must be no server error and conform to the
document (status, content type, headers, body schema).

Bound: MAX_EXAMPLES generated cases per operation (24 operations), fuzzing
phase only (the coverage phase's exhaustive boundary cases are the hostile-
input tests' job), derandomised so a run is reproducible; about a minute on a
loaded 2-core box. The test counts the requests it made and asserts none was
answered ≥ 500."""

from __future__ import annotations

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.processes import Stack

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]

MAX_EXAMPLES = 25  # per operation and generation mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({"request-timeout": 30})


def test_gateway_conforms_to_its_openapi_document(stack: Stack, account: tuple[str, str]) -> None:
    # schemathesis' pytest plugin does not run under pytest 9 (request.node._nodeid
    # is gone), so each operation's strategy is driven by Hypothesis here.
    schema = schemathesis.openapi.from_url(f"{stack.gateway_url}/openapi.json", config=_config(), timeout=30)
    schema.config.update(base_url=stack.gateway_url)
    sent = {"requests": 0, "server_errors": 0}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 23, [  # schemathesis leaves out the document itself
        f"{o.method} {o.path}" for o in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # noqa: BLE001 - an operation with nothing to negate
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): no strategy: {exc}")
                continue

            @hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                                 suppress_health_check=list(hypothesis.HealthCheck),
                                 phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
            @hypothesis.given(case=strategy)
            def run(case) -> None:  # noqa: ANN001 - schemathesis Case
                response = case.call(auth=account)
                sent["requests"] += 1
                if response.status_code >= 500:
                    sent["server_errors"] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                pass  # nothing to make invalid (e.g. GET /healthz takes no input)
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
    assert sent["server_errors"] == 0, sent
    assert sent["requests"] >= len(operations), sent
    print(f"schemathesis: {sent['requests']} requests over {len(operations)} operations, 0 server errors")
