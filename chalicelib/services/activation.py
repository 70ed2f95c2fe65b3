"""Activation: accept the agreement by the emailed link or in the portal; resend the link."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib import metrics
from chalicelib.domain.activation_links import issue_token, looks_like_token, new_token_id, token_hash
from chalicelib.domain.agreements import AgreementText
from chalicelib.domain.billing.terms import first_term
from chalicelib.domain.errors import (
    AgreementVersionMismatch,
    AlreadyActive,
    Conflict,
    DeadlinePassed,
    InvalidInput,
    NotFound,
    WriteConflict,
)
from chalicelib.domain.models import (
    ActivationChannel,
    ActivationEvidence,
    Subscription,
    SubscriptionStatus,
    utc_iso,
)
from chalicelib.services import emails
from chalicelib.services.access import Authorized
from chalicelib.services.identity import RequestContext
from chalicelib.services.invoicing import InvoiceIssuer
from chalicelib.services.outbox import Delivery
from chalicelib.services.ports.common import AgreementCatalog, Clock, LinkSecret
from chalicelib.services.ports.orders import OrderStore
from chalicelib.services.ports.subscriptions import SubscriptionStore
from chalicelib.services.ports.telemetry import NoTelemetry, Telemetry
from chalicelib.services.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

UNKNOWN_LINK = "This activation link is not valid. It may have been replaced by a newer email."


@dataclass(frozen=True)
class AgreementPage:
    subscription: Subscription
    agreement: AgreementText
    addressed_to: str
    already_active: bool


@dataclass(frozen=True)
class ActivationOutcome:
    subscription: Subscription
    newly_activated: bool


class Activation:
    def __init__(
        self,
        orders: OrderStore,
        subscriptions: SubscriptionStore,
        clock: Clock,
        agreements: AgreementCatalog,
        link_secret: LinkSecret,
        delivery: Delivery,
        issuer: InvoiceIssuer,
        unit_of_work: UnitOfWorkFactory,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._orders = orders
        self._subscriptions = subscriptions
        self._clock = clock
        self._agreements = agreements
        self._link_secret = link_secret
        self._delivery = delivery
        self._telemetry = telemetry or NoTelemetry()
        self._issuer = issuer
        self._unit_of_work = unit_of_work

    # -- by the emailed link -------------------------------------------------------------------------------------
    def open_link(self, raw_token: str) -> AgreementPage:
        """What the link shows: the agreement to accept, or that the subscription is already active."""
        subscription, admin_email = self._resolve_link(raw_token)
        return AgreementPage(
            subscription=subscription,
            agreement=self._agreement_for(subscription),
            addressed_to=admin_email,
            already_active=subscription.status is not SubscriptionStatus.PENDING_ACTIVATION,
        )

    def accept_by_link(
        self, page: AgreementPage, *, accepted: bool, agreement_version: str, context: RequestContext
    ) -> ActivationOutcome:
        """`page` from `open_link` in the same request. Raises InvalidInput or AgreementVersionMismatch, after which
        the same page is shown again."""
        subscription = page.subscription
        if page.already_active:
            return ActivationOutcome(subscription, newly_activated=False)
        return self._activate(
            subscription,
            accepted=accepted,
            agreement_version=agreement_version,
            accepted_by=subscription.admin.email,
            channel=ActivationChannel.EMAIL_LINK,
            context=context,
        )

    def _resolve_link(self, raw_token: str) -> tuple[Subscription, str]:
        """The subscription a link may act on, or the uniform error: unknown, superseded and foreign links look
        alike."""
        if not looks_like_token(raw_token):
            raise NotFound(UNKNOWN_LINK)
        token = self._orders.get_token(token_hash(raw_token))
        if token is None:
            raise NotFound(UNKNOWN_LINK)
        subscription = self._subscriptions.get_subscription(token.subscription_id)
        current = (
            subscription is not None
            and subscription.admin.key == token.admin_email
            and subscription.activation_token_hash == token.token_hash
        )
        if current and subscription is not None and subscription.status is not SubscriptionStatus.PENDING_ACTIVATION:
            return subscription, token.admin_email  # "already activated", however long ago
        if subscription is not None and not current:
            raise NotFound(UNKNOWN_LINK)  # replaced by a newer email, or the admin rights moved on
        if self._clock.now() >= token.expires_at:
            raise DeadlinePassed(
                "The 90-day activation period of this order has ended. The subscription was removed at no cost; "
                "a new order is needed."
            )
        if not current or subscription is None:
            raise NotFound(UNKNOWN_LINK)
        return subscription, token.admin_email

    # -- in the portal (the route authorized the caller as the admin) --------------------------------------------
    def activate_in_portal(
        self, admin: Authorized, *, accepted: bool, agreement_version: str, context: RequestContext
    ) -> ActivationOutcome:
        if admin.subscription.status is not SubscriptionStatus.PENDING_ACTIVATION:
            raise AlreadyActive("This subscription is already active.")
        outcome = self._activate(
            admin.subscription,
            accepted=accepted,
            agreement_version=agreement_version,
            accepted_by=admin.caller.email,
            channel=ActivationChannel.PORTAL,
            context=context,
        )
        if not outcome.newly_activated:  # lost the race to the emailed link: same answer as when seen up front
            raise AlreadyActive("This subscription is already active.")
        return outcome

    def resend_activation_email(self, admin: Authorized) -> Subscription:
        subscription = admin.subscription
        if subscription.status is not SubscriptionStatus.PENDING_ACTIVATION:
            raise AlreadyActive("This subscription is already active; there is nothing to activate.")
        now = self._clock.now()
        token_id = new_token_id()
        token = issue_token(self._link_secret(), token_id, subscription)
        after, event = subscription.replace_activation_link(token.token_hash, token_id, admin.caller.email, now)
        email = emails.outgoing(
            emails.ACTIVATION_REQUEST, after, after.admin.email, now, f"token/{token.token_hash}", token_id=token_id
        )
        uow = self._unit_of_work()
        uow.save(subscription, after, event)
        uow.replace_link(subscription, token)
        uow.queue([email])
        try:
            uow.commit()
        except WriteConflict:
            raise Conflict("The subscription changed while the email was being prepared; please try again.") from None
        self._delivery.deliver_now([email])
        return after

    # -- shared ---------------------------------------------------------------------------------------------------
    def _agreement_for(self, subscription: Subscription) -> AgreementText:
        if subscription.evidence is not None:
            accepted = self._agreements.get(
                subscription.country, subscription.language, subscription.evidence.agreement_version
            )
            if accepted is not None:
                return accepted
        return self._agreements.current(subscription.country, subscription.language)

    def _activate(
        self,
        subscription: Subscription,
        *,
        accepted: bool,
        agreement_version: str,
        accepted_by: str,
        channel: ActivationChannel,
        context: RequestContext,
    ) -> ActivationOutcome:
        if not accepted:
            raise InvalidInput("The agreement must be accepted to activate the subscription.")
        current = self._agreements.current(subscription.country, subscription.language)
        if agreement_version != current.version:
            raise AgreementVersionMismatch(
                f"The agreement was updated (current version {current.version}). Please read the current version "
                "and accept it again."
            )
        now = self._clock.now()
        if now >= subscription.activation_deadline:
            raise DeadlinePassed("The 90-day activation period has ended; a new order is needed.")
        evidence = ActivationEvidence(
            accepted_by=accepted_by,
            accepted_at=now,
            agreement_version=agreement_version,
            ip=context.ip,
            user_agent=context.user_agent,
            channel=channel,
        )
        term = first_term(now.date(), subscription.term_months)
        after, event = subscription.activate(evidence, term.next_start)
        email = emails.outgoing(emails.ACTIVATION_CONFIRMED, after, after.admin.email, now, "activated")

        def activation(uow: UnitOfWork) -> None:  # the first invoice commits with the activation, or neither does
            uow.save(subscription, after, event)
            uow.keep_acceptance(after)
            uow.queue([email])

        try:
            issued = self._issuer.issue(
                after, period_start=term.start, period_end=term.end, kind="initial", now=now, with_change=activation
            )
        except WriteConflict:
            return self._after_lost_race(subscription.id, now)
        self._telemetry.count(metrics.ACTIVATIONS, channel=evidence.channel.value)
        self._telemetry.count(metrics.INVOICES_ISSUED)
        self._delivery.deliver_now([email, issued.email])
        log.info(
            "subscription %s activated via %s at %s",
            subscription.id,
            evidence.channel.value,
            utc_iso(now),
            extra={"subscription_id": subscription.id, "order_id": subscription.order_id},
        )
        return ActivationOutcome(after, newly_activated=True)

    def _after_lost_race(self, subscription_id: str, now: datetime) -> ActivationOutcome:
        current = self._subscriptions.get_subscription(subscription_id)
        if current is None:
            raise DeadlinePassed("The 90-day activation period has ended; a new order is needed.")
        if current.status is not SubscriptionStatus.PENDING_ACTIVATION:
            return ActivationOutcome(current, newly_activated=False)
        if now >= current.activation_deadline:
            raise DeadlinePassed("The 90-day activation period has ended; a new order is needed.")
        raise Conflict("The subscription changed while it was being activated; please try again.")
