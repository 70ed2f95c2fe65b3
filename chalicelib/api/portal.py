"""Portal JSON API (bearer token). Thin views: authenticate, call one use case, shape the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import ValidationError

from chalicelib.api.http import check_subscription_id, json_view, parse_json_body, register_preflight
from chalicelib.api.schemas import ActivationIn, subscription_out
from chalicelib.container import get_container
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import Role, utc_iso
from chalicelib.services import activation, portal
from chalicelib.services.identity import Caller

api = Blueprint(__name__)

DEFAULT_PAGE = 20


def _route(path: str, methods: list[str]) -> Any:
    register_preflight(api, path, methods)
    return api.route(path, methods=methods)


def _caller() -> Caller:
    headers = api.current_request.headers
    caller: Caller = get_container().verifier.verify(headers.get("authorization"))
    return caller


def _context() -> activation.RequestContext:
    request = api.current_request
    identity = (request.context or {}).get("identity") or {}
    return activation.RequestContext(
        ip=str(identity.get("sourceIp") or "unknown"),
        user_agent=str(request.headers.get("user-agent") or "")[:512],
    )


def _raw_body() -> bytes:
    raw = api.current_request.raw_body
    return raw.encode() if isinstance(raw, str) else raw


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= portal.MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {portal.MAX_PAGE}.")
    return int(raw)


@api.route("/health", methods=["GET"])
@json_view
def health() -> dict[str, str]:
    return {"status": "ok"}


@_route("/subscriptions", ["GET"])
@json_view
def list_subscriptions() -> dict[str, Any]:
    caller = _caller()
    params: Mapping[str, str] = api.current_request.query_params or {}
    c = get_container()
    result = portal.list_subscriptions(
        caller, limit=_limit(params.get("limit")), cursor=params.get("cursor") or None, repo=c.repo, clock=c.clock
    )
    return {
        "items": [subscription_out(v.subscription, v.role) for v in result.items],
        "next_cursor": result.next_cursor,
        "hints": {"other_countries": result.other_countries},
    }


@_route("/subscriptions/{subscription_id}", ["GET"])
@json_view
def get_subscription(subscription_id: str) -> Response:
    caller = _caller()
    c = get_container()
    subscription, role = portal.visible_subscription(
        caller, check_subscription_id(subscription_id), repo=c.repo, clock=c.clock
    )
    return Response(body=subscription_out(subscription, role), headers={"ETag": f'"{subscription.version}"'})


@_route("/subscriptions/{subscription_id}/activation", ["POST"])
@json_view
def activate(subscription_id: str) -> Response:
    caller = _caller()
    body = parse_json_body(_raw_body())
    try:
        request = ActivationIn.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            'Send {"accept_agreement": true, "agreement_version": "<version shown with the agreement>"}: '
            + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        ) from None
    c = get_container()
    outcome = activation.activate_in_portal(
        caller,
        check_subscription_id(subscription_id),
        accepted=request.accept_agreement,
        agreement_version=request.agreement_version,
        context=_context(),
        repo=c.repo,
        clock=c.clock,
        agreements=c.agreements,
        delivery=c.delivery,
    )
    subscription = outcome.subscription
    return Response(
        body=subscription_out(subscription, Role.ADMIN),
        headers={"ETag": f'"{subscription.version}"'},
    )


@_route("/subscriptions/{subscription_id}/activation-email", ["POST"])
@json_view
def resend_activation_email(subscription_id: str) -> Response:
    caller = _caller()
    c = get_container()
    subscription = activation.resend_activation_email(
        caller,
        check_subscription_id(subscription_id),
        repo=c.repo,
        clock=c.clock,
        link_secret=c.link_secret,
        delivery=c.delivery,
    )
    return Response(
        body={
            "message": f"A new activation email was sent to {subscription.admin.email}; earlier links no longer work.",
            "activation_deadline": utc_iso(subscription.activation_deadline),
        },
        status_code=202,
    )
