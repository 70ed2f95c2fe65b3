"""Issuing and resolving activation tokens."""

from __future__ import annotations

from chalicelib.domain.models import Subscription
from chalicelib.domain.tokens import derive_token, token_hash
from chalicelib.services.ports import ActivationToken


def issue_token(secret: bytes, token_id: str, subscription: Subscription) -> ActivationToken:
    return ActivationToken(
        token_hash=token_hash(derive_token(secret, token_id)),
        subscription_id=subscription.id,
        admin_email=subscription.admin.key,
        expires_at=subscription.activation_deadline,
    )
