"""Logs and metrics of every invocation: one Chalice middleware (`observe`, registered for all event types in app.py).

Logs: the Lambda Python runtime leaves the root logger at WARNING and writes plain text. The first invocation sets
it to INFO and gives its handlers Powertools' JSON formatter; every line carries the invocation's correlation keys
(`correlation_id`: the API Gateway request id, the SQS or SNS message id, the schedule's event id; plus the Lambda
request id and, where known, `subscription_id` / `order_id`). The formatter is built on the first record, so a
request that logs nothing (the API's reads) never imports Powertools. Values that identify a secret are never logged:
no token, link, card datum, bearer token or link secret (tests/test_log_hygiene.py scans every line of the suite).

Metrics: recorded through the container's `telemetry` while the invocation runs and written as EMF at its end;
the API's 4xx/5xx answers are counted here by route template.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

SERVICE = "subscription-portal"
log = logging.getLogger(__name__)

_keys: ContextVar[dict[str, str]] = ContextVar("log_keys", default={})  # noqa: B039 (never mutated: replaced)
_configured = False


class CorrelationKeys(logging.Filter):
    """Adds the current invocation's keys to every record passing the handler (a record's own extras win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _keys.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonLines(logging.Formatter):
    """Powertools' LambdaPowertoolsFormatter, built on the first record it formats."""

    def __init__(self) -> None:
        super().__init__()
        self._inner: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._inner is None:
            from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

            self._inner = LambdaPowertoolsFormatter(service=SERVICE, utc=True, name="%(name)s")
        return self._inner.format(record)


def json_handler(handler: logging.Handler) -> logging.Handler:
    """`handler` writing the app's JSON lines with the correlation keys."""
    handler.setFormatter(JsonLines())
    if not any(isinstance(f, CorrelationKeys) for f in handler.filters):
        handler.addFilter(CorrelationKeys())
    return handler


def configure_logging() -> None:
    """Once per container: root at INFO, JSON lines. pytest's capture handlers keep their format (as Powertools
    leaves them too); tests/conftest.py installs its own JSON handler to see the lines Lambda would write."""
    global _configured
    if _configured:
        return
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    # botocore & co: "Found credentials in environment variables" on every cold start; fontTools and factur-x: some
    # 40 INFO lines per invoice PDF (glyph subsetting, XSD check) that would drown a renewal day's log.
    for noisy in ("botocore", "boto3", "urllib3", "fontTools", "factur-x"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handlers = [h for h in root.handlers if not type(h).__module__.startswith("_pytest")]
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stdout))
        handlers = list(root.handlers)
    for handler in handlers:
        json_handler(handler)
    _configured = True


@contextmanager
def log_keys(**keys: str | None) -> Iterator[None]:
    """Adds keys to every line logged inside the block (this thread or task only)."""
    token = _keys.set({**_keys.get(), **{k: v for k, v in keys.items() if v}})
    try:
        yield
    finally:
        _keys.reset(token)


def _invocation_keys(event: Any) -> dict[str, str | None]:
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    keys: dict[str, str | None] = {"function_request_id": getattr(context, "aws_request_id", None)}
    request_context = getattr(event, "context", None)
    if hasattr(event, "method") and isinstance(request_context, dict):  # an API request
        # API Gateway's request id (the x-amzn-RequestId the caller sees); the local stack has only Lambda's
        keys["correlation_id"] = request_context.get("requestId") or keys["function_request_id"]
        keys["subscription_id"] = (getattr(event, "uri_params", None) or {}).get("subscription_id")
    else:  # SNS message id, schedule event id; each SQS record sets its own in the handler
        records = event.to_dict().get("Records") if hasattr(event, "to_dict") else None
        sns = (records[0].get("Sns") or {}) if isinstance(records, list) and records else {}
        keys["correlation_id"] = sns.get("MessageId") or getattr(event, "event_id", None)
    return keys


def route_of(request: Any) -> str:
    """The route template (API Gateway's resourcePath), never the raw path: a low-cardinality metric dimension."""
    template = (getattr(request, "context", None) or {}).get("resourcePath") or "unknown"
    return f"{request.method} {template}"


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every event type: JSON logs with the correlation keys; metrics written at the end."""
    from chalicelib import metrics
    from chalicelib.container import get_container

    configure_logging()
    with log_keys(**_invocation_keys(event)):
        try:
            try:
                response = get_response(event)
            except Exception:
                if hasattr(event, "method"):  # chalice turns it into a 500: logged with the request id, counted
                    log.exception("unhandled error in %s", route_of(event))
                    get_container().telemetry.count(metrics.API_SERVER_ERRORS, route=route_of(event))
                raise
            status = getattr(response, "status_code", None)
            if status is not None and hasattr(event, "method"):
                telemetry = get_container().telemetry
                if status >= 500:
                    telemetry.count(metrics.API_SERVER_ERRORS, route=route_of(event))
                elif status >= 400:
                    telemetry.count(metrics.API_CLIENT_ERRORS, route=route_of(event))
            return response
        finally:
            get_container().telemetry.flush()
