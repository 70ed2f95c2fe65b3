"""The portal's JSON API (bearer token): one declaration per route (see `pipeline.py`), each view calling one use case
and shaping its answer. The activation and administration use cases are built on first use (container), so the list
and detail routes, the ones a cold start most often serves, never import them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice.app import Blueprint, Response

from chalicelib.api.http import json_view
from chalicelib.api.pipeline import ANY_ROLE, BodySpec, Call, command, portal_route, refuse_card_numbers
from chalicelib.api.schemas import ActivationIn, PersonIn, PoNumberIn, subscription_out
from chalicelib.container import Container
from chalicelib.domain.models import Role, Subscription, SubscriptionStatus, utc_iso

api = Blueprint(__name__)

ACTIVATION_BODY = command(
    ActivationIn, 'Send {"accept_agreement": true, "agreement_version": "<version shown with the agreement>"}'
)
PERSON_BODY = command(PersonIn)
PO_NUMBER_BODY = command(PoNumberIn)
# The card screen refuses the raw body before it is fingerprinted or stored; the fields are checked by the use case,
# which judges a card's expiry against its clock.
PAYMENT_METHOD_BODY: BodySpec[dict[str, Any]] = BodySpec(parse=lambda body: body, screen=refuse_card_numbers)


def _out(c: Container, subscription: Subscription, role: Role) -> dict[str, object]:
    current = None
    if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
        current = c.agreements.current(subscription.country, subscription.language).version
    return subscription_out(subscription, role, current)


def _with_etag(c: Container, subscription: Subscription, role: Role = Role.ADMIN) -> Response:
    return Response(body=_out(c, subscription, role), headers={"ETag": f'"{subscription.version}"'})


@api.route("/health", methods=["GET"])
@json_view
def health() -> dict[str, str]:
    return {"status": "ok"}


@portal_route(api, "/subscriptions", ["GET"])
def list_subscriptions(call: Call[None]) -> dict[str, Any]:
    result = call.container.access.list_subscriptions(call.caller, limit=call.limit, cursor=call.cursor)
    return {
        "items": [_out(call.container, v.subscription, v.role) for v in result.items],
        "next_cursor": result.next_cursor,
        "hints": {"other_countries": result.other_countries},
    }


@portal_route(api, "/subscriptions/{subscription_id}", ["GET"], role=ANY_ROLE)
def get_subscription(call: Call[None]) -> Response:
    return _with_etag(call.container, call.subject.subscription, call.subject.role)


@portal_route(
    api, "/subscriptions/{subscription_id}/activation", ["POST"], body=ACTIVATION_BODY, role=Role.ADMIN, mutation=True
)
def activate(call: Call[ActivationIn]) -> Response:
    outcome = call.container.activation.activate_in_portal(
        call.subject,
        accepted=call.body.accept_agreement,
        agreement_version=call.body.agreement_version,
        context=call.context(),
    )
    return _with_etag(call.container, outcome.subscription)


@portal_route(api, "/subscriptions/{subscription_id}/activation-email", ["POST"], role=Role.ADMIN, mutation=True)
def resend_activation_email(call: Call[None]) -> Response:
    subscription = call.container.activation.resend_activation_email(call.subject)
    return Response(
        body={
            "message": f"A new activation email was sent to {subscription.admin.email}; earlier links no longer work.",
            "activation_deadline": utc_iso(subscription.activation_deadline),
        },
        status_code=202,
    )


# -- administration (active subscriptions, admin only) ---------------------------------------------------------------
@portal_route(api, "/subscriptions/{subscription_id}/users", ["GET"], role=Role.ADMIN, active=True)
def list_users(call: Call[None]) -> dict[str, Any]:
    result = call.container.administration.list_seats(call.subject, call.limit, call.cursor)
    return {
        "items": [{"email": s.email, "name": s.name, "assigned_at": utc_iso(s.assigned_at)} for s in result.seats],
        "seats": {"quantity": result.subscription.license_quantity, "used": result.subscription.seats_used},
        "next_cursor": result.next_cursor,
    }


@portal_route(
    api,
    "/subscriptions/{subscription_id}/users",
    ["POST"],
    body=PERSON_BODY,
    role=Role.ADMIN,
    active=True,
    mutation=True,
)
def assign_user(call: Call[PersonIn]) -> Response:
    seat = call.container.administration.assign_seat(call.subject, call.body.person())
    return Response(
        body={"email": seat.email, "name": seat.name, "assigned_at": utc_iso(seat.assigned_at)}, status_code=201
    )


@portal_route(
    api, "/subscriptions/{subscription_id}/users/{email}", ["DELETE"], role=Role.ADMIN, active=True, mutation=True
)
def remove_user(call: Call[None]) -> Response:
    call.container.administration.remove_seat(call.subject, unquote((call.request.uri_params or {})["email"]))
    return Response(body="", status_code=204)


@portal_route(api, "/subscriptions/{subscription_id}/admin-candidates", ["GET"], role=Role.ADMIN, active=True)
def admin_candidates(call: Call[None]) -> dict[str, Any]:
    items, next_cursor = call.container.administration.admin_candidates(call.subject, call.limit, call.cursor)
    return {"items": items, "next_cursor": next_cursor}


@portal_route(
    api,
    "/subscriptions/{subscription_id}/admin-transfer",
    ["POST"],
    body=PERSON_BODY,
    role=Role.ADMIN,
    active=True,
    mutation=True,
)
def transfer_admin(call: Call[PersonIn]) -> dict[str, Any]:
    after = call.container.administration.transfer_admin(call.subject, call.body.person())
    return {
        "id": after.id,
        "admin": {"email": after.admin.email, "name": after.admin.name},
        "message": f"{after.admin.email} is now the administrator and was told by email.",
    }


@portal_route(
    api,
    "/subscriptions/{subscription_id}",
    ["PATCH"],
    body=PO_NUMBER_BODY,
    role=Role.ADMIN,
    active=True,
    mutation=True,
)
def patch_subscription(call: Call[PoNumberIn]) -> Response:
    after = call.container.administration.edit_po_number(
        call.subject, call.body.po_number, call.request.headers.get("if-match")
    )
    return _with_etag(call.container, after)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/payment-method",
    ["PUT"],
    body=PAYMENT_METHOD_BODY,
    role=Role.ADMIN,
    active=True,
    mutation=True,
)
def put_payment_method(call: Call[dict[str, Any]]) -> Response:
    after = call.container.administration.change_payment_method(call.subject, call.body)
    return _with_etag(call.container, after)


@portal_route(api, "/subscriptions/{subscription_id}/agreement", ["GET"], role=Role.ADMIN)
def get_agreement(call: Call[None]) -> dict[str, Any]:
    view = call.container.administration.agreement_of(call.subject)
    return {
        "version": view.agreement.version,
        "title": view.agreement.title,
        "text": view.agreement.text,
        "accepted_at": view.accepted_at,
        "accepted_by": view.accepted_by,
    }


@portal_route(
    api,
    "/subscriptions/{subscription_id}/cancellation",
    ["POST", "DELETE"],
    role=Role.ADMIN,
    active=True,
    mutation=True,
)
def cancellation(call: Call[None]) -> Response:
    after, _ = call.container.administration.set_cancellation(call.subject, cancel=call.request.method == "POST")
    return _with_etag(call.container, after)


@portal_route(api, "/subscriptions/{subscription_id}/history", ["GET"], role=Role.ADMIN)  # ENDED keeps it
def history(call: Call[None]) -> dict[str, Any]:
    events, next_cursor = call.container.administration.history(call.subject, call.limit, call.cursor)
    return {
        "items": [{"at": utc_iso(e.at), "actor": e.actor, "action": e.action, "details": e.details} for e in events],
        "next_cursor": next_cursor,
    }


@portal_route(api, "/me/entitlements", ["GET"])
def my_entitlements(call: Call[None]) -> dict[str, Any]:
    usable, next_cursor = call.container.access.entitlements(call.caller, call.limit, call.cursor)
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
