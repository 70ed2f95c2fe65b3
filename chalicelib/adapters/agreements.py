"""Agreement texts shipped with the code: chalicelib/agreements/<country>/<language>/<version>.txt."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from chalicelib.domain.agreements import AgreementText

ROOT = Path(__file__).resolve().parent.parent / "agreements"
DEFAULT = "default"


class FileAgreementCatalog:
    def __init__(self, root: Path = ROOT) -> None:
        self._root = root
        self._index: dict[str, dict[str, str]] = json.loads((root / "index.json").read_text(encoding="utf-8"))

    def _country_and_language(self, country: str, language: str) -> tuple[str, str]:
        languages = self._index.get(country) or self._index[DEFAULT]
        chosen = country if country in self._index else DEFAULT
        if language in languages:
            return chosen, language
        return chosen, "en" if "en" in languages else next(iter(languages))

    def current(self, country: str, language: str) -> AgreementText:
        folder, lang = self._country_and_language(country, language)
        text = self._read(folder, lang, self._index[folder][lang])
        assert text is not None, f"agreement {folder}/{lang} listed in index.json is missing"
        return text

    def get(self, country: str, language: str, version: str) -> AgreementText | None:
        folder, lang = self._country_and_language(country, language)
        return self._read(folder, lang, version)

    def _read(self, folder: str, language: str, version: str) -> AgreementText | None:
        return _load(self._root, folder, language, version)


@lru_cache(maxsize=64)
def _load(root: Path, folder: str, language: str, version: str) -> AgreementText | None:
    if "/" in version or ".." in version:
        return None
    path = root / folder / language / f"{version}.txt"
    if not path.is_file():
        return None
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return AgreementText(country=folder, language=language, version=version, title=title.strip(), text=body.strip())
