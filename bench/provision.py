"""The AWS stack on moto, like tests/support.provision, but importing only boto3 and infra.tables (never chalicelib), so
a cold-start child process can provision first and import the app afterwards, inside its timed section."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REGION = "eu-west-1"
ACCOUNT = "123456789012"
TABLE = "portal-bench"
SENDER = "no-reply@vendor.example"
ISSUER = "https://idp.bench.example/pool"
AUDIENCE = "portal-client"
COUNTRY_CLAIM = "custom:country"
KID = "bench-key"


def fake_credentials() -> None:
    """moto needs credentials to exist; these never leave the process."""
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_SECURITY_TOKEN"] = "testing"
    os.environ["AWS_SESSION_TOKEN"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)


def app_env(jwks_path: Path, secret_arn: str) -> dict[str, str]:
    from devstack.app_env import app_env as build

    return build(
        table=TABLE,
        region=REGION,
        sender=SENDER,
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=jwks_path.resolve().as_uri(),
        link_secret_arn=secret_arn,
        country_claim=COUNTRY_CLAIM,
        PYDANTIC_DISABLE_PLUGINS="__all__",  # as .chalice/config.json sets it for the deployed functions
    )


def provision(jwks_path: Path) -> dict[str, str]:
    """Table (from infra/resources.json), SES identity and link secret, inside an active mock_aws. Returns the app's
    environment. `jwks_path` must already hold the issuer's JWKS."""
    import boto3

    from devstack.app_env import DEFAULT_INVOICE_BUCKET
    from infra.tables import create_invoice_bucket, create_table

    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    create_invoice_bucket(boto3.client("s3", region_name=REGION), DEFAULT_INVOICE_BUCKET)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="link-secret", SecretString="x" * 48
    )
    return app_env(jwks_path, secret["ARN"])


def batch_write(client: Any, items: list[dict[str, Any]], table: str = TABLE) -> int:
    """Writes DynamoDB-JSON items 25 at a time, retrying unprocessed ones; returns the BatchWriteItem call count."""
    calls = 0
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        for _ in range(10):
            calls += 1
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise RuntimeError("DynamoDB kept items unprocessed")
    return calls
