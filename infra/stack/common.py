"""What every part of the stack shares: retention, checkov skips with their reasons, log groups."""

from __future__ import annotations

from typing import Any

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def skip(*checks: tuple[str, str]) -> dict[str, Any]:
    """checkov findings that do not apply, each with the reason, on the resource itself."""
    return {"checkov": {"skip": [{"id": check, "comment": comment} for check, comment in checks]}}


# -- reasons for the checkov checks this design does not follow ------------------------------------------------------
NO_CMK = (
    "Encrypted at rest with the AWS-managed key. A customer-managed KMS key would add a key policy to keep right and "
    "kms:Decrypt grants to every reader, for no control we use (no cross-account access, no key-level audit needed)."
)
LOGS_NO_CMK = (
    "CloudWatch Logs encrypts at rest with its own key. The logs hold no secrets or card data (the app refuses and "
    "never logs card numbers); a customer-managed key would only add a key policy to maintain."
)
TOPIC_SKIP = (
    "CKV_AWS_26",
    "CloudWatch alarms and SES event publishing cannot publish to a topic encrypted with the AWS-managed aws/sns key; "
    "the messages are alarm names and bounce notices, delivered over TLS.",
)


def log_group(name: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        **RETAIN,
        "Metadata": skip(("CKV_AWS_158", LOGS_NO_CMK)),
        "Properties": {"LogGroupName": name, "RetentionInDays": {"Ref": "LogRetentionInDays"}},
    }
