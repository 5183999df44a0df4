"""The HTTP API against its own OpenAPI schema: schemathesis generates requests for
every operation (fixed seed, a bounded number of examples) and runs all its checks —
no server error, status codes, content types, headers and bodies as documented,
schema-valid requests accepted — on a real uvicorn over the real Elasticsearch with the
fixture articles. One allowance on top of schemathesis' defaults: a query in analyst syntax
that does not parse is a documented 400, not a schema violation."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from tests.support.web_server import WebServer

MAX_EXAMPLES = 30
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
"""


def test_every_operation_keeps_to_the_schema(web: WebServer) -> None:
    config = SchemathesisConfig.from_str(CONFIG)
    schema = schemathesis.openapi.from_url(f"{web.url}/openapi.json", config=config)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=web.url, checks=CHECKS.get_all())

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # all operations, reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
