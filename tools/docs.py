"""`make docs`: writes the documents generated from the code into docs/ (they are committed, and tests fail when they
drift): the order message's JSON Schema and the portal API's OpenAPI document.

    python -m tools.docs [directory]     # default: docs/

They live outside `chalicelib` so that nothing in the package imports the app: this script does, for its route table.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app import ROUTE_TABLE
from chalicelib.api.openapi import build_document, render
from chalicelib.domain.order_schema import rendered

DOCS = Path(__file__).resolve().parents[1] / "docs"


def documents() -> dict[str, str]:
    return {"order-message.schema.json": rendered(), "openapi.json": render(build_document(ROUTE_TABLE))}


def main(argv: list[str]) -> None:
    directory = Path(argv[1]) if len(argv) > 1 else DOCS
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in documents().items():
        (directory / name).write_text(text, encoding="utf-8")
        print(f"wrote {directory / name}")


if __name__ == "__main__":
    main(sys.argv)
