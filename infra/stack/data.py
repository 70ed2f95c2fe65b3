"""Where the data lives: the portal table, the invoice bucket, the link secret, and the table's alarms."""

from __future__ import annotations

from typing import Any

from infra.stack.alarms import alarm
from infra.stack.common import NO_CMK, RETAIN, skip


def _keys(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "KeyType": kind} for name, kind in zip(names, ("HASH", "RANGE"), strict=True)]


def _index(name: str, hash_key: str, range_key: str, projection: dict[str, Any]) -> dict[str, Any]:
    return {"IndexName": name, "KeySchema": _keys(hash_key, range_key), "Projection": projection}


def portal_table() -> dict[str, Any]:
    keys = ["PK", "SK", "GSI1PK", "GSI1SK", "DLPK", "DLSK", "RNPK", "RNSK", "OBPK", "OBSK"]
    return {
        "Type": "AWS::DynamoDB::Table",
        **RETAIN,
        "Metadata": skip(("CKV_AWS_119", NO_CMK)),
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in keys],
            "KeySchema": _keys("PK", "SK"),
            "GlobalSecondaryIndexes": [
                _index("by_person", "GSI1PK", "GSI1SK", {"ProjectionType": "ALL"}),
                _index(
                    "pending_by_deadline",
                    "DLPK",
                    "DLSK",
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["order_id", "admin_key"]},
                ),
                _index("active_by_renewal", "RNPK", "RNSK", {"ProjectionType": "KEYS_ONLY"}),
                _index("unsent_emails", "OBPK", "OBSK", {"ProjectionType": "ALL"}),
            ],
            "TimeToLiveSpecification": {"AttributeName": "expires_at_epoch", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    }


def table_alarms() -> dict[str, Any]:
    table = {"TableName": {"Ref": "PortalTable"}}
    return {
        f"PortalTable{kind}ThrottleAlarm": alarm(
            f"DynamoDB throttled {kind.lower()}s on the portal table", "AWS/DynamoDB", f"{kind}ThrottleEvents", table
        )
        for kind in ("Read", "Write")
    }


def link_secret() -> dict[str, Any]:
    return {
        "Type": "AWS::SecretsManager::Secret",
        # Every emailed activation link is derived from this value: a stack deletion or replacement must not
        # take it away (runbook: "Rotate the link secret").
        **RETAIN,
        "Metadata": skip(("CKV_AWS_149", NO_CMK)),
        "Properties": {
            "Description": "Key that activation links are derived from (never leaves Lambda)",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    }


INVOICE_RETENTION_YEARS = 10  # DESIGN 14.2: invoices are kept 10 years


def invoice_bucket_resources() -> dict[str, Any]:
    """The invoice PDFs: versioned, Object Lock COMPLIANCE for 10 years by default (no one, root included, can delete
    or overwrite a kept PDF before then), private, encrypted, TLS only."""
    return {
        "InvoiceBucket": {
            "Type": "AWS::S3::Bucket",
            **RETAIN,
            "Metadata": skip(
                ("CKV_AWS_145", NO_CMK),
                (
                    "CKV_AWS_18",
                    "Objects are written once by the portal's own functions (CloudTrail records the API calls); server "
                    "access logs would need a second bucket and add nothing for write-once documents.",
                ),
            ),
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": INVOICE_RETENTION_YEARS}},
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
        },
        "InvoiceBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "InvoiceBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": ["InvoiceBucket", "Arn"]},
                                {"Fn::Sub": "${InvoiceBucket.Arn}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }
