"""The one builder of the app's environment outside AWS: the tests, the benchmark and the local stack pass what
differs (table, issuer, JWKS, link secret, sites); the keys are those of the deployed stages (README, Configuration).
Imports nothing from chalicelib, so a cold-start benchmark can build it before importing the app."""

from __future__ import annotations

import json

EXAMPLE_SITES = {
    "default": {"activation": "https://subscriptions.example.com", "portal": "https://portal.example.com"},
    "FR": {"activation": "https://abonnements.example.fr", "portal": "https://portail.example.fr"},
}
EXAMPLE_PORTAL_ORIGIN = "https://portal.example.com"
DEFAULT_INVOICE_BUCKET = "subscription-portal-invoices"


def app_env(
    *,
    table: str,
    issuer: str,
    audience: str,
    jwks_url: str,
    link_secret_arn: str,
    region: str = "eu-west-1",
    sender: str = "no-reply@vendor.example",
    vendor: str = "Example Software",
    sites: dict[str, dict[str, str]] | None = None,
    portal_origin: str = EXAMPLE_PORTAL_ORIGIN,
    country_claim: str = "custom:country",
    invoice_bucket: str = DEFAULT_INVOICE_BUCKET,
    **extra: str,
) -> dict[str, str]:
    return {
        "TABLE_NAME": table,
        "AWS_DEFAULT_REGION": region,
        "SENDER_EMAIL": sender,
        "VENDOR_NAME": vendor,
        "COUNTRY_URLS": json.dumps(sites or EXAMPLE_SITES),
        "PORTAL_ORIGIN": portal_origin,
        "JWT_ISSUER": issuer,
        "JWT_AUDIENCE": audience,
        "JWKS_URL": jwks_url,
        "COUNTRY_CLAIM": country_claim,
        "LINK_SECRET_ARN": link_secret_arn,
        "INVOICE_BUCKET": invoice_bucket,
        **extra,
    }
