"""Schemathesis over the gateway's /openapi.json: generated requests (valid and not) never get a 5xx,
and every answer matches what the document says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.gateway.auth import create_key
from andon.gateway.jsonlimits import MAX_JSON_DEPTH
from andon.store import Store

pytestmark = pytest.mark.timeout(600)

MAX_EXAMPLES = 10  # per operation and mode: bounded, so the suite stays quick
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
CHAT = "POST /v1/chat/completions"
INVOKE = "POST /v1/features/{feature}/invoke"


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[tuple[GatewayServer, str]]:
    """A gateway with auth on (no failing feature: a provider fault is a legitimate 502) and an admin key."""
    with Store.open(database_url) as store:
        _record, secret = create_key(store, "schemathesis", ["admin"], None)
    ws = write_workspace(tmp_path / "ws", features={"broken": None})
    with GatewayServer(ws, database_url=database_url, log_json=False) as server:
        yield server, secret


def with_nul(value: Any) -> tuple[Any, bool]:
    """``value`` with a NUL byte in every string (keys too), and whether there was any string."""
    if isinstance(value, str):
        return value + "\x00", True
    if isinstance(value, list):
        items = [with_nul(v) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        pairs = [(with_nul(k), with_nul(v)) for k, v in value.items()]
        return {k: v for (k, _), (v, _) in pairs}, any(ck or cv for (_, ck), (_, cv) in pairs)
    return value, False


def hostile(case: schemathesis.Case, base_url: str, secret: str, where: str, failures: list[str]) -> None:
    """A valid body made hostile: NUL in every string, or nested past the limit; each must be a 400."""
    headers = {"authorization": f"Bearer {secret}", "content-type": "application/json"}
    url = base_url + case.formatted_path
    body = dict(case.body)
    nul_body, changed = with_nul(body)
    deep: Any = body
    for _ in range(MAX_JSON_DEPTH):
        deep = {"k": [deep]}
    variants = [("deep", {next(iter(body), "k"): deep})] + ([("NUL", nul_body)] if changed else [])
    for name, variant in variants:
        response = httpx.request(case.method, url, content=json.dumps(variant), headers=headers, timeout=30)
        if response.status_code != 400 or not response.json().get("error", {}).get("code"):
            failures.append(f"{where} ({name}): {response.status_code} {response.text[:300]}")


def fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    secret: str,
    failures: list[str],
    base_url: str,
) -> None:
    """Send generated requests for one operation; note every 5xx and every error without a code."""
    is_chat = operation.label == CHAT

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def call(case: schemathesis.Case) -> None:
        if is_chat and isinstance(case.body, dict):
            case.body["model"] = "feature:echo"  # a real model, so the whole path runs
        response = case.call(headers={"authorization": f"Bearer {secret}"}, timeout=30)
        where = f"{case.method} {case.formatted_path}"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400 and not response.json().get("error", {}).get("code"):
            failures.append(f"{where}: no error code: {response.text[:300]}")
        try:
            # The document tells the truth: documented status codes, content types and body schemas.
            case.validate_response(response, checks=CONFORMANCE)
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{where}: {response.status_code} does not match /openapi.json: {exc}")
        if mode is GenerationMode.POSITIVE and isinstance(case.body, dict):
            hostile(case, base_url, secret, where, failures)

    try:
        call()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to break in a bodiless GET


def test_no_server_errors(gateway: tuple[GatewayServer, str]) -> None:
    # Driven by hand rather than by schemathesis' pytest plugin, which does not work with pytest 9 yet.
    server, secret = gateway
    api = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    failures: list[str] = []
    labels: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        fuzz(operation, GenerationMode.POSITIVE, None, secret, failures, server.base_url)
        fuzz(operation, GenerationMode.NEGATIVE, None, secret, failures, server.base_url)
        if operation.label == INVOKE:
            fuzz(operation, GenerationMode.POSITIVE, {"feature": "echo"}, secret, failures, server.base_url)
    assert {CHAT, INVOKE} <= set(labels)
    assert not failures, "\n".join(failures[:10])


def test_bodies_the_document_calls_valid_are_accepted(gateway: tuple[GatewayServer, str]) -> None:
    # ST202: feedback and decisions need at least one field, and /openapi.json must say so (anyOf).
    server, secret = gateway
    api = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    failures: list[str] = []
    for label in ("POST /v1/traces/{trace_id}/feedback", "POST /v1/reviews/{review_id}/decision"):
        operation = api[label.split(" ")[1]]["POST"]

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers={"authorization": f"Bearer {secret}"}, timeout=30)
            try:
                case.validate_response(response, checks=[positive_data_acceptance])
            except (AssertionError, FailureGroup):
                failures.append(f"{case.formatted_path} {case.body!r}: {response.status_code} {response.text[:200]}")

        call()
    assert not failures, "\n".join(failures[:10])
