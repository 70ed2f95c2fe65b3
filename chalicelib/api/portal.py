"""Portal JSON API (bearer token). Thin views: authenticate, call one use case, shape the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice.app import Blueprint, Response
from pydantic import ValidationError

from chalicelib import strictjson
from chalicelib.api.http import check_subscription_id, json_view, parse_json_body, register_preflight
from chalicelib.api.idempotency import mutation
from chalicelib.api.schemas import ActivationIn, subscription_out
from chalicelib.container import get_container
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.models import Role, Subscription, SubscriptionStatus, utc_iso
from chalicelib.services import portal
from chalicelib.services.identity import Caller

if TYPE_CHECKING:
    from chalicelib.services import activation, administration

api = Blueprint(__name__)

DEFAULT_PAGE = 20


def _route(path: str, methods: list[str]) -> Any:
    register_preflight(api, path, methods)
    return api.route(path, methods=methods)


# The activation and administration use cases are imported on first use: the list and detail routes, the ones a
# cold start most often serves, never pay for them.
def _activation() -> Any:
    from chalicelib.services import activation

    return activation


def _administration() -> Any:
    from chalicelib.services import administration

    return administration


def _caller() -> Caller:
    headers = api.current_request.headers
    caller: Caller = get_container().verifier.verify(headers.get("authorization"))
    return caller


def _context() -> activation.RequestContext:
    request = api.current_request
    identity = (request.context or {}).get("identity") or {}
    context: activation.RequestContext = _activation().RequestContext(
        ip=str(identity.get("sourceIp") or "unknown"),
        user_agent=str(request.headers.get("user-agent") or "")[:512],
    )
    return context


def _out(subscription: Subscription, role: Role) -> dict[str, object]:
    current = None
    if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
        current = get_container().agreements.current(subscription.country, subscription.language).version
    return subscription_out(subscription, role, current)


def _raw_body() -> bytes:
    raw = api.current_request.raw_body
    return raw.encode() if isinstance(raw, str) else raw


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    limit = strictjson.parse_whole_number(raw)
    if limit is None or not 1 <= limit <= portal.MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {portal.MAX_PAGE}.")
    return limit


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
        "items": [_out(v.subscription, v.role) for v in result.items],
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
    return Response(body=_out(subscription, role), headers={"ETag": f'"{subscription.version}"'})


@_route("/subscriptions/{subscription_id}/activation", ["POST"])
@json_view
@mutation(lambda: api.current_request)
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
    outcome = _activation().activate_in_portal(
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
        body=_out(subscription, Role.ADMIN),
        headers={"ETag": f'"{subscription.version}"'},
    )


@_route("/subscriptions/{subscription_id}/activation-email", ["POST"])
@json_view
@mutation(lambda: api.current_request)
def resend_activation_email(subscription_id: str) -> Response:
    caller = _caller()
    c = get_container()
    subscription = _activation().resend_activation_email(
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


# -- administration (active subscriptions, admin only) ---------------------------------------------------------------
def _ports() -> administration.Ports:
    c = get_container()
    ports: administration.Ports = _administration().Ports(repo=c.repo, clock=c.clock, delivery=c.delivery)
    return ports


def _cursor() -> str | None:
    params: Mapping[str, str] = api.current_request.query_params or {}
    return params.get("cursor") or None


def _admin_view(subscription: Subscription) -> Response:
    return Response(body=_out(subscription, Role.ADMIN), headers={"ETag": f'"{subscription.version}"'})


@_route("/subscriptions/{subscription_id}/users", ["GET"])
@json_view
def list_users(subscription_id: str) -> dict[str, Any]:
    caller = _caller()
    params: Mapping[str, str] = api.current_request.query_params or {}
    result = _administration().list_seats(
        caller, check_subscription_id(subscription_id), _limit(params.get("limit")), _cursor(), _ports()
    )
    return {
        "items": [{"email": s.email, "name": s.name, "assigned_at": utc_iso(s.assigned_at)} for s in result.seats],
        "seats": {"quantity": result.subscription.license_quantity, "used": result.subscription.seats_used},
        "next_cursor": result.next_cursor,
    }


@_route("/subscriptions/{subscription_id}/users", ["POST"])
@json_view
@mutation(lambda: api.current_request)
def assign_user(subscription_id: str) -> Response:
    caller = _caller()
    raw = _raw_body()
    seat = _administration().assign_seat(
        caller, check_subscription_id(subscription_id), lambda: parse_json_body(raw), _ports()
    )
    return Response(
        body={"email": seat.email, "name": seat.name, "assigned_at": utc_iso(seat.assigned_at)}, status_code=201
    )


@_route("/subscriptions/{subscription_id}/users/{email}", ["DELETE"])
@json_view
@mutation(lambda: api.current_request)
def remove_user(subscription_id: str, email: str) -> Response:
    caller = _caller()
    _administration().remove_seat(caller, check_subscription_id(subscription_id), unquote(email), _ports())
    return Response(body="", status_code=204)


@_route("/subscriptions/{subscription_id}/admin-candidates", ["GET"])
@json_view
def admin_candidates(subscription_id: str) -> dict[str, Any]:
    caller = _caller()
    params: Mapping[str, str] = api.current_request.query_params or {}
    items, next_cursor = _administration().admin_candidates(
        caller, check_subscription_id(subscription_id), _limit(params.get("limit")), _cursor(), _ports()
    )
    return {"items": items, "next_cursor": next_cursor}


@_route("/subscriptions/{subscription_id}/admin-transfer", ["POST"])
@json_view
@mutation(lambda: api.current_request)
def transfer_admin(subscription_id: str) -> dict[str, Any]:
    caller = _caller()
    raw = _raw_body()
    after = _administration().transfer_admin(
        caller, check_subscription_id(subscription_id), lambda: parse_json_body(raw), _ports()
    )
    return {
        "id": after.id,
        "admin": {"email": after.admin.email, "name": after.admin.name},
        "message": f"{after.admin.email} is now the administrator and was told by email.",
    }


@_route("/subscriptions/{subscription_id}", ["PATCH"])
@json_view
@mutation(lambda: api.current_request)
def patch_subscription(subscription_id: str) -> Response:
    caller = _caller()
    raw = _raw_body()
    after = _administration().edit_po_number(
        caller,
        check_subscription_id(subscription_id),
        lambda: parse_json_body(raw),
        api.current_request.headers.get("if-match"),
        _ports(),
    )
    return _admin_view(after)


@_route("/subscriptions/{subscription_id}/payment-method", ["PUT"])
@json_view
@mutation(lambda: api.current_request, screen_card_numbers=True)
def put_payment_method(subscription_id: str) -> Response:
    raw = _raw_body()  # already screened for card numbers by @mutation
    caller = _caller()
    after = _administration().change_payment_method(
        caller, check_subscription_id(subscription_id), lambda: parse_json_body(raw), _ports()
    )
    return _admin_view(after)


@_route("/subscriptions/{subscription_id}/agreement", ["GET"])
@json_view
def get_agreement(subscription_id: str) -> dict[str, Any]:
    caller = _caller()
    view = _administration().agreement_of(
        caller, check_subscription_id(subscription_id), _ports(), get_container().agreements
    )
    return {
        "version": view.agreement.version,
        "title": view.agreement.title,
        "text": view.agreement.text,
        "accepted_at": view.accepted_at,
        "accepted_by": view.accepted_by,
    }


@_route("/subscriptions/{subscription_id}/cancellation", ["POST", "DELETE"])
@json_view
@mutation(lambda: api.current_request)
def cancellation(subscription_id: str) -> Response:
    caller = _caller()
    cancel = api.current_request.method == "POST"
    after, _ = _administration().set_cancellation(caller, check_subscription_id(subscription_id), cancel, _ports())
    return _admin_view(after)


@_route("/subscriptions/{subscription_id}/history", ["GET"])
@json_view
def history(subscription_id: str) -> dict[str, Any]:
    caller = _caller()
    params: Mapping[str, str] = api.current_request.query_params or {}
    events, next_cursor = _administration().history(
        caller, check_subscription_id(subscription_id), _limit(params.get("limit")), _cursor(), _ports()
    )
    return {
        "items": [{"at": utc_iso(e.at), "actor": e.actor, "action": e.action, "details": e.details} for e in events],
        "next_cursor": next_cursor,
    }


@_route("/me/entitlements", ["GET"])
@json_view
def my_entitlements() -> dict[str, Any]:
    caller = _caller()
    params: Mapping[str, str] = api.current_request.query_params or {}
    c = get_container()
    usable, next_cursor = _administration().entitlements(
        caller, _limit(params.get("limit")), _cursor(), repo=c.repo, clock=c.clock
    )
    return {
        "items": [
            {
                "subscription_id": s.id,
                "product": {"code": s.product.code, "name": s.product.name},
                "customer": {"id": s.customer.id, "name": s.customer.name},
                "valid_until": s.next_renewal_date.isoformat() if s.next_renewal_date else None,
            }
            for s in usable
        ],
        "next_cursor": next_cursor,
    }
