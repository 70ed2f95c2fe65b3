"""Emails and pages rendered with Jinja; every customer-supplied value is escaped by autoescape."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.activation_links import derive_token
from chalicelib.domain.mail import OutgoingEmail, RenderedEmail
from chalicelib.domain.models import language_of, parse_utc
from chalicelib.services.email_params import LOCALIZED_AMOUNTS, LOCALIZED_DATES
from chalicelib.services.ports.common import LinkSecret

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("en", "fr", "de")


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2  # imported on first render: keeps cold start of read-only routes lean

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=8)
def messages(language: str) -> dict[str, Any]:
    chosen = language if language in LANGUAGES else "en"
    catalog: dict[str, Any] = json.loads((TEMPLATES / "i18n" / f"{chosen}.json").read_text(encoding="utf-8"))
    return catalog


def format_date(value: date | datetime | str | None, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = parse_utc(value) if "T" in value else date.fromisoformat(value)
    return value.strftime(messages(language)["date_format"])


def render_template(name: str, **context: Any) -> str:
    return str(_environment().get_template(name).render(**context))


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class EmailRenderer:
    def __init__(self, settings: Settings, link_secret: LinkSecret) -> None:
        self._settings = settings
        self._link_secret = link_secret

    def action_url(self, email: OutgoingEmail) -> str:
        urls = self._settings.urls_for(email.country)
        if email.kind in ("activation_request", "activation_reminder") and email.params.get("token_id"):
            return f"{urls.activation}/activate/{derive_token(self._link_secret(), email.params['token_id'])}"
        return urls.portal

    def render(self, email: OutgoingEmail) -> RenderedEmail:
        language = language_of(email.locale)
        catalog = messages(language)["email"]
        strings = catalog[email.kind]
        values = _SafeDict(
            {k: v for k, v in email.params.items() if k != "token_id"},
            vendor_name=self._settings.vendor_name,
            action_url=self.action_url(email),
            activation_deadline_date=format_date(email.params.get("activation_deadline"), language),
        )
        for name in LOCALIZED_DATES & email.params.keys():
            values[name] = format_date(email.params[name], language)
        for name in LOCALIZED_AMOUNTS & email.params.keys():
            values[name] = _format_amount(Decimal(str(email.params[name])), language)
        context = {
            "lang": messages(language)["page"]["lang"],
            "subject": strings["subject"].format_map(values),
            "heading": strings["heading"].format_map(values),
            "greeting": catalog["greeting"].format_map(values),
            # a paragraph that is only an optional value (a renewal's VAT mention) is left out when it has none
            "paragraphs": [text for p in strings["paragraphs"] if (text := p.format_map(values))],
            "action_label": strings["action"],
            "action_url": values["action_url"],
            "action_text": strings["action_text"].format_map(values),  # the text part's link: it has no button
            "button_fallback": catalog["button_fallback"].format_map(values),
            "footer": catalog[_footer_key(email.kind)].format_map(values),
        }
        return RenderedEmail(
            to=email.to,
            subject=context["subject"],
            text=render_template("email.txt", **context),
            html=render_template("email.html", **context),
        )


# A seat holder's view withholds the order id (it is the buyer's): so do the emails that go to seat holders.
_SEAT_HOLDER_KINDS = frozenset({"seat_assigned", "seat_removed"})


def _footer_key(kind: str) -> str:
    return "footer_seat_holder" if kind in _SEAT_HOLDER_KINDS else "footer"


def _format_amount(amount: Decimal, language: str) -> str:
    # the billing package brings pydantic: only emails with amounts pay for it
    from chalicelib.domain.billing.formatting import format_amount

    return format_amount(amount, language)
