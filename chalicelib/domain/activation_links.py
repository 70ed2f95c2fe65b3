"""Activation link tokens (invariant 5).

A token is HMAC-SHA256(link secret, token id) where the token id is 128 random bits. Only SHA-256(token) is stored
(with the subscription, admin and expiry it is bound to); the outbox stores the token id, which is useless without the
secret, so neither a database leak nor a log line can be turned into a working link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.models import Subscription

_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token_id() -> str:
    return secrets.token_urlsafe(16)


def derive_token(secret: bytes, token_id: str) -> str:
    digest = hmac.new(secret, b"activation-link:" + token_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(text: str) -> bool:
    return bool(_TOKEN_SHAPE.fullmatch(text))


@dataclass(frozen=True)
class ActivationToken:
    """What is stored for a link: the hash of the token and what it may act on, until when."""

    token_hash: str
    subscription_id: str
    admin_email: str
    expires_at: datetime


def issue_token(secret: bytes, token_id: str, subscription: Subscription) -> ActivationToken:
    return ActivationToken(
        token_hash=token_hash(derive_token(secret, token_id)),
        subscription_id=subscription.id,
        admin_email=subscription.admin.key,
        expires_at=subscription.activation_deadline,
    )
