"""One cold-start sample, run in a fresh interpreter: `python -m bench._child MODE CONFIG.json`.

Modes:
  app         provision moto, then time `import app` + the first `GET /subscriptions` through `app.app(event, context)`
  floor       provision moto, then time importing chalice + boto3 and creating the request's only client (dynamodb)
  floor-bare  no moto at all: the same floor in an interpreter where nothing is imported yet (boto3 import counted)
  record-io   untimed: serve one GET /subscriptions with the app (moto server) and print the DynamoDB calls it made
  floor-io    no moto, nothing preloaded: a minimal Chalice app with one route that makes exactly those DynamoDB calls
              with a plain client (no token check, no models, no adapters); times import + first request, as app-fresh
  breakdown   like app, but timed step by step (the modules app.py pulls in, then what the first request builds)

Prints one line `BENCH_RESULT {json}`. Nothing of the app package is imported before the timed section.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HEAVY = ("boto3", "botocore", "jinja2", "cryptography", "jwt", "pydantic", "pydantic_core", "chalice")
# Modules of the app that only writes, bodies, invoices or the document need: a cold GET /subscriptions never imports
# them (each would bring pydantic back).
LAZY = ("chalicelib.api.schemas", "chalicelib.domain.billing", "chalicelib.domain.orders", "chalicelib.api.openapi")


class LambdaContext:
    function_name = "subscription-portal-prod"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:subscription-portal-prod"
    memory_limit_in_mb = 512
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/subscription-portal-prod"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def api_gateway_event(path: str, resource: str, token: str, method: str = "GET") -> dict[str, Any]:
    """An API Gateway REST proxy event, as Lambda hands it to Chalice's api_handler."""
    headers = {
        "accept": "application/json",
        "authorization": f"Bearer {token}",
        "host": "api.example.com",
        "user-agent": "bench/1.0",
        "x-forwarded-proto": "https",
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "bench-request",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "bench/1.0"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _floor(region: str) -> None:
    import boto3
    from chalice import Chalice  # noqa: F401

    boto3.session.Session().client("dynamodb", region_name=region)


def _record_io(event: dict[str, Any], context: Any) -> list[tuple[str, dict[str, Any]]]:
    """The DynamoDB calls (operation, parameters) the app makes for one cold GET /subscriptions."""
    from botocore.client import BaseClient

    calls: list[tuple[str, dict[str, Any]]] = []
    make_api_call = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            calls.append((operation, params))
        return make_api_call(client, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    import app

    response = app.app(event, context)
    if response["statusCode"] != 200:
        raise SystemExit(f"the app answered {response['statusCode']}: {response['body'][:300]}")
    return calls


def _time_io_floor(calls: list[tuple[str, dict[str, Any]]], region: str, event: dict[str, Any], context: Any) -> Any:
    """The fairer floor: Chalice + boto3 + the same DynamoDB round trips as the app's route, and nothing else."""
    before = len(sys.modules)
    t0 = time.perf_counter()
    import boto3
    from botocore import xform_name
    from chalice import Chalice

    floor_app = Chalice(app_name="floor")
    clients: dict[str, Any] = {}

    @floor_app.route("/subscriptions")
    def subscriptions() -> dict[str, Any]:
        if "dynamodb" not in clients:
            clients["dynamodb"] = boto3.session.Session().client("dynamodb", region_name=region)
        client = clients["dynamodb"]
        answers = [getattr(client, xform_name(operation))(**params) for operation, params in calls]
        return {"calls": len(answers)}

    response = floor_app(event, context)
    t1 = time.perf_counter()
    return {
        "total_ms": (t1 - t0) * 1000,
        "modules": len(sys.modules) - before,
        "status": response["statusCode"],
        "calls": len(calls),
    }


def _warm_moto(client: Any, table: str) -> None:
    """moto builds its response serializers on the first response of each operation; real DynamoDB has no such cost,
    so the operations the list route uses are served once here, outside the timed section."""
    client.query(
        TableName=table,
        IndexName="by_person",
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "PERSON#nobody@example.com"}},
    )
    client.query(TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "X"}})
    client.batch_get_item(RequestItems={table: {"Keys": [{"PK": {"S": "X"}, "SK": {"S": "SUB"}}]}})
    client.get_item(TableName=table, Key={"PK": {"S": "X"}, "SK": {"S": "SUB"}})


# What app.py imports, in dependency order (the cold GET /subscriptions imports neither pydantic nor chalicelib.jobs).
BREAKDOWN_MODULES = (
    ("chalice", "import chalice"),
    ("chalicelib.config", "import chalicelib.config (settings, product catalogue, domain models)"),
    ("chalicelib.domain.models", "import chalicelib.domain.models"),
    ("chalicelib.services.ports.common", "import chalicelib.services.ports.common"),
    ("chalicelib.container", "import chalicelib.container"),
    ("chalicelib.api.activation_pages", "import chalicelib.api.activation_pages (activation pages, rendering)"),
    ("chalicelib.api.subscription_routes", "import chalicelib.api.subscription_routes (portal API, pipeline)"),
    ("app", "import app (the rest)"),
)


