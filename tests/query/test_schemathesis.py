"""Property-based: schemathesis generates requests from /openapi.json, valid and invalid,
against the real service process (projector and query as subprocesses) and checks that no
answer is a 5xx and every answer matches the document (status, content type, body, headers)."""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tonypi_events import EventType

from tests.support.processes import ServiceProcess

from .events import grant_token

EXAMPLES = 50  # per operation and mode: the whole run stays well under a minute
# The command and emergency-stop operations (issue 13): each valid one is a write the projector
# applies; fewer examples keep the whole run inside the suite's timeout on a shared machine.
COMMAND_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
KNOWN = "known_robot"


def property_test(strategy, base_url: str, checks: list, token: str, examples: int = EXAMPLES):
    """One hypothesis test: every case the strategy generates is called and validated."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        case.call_and_validate(
            base_url=base_url, checks=checks, timeout=15, headers={"Authorization": f"Bearer {token}"}
        )

    return run


def fuzz(base_url: str, token: str, alarm_id: int) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    # Every call carries a valid admin token (property_test); the bearer scheme is not a
    # parameter to fuzz: tests/query/test_auth.py covers every route without and with each role.
    schema.config.generation.update(with_security_parameters=False)
    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/robots-db/events":
            continue  # a Server-Sent Events stream never ends: tests/live/ exercises it
        examples = EXAMPLES
        if any(word in operation.path for word in ("command", "emergency", "resume")):
            examples = COMMAND_EXAMPLES
        fixed = {"robot_id": KNOWN} if "{robot_id}" in operation.path else None
        if operation.path.startswith("/api/robots-db/alarms/{id}"):
            fixed = {"id": alarm_id}  # an alarm that exists: its 200s, and its acknowledgement
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
            strategies = [operation.as_strategy(generation_mode=mode)]
            if fixed:  # also reach the 200 paths, not only 404s for random ids
                strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            for strategy in strategies:
                try:
                    property_test(strategy, base_url, checks, token, examples)()
                except Unsatisfiable:
                    # Nothing to make invalid: an operation without parameters or body.
                    assert mode is GenerationMode.NEGATIVE
        exercised.append(f"{operation.method.upper()} {operation.path}")
    return exercised


async def test_no_server_errors_and_every_answer_matches_the_document(query_env, projector, fleet, tmp_path):
    await fleet.status(KNOWN, system_info={"cpu_percent": 3.0})
    await fleet.publish(EventType.BATTERY, KNOWN, {"percentage": 50.0})
    await fleet.log(KNOWN, "hello", level="WARNING")
    await fleet.job(KNOWN, "started", task_name="fuzzed")
    await fleet.publish(EventType.BATTERY, KNOWN, {"percentage": 5.0})  # an alarm to read and acknowledge
    await fleet.applied()
    alarm_id = await fleet.alarm_id(KNOWN, "battery")
    base_url = f"http://127.0.0.1:{query_env['QUERY_PORT']}"
    query = ServiceProcess("tonypi-query", query_env, log_path=tmp_path / "query.log").start()
    try:
        await query.async_wait_http_ok(f"{base_url}/readyz")
        token = await grant_token(query_env["DATABASE_URL"], "fuzzer", "admin")
        exercised = await asyncio.to_thread(fuzz, base_url, token, alarm_id)
        # 22, 7 schedule operations (issue 17), whoami (21), 6 of analytics, 3 history reads, 1 export (20)
        assert len(exercised) == 40
        assert "Traceback" not in query.log_text()
    finally:
        assert query.stop() == 0  # SIGTERM drains and exits 0
