"""Runtime configuration, read from the environment at first use (never at import)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from chalicelib.domain.capabilities import CatalogueProduct, ProductCatalogue


class SiteUrls(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    activation: str  # base URL serving /activate/{token} for this country's customers
    portal: str  # the portal single-page app

    @field_validator("activation", "portal")
    @classmethod
    def _absolute_https_or_local(cls, value: str) -> str:
        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost")
        if parts.scheme != "https" and not (local and parts.scheme == "http"):
            raise ValueError(f"{value!r} must be an absolute https URL")
        return value.rstrip("/")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    table_name: str
    region: str
    sender_email: str
    vendor_name: str = "Subscription Portal"
    ses_configuration_set: str | None = None
    country_urls: dict[str, SiteUrls]
    portal_origin: str
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str
    country_claim: str = "country"
    link_secret_arn: str
    invoice_bucket: str  # the invoice PDFs (S3, versioned, Object Lock: 10 years, DESIGN 14.2)
    work_queue_url: str | None = None  # the jobs' work queue (services/fanout.py); only the jobs use it
    vendor_logo_path: str | None = None  # see adapters/branding.py; None: the bundled neutral logo
    privacy_url: str | None = None  # linked in the activation pages' footer
    legal_notice_url: str | None = None
    products: dict[str, CatalogueProduct] = {}  # PRODUCT_CATALOGUE; a product missing from it is self-service
    activation_reminder_days: tuple[int, ...] = (30, 7)  # DESIGN 14.6: days before the activation deadline
    renewal_reminder_days: int = 30  # days before next_renewal_date

    @field_validator("activation_reminder_days")
    @classmethod
    def _leads(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(not 1 <= days <= 89 for days in value):
            raise ValueError("ACTIVATION_REMINDER_DAYS must list days from 1 to 89, e.g. '30,7'")
        return value

    @field_validator("renewal_reminder_days")
    @classmethod
    def _renewal_lead(cls, value: int) -> int:
        if not 1 <= value <= 365:
            raise ValueError("RENEWAL_REMINDER_DAYS must be from 1 to 365, e.g. '30'")
        return value

    @field_validator("privacy_url", "legal_notice_url")
    @classmethod
    def _link(cls, value: str | None) -> str | None:
        return None if value is None else SiteUrls._absolute_https_or_local(value)

    @field_validator("country_urls")
    @classmethod
    def _needs_default(cls, value: dict[str, SiteUrls]) -> dict[str, SiteUrls]:
        if "default" not in value:
            raise ValueError("COUNTRY_URLS needs a 'default' entry")
        return value

    def urls_for(self, country: str) -> SiteUrls:
        return self.country_urls.get(country, self.country_urls["default"])

    def product_catalogue(self) -> ProductCatalogue:
        return ProductCatalogue(self.products)

    def activation_origins(self) -> frozenset[str]:
        return frozenset(_origin(u.activation) for u in self.country_urls.values())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def need(name: str) -> str:
            value = env.get(name)
            if not value:
                raise RuntimeError(f"configuration {name} is not set (see README, Configuration)")
            return value

        return cls(
            table_name=need("TABLE_NAME"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
            sender_email=need("SENDER_EMAIL"),
            vendor_name=env.get("VENDOR_NAME") or "Subscription Portal",
            ses_configuration_set=env.get("SES_CONFIGURATION_SET") or None,
            country_urls=json.loads(need("COUNTRY_URLS")),
            portal_origin=need("PORTAL_ORIGIN"),
            jwt_issuer=need("JWT_ISSUER"),
            jwt_audience=need("JWT_AUDIENCE"),
            jwks_url=need("JWKS_URL"),
            country_claim=env.get("COUNTRY_CLAIM") or "country",
            link_secret_arn=need("LINK_SECRET_ARN"),
            invoice_bucket=need("INVOICE_BUCKET"),
            work_queue_url=env.get("WORK_QUEUE_URL") or None,
            vendor_logo_path=env.get("VENDOR_LOGO_PATH") or None,
            privacy_url=env.get("PRIVACY_URL") or None,
            legal_notice_url=env.get("LEGAL_NOTICE_URL") or None,
            products=json.loads(env.get("PRODUCT_CATALOGUE") or "{}"),
            activation_reminder_days=_days(env.get("ACTIVATION_REMINDER_DAYS") or "30,7", "ACTIVATION_REMINDER_DAYS"),
            renewal_reminder_days=_days(env.get("RENEWAL_REMINDER_DAYS") or "30", "RENEWAL_REMINDER_DAYS")[0],
        )


def _days(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise RuntimeError(f"configuration {name} must be whole days separated by commas, e.g. '30,7'") from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
