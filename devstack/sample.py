"""DESIGN section 4's sample "order placed" message: the local stack's demo order, the tests' and the bench's base.

Every identifier here is invented (the 999 000 xxx SIRENs, like the sample sellers'), with valid check digits.
"""

from __future__ import annotations

import copy
from typing import Any

SAMPLE_CUSTOMER: dict[str, Any] = {
    "id": "0001234567",
    "name": "Dupont BTP SARL",
    "siren": "999000011",
    "address": {"lines": ["12 rue des Artisans"], "postal_code": "69002", "city": "Lyon", "country": "FR"},
}

SAMPLE_ORDER: dict[str, Any] = {
    "order_id": "4500012345",
    "ordered_at": "2026-11-26T09:30:00Z",
    "country": "FR",
    "locale": "fr-FR",
    "customer": SAMPLE_CUSTOMER,
    "admin": {"email": "marie.dupont@example.fr", "name": "Marie Dupont"},
    "product": {"code": "PROFIS-ENG", "name": "PROFIS Engineering Suite"},
    "license_quantity": 5,
    "term_months": 12,
    "unit_price": "450.00",
    "currency": "EUR",
    "po_number": "PO-7781",
    "payment_method": {"type": "invoice"},
}

# A buyer in each sample seller's country (a domestic sale), for orders placed in another country than France.
_ADDRESSES: dict[str, dict[str, Any]] = {
    "DE": {"lines": ["Industriestraße 5"], "postal_code": "70565", "city": "Stuttgart", "country": "DE"},
    "AT": {"lines": ["Hauptstraße 10"], "postal_code": "1010", "city": "Wien", "country": "AT"},
    "CH": {"lines": ["Bahnhofstrasse 1"], "postal_code": "8001", "city": "Zürich", "country": "CH"},
    "GB": {"lines": ["1 High Street"], "postal_code": "SW1A 1AA", "city": "London", "country": "GB"},
    "IT": {"lines": ["Via Roma 1"], "postal_code": "00184", "city": "Roma", "country": "IT"},
    "ES": {"lines": ["Calle Mayor 1"], "postal_code": "28013", "city": "Madrid", "country": "ES"},
    "BE": {"lines": ["Rue de la Loi 16"], "postal_code": "1000", "city": "Bruxelles", "country": "BE"},
    "NL": {"lines": ["Damrak 1"], "postal_code": "1012 LG", "city": "Amsterdam", "country": "NL"},
}
# The Belgian seller sends Peppol documents, addressed to the buyer's enterprise number.
_ELECTRONIC_ADDRESSES = {"BE": {"scheme": "0208", "id": "0999000030"}}


def sample_customer(country: str, **changes: Any) -> dict[str, Any]:
    """The sample customer, with an address in `country` when a sample seller sells there (the French one otherwise:
    for an order the country check refuses anyway); `changes` replace its fields."""
    customer = copy.deepcopy(SAMPLE_CUSTOMER)
    if country in _ADDRESSES:
        customer.pop("siren")  # a SIREN is a French buyer's
        customer["address"] = copy.deepcopy(_ADDRESSES[country])
        if country in _ELECTRONIC_ADDRESSES:
            customer["electronic_address"] = dict(_ELECTRONIC_ADDRESSES[country])
    customer.update(changes)
    return customer
