"""Orders and activation tokens: a new order becomes its pending subscription, link and email in one transaction."""

from __future__ import annotations

from chalicelib.adapters.dynamodb import schema
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.unit_of_work import put, put_new
from chalicelib.domain.activation_links import ActivationToken
from chalicelib.domain.errors import DuplicateOrder, WriteConflict
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.domain.models import OrderRecord, Subscription


class DynamoOrderStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create_pending(
        self, subscription: Subscription, token: ActivationToken, email: OutgoingEmail, order_fingerprint: str
    ) -> None:
        admin = subscription.admin
        uow = self._table.unit_of_work().add(
            put_new("order", schema.order_item(subscription, order_fingerprint)),
            put_new("subscription", schema.subscription_item(subscription)),
            put("access", schema.access_item(subscription, admin.key, {"admin"})),
            put("contact", schema.contact_item(subscription, admin)),
            put_new("token", schema.token_item(token)),
        )
        try:
            uow.queue([email]).commit()
        except WriteConflict:
            raise DuplicateOrder(subscription.order_id) from None

    def get_order(self, order_id: str) -> OrderRecord | None:
        item = self._table.get(schema.order_key(order_id))
        return schema.order_from(item) if item else None

    def get_token(self, token_hash: str) -> ActivationToken | None:
        item = self._table.get(schema.token_key(token_hash))
        return schema.token_from(token_hash, item) if item else None

