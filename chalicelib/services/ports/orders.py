"""Orders and activation links."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import OrderRecord, Subscription


class OrderStore(Protocol):
    def create_pending(
        self, subscription: Subscription, token: ActivationToken, email: OutgoingEmail, order_fingerprint: str
    ) -> None:
        """Raises DuplicateOrder when the order id is already known."""

    def get_order(self, order_id: str) -> OrderRecord | None: ...

    def get_token(self, token_hash: str) -> ActivationToken | None: ...
