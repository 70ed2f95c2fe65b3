"""The billing texts (invoice and agreement wording) in a document's language, from `templates/i18n/billing_*.json`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from chalicelib.domain.billing.formatting import invoice_language

I18N_DIR = Path(__file__).resolve().parent.parent / "templates" / "i18n"


@lru_cache(maxsize=8)
def labels(language: str) -> dict[str, dict[str, str]]:
    path = I18N_DIR / f"billing_{invoice_language(language)}.json"
    loaded: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
