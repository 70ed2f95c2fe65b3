"""Static assets of the activation pages, served by the app itself: nothing third-party, and the pages' CSP
(`img-src 'self'`) allows nothing else. Today: the vendor's logo (configuration, see adapters/branding.py)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.adapters.branding import load_logo
from chalicelib.api.http import json_view
from chalicelib.container import get_container
from chalicelib.domain import errors

assets = Blueprint(__name__)

# The page links the logo with ?v=<hash of its bytes>: that URL can be cached for good. Without it (or with an older
# hash), an hour, so a replaced logo shows up soon anyway.
VERSIONED_CACHE = "public, max-age=31536000, immutable"
UNVERSIONED_CACHE = "public, max-age=3600"
# An SVG opened directly is a document: it may run nothing and load nothing.
ASSET_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


@assets.route("/assets/{name}", methods=["GET", "HEAD"])
@json_view
def asset(name: str) -> Response:
    logo = load_logo(get_container().settings.vendor_logo_path)
    if name != logo.filename:
        raise errors.NotFound(f"There is no asset {name!r}; the logo is at /assets/{logo.filename}.")
    query = assets.current_request.query_params
    version = query.get("v") if query is not None else None
    body: str | bytes = logo.body.decode("utf-8") if logo.content_type == "image/svg+xml" else logo.body
    return Response(
        body="" if assets.current_request.method == "HEAD" else body,
        status_code=200,
        headers={
            "Content-Type": logo.content_type,
            "Cache-Control": VERSIONED_CACHE if version == logo.version else UNVERSIONED_CACHE,
            "Content-Security-Policy": ASSET_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )
