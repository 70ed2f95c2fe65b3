"""Consistent wording across the customer-facing texts (issue 9, item 8): the text email never refers to a button,
French puts a no-break space before : ; ! ?, German calls the agreement "Vertrag" and French "contrat" (as the
agreement texts themselves do), and English spells "licence" one way."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.adapters.rendering import LANGUAGES, TEMPLATES, messages

I18N = TEMPLATES / "i18n"
AGREEMENTS = TEMPLATES.parent / "agreements"
NO_BREAK_SPACES = "\u00a0\u202f"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every customer-facing string of a catalog, with its path; placeholders removed, date formats skipped."""
    if isinstance(value, str):
        if not path.endswith("date_format"):
            yield path, PLACEHOLDER.sub("", value)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")


def catalog_files(language: str) -> list[Path]:
    return sorted(I18N.glob(f"*{language}.json"))


def all_strings(language: str) -> list[tuple[str, str]]:
    found = []
    for file in catalog_files(language):
        found += [(f"{file.name}{path}", text) for path, text in strings(json.loads(file.read_text("utf-8")))]
    assert found, language
    return found


def agreement_texts(language: str) -> list[str]:
    return [p.read_text("utf-8") for p in AGREEMENTS.glob(f"*/{language}/*.txt")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_text_email_never_mentions_a_button(language: str) -> None:
    """The text part (heading, greeting, paragraphs, its link line, footer) has no button to refer to."""
    catalog = messages(language)["email"]
    button = {"en": "button", "fr": "bouton", "de": "schaltfläche"}[language]
    for kind, texts in catalog.items():
        if not isinstance(texts, dict):
            continue
        text_part = [texts["heading"], *texts["paragraphs"], texts["action_text"]]
        for text in text_part:
            assert button not in text.lower(), f"{language}/{kind}: {text!r}"
    for shared in ("greeting", "footer"):
        assert button not in catalog[shared].lower()
    assert button in catalog["button_fallback"].lower()  # the HTML part keeps its fallback under the button


def test_the_text_template_shows_the_link_through_its_open_this_link_sentence() -> None:
    template = (TEMPLATES / "email.txt").read_text("utf-8")
    assert "{{ action_text }}" in template and "action_label" not in template and "button" not in template


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_open_this_link_sentence_says_so(language: str) -> None:
    opening = {"en": "Open this link to ", "fr": "Ouvrez ce lien pour ", "de": "Öffnen Sie diesen Link, um "}[language]
    for kind, texts in messages(language)["email"].items():
        if isinstance(texts, dict):
            assert texts["action_text"].startswith(opening), (language, kind)


def test_french_has_a_no_break_space_before_high_punctuation() -> None:
    for path, text in all_strings("fr"):
        for match in re.finditer(r"[:;!?]", text):
            before = text[match.start() - 1] if match.start() else ""
            assert before in NO_BREAK_SPACES, f"{path}: {text!r} needs a no-break space before {match.group()!r}"


def test_french_calls_the_agreement_contrat_like_the_agreement_texts() -> None:
    assert all("contrat" in t.splitlines()[0].lower() for t in agreement_texts("fr"))  # their titles
    found = all_strings("fr")
    offenders = [(path, text) for path, text in found if re.search(r"\baccords?\b", text, re.I)]
    assert not offenders, offenders
    assert any("contrat" in text.lower() for _, text in found)


def test_german_calls_the_agreement_vertrag_like_the_agreement_texts() -> None:
    assert all("vertrag" in t.splitlines()[0].lower() and "Vereinbarung" not in t for t in agreement_texts("de"))
    found = all_strings("de")
    offenders = [(path, text) for path, text in found if "vereinbarung" in text.lower()]
    assert not offenders, offenders
    assert any("Vertrag" in text for _, text in found)


def test_english_spells_licence_the_british_way_everywhere() -> None:
    texts = [text for _, text in all_strings("en")] + agreement_texts("en")
    offenders = [text for text in texts if re.search(r"\blicen[cs]e", text, re.I) and re.search(r"license", text, re.I)]
    assert not offenders, offenders
    assert any("licence(s)" in text for text in texts)