def _breakdown(event: dict[str, Any], context: Any, token: str) -> list[tuple[str, float]]:
    import importlib

    steps: list[tuple[str, float]] = []

    def step(label: str, action: Any) -> Any:
        t0 = time.perf_counter()
        try:
            value = action()
        except Exception as error:  # a renamed internal must not break the report
            steps.append((f"{label}: n/a ({type(error).__name__})", 0.0))
            return None
        steps.append((label, (time.perf_counter() - t0) * 1000))
        return value

    for module, label in BREAKDOWN_MODULES:
        step(label, lambda module=module: importlib.import_module(module))
    app = sys.modules["app"]
    container = step("get_container() + Settings.from_env", lambda: _settings(sys.modules["chalicelib.container"]))
    verifier = step("JWT verifier", lambda: container.verifier)
    step("first token check (reads the file:// JWKS, RS256)", lambda: verifier.verify(f"Bearer {token}"))
    step("boto3.session.Session().client('dynamodb')", lambda: container.dynamodb)
    step("subscription store (imports adapters.dynamodb)", lambda: container.subscriptions)
    step("first GET /subscriptions through app.app (2 moto calls)", lambda: app.app(event, context))
    step("second, warm GET /subscriptions", lambda: app.app(event, context))
    return steps


def _settings(container_module: Any) -> Any:
    container = container_module.get_container()
    _ = container.settings
    return container


def _time_app(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The timed section: import the app, serve the first request (cold), then a second one (warm, for reference)."""
    before = len(sys.modules)
    t0 = time.perf_counter()
    import app

    t1 = time.perf_counter()
    response = app.app(event, context)
    t2 = time.perf_counter()
    second = app.app(event, context)
    t3 = time.perf_counter()
    body = json.loads(response["body"])
    return {
        "import_ms": (t1 - t0) * 1000,
        "request_ms": (t2 - t1) * 1000,
        "total_ms": (t2 - t0) * 1000,
        "warm_request_ms": (t3 - t2) * 1000,
        "status": response["statusCode"],
        "second_status": second["statusCode"],
        "items": len(body.get("items", [])),
        "modules": len(sys.modules) - before,
    }


def main() -> None:
    mode, config_path = sys.argv[1], Path(sys.argv[2])
    config = json.loads(config_path.read_text())
    result: dict[str, Any] = {"mode": mode}

    if mode == "app-fresh":
        # Nothing preloaded: boto3's import is paid here as in a real Lambda cold start. AWS is a moto server in the
        # parent process (AWS_ENDPOINT_URL), so this interpreter never imports moto.
        os.environ.update(config["env"])
        event = api_gateway_event("/subscriptions", "/subscriptions", config["token"])
        context = LambdaContext()
        result["preloaded"] = sorted(m for m in HEAVY if m in sys.modules)
        result.update(_time_app(event, context))
        # After the timer: what the cold GET /subscriptions left imported (tests/test_cold_start.py checks that the
        # input-validation stack, pydantic, and the page/email templates stay out of it).
        result["imported"] = sorted(m for m in (*HEAVY, *LAZY) if m in sys.modules)
        print("BENCH_RESULT " + json.dumps(result), flush=True)
        return

    if mode in ("record-io", "floor-io"):
        os.environ.update(config["env"])
        event = api_gateway_event("/subscriptions", "/subscriptions", config["token"])
        if mode == "record-io":
            result["calls"] = _record_io(event, LambdaContext())
        else:
            result["preloaded"] = sorted(m for m in HEAVY if m in sys.modules)
            result.update(_time_io_floor(config["io_calls"], config["region"], event, LambdaContext()))
        print("BENCH_RESULT " + json.dumps(result, default=str), flush=True)
        return

    if mode == "floor-bare":
        os.environ.update(config.get("env", {}))
        preloaded = sorted(m for m in HEAVY if m in sys.modules)
        before = len(sys.modules)
        t0 = time.perf_counter()
        _floor(config["region"])
        t1 = time.perf_counter()
        result.update(total_ms=(t1 - t0) * 1000, modules=len(sys.modules) - before, preloaded=preloaded)
        print("BENCH_RESULT " + json.dumps(result), flush=True)
        return

    from bench.provision import batch_write, fake_credentials, provision

    fake_credentials()
    import boto3
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    env = provision(Path(config["jwks"]))
    client = boto3.client("dynamodb", region_name=config["region"])
    batch_write(client, config["items"])
    _warm_moto(client, env["TABLE_NAME"])
    os.environ.update(env)
    event = api_gateway_event("/subscriptions", "/subscriptions", config["token"])
    context = LambdaContext()

    leaked = sorted(m for m in sys.modules if m == "app" or m.split(".")[0] == "chalicelib")
    if leaked:
        raise SystemExit(f"the app was imported before the timed section: {leaked[:5]}")
    result["preloaded"] = sorted(m for m in HEAVY if m in sys.modules)
    before = len(sys.modules)

    if mode == "app":
        result.update(_time_app(event, context))
    elif mode == "breakdown":
        result["steps"] = _breakdown(event, context, config["token"])
    elif mode == "floor":
        t0 = time.perf_counter()
        _floor(config["region"])
        t1 = time.perf_counter()
        result.update(total_ms=(t1 - t0) * 1000, modules=len(sys.modules) - before)
    else:
        raise SystemExit(f"unknown mode {mode}")
    mock.stop()
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
