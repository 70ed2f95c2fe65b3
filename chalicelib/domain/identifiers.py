"""Party identifiers an e-invoice states (DESIGN 15.3): the French SIREN (BT-30 / BT-47, ISO 6523 scheme 0002) and the
electronic address a document is delivered to (BT-34 / BT-49) with its EAS scheme.

The checks are python-stdnum's (the maintained implementation of each national check digit), imported when a value is
checked so the portal's read path never loads it. `ElectronicAddress` is a plain frozen dataclass for the same reason
as the subscription's parts (domain/models.py): the portal decodes stored customers without importing pydantic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

SIREN_SCHEME = "0002"  # ISO 6523 ICD: SIRENE (BT-30-1, BT-47-1)
FRENCH_ADDRESS_SCHEME = "0225"  # EAS: the French reform's directory address, built on the SIREN
BELGIAN_ENTERPRISE_SCHEME = "0208"  # EAS: the Belgian enterprise number (KBO/BCE)

# The Electronic Address Scheme code list as the Peppol BIS 3.0 rules ship it (PEPPOL-EN16931-R020's list in
# einvoice-rules/peppol; tests/test_identifiers.py compares the two).
EAS_CODES = frozenset(
    """0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0151 0177 0183 0184 0188 0190 0191 0192 0193 0195
    0196 0198 0199 0200 0201 0202 0204 0208 0209 0210 0211 0212 0213 0215 0216 0218 0221 0230 0235 9910 9913 9914 9915
    9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941
    9942 9943 9944 9945 9946 9947 9948 9949 9950 9951 9952 9953 9957 9959 0147 0154 0158 0170 0194 0203 0205 0217 0225
    0240""".split()  # noqa: SIM905 (the rule file's own spelling, easy to compare by eye)
)

# The EAS scheme whose identifier is a country's VAT number (a buyer's address derived from its VAT id, DESIGN 15.3).
VAT_ADDRESS_SCHEMES = {
    "AD": "9922", "AL": "9923", "AT": "9914", "BA": "9924", "BE": "9925", "BG": "9926", "CH": "9927", "CY": "9928",
    "CZ": "9929", "DE": "9930", "EE": "9931", "ES": "9920", "FI": "0213", "FR": "9957", "GB": "9932", "GR": "9933",
    "HR": "9934", "HU": "9910", "IE": "9935", "IT": "0211", "LI": "9936", "LT": "9937", "LU": "9938", "LV": "9939",
    "MC": "9940", "ME": "9941", "MK": "9942", "MT": "9943", "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947",
    "RS": "9948", "SI": "9949", "SK": "9950", "SM": "9951", "TR": "9952", "VA": "9953",
}  # fmt: skip

MAX_ADDRESS_ID_LENGTH = 125  # what the e-invoice syntaxes and the French directory carry


def siren_problem(value: str) -> str | None:
    """Why `value` is not a SIREN (9 digits, Luhn check), or None."""
    from stdnum.fr import siren

    if not re.fullmatch(r"[0-9]{9}", value):
        return f"a SIREN is exactly 9 digits, not {value!r}"
    if not siren.is_valid(value):
        return f"{value} is not a valid SIREN (its check digit is wrong)"
    return None


def belgian_enterprise_number_problem(value: str) -> str | None:
    """Why `value` is not a Belgian enterprise number (10 digits starting 0 or 1, mod-97 check), or None."""
    from stdnum.be import vat

    if not re.fullmatch(r"[01][0-9]{9}", value):
        return f"a Belgian enterprise number is 10 digits starting with 0 or 1, not {value!r}"
    if not vat.is_valid(value):
        return f"{value} is not a valid Belgian enterprise number (its check digits are wrong)"
    return None


def compact_vat_id(vat_id: str) -> str:
    """A VAT id as the electronic-address schemes write it: letters and digits only, upper case."""
    return re.sub(r"[^0-9A-Za-z]", "", vat_id).upper()


def french_siren_of_vat_id(vat_id: str | None) -> str | None:
    """The SIREN inside a French VAT id (FR + 2 check characters + the SIREN), when it is one."""
    if not vat_id:
        return None
    compact = compact_vat_id(vat_id)
    if re.fullmatch(r"FR[0-9A-Z]{2}[0-9]{9}", compact) and siren_problem(compact[4:]) is None:
        return compact[4:]
    return None


@dataclass(frozen=True, kw_only=True)
class ElectronicAddress:
    """BT-34 / BT-49 with its scheme (BT-34-1 / BT-49-1). Checked when built, whoever builds it (pydantic included)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    scheme: str
    id: str

    def __post_init__(self) -> None:
        problem = electronic_address_problem(self.scheme, self.id)
        if problem:
            raise ValueError(problem)


def electronic_address_problem(scheme: str, identifier: str) -> str | None:
    """Why (scheme, identifier) is not an electronic address the documents can carry, or None."""
    if scheme not in EAS_CODES:
        return f"scheme {scheme!r} is not an EAS code (e.g. 0225 France, 0208 Belgium, 9930 Germany)"
    if (
        not identifier
        or len(identifier) > MAX_ADDRESS_ID_LENGTH
        or not re.fullmatch(r"[0-9A-Za-z._@+\-]+", identifier)
    ):
        return f"an electronic address id is 1 to {MAX_ADDRESS_ID_LENGTH} letters, digits or . _ @ + -"
    problem = None
    if scheme in (FRENCH_ADDRESS_SCHEME, SIREN_SCHEME):
        # The French directory address starts with the SIREN (a suffix may follow: SIREN_suffix)
        problem = siren_problem(identifier.split("_", 1)[0])
    elif scheme == BELGIAN_ENTERPRISE_SCHEME:
        problem = belgian_enterprise_number_problem(identifier)
    return f"electronic address under scheme {scheme}: {problem}" if problem else None


def derived_electronic_address(
    country: str, vat_id: str | None, siren: str | None
) -> ElectronicAddress | None:
    """The buyer's electronic address when the order gives none (DESIGN 15.3): 0225 + SIREN for a French buyer, 0208 +
    the enterprise number for a Belgian one, else the VAT id under its country's EAS VAT scheme. None when nothing
    can be derived."""
    try:
        if country == "FR":
            siren = siren or french_siren_of_vat_id(vat_id)
            return ElectronicAddress(scheme=FRENCH_ADDRESS_SCHEME, id=siren) if siren else None
        if not vat_id:
            return None
        compact = compact_vat_id(vat_id)
        if country == "BE" and re.fullmatch(r"BE[01][0-9]{9}", compact):
            return ElectronicAddress(scheme=BELGIAN_ENTERPRISE_SCHEME, id=compact[2:])
        scheme = VAT_ADDRESS_SCHEMES.get(country)
        return ElectronicAddress(scheme=scheme, id=compact) if scheme else None
    except ValueError:  # an identifier that fails its own check derives nothing (intake says why)
        return None
