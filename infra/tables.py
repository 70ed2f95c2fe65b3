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
    document: dict[str, Any] = json.loads(TEMPLATE.read_text())
    return document


def table_properties(logical_id: str = PORTAL_TABLE) -> dict[str, Any]:
    resource = template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    properties: dict[str, Any] = resource["Properties"]
    return properties


def create_table(client: Any, table_name: str, logical_id: str = PORTAL_TABLE) -> None:
    properties = table_properties(logical_id)
    client.create_table(TableName=table_name, **{k: properties[k] for k in _CREATE_TABLE_KEYS if k in properties})
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


INVOICE_BUCKET = "InvoiceBucket"


def create_invoice_bucket(client: Any, bucket_name: str, logical_id: str = INVOICE_BUCKET) -> None:
    """The invoice bucket as the template defines it (versioning, Object Lock and its default retention), through any
    S3 client (moto in tests and the local stack)."""
    resource = template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::S3::Bucket"
    properties = resource["Properties"]
    region = client.meta.region_name
    locked = bool(properties["ObjectLockEnabled"])
    create: dict[str, Any] = {"Bucket": bucket_name, "ObjectLockEnabledForBucket": locked}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**create)
    client.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration=properties["VersioningConfiguration"])
    client.put_object_lock_configuration(
        Bucket=bucket_name, ObjectLockConfiguration=properties["ObjectLockConfiguration"]
    )
    client.put_public_access_block(
        Bucket=bucket_name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
    )
