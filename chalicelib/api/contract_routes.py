"""`GET /openapi.json`: the portal API's contract, no auth, cacheable. Built on the first request only, so it never
weighs on a cold start serving anything else."""

from __future__ import annotations

import hashlib
from functools import cache

from chalice.app import Blueprint, Response

from chalicelib.api.http import api_headers, json_view

contract = Blueprint(__name__)


@cache
def _document() -> tuple[str, str]:
    from chalicelib.api.openapi import build_document, render

    text = render(build_document())
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


@contract.route("/openapi.json", methods=["GET"])
@json_view
def openapi_document() -> Response:
    text, etag = _document()
    return Response(body=text, headers={**api_headers(), "Cache-Control": "public, max-age=300", "ETag": etag})
