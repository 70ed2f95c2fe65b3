"""Every kind of email has its texts in en, fr and de, and every placeholder is a documented parameter
(chalicelib/services/email_params.py), including the billing kinds (DESIGN 6, 14.2, 14.6)."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime

import pytest

from chalicelib.adapters.rendering import LANGUAGES, EmailRenderer, messages
from chalicelib.config import Settings, SiteUrls
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.services.email_params import COMMON_PARAMS, KIND_PARAMS, LOCALIZED_AMOUNTS, LOCALIZED_DATES, params_for

KIND_FIELDS = ("subject", "heading", "action", "action_text")


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def kind_texts(strings: dict[str, object]) -> list[str]:
    paragraphs = strings["paragraphs"]
    assert isinstance(paragraphs, list)
    return [str(strings[field]) for field in KIND_FIELDS] + [str(p) for p in paragraphs]


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_exactly_the_documented_kinds(language: str) -> None:
    catalog = messages(language)["email"]
    kinds = {key for key, value in catalog.items() if isinstance(value, dict)}
    assert kinds == set(KIND_PARAMS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KIND_PARAMS))
def test_every_kind_has_its_texts_and_only_documented_placeholders(language: str, kind: str) -> None:
    strings = messages(language)["email"][kind]
    for field in KIND_FIELDS:
        assert isinstance(strings[field], str) and strings[field].strip(), (language, kind, field)
    assert strings["paragraphs"] and all(p.strip() for p in strings["paragraphs"]), (language, kind)
    assert "{action_url}" in strings["action_text"], (language, kind)  # the text part's only link
    for text in kind_texts(strings):
        unknown = placeholders(text) - params_for(kind)
        assert not unknown, f"{language}/{kind}: {sorted(unknown)} not in email_params for {kind!r}: {text!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_shared_texts_use_only_common_parameters(language: str) -> None:
    catalog = messages(language)["email"]
    for key in ("greeting", "footer", "button_fallback"):
        assert placeholders(catalog[key]) <= COMMON_PARAMS, (language, key)


@pytest.mark.parametrize("kind", sorted(KIND_PARAMS))
def test_translations_say_the_same_things(kind: str) -> None:
    """A translation that drops the total or the date is incomplete: all languages use the same parameters."""
    used = {
        language: set().union(*(placeholders(t) for t in kind_texts(messages(language)["email"][kind])))
        for language in LANGUAGES
    }
    assert used["fr"] == used["en"] and used["de"] == used["en"], used
    assert KIND_PARAMS[kind] <= used["en"], f"{kind}: parameters documented but never shown: {KIND_PARAMS[kind]}"


SAMPLE_PARAMS = {
    "subscription_id": "0b9e3c55-3f5e-4b8e-9d53-1f2a3b4c5d6e",
    "order_id": "4500012345",
    "product_name": "PROFIS Engineering Suite",
    "customer_name": "Dupont <BTP> SARL",
    "admin_name": "Marie Dupont",
    "admin_email": "marie.dupont@example.fr",
    "recipient_name": "Marie Dupont",
    "license_quantity": 5,
    "activation_deadline": "2027-02-24T10:00:00Z",
    "next_renewal_date": "2027-12-01",
    "invoice_number": "FR-2026-000001",
    "period_start_date": "2026-12-01",
    "period_end_date": "2027-11-30",
    "total_amount": "2700.00",
    "tax_amount": "450.00",
    "currency": "EUR",
    "vat_note": "Autoliquidation",
    "days_left": 7,
    "renewal_date": "2027-12-01",
    "ended_on_date": "2027-12-01",
    "credit_note_number": "FR-2026-C000001",
    "replacement_number": "FR-2026-000002",
    "reason": "PO number corrected",
}

SETTINGS = Settings(
    table_name="t",
    region="eu-west-1",
    sender_email="noreply@example.com",
    vendor_name="Example Software",
    country_urls={
        "default": SiteUrls(activation="https://subscriptions.example.com", portal="https://portal.example.com")
    },
    portal_origin="https://portal.example.com",
    jwt_issuer="https://issuer.example.com",
    jwt_audience="portal",
    jwks_url="https://issuer.example.com/jwks.json",
    link_secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:link",
    invoice_bucket="invoices",
)


BILLING_PORTAL_KINDS = [
    "invoice_issued", "invoice_corrected", "renewal_reminder", "renewal_reminder_ending", "subscription_ended",
]  # fmt: skip


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR", "de-DE"])
@pytest.mark.parametrize("kind", BILLING_PORTAL_KINDS)
def test_billing_emails_render_every_value_with_a_link_in_both_parts(locale: str, kind: str) -> None:
    renderer = EmailRenderer(SETTINGS, lambda: b"k" * 32)
    email = OutgoingEmail(
        mail_id="m",
        kind=kind,
        to="marie.dupont@example.fr",
        locale=locale,
        country="FR",
        params=dict(SAMPLE_PARAMS),
        due_at=datetime(2026, 11, 26, tzinfo=UTC),
    )
    rendered = renderer.render(email)

    for value in ("PROFIS Engineering Suite", "https://portal.example.com"):
        assert value in rendered.text and value in rendered.html, (kind, value)
    for value in (
        str(SAMPLE_PARAMS[name])
        for name in KIND_PARAMS[kind]
        if not name.endswith("_date") and name not in LOCALIZED_AMOUNTS
    ):
        assert value in rendered.text, (kind, value)
    if "total_amount" in KIND_PARAMS[kind]:  # in the reader's convention
        shown = {"en": "2,700.00", "fr": "2 700,00", "de": "2.700,00"}[locale[:2]]
        assert shown in rendered.text and shown in rendered.html, (kind, shown)
    for name in KIND_PARAMS[kind] & LOCALIZED_DATES:  # in the reader's date format, never the stored ISO date
        day = date.fromisoformat(SAMPLE_PARAMS[name])
        shown = {"en": day.isoformat(), "fr": day.strftime("%d/%m/%Y"), "de": day.strftime("%d.%m.%Y")}[locale[:2]]
        assert shown in rendered.text, (kind, name, shown)
    assert "{" not in rendered.text and "{" not in rendered.subject
    assert "Dupont &lt;BTP&gt; SARL" in rendered.html and "<BTP>" not in rendered.html
    assert rendered.text.count("https://portal.example.com") == 1  # one link, in the "open this link" line
    assert 'href="https://portal.example.com"' in rendered.html
