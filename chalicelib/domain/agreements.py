"""The subscription agreement's text, per country, language and version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgreementText:
    country: str
    language: str
    version: str
    title: str
    text: str
