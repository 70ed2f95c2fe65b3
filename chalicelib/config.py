"""Runtime configuration, read from the environment at first use (never at import)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.capabilities import CatalogueProduct, ProductCatalogue

# Plain dataclasses checked by hand, not pydantic models: the settings are built on every cold start, and the portal's
# reads never need pydantic (it validates request bodies and orders). A bad value fails `from_env` with the variable's
# name and what it should look like.


class ConfigurationError(RuntimeError):
    pass


@dataclass(frozen=True, kw_only=True)
class SiteUrls:
    activation: str  # base URL serving /activate/{token} for this country's customers
    portal: str  # the portal single-page app


@dataclass(frozen=True, kw_only=True)
class Settings:
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
    sellers: str = ""  # SELLERS_JSON: inline JSON, a file path, or "" for the bundled sample (adapters/sellers.py)
    # PRODUCT_CATALOGUE; a product missing from it is self-service
    products: dict[str, CatalogueProduct] = field(default_factory=dict)
    activation_reminder_days: tuple[int, ...] = (30, 7)  # DESIGN 14.6: days before the activation deadline
    renewal_reminder_days: int = 30  # days before next_renewal_date

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
                raise ConfigurationError(f"configuration {name} is not set (see README, Configuration)")
            return value

        activation_reminder_days = _days(env.get("ACTIVATION_REMINDER_DAYS") or "30,7", "ACTIVATION_REMINDER_DAYS")
        if any(not 1 <= days <= 89 for days in activation_reminder_days):
            raise ConfigurationError("ACTIVATION_REMINDER_DAYS must list days from 1 to 89, e.g. '30,7'")
        renewal_reminder_days = _days(env.get("RENEWAL_REMINDER_DAYS") or "30", "RENEWAL_REMINDER_DAYS")[0]
        if not 1 <= renewal_reminder_days <= 365:
            raise ConfigurationError("RENEWAL_REMINDER_DAYS must be from 1 to 365, e.g. '30'")
        return cls(
            table_name=need("TABLE_NAME"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-1",
            sender_email=need("SENDER_EMAIL"),
            vendor_name=env.get("VENDOR_NAME") or "Subscription Portal",
            ses_configuration_set=env.get("SES_CONFIGURATION_SET") or None,
            country_urls=_country_urls(_json(need("COUNTRY_URLS"), "COUNTRY_URLS")),
            portal_origin=need("PORTAL_ORIGIN"),
            jwt_issuer=need("JWT_ISSUER"),
            jwt_audience=need("JWT_AUDIENCE"),
            jwks_url=need("JWKS_URL"),
            country_claim=env.get("COUNTRY_CLAIM") or "country",
            link_secret_arn=need("LINK_SECRET_ARN"),
            invoice_bucket=need("INVOICE_BUCKET"),
            work_queue_url=env.get("WORK_QUEUE_URL") or None,
            vendor_logo_path=env.get("VENDOR_LOGO_PATH") or None,
            privacy_url=_link(env.get("PRIVACY_URL") or None, "PRIVACY_URL"),
            legal_notice_url=_link(env.get("LEGAL_NOTICE_URL") or None, "LEGAL_NOTICE_URL"),
            sellers=(env.get("SELLERS_JSON") or "").strip(),
            products=_products(_json(env.get("PRODUCT_CATALOGUE") or "{}", "PRODUCT_CATALOGUE")),
            activation_reminder_days=activation_reminder_days,
            renewal_reminder_days=renewal_reminder_days,
        )


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigurationError(f"configuration {name} is not valid JSON") from None


def _absolute_https_or_local(value: Any, name: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    local = parts is not None and parts.hostname in ("127.0.0.1", "localhost")
    if parts is None or (parts.scheme != "https" and not (local and parts.scheme == "http")) or not parts.netloc:
        raise ConfigurationError(f"{name}: {value!r} must be an absolute https URL")
    return str(value).rstrip("/")


def _link(value: str | None, name: str) -> str | None:
    return None if value is None else _absolute_https_or_local(value, name)


def _country_urls(value: Any) -> dict[str, SiteUrls]:
    if not isinstance(value, dict):
        raise ConfigurationError('COUNTRY_URLS must be a JSON object: {"default": {"activation": ..., "portal": ...}}')
    if "default" not in value:
        raise ConfigurationError("COUNTRY_URLS needs a 'default' entry")
    urls: dict[str, SiteUrls] = {}
    for country, entry in value.items():
        if not isinstance(entry, dict) or set(entry) != {"activation", "portal"}:
            raise ConfigurationError(f"COUNTRY_URLS.{country} must have exactly the keys 'activation' and 'portal'")
        urls[country] = SiteUrls(
            activation=_absolute_https_or_local(entry["activation"], f"COUNTRY_URLS.{country}.activation"),
            portal=_absolute_https_or_local(entry["portal"], f"COUNTRY_URLS.{country}.portal"),
        )
    return urls


def _products(value: Any) -> dict[str, CatalogueProduct]:
    if not isinstance(value, dict):
        raise ConfigurationError('PRODUCT_CATALOGUE must be a JSON object: {"<code>": {"name": ..., "users": ...}}')
    products: dict[str, CatalogueProduct] = {}
    for code, entry in value.items():
        users = entry.get("users", "portal") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not set(entry) <= {"name", "users"}
            or not isinstance(entry.get("name"), str)
            or users not in ("portal", "vendor")
        ):
            raise ConfigurationError(
                f'PRODUCT_CATALOGUE.{code} must be {{"name": "<product name>", "users": "portal" or "vendor"}}'
            )
        products[code] = CatalogueProduct(name=entry["name"], users=users)
    return products


def _days(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigurationError(f"configuration {name} must be whole days separated by commas, e.g. '30,7'") from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
