"""The official e-invoice rule sets (`../shared/einvoice-rules/`), run in-process with Saxon HE (`saxonche`).

Used by the test suite (every document variant must pass them) and by the local stack's embedded e-invoicing platform
(DESIGN 16.4: it rejects what a real platform would). The rule files are not copied into the project: they are found
through `EINVOICE_RULES_DIR`, else `../shared/einvoice-rules` from the project root. Each rule set is an XSLT that turns
the document into an SVRL report; a fired `failed-assert` (or `successful-report`) is a finding, its `flag` says how
grave (`fatal`, `error`, `warning`, `information`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# name -> path inside the rules folder (README of ../shared/einvoice-rules says which applies to what).
RULE_SETS: dict[str, str] = {
    "cen-cii": "cen/EN16931-CII-validation.xslt",
    "cen-ubl": "cen/EN16931-UBL-validation.xslt",
    "factur-x": "fnfe/FACTUR-X_EN16931.xslt",
    "peppol-ubl": "peppol/PEPPOL-EN16931-UBL.xslt",
    "br-fr-cii": "fr-ctc-1.4/BR-FR-Flux2-Schematron-CII.xslt",
    "br-fr-ubl": "fr-ctc-1.4/BR-FR-Flux2-Schematron-UBL.xslt",
    "br-fr-cdar": "fr-ctc-1.4/BR-FR-CDV-Schematron-CDAR.xslt",
    "xrechnung-cii": "xrechnung/XRechnung-CII-validation.xslt",
}

# What a document of each syntax must pass (DESIGN 15.4); French sellers add the BR-FR set of the syntax.
BASE_RULES = {"cii": ("cen-cii", "factur-x"), "ubl": ("cen-ubl", "peppol-ubl")}
FRENCH_RULES = {"cii": "br-fr-cii", "ubl": "br-fr-ubl"}

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
# A platform rejects on BR-FR warnings too (older releases flagged controls as warnings), so only these pass.
HARMLESS_FLAGS = frozenset({"information", "info"})


class RulesUnavailable(RuntimeError):
    """The rules folder is missing: nothing can be validated (tests must fail loudly, not pass)."""


@dataclass(frozen=True)
class Finding:
    rule_set: str
    rule_id: str
    flag: str
    location: str
    text: str

    @property
    def blocking(self) -> bool:
        return self.flag.lower() not in HARMLESS_FLAGS


def rules_dir() -> Path:
    configured = os.environ.get("EINVOICE_RULES_DIR")
    folder = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "einvoice-rules"
    if not (folder / RULE_SETS["cen-cii"]).is_file():
        raise RulesUnavailable(
            f"official e-invoice rules not found in {folder}: set EINVOICE_RULES_DIR to the einvoice-rules folder"
        )
    return folder


def available() -> bool:
    try:
        rules_dir()
    except RulesUnavailable:
        return False
    return True


def rule_sets_for(syntax: str, *, french_seller: bool) -> tuple[str, ...]:
    names = BASE_RULES[syntax]
    return (*names, FRENCH_RULES[syntax]) if french_seller else names


# Saxon's processor is not documented as thread-safe; the platform may validate from a request thread.
_LOCK = threading.RLock()


@cache
def _processor() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@cache
def _executable(name: str) -> Any:
    path = rules_dir() / RULE_SETS[name]
    return _processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


def validate(document: bytes, rule_sets: tuple[str, ...] | list[str]) -> list[Finding]:
    """Every finding of each rule set on the document, in rule-set order."""
    from defusedxml import ElementTree

    findings: list[Finding] = []
    with _LOCK:
        node = _processor().parse_xml(xml_text=document.decode("utf-8"))
        reports = [(name, _executable(name).transform_to_string(xdm_node=node)) for name in rule_sets]
    for name, report in reports:
        root = ElementTree.fromstring(report.encode("utf-8"))
        for tag in ("failed-assert", "successful-report"):
            for element in root.iter(f"{SVRL}{tag}"):
                text = element.find(f"{SVRL}text")
                findings.append(
                    Finding(
                        rule_set=name,
                        rule_id=element.get("id") or "",
                        flag=element.get("flag") or "error",
                        location=element.get("location") or "",
                        text=" ".join((text.text or "").split()) if text is not None else "",
                    )
                )
    return findings


def blocking(document: bytes, rule_sets: tuple[str, ...] | list[str]) -> list[Finding]:
    return [finding for finding in validate(document, rule_sets) if finding.blocking]
