"""Creates the tables of `infra/resources.json` through any DynamoDB client (moto in tests and the local stack), so
code and infrastructure cannot drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).with_name("resources.json")
PORTAL_TABLE = "PortalTable"
_CREATE_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


def template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text())


def table_properties(logical_id: str = PORTAL_TABLE) -> dict[str, Any]:
    resource = template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    return resource["Properties"]


def create_table(client: Any, table_name: str, logical_id: str = PORTAL_TABLE) -> None:
    properties = table_properties(logical_id)
    client.create_table(TableName=table_name, **{k: properties[k] for k in _CREATE_TABLE_KEYS if k in properties})
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
