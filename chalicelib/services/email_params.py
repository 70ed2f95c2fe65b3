"""The parameters each kind of email's texts may use: the contract between the services that queue an email
(`OutgoingEmail.params`, see services/emails.py) and its texts (`email` in chalicelib/templates/i18n/{en,fr,de}.json).

Every kind's text has `subject`, `heading`, `paragraphs`, `action` (the HTML part's button) and `action_text` (the
text part's "Open this link to ...: {action_url}", since a text email has no button). tests/test_email_texts.py
checks every text against this list.
"""

from __future__ import annotations

from collections.abc import Mapping

# Filled for every kind: services/emails.py subscription_params() (recipient_name overridable per email), plus what
# the renderer adds (vendor_name, action_url, activation_deadline_date formatted from activation_deadline).
COMMON_PARAMS = frozenset(
    {
        "subscription_id",
        "order_id",
        "product_name",
        "customer_name",
        "admin_name",
        "admin_email",
        "recipient_name",
        "license_quantity",
        "next_renewal_date",
        "activation_deadline_date",
        "vendor_name",
        "action_url",
    }
)

# What a kind's service must add to `params`.
KIND_PARAMS: Mapping[str, frozenset[str]] = {
    "activation_request": frozenset(),
    "activation_confirmed": frozenset(),
    "seat_assigned": frozenset(),
    "seat_removed": frozenset(),
    "admin_transferred_new": frozenset(),
    "admin_transferred_old": frozenset(),
    "cancellation_scheduled": frozenset(),
    "cancellation_withdrawn": frozenset(),
    # DESIGN 14.2: number, period, total, the PDF attached ({number}.pdf).
    "invoice_issued": frozenset({"invoice_number", "period_start_date", "period_end_date", "total_amount", "currency"}),
    # DESIGN 15.2: the corrected invoice, its credit note and its replacement (with its total), both PDFs attached.
    "invoice_corrected": frozenset(
        {"invoice_number", "credit_note_number", "replacement_number", "reason", "total_amount", "currency"}
    ),
    # DESIGN 14.6; its action_url must be a working activation link (like activation_request's).
    "activation_reminder": frozenset({"days_left"}),
    # DESIGN 15.3: the VAT treatment the renewal invoice will have (its VAT, and the mention of an AE or O document)
    "renewal_reminder": frozenset({"renewal_date", "total_amount", "tax_amount", "currency", "vat_note"}),
    "renewal_reminder_ending": frozenset({"renewal_date"}),
    # DESIGN 14.5: ended_on = the renewal date the cancellation took effect.
    "subscription_ended": frozenset({"ended_on_date"}),
}

# Dates the texts show in the reader's format (the catalog's date_format). The outbox keeps them as ISO dates under
# these names; the renderer must localize each of them, as it does for next_renewal_date.
LOCALIZED_DATES = frozenset(
    {"next_renewal_date", "period_start_date", "period_end_date", "renewal_date", "ended_on_date"}
)

# Amounts the texts show; the outbox keeps the invoice's decimal string ("2700.00"), the renderer should show it in
# the reader's convention (en 2,700.00; fr 2 700,00; de 2.700,00).
LOCALIZED_AMOUNTS = frozenset({"total_amount", "tax_amount"})


def params_for(kind: str) -> frozenset[str]:
    return COMMON_PARAMS | KIND_PARAMS[kind]
