"""Where the sellers configuration comes from (DESIGN 14.1: sellers are configuration, not code).

`SELLERS_JSON` chooses it (read in config.py as `Settings.sellers`, handed in here):
- unset or empty: the bundled SAMPLE file `chalicelib/sellers/sellers.json` (local stack, tests);
- a value starting with `{`: the JSON document itself (inline, e.g. from a deployment parameter);
- anything else: a path to a JSON file, relative paths from the `chalicelib` folder (so a file shipped in the package
  as `chalicelib/sellers/prod.json` is `SELLERS_JSON=sellers/prod.json`), or absolute.
The format is the bundled file's: `{"sellers": [{"country": "FR", "name": ..., "address": {...}, "vat_id": ...,
"registration": ..., "vat_rate": "20.00", "payment_terms_days": 30, "iban": ..., "bic": ..., "legal_mentions":
{"fr": [...], "en": [...]}}]}`; a mention is a string, or `{"subject": "PMD", "text": ...}` when the e-invoice
qualifies it (UNTDID 4451: a French seller gives PMD, PMT and AAB in every language, BR-FR-05). A wrong file fails
loudly at first use with the seller and field named.
Read once per container (first use, never at import), and once per process for one setting.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chalicelib.domain.billing.sellers import SellerCatalog, load_sellers

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_SELLERS = PACKAGE_ROOT / "sellers" / "sellers.json"
SETTING = "SELLERS_JSON"  # named in the errors


def seller_catalog(setting: str) -> SellerCatalog:
    """The catalog `setting` (`Settings.sellers`) names: inline JSON, a file, or "" for the bundled sample."""
    return _catalog(setting.strip())


@lru_cache(maxsize=4)
def _catalog(setting: str) -> SellerCatalog:
    if setting.startswith("{"):
        return SellerCatalog(load_sellers(setting))
    path = Path(setting) if setting else BUNDLED_SELLERS
    if not path.is_absolute():
        path = PACKAGE_ROOT / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeError(f"{SETTING}: cannot read sellers file {path}: {exc.strerror}") from None
    return SellerCatalog(load_sellers(text))
