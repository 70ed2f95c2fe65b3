"""The portal's JSON API (bearer token): one declaration per route (see `pipeline.py`), each view calling one use case
and shaping its answer. The activation and administration use cases are built on first use (container), so the list
and detail routes, the ones a cold start most often serves, never import them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice.app import Response

from chalicelib.api.http import json_view
from chalicelib.api.pipeline import (
    ANY_ROLE,
    BodySpec,
    Call,
    PortalBlueprint,
    command,
    portal_route,
    refuse_card_numbers,
)
from chalicelib.api.subscription_json import subscription_out
from chalicelib.container import Container
from chalicelib.domain.capabilities import capabilities
from chalicelib.domain.models import Role, Subscription, SubscriptionStatus, utc_iso

if TYPE_CHECKING:  # the schemas are pydantic models: imported by the views and the document that need them
    from chalicelib.api.schemas import ActivationIn, PersonIn, PoNumberIn

api = PortalBlueprint(__name__)

ACTIVATION_BODY = command(
    "ActivationIn", 'Send {"accept_agreement": true, "agreement_version": "<version shown with the agreement>"}'
)
PERSON_BODY = command("PersonIn")
PO_NUMBER_BODY = command("PoNumberIn")
# The card screen refuses the raw body before it is fingerprinted or stored; the fields are checked by the use case,
# which judges a card's expiry against its clock.
PAYMENT_METHOD_BODY: BodySpec[dict[str, Any]] = BodySpec(
    parse=lambda body: body, screen=refuse_card_numbers, schema="InvoicePaymentIn | CardPaymentIn"
)
SUBSCRIPTION = "SubscriptionOut"
ADMIN_SUBSCRIPTION = "SubscriptionAdminOut"


def _out(c: Container, subscription: Subscription, role: Role) -> dict[str, object]:
    current = None
    if subscription.status is SubscriptionStatus.PENDING_ACTIVATION:
        current = c.agreements.current(subscription.country, subscription.language).version
    allowed = capabilities(role, subscription, c.settings.product_catalogue())
    return subscription_out(subscription, role, allowed, current)


def _with_etag(c: Container, subscription: Subscription, role: Role = Role.ADMIN) -> Response:
    return Response(body=_out(c, subscription, role), headers={"ETag": f'"{subscription.version}"'})


@api.route("/health", methods=["GET"])
@json_view
def health() -> dict[str, str]:
    return {"status": "ok"}


@portal_route(api, "/subscriptions", ["GET"], response="SubscriptionListOut", paginated=True)
def list_subscriptions(call: Call[None]) -> dict[str, Any]:
    """The caller's subscriptions in the caller's country; `hints.other_countries` when there are none."""
    result = call.container.access.list_subscriptions(call.caller, limit=call.limit, cursor=call.cursor)
    return {
        "items": [_out(call.container, v.subscription, v.role) for v in result.items],
        "next_cursor": result.next_cursor,
        "hints": {"other_countries": result.other_countries},
    }


@portal_route(api, "/subscriptions/{subscription_id}", ["GET"], role=ANY_ROLE, response=SUBSCRIPTION, etag=True)
def get_subscription(call: Call[None]) -> Response:
    """One subscription: the admin's view or a seat holder's reduced view; `ETag` is its version."""
    return _with_etag(call.container, call.subject.subscription, call.subject.role)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/activation",
    ["POST"],
    body=ACTIVATION_BODY,
    capability="activate",
    mutation=True,
    response=ADMIN_SUBSCRIPTION,
    etag=True,
    more_errors={410: "The 90-day activation period ended while the request ran; a new order is needed."},
)
def activate(call: Call[ActivationIn]) -> Response:
    """Activate a pending subscription by accepting the agreement version shown with it."""
    outcome = call.container.activation.activate_in_portal(
        call.subject,
        accepted=call.body.accept_agreement,
        agreement_version=call.body.agreement_version,
        context=call.context(),
    )
    return _with_etag(call.container, outcome.subscription)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/activation-email",
    ["POST"],
    capability="activate",
    mutation=True,
    response="ActivationEmailOut",
    status=202,
)
def resend_activation_email(call: Call[None]) -> Response:
    """Send the activation email again: a new link; earlier links stop working."""
    from chalicelib.api.schemas import ActivationEmailOut

    subscription = call.container.activation.resend_activation_email(call.subject)
    out = ActivationEmailOut(
        message=f"A new activation email was sent to {subscription.admin.email}; earlier links no longer work.",
        activation_deadline=utc_iso(subscription.activation_deadline),
    )
    return Response(body=out.model_dump(mode="json"), status_code=202)


# -- administration (active subscriptions, admin only) ---------------------------------------------------------------
@portal_route(
    api,
    "/subscriptions/{subscription_id}/users",
    ["GET"],
    role=Role.ADMIN,
    active=True,
    response="SeatListOut",
    paginated=True,
)
def list_users(call: Call[None]) -> dict[str, Any]:
    """The seat holders and the seat count (read-only for a product whose users the vendor manages)."""
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
    capability="manage_users",
    mutation=True,
    response="SeatOut",
    status=201,
)
def assign_user(call: Call[PersonIn]) -> Response:
    """Give a person a seat (409 when every seat is taken, the person already has one, or the vendor manages the
    product's users)."""
    from chalicelib.api.schemas import SeatOut

    seat = call.container.administration.assign_seat(call.subject, call.body.person())
    out = SeatOut(email=seat.email, name=seat.name, assigned_at=utc_iso(seat.assigned_at))
    return Response(body=out.model_dump(mode="json"), status_code=201)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/users/{email}",
    ["DELETE"],
    capability="manage_users",
    mutation=True,
    status=204,
)
def remove_user(call: Call[None]) -> Response:
    """Take a person's seat away (404 when the person holds none)."""
    call.container.administration.remove_seat(call.subject, unquote((call.request.uri_params or {})["email"]))
    return Response(body="", status_code=204)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/admin-candidates",
    ["GET"],
    role=Role.ADMIN,
    active=True,
    response="CandidateListOut",
    paginated=True,
)
def admin_candidates(call: Call[None]) -> dict[str, Any]:
    """The people the admin can hand over to: seat holders, then the customer's earlier contacts."""
    items, next_cursor = call.container.administration.admin_candidates(call.subject, call.limit, call.cursor)
    return {"items": items, "next_cursor": next_cursor}


