"""Activation: accept the agreement by the emailed link or in the portal; resend the link."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.errors import (
    AgreementVersionMismatch,
    AlreadyActive,
    Conflict,
    DeadlinePassed,
    Forbidden,
    InvalidInput,
    NotFound,
    WriteConflict,
)
from chalicelib.domain.models import (
    ActivationChannel,
    ActivationEvidence,
    Role,
    Subscription,
    SubscriptionStatus,
    add_months,
    utc_iso,
)
from chalicelib.domain.tokens import looks_like_token, new_token_id, token_hash
from chalicelib.services import emails
from chalicelib.services.identity import Caller
from chalicelib.services.outbox import Delivery
from chalicelib.services.portal import visible_subscription
from chalicelib.services.ports import (
    AgreementCatalog,
    AgreementText,
    AuditEvent,
    Clock,
    LinkSecret,
    PortalRepository,
)
from chalicelib.services.tokens import issue_token

log = logging.getLogger(__name__)

UNKNOWN_LINK = "This activation link is not valid. It may have been replaced by a newer email."


@dataclass(frozen=True)
class RequestContext:
    ip: str
    user_agent: str


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


def _resolve_link(raw_token: str, repo: PortalRepository, clock: Clock) -> tuple[Subscription, str]:
    """The subscription a link may act on, or the uniform error: unknown, superseded and foreign links look alike."""
    if not looks_like_token(raw_token):
        raise NotFound(UNKNOWN_LINK)
    token = repo.get_token(token_hash(raw_token))
    if token is None:
        raise NotFound(UNKNOWN_LINK)
    subscription = repo.get_subscription(token.subscription_id)
    current = (
        subscription is not None
        and subscription.admin.key == token.admin_email
        and subscription.activation_token_hash == token.token_hash
    )
    if current and subscription is not None and subscription.status is SubscriptionStatus.ACTIVE:
        return subscription, token.admin_email  # "already activated", however long ago
    if subscription is not None and not current:
        raise NotFound(UNKNOWN_LINK)  # replaced by a newer email, or the admin rights moved on
    if clock.now() >= token.expires_at:
        raise DeadlinePassed(
            "The 90-day activation period of this order has ended. The subscription was removed at no cost; "
            "a new order is needed."
        )
    if not current or subscription is None:
        raise NotFound(UNKNOWN_LINK)
    return subscription, token.admin_email


def agreement_page(
    raw_token: str, *, repo: PortalRepository, clock: Clock, agreements: AgreementCatalog
) -> AgreementPage:
    subscription, admin_email = _resolve_link(raw_token, repo, clock)
    agreement = _agreement_for(subscription, agreements)
    return AgreementPage(
        subscription=subscription,
        agreement=agreement,
        addressed_to=admin_email,
        already_active=subscription.status is SubscriptionStatus.ACTIVE,
    )


def activate_by_link(
    raw_token: str,
    *,
    accepted: bool,
    agreement_version: str,
    context: RequestContext,
    repo: PortalRepository,
    clock: Clock,
    agreements: AgreementCatalog,
    delivery: Delivery,
) -> ActivationOutcome:
    subscription, _ = _resolve_link(raw_token, repo, clock)
    if subscription.status is SubscriptionStatus.ACTIVE:
        return ActivationOutcome(subscription, newly_activated=False)
    return _activate(
        subscription,
        accepted=accepted,
        agreement_version=agreement_version,
        accepted_by=subscription.admin.email,
        channel=ActivationChannel.EMAIL_LINK,
        context=context,
        repo=repo,
        clock=clock,
        agreements=agreements,
        delivery=delivery,
    )


def activate_in_portal(
    caller: Caller,
    subscription_id: str,
    *,
    accepted: bool,
    agreement_version: str,
    context: RequestContext,
    repo: PortalRepository,
    clock: Clock,
    agreements: AgreementCatalog,
    delivery: Delivery,
) -> ActivationOutcome:
    subscription = _admin_view(caller, subscription_id, repo, clock)
    if subscription.status is SubscriptionStatus.ACTIVE:
        raise AlreadyActive("This subscription is already active.")
    outcome = _activate(
        subscription,
        accepted=accepted,
        agreement_version=agreement_version,
        accepted_by=caller.email,
        channel=ActivationChannel.PORTAL,
        context=context,
        repo=repo,
        clock=clock,
        agreements=agreements,
        delivery=delivery,
    )
    if not outcome.newly_activated:  # lost the race to the emailed link: same answer as when seen up front
        raise AlreadyActive("This subscription is already active.")
    return outcome


def resend_activation_email(
    caller: Caller,
    subscription_id: str,
    *,
    repo: PortalRepository,
    clock: Clock,
    link_secret: LinkSecret,
    delivery: Delivery,
) -> Subscription:
    subscription = _admin_view(caller, subscription_id, repo, clock)
    if subscription.status is not SubscriptionStatus.PENDING_ACTIVATION:
        raise AlreadyActive("This subscription is already active; there is nothing to activate.")
    now = clock.now()
    token_id = new_token_id()
    token = issue_token(link_secret(), token_id, subscription)
    after = subscription.model_copy(
        update={"activation_token_hash": token.token_hash, "version": subscription.version + 1}
    )
    email = emails.outgoing(
        emails.ACTIVATION_REQUEST, after, after.admin.email, now, f"token/{token.token_hash}", token_id=token_id
    )
    try:
        repo.rotate_token(subscription, after, token, email)
    except WriteConflict:
        raise Conflict("The subscription changed while the email was being prepared; please try again.") from None
    delivery.deliver_now([email])
    return after


def _admin_view(caller: Caller, subscription_id: str, repo: PortalRepository, clock: Clock) -> Subscription:
    subscription, role = visible_subscription(caller, subscription_id, repo=repo, clock=clock)
    if role is not Role.ADMIN:
        raise Forbidden("Only the subscription's administrator may do this.")
    return subscription


def _agreement_for(subscription: Subscription, agreements: AgreementCatalog) -> AgreementText:
    if subscription.evidence is not None:
        accepted = agreements.get(subscription.country, subscription.language, subscription.evidence.agreement_version)
        if accepted is not None:
            return accepted
    return agreements.current(subscription.country, subscription.language)


def _activate(
    subscription: Subscription,
    *,
    accepted: bool,
    agreement_version: str,
    accepted_by: str,
    channel: ActivationChannel,
    context: RequestContext,
    repo: PortalRepository,
    clock: Clock,
    agreements: AgreementCatalog,
    delivery: Delivery,
) -> ActivationOutcome:
    if not accepted:
        raise InvalidInput("The agreement must be accepted to activate the subscription.")
    current = agreements.current(subscription.country, subscription.language)
    if agreement_version != current.version:
        raise AgreementVersionMismatch(
            f"The agreement was updated (current version {current.version}). Please read the current version and "
            "accept it again."
        )
    now = clock.now()
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
    after = subscription.model_copy(
        update={
            "status": SubscriptionStatus.ACTIVE,
            "activated_at": now,
            "next_renewal_date": add_months(now.date(), subscription.term_months),
            "agreement_version": current.version,
            "evidence": evidence,
            "version": subscription.version + 1,
        }
    )
    email = emails.outgoing(emails.ACTIVATION_CONFIRMED, after, after.admin.email, now, "activated")
    event = AuditEvent(
        subscription_id=subscription.id,
        at=now,
        actor=evidence.accepted_by,
        action="subscription.activated",
        details={"channel": evidence.channel.value, "agreement_version": evidence.agreement_version},
    )
    try:
        repo.activate(subscription, after, email, event, now)
    except WriteConflict:
        return _after_lost_race(subscription.id, repo, now)
    delivery.deliver_now([email])
    log.info("subscription %s activated via %s at %s", subscription.id, evidence.channel.value, utc_iso(now))
    return ActivationOutcome(after, newly_activated=True)


def _after_lost_race(subscription_id: str, repo: PortalRepository, now: datetime) -> ActivationOutcome:
    current = repo.get_subscription(subscription_id)
    if current is None:
        raise DeadlinePassed("The 90-day activation period has ended; a new order is needed.")
    if current.status is SubscriptionStatus.ACTIVE:
        return ActivationOutcome(current, newly_activated=False)
    if now >= current.activation_deadline:
        raise DeadlinePassed("The 90-day activation period has ended; a new order is needed.")
    raise Conflict("The subscription changed while it was being activated; please try again.")
