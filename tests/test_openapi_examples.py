"""The document's examples, tags, servers and time formats (issue 17): what a frontend developer reads first must be
true, and a timestamp is written one way in every answer."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from app import ROUTE_TABLE
from chalicelib.api.history_schemas import DAY_PATTERN, TIMESTAMP_PATTERN
from chalicelib.api.openapi import build_document
from chalicelib.api.openapi_examples import EXAMPLES
from tests.support import ADMIN
from tests.test_administration import body_of, call

DOCUMENT = build_document(ROUTE_TABLE)
SCHEMAS = DOCUMENT["components"]["schemas"]


def _valid(name: str, value: object) -> list[str]:
    root = {**SCHEMAS[name], "components": DOCUMENT["components"]}
    validator = Draft202012Validator(root, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_valid_against_its_schema_and_shown_on_it(name):
    component = "Error" if name == "ErrorOut" else name
    assert SCHEMAS[component]["examples"] == [EXAMPLES[name]]
    assert not _valid(component, EXAMPLES[name])


def test_an_example_breaking_its_schema_would_be_caught():
    broken = {**EXAMPLES["SubscriptionAdminOut"], "ordered_at": "2026-11-26T09:58:12Z"}  # no milliseconds
    assert _valid("SubscriptionAdminOut", broken)


def test_every_operation_has_a_tag_the_document_describes_and_the_servers_are_https():
    described = {tag["name"] for tag in DOCUMENT["tags"]}
    used = {op["tags"][0] for item in DOCUMENT["paths"].values() for op in item.values()}
    assert used == described and all(tag["description"] for tag in DOCUMENT["tags"])
    assert DOCUMENT["paths"]["/subscriptions/{subscription_id}/invoices/{invoice_id}/pdf"]["get"]["tags"] == ["Billing"]
    assert all(server["url"].startswith("https://") for server in DOCUMENT["servers"])


def _time_properties(node, trail=()):
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield (*trail, key), value
        for key, value in node.items():
            yield from _time_properties(value, (*trail, key))
    elif isinstance(node, list):
        for value in node:
            yield from _time_properties(value, trail)


def test_every_moment_and_day_the_api_sends_has_its_format_and_exact_pattern():
    moments = re.compile(r"(_at|_deadline|^at)$")
    days = re.compile(r"(_date|_on|_until|^start|^end|renewal_date|term_start)$")
    checked = 0
    for trail, schema in _time_properties(SCHEMAS):
        name = trail[-1]
        branch = next((b for b in schema.get("anyOf", []) if b.get("type") == "string"), schema)
        if moments.search(name):
            assert (branch.get("format"), branch.get("pattern")) == ("date-time", TIMESTAMP_PATTERN), trail
            checked += 1
        elif days.search(name):
            assert (branch.get("format"), branch.get("pattern")) == ("date", DAY_PATTERN), trail
            checked += 1
    assert checked >= 20


def test_subscription_seat_and_invoice_timestamps_are_written_alike(client, stack, active):
    detail = body_of(call(client, stack, "GET", f"/subscriptions/{active}"))
    seats = body_of(call(client, stack, "GET", f"/subscriptions/{active}/users"))
    invoice = body_of(call(client, stack, "GET", f"/subscriptions/{active}/invoices", email=ADMIN))["items"][0]
    moments = [detail["ordered_at"], detail["activated_at"], seats["items"][0]["assigned_at"], invoice["issued_at"]]
    assert all(re.fullmatch(TIMESTAMP_PATTERN, m) for m in moments), moments
