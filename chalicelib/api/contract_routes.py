"""`GET /openapi.json`: the portal API's contract, no auth, cacheable. Built on the first request only, so it never
weighs on a cold start serving anything else.

The app hands in the route table of the blueprints it registers (`app.py`): this module never imports the app."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from chalice.app import Blueprint, Response

from chalicelib.api.http import api_headers, json_view

if TYPE_CHECKING:
    from chalicelib.api.pipeline import RouteDoc


def contract_routes(routes: Sequence[RouteDoc]) -> Blueprint:
    """The blueprint serving the document of `routes` (every portal route, in the order the document lists them)."""
    contract = Blueprint(__name__)
    table = tuple(routes)

    @cache
    def document() -> tuple[str, str]:
        from chalicelib.api.openapi import build_document, render

        text = render(build_document(table))
        return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'

    @contract.route("/openapi.json", methods=["GET"])
    @json_view
    def openapi_document() -> Response:
        text, etag = document()
        return Response(body=text, headers={**api_headers(), "Cache-Control": "public, max-age=300", "ETag": etag})

    return contract
