"""What a seller's documents need from the buyer and the order, checked before anything is written (DESIGN 15.3):
intake refuses an order that could never be invoiced lawfully, and a correction (15.2) refuses buyer data that would
make the replacement invalid. Each reason names the field to fix."""

from __future__ import annotations

from chalicelib.domain.billing.sellers import Seller
from chalicelib.domain.identifiers import ElectronicAddress, derived_electronic_address, french_siren_of_vat_id
from chalicelib.domain.models import Customer

FRANCE = "FR"


def buyer_country(customer: Customer, order_country: str) -> str:
    return customer.address.country if customer.address else order_country


def buyer_siren(customer: Customer, order_country: str) -> str | None:
    """The SIREN a document states for the buyer: given, else read from a French VAT id (as `buyer_of` does)."""
    if customer.siren is not None:
        return customer.siren
    return french_siren_of_vat_id(customer.vat_id) if buyer_country(customer, order_country) == FRANCE else None


def buyer_electronic_address(customer: Customer, order_country: str) -> ElectronicAddress | None:
    """The buyer's electronic address (BT-49): given, else derived from its identifiers (as `buyer_of` does)."""
    return customer.electronic_address or derived_electronic_address(
        buyer_country(customer, order_country), customer.vat_id, buyer_siren(customer, order_country)
    )


def needs_buyer_electronic_address(seller: Seller, country: str) -> bool:
    """Peppol BIS (UBL) documents are addressed to the buyer's endpoint; a French seller's domestic B2B e-invoices to
    the buyer's address in the French directory (BR-FR-12)."""
    return seller.einvoice.syntax == "ubl" or (seller.country == FRANCE and country == FRANCE)


def buyer_problems(seller: Seller, customer: Customer, order_country: str) -> list[str]:
    """Why `seller` cannot issue a valid document to `customer`, each reason starting with the customer field at
    fault; empty when it can."""
    reasons: list[str] = []
    country = buyer_country(customer, order_country)
    given_siren = customer.siren
    siren_in_vat_id = french_siren_of_vat_id(customer.vat_id)
    if country == FRANCE and given_siren is None and siren_in_vat_id is None:
        reasons.append(
            "customer.siren is required for a buyer in France (or a French VAT id in customer.vat_id): French "
            "invoices state the buyer's SIREN"
        )
    if given_siren is not None and siren_in_vat_id is not None and given_siren != siren_in_vat_id:
        reasons.append(
            f"customer.siren: {given_siren} is not the SIREN in customer.vat_id ({siren_in_vat_id}); they must name "
            "the same company"
        )
    if (
        needs_buyer_electronic_address(seller, country)
        and not reasons
        and buyer_electronic_address(customer, order_country) is None
    ):
        why = (
            "Peppol BIS (UBL) documents"
            if seller.einvoice.syntax == "ubl"
            else "French domestic e-invoices"
        )
        reasons.append(
            f"customer.electronic_address is required: the {seller.country} seller sends {why} to the buyer's "
            "electronic address, and none can be derived from the order (give customer.electronic_address, or a "
            "VAT id or SIREN it derives from)"
        )
    return reasons


def currency_problem(seller: Seller, currency: str) -> str | None:
    """Why `seller` cannot invoice in `currency`, naming the currencies it does invoice in; None when it can."""
    if seller.invoices_in(currency):
        return None
    accepted = ", ".join(seller.currencies or (seller.accounting_currency,))
    return f"currency: the {seller.country} seller invoices in {accepted} only, not {currency}"