@portal_route(
    api,
    "/subscriptions/{subscription_id}/admin-transfer",
    ["POST"],
    body=PERSON_BODY,
    capability="transfer_admin",
    mutation=True,
    response="AdminTransferOut",
)
def transfer_admin(call: Call[PersonIn]) -> dict[str, Any]:
    """Make someone else the administrator, now; both are told by email."""
    from chalicelib.api.schemas import AdminTransferOut

    after = call.container.administration.transfer_admin(call.subject, call.body.person())
    return AdminTransferOut.model_validate(
        {
            "id": after.id,
            "admin": {"email": after.admin.email, "name": after.admin.name},
            "message": f"{after.admin.email} is now the administrator and was told by email.",
        }
    ).model_dump(mode="json")


@portal_route(
    api,
    "/subscriptions/{subscription_id}",
    ["PATCH"],
    body=PO_NUMBER_BODY,
    capability="edit_po_number",
    mutation=True,
    response=ADMIN_SUBSCRIPTION,
    if_match=True,
    etag=True,
)
def patch_subscription(call: Call[PoNumberIn]) -> Response:
    """Change or remove the PO number; with `If-Match`, only if the subscription is still at that version."""
    after = call.container.administration.edit_po_number(
        call.subject, call.body.po_number, call.request.headers.get("if-match")
    )
    return _with_etag(call.container, after)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/payment-method",
    ["PUT"],
    body=PAYMENT_METHOD_BODY,
    capability="change_payment_method",
    mutation=True,
    response=ADMIN_SUBSCRIPTION,
    etag=True,
)
def put_payment_method(call: Call[dict[str, Any]]) -> Response:
    """Pay by invoice, or by a card the payment provider tokenized (a card number anywhere in the body: 400)."""
    after = call.container.administration.change_payment_method(call.subject, call.body)
    return _with_etag(call.container, after)


@portal_route(api, "/subscriptions/{subscription_id}/agreement", ["GET"], role=Role.ADMIN, response="AgreementOut")
def get_agreement(call: Call[None]) -> dict[str, Any]:
    """The agreement accepted, or for a pending subscription the one to accept."""
    from chalicelib.api.schemas import AgreementOut

    view = call.container.administration.agreement_of(call.subject)
    return AgreementOut(
        version=view.agreement.version,
        title=view.agreement.title,
        text=view.agreement.text,
        accepted_at=view.accepted_at,
        accepted_by=view.accepted_by,
    ).model_dump(mode="json")


@portal_route(
    api,
    "/subscriptions/{subscription_id}/cancellation",
    ["POST", "DELETE"],
    capability="cancel",
    mutation=True,
    response=ADMIN_SUBSCRIPTION,
    etag=True,
)
def cancellation(call: Call[None]) -> Response:
    """POST: end the subscription at its next renewal date; DELETE: withdraw that."""
    after, _ = call.container.administration.set_cancellation(call.subject, cancel=call.request.method == "POST")
    return _with_etag(call.container, after)


@portal_route(
    api,
    "/subscriptions/{subscription_id}/history",
    ["GET"],
    role=Role.ADMIN,  # no `active`: an ENDED subscription keeps its history readable
    response="HistoryOut",
    paginated=True,
)
def history(call: Call[None]) -> dict[str, Any]:
    """What happened to the subscription, newest first."""
    events, next_cursor = call.container.administration.history(call.subject, call.limit, call.cursor)
    return {
        "items": [{"at": utc_iso(e.at), "actor": e.actor, "action": e.action, "details": e.details} for e in events],
        "next_cursor": next_cursor,
    }


@portal_route(api, "/me/entitlements", ["GET"], response="EntitlementListOut", paginated=True)
def my_entitlements(call: Call[None]) -> dict[str, Any]:
    """The products the caller may use now: active subscriptions where the caller holds a seat."""
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
