"""Activation pages reached from the emailed link (HTML, no login). GET and HEAD never change anything."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response

from chalicelib.adapters.rendering import format_date, messages, render_template
from chalicelib.api.http import MAX_BODY_BYTES, PAGE_HEADERS, check_origin, raw_body, status_for
from chalicelib.api.page_chrome import page_chrome
from chalicelib.container import get_container
from chalicelib.domain import errors
from chalicelib.domain.models import Subscription, language_of
from chalicelib.services.identity import RequestContext

if TYPE_CHECKING:
    from chalicelib.services.activation import AgreementPage

log = logging.getLogger(__name__)

pages = Blueprint(__name__)

# Any content type: a scanner's odd POST must get this page's answer (with its headers), never Chalice's bare 415.
FORM_TYPES = ["*/*"]


def _page(body: str, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=dict(PAGE_HEADERS))


def _language_from_request() -> str:
    accept = (pages.current_request.headers.get("accept-language") or "en").split(",")[0]
    return language_of(accept.strip())


def _message_page(
    title_key: str,
    text_key: str,
    status: int,
    language: str,
    portal_url: str | None = None,
    country: str | None = None,
    **values: Any,
) -> Response:
    t = messages(language)["page"]
    return _page(
        render_template(
            "pages/message.html",
            t=t,
            title=t[title_key],
            message=t[text_key].format(**values),
            portal_url=portal_url,
            **page_chrome(country),
        ),
        status,
    )


_ERROR_PAGES: dict[int, tuple[str, str]] = {
    403: ("forbidden_title", "forbidden_text"),
    404: ("not_found_title", "not_found_text"),
    410: ("gone_title", "gone_text"),
}


def page_view(view: Callable[..., Response]) -> Callable[..., Response]:
    """Domain errors become the uniform pages: one 404 for every unknown or superseded link, 410 after the deadline."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            response = view(*args, **kwargs)
        except errors.DomainError as error:
            status = status_for(error)
            title, text = _ERROR_PAGES.get(status, ("error_title", "error_text"))
            response = _message_page(title, text, status, _language_from_request())
        except Exception:
            log.exception("unexpected error on the activation page")
            response = _message_page("error_title", "error_text", 500, _language_from_request())
        if pages.current_request.method == "HEAD":
            response.body = ""
        return response

    return wrapper


def _subscription_page(kind: str, subscription: Subscription, date_name: str, day: Any) -> Response:
    """A page about this subscription with a link to the portal of its country."""
    language = subscription.language
    portal = get_container().settings.urls_for(subscription.country).portal
    values = {"product_name": subscription.product.name, date_name: format_date(day, language)}
    return _message_page(f"{kind}_title", f"{kind}_text", 200, language, portal, country=subscription.country, **values)


def _already_activated_page(subscription: Subscription) -> Response:
    """Opening or posting the link again after activation: a page saying so, never an error."""
    return _subscription_page("already", subscription, "activated_at_date", subscription.activated_at)


def _agreement_page(page: AgreementPage, notice_key: str | None = None, status: int = 200) -> Response:
    s = page.subscription
    if page.already_active:
        return _already_activated_page(s)
    language = s.language
    t = messages(language)["page"]
    return _page(
        render_template(
            "pages/agreement.html",
            t=t,
            title=t["agreement_title"],
            s=s,
            agreement=page.agreement,
            deadline=format_date(s.activation_deadline, language),
            notice=t[notice_key] if notice_key else None,
            **page_chrome(s.country),
        ),
        status,
    )


# Browsers send "Origin: null" for our own form because the page is no-referrer; only a real foreign origin is a
# cross-site post.
def _form_origins() -> frozenset[str]:
    return get_container().settings.activation_origins() | {"null"}


def _form_fields() -> dict[str, str]:
    request = pages.current_request
    raw = raw_body(request)
    if len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge("The form is too large.")
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        parsed = parse_qs(raw.decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


@pages.route("/activate/{token}", methods=["GET", "HEAD", "POST"], content_types=FORM_TYPES)
@page_view
def activation_page(token: str) -> Response:
    request = pages.current_request
    activation = get_container().activation
    if request.method in ("GET", "HEAD"):
        return _agreement_page(activation.open_link(token))
    check_origin(request.headers.get("origin"), _form_origins())
    page = activation.open_link(token)
    fields = _form_fields()
    identity = (request.context or {}).get("identity") or {}
    try:
        outcome = activation.accept_by_link(
            page,
            accepted=fields.get("accept") == "yes",
            agreement_version=fields.get("agreement_version", ""),
            context=RequestContext(
                ip=str(identity.get("sourceIp") or "unknown"),
                user_agent=str(request.headers.get("user-agent") or "")[:512],
            ),
        )
    except errors.AgreementVersionMismatch as error:
        return _agreement_page(page, "version_changed", status_for(error))
    except errors.InvalidInput as error:
        return _agreement_page(page, "must_accept", status_for(error))
    s = outcome.subscription
    if not outcome.newly_activated:
        return _already_activated_page(s)
    return _subscription_page("confirmed", s, "next_renewal_date", s.next_renewal_date)
