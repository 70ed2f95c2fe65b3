"""Builds the adapters and the use cases lazily, once per Lambda container (the Chalice todo sample's get_app_db(),
grown up). Every property is typed by its port, so mypy proves each adapter satisfies it.
Grouped by capability: each section holds one capability's stores, adapters and use cases.

Nothing here runs at import, and each adapter or use case module is imported by the first property that needs it: the
portal list route never imports activation, administration, rendering or SES. Tests and the local stack install their
own Container with `use_container`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.services.ports.common import AgreementCatalog, Clock, LinkSecret

if TYPE_CHECKING:
    from chalicelib.adapters.dynamodb.table import Table
    from chalicelib.adapters.jwt_verifier import JwtVerifier
    from chalicelib.adapters.telemetry import EmfTelemetry
    from chalicelib.domain.billing.sellers import SellerCatalog
    from chalicelib.services.access import SubscriptionAccess
    from chalicelib.services.activation import Activation
    from chalicelib.services.administration import Administration
    from chalicelib.services.billing import Billing
    from chalicelib.services.cleanup import Cleanup
    from chalicelib.services.corrections import Corrections
    from chalicelib.services.fanout import Workers
    from chalicelib.services.intake import Intake
    from chalicelib.services.invoice_documents import InvoiceDocuments
    from chalicelib.services.invoicing import InvoiceIssuer
    from chalicelib.services.mail_notices import MailNotices
    from chalicelib.services.outbox import Delivery
    from chalicelib.services.ports.administration import AdministrationStore
    from chalicelib.services.ports.cleanup import CleanupStore
    from chalicelib.services.ports.idempotency import IdempotencyRecords
    from chalicelib.services.ports.invoices import InvoiceFiles, InvoiceStore
    from chalicelib.services.ports.mail_notices import MailNoticeStore
    from chalicelib.services.ports.orders import OrderStore
    from chalicelib.services.ports.outbox import ChannelDispatcher, EmailRenderer, Mailer, OutboxStore
    from chalicelib.services.ports.reminders import ReminderStore
    from chalicelib.services.ports.renewals import RenewalStore
    from chalicelib.services.ports.subscriptions import SubscriptionStore
    from chalicelib.services.ports.unit_of_work import UnitOfWorkFactory
    from chalicelib.services.ports.work import WorkQueue
    from chalicelib.services.reminders import Reminders
    from chalicelib.services.renewals import Renewals


class Container:
    def __init__(self, env: Mapping[str, str] | None = None, clock: Clock | None = None, session: Any = None) -> None:
        self._env = env
        self._clock = clock
        self._session = session

    # -- configuration, clock and AWS clients --------------------------------------------------------------------------
    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env(self._env if self._env is not None else os.environ)

    @cached_property
    def clock(self) -> Clock:
        if self._clock is not None:
            return self._clock
        from chalicelib.adapters.clock import SystemClock

        return SystemClock()

    @cached_property
    def _boto_session(self) -> Any:
        if self._session is not None:
            return self._session
        import boto3

        return boto3.session.Session()

    def _client(self, service: str) -> Any:
        return self._boto_session.client(service, region_name=self.settings.region)

    @cached_property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @cached_property
    def table(self) -> Table:
        from chalicelib.adapters.dynamodb.table import Table

        return Table(self.dynamodb, self.settings.table_name)

    # -- sign-in and access --------------------------------------------------------------------------------------------
    @cached_property
    def verifier(self) -> JwtVerifier:
        from chalicelib.adapters.jwt_verifier import JwtVerifier

        s = self.settings
        return JwtVerifier(s.jwks_url, s.jwt_issuer, s.jwt_audience, s.country_claim)

    @cached_property
    def access(self) -> SubscriptionAccess:
        from chalicelib.services.access import SubscriptionAccess

        return SubscriptionAccess(self.subscriptions, self.clock)

    @cached_property
    def subscriptions(self) -> SubscriptionStore:
        from chalicelib.adapters.dynamodb.subscriptions import DynamoSubscriptionStore

        return DynamoSubscriptionStore(self.table)

    @cached_property
    def idempotency(self) -> IdempotencyRecords:
        from chalicelib.adapters.dynamodb.idempotency import DynamoIdempotencyRecords

        return DynamoIdempotencyRecords(self.table)

    # -- orders and activation -----------------------------------------------------------------------------------------
    @cached_property
    def orders(self) -> OrderStore:
        from chalicelib.adapters.dynamodb.orders import DynamoOrderStore

        return DynamoOrderStore(self.table)

    @cached_property
    def agreements(self) -> AgreementCatalog:
        from chalicelib.adapters.agreements import FileAgreementCatalog

        return FileAgreementCatalog()

    @cached_property
    def link_secret(self) -> LinkSecret:
        from chalicelib.adapters.secrets import SecretsManagerLinkSecret

        return SecretsManagerLinkSecret(self._client("secretsmanager"), self.settings.link_secret_arn)

    @cached_property
    def intake(self) -> Intake:
        from chalicelib.services.intake import Intake

        return Intake(self.orders, self.clock, self.agreements, self.link_secret, self.delivery, self.sellers)

    @cached_property
    def activation(self) -> Activation:
        from chalicelib.services.activation import Activation

        return Activation(
            self.orders,
            self.subscriptions,
            self.clock,
            self.agreements,
            self.link_secret,
            self.delivery,
            self.invoice_issuer,
            self.unit_of_work,
            self.telemetry,
        )

    # -- administration ------------------------------------------------------------------------------------------------
    @cached_property
    def administration_store(self) -> AdministrationStore:
        from chalicelib.adapters.dynamodb.administration import DynamoAdministrationStore

        return DynamoAdministrationStore(self.table)

    @property
    def unit_of_work(self) -> UnitOfWorkFactory:
        """A new unit of work for each attempt of a use case."""
        from chalicelib.adapters.dynamodb.staging import DynamoUnitOfWork

        return lambda: DynamoUnitOfWork(self.table)

    @cached_property
    def administration(self) -> Administration:
        from chalicelib.services.administration import Administration

        return Administration(
            self.subscriptions, self.administration_store, self.clock, self.agreements, self.delivery, self.unit_of_work
        )

    # -- email: the outbox and its delivery, bounces and complaints ----------------------------------------------------
    @cached_property
    def outbox(self) -> OutboxStore:
        from chalicelib.adapters.dynamodb.outbox import DynamoOutboxStore

        return DynamoOutboxStore(self.table)

    @cached_property
    def mailer(self) -> Mailer:
        from chalicelib.adapters.ses import SesMailer

        s = self.settings
        return SesMailer(self._client("ses"), s.sender_email, s.vendor_name, s.ses_configuration_set)

    @cached_property
    def renderer(self) -> EmailRenderer:
        from chalicelib.adapters.rendering import EmailRenderer

        return EmailRenderer(self.settings, self.link_secret)

    @cached_property
    def outbox_channels(self) -> dict[str, ChannelDispatcher]:
        """One dispatcher per outbox channel, by its name; an email kind's attachments by the kind."""
        from chalicelib.domain.outbox import EMAIL_CHANNEL
        from chalicelib.services.email_channel import EmailChannel
        from chalicelib.services.emails import INVOICE_CORRECTED, INVOICE_ISSUED

        attachments = {INVOICE_ISSUED: self.invoice_documents, INVOICE_CORRECTED: self.invoice_documents}
        return {EMAIL_CHANNEL: EmailChannel(self.mailer, self.renderer, attachments)}

    @cached_property
    def delivery(self) -> Delivery:
        from chalicelib.services.outbox import Delivery

        return Delivery(self.outbox, self.outbox_channels, self.clock, self.telemetry)

    @cached_property
    def mail_notice_store(self) -> MailNoticeStore:
        from chalicelib.adapters.dynamodb.mail_notices import DynamoMailNoticeStore

        return DynamoMailNoticeStore(self.table)

    @cached_property
    def mail_notices(self) -> MailNotices:
        from chalicelib.services.mail_notices import MailNotices

        return MailNotices(self.subscriptions, self.mail_notice_store, self.clock, self.telemetry)

    # -- billing: sellers, invoices and their documents ----------------------------------------------------------------
    @cached_property
    def sellers(self) -> SellerCatalog:
        from chalicelib.adapters.sellers import seller_catalog

        return seller_catalog(self.settings.sellers)

    @cached_property
    def invoices(self) -> InvoiceStore:
        from chalicelib.adapters.dynamodb.invoices import DynamoInvoiceStore

        return DynamoInvoiceStore(self.table)

    @cached_property
    def invoice_issuer(self) -> InvoiceIssuer:
        from chalicelib.services.invoicing import InvoiceIssuer

        return InvoiceIssuer(self.invoices, self.sellers, self.clock, self.unit_of_work)

    @cached_property
    def invoice_files(self) -> InvoiceFiles:
        from chalicelib.adapters.invoice_files import S3InvoiceFiles

        return S3InvoiceFiles(self._client("s3"), self.settings.invoice_bucket)

    @cached_property
    def invoice_documents(self) -> InvoiceDocuments:
        from chalicelib.adapters.documents import embedded_xml, render_invoice
        from chalicelib.services.invoice_documents import InvoiceDocuments

        return InvoiceDocuments(self.invoices, self.invoice_files, render_invoice, embedded_xml)

    @cached_property
    def corrections(self) -> Corrections:
        from chalicelib.services.corrections import Corrections

        return Corrections(
            self.invoices, self.sellers, self.clock, self.delivery, self.unit_of_work, self.subscriptions
        )

    @cached_property
    def billing(self) -> Billing:
        from chalicelib.adapters.documents import render_agreement
        from chalicelib.services.billing import Billing

        return Billing(self.invoices, self.invoice_documents, self.agreements, render_agreement)

    # -- jobs: cleanup, reminders, renewals and their fan-out ----------------------------------------------------------
    @cached_property
    def cleanup_store(self) -> CleanupStore:
        from chalicelib.adapters.dynamodb.cleanup import DynamoCleanupStore

        return DynamoCleanupStore(self.table)

    @cached_property
    def cleanup(self) -> Cleanup:
        from chalicelib.services.cleanup import Cleanup

        return Cleanup(self.cleanup_store, self.clock)

    @cached_property
    def reminder_store(self) -> ReminderStore:
        from chalicelib.adapters.dynamodb.reminders import DynamoReminderStore

        return DynamoReminderStore(self.table)

    @cached_property
    def reminders(self) -> Reminders:
        from chalicelib.services.reminders import Reminders

        s = self.settings
        return Reminders(
            self.reminder_store, self.clock, self.sellers, self.delivery, self.work_queue, s.activation_reminder_days,
            s.renewal_reminder_days,
        )  # fmt: skip

    @cached_property
    def renewal_store(self) -> RenewalStore:
        from chalicelib.adapters.dynamodb.renewals import DynamoRenewalStore

        return DynamoRenewalStore(self.table)

    @cached_property
    def renewals(self) -> Renewals:
        from chalicelib.services.renewals import Renewals

        return Renewals(
            self.renewal_store, self.invoice_issuer, self.clock, self.delivery, self.work_queue, self.unit_of_work
        )

    @cached_property
    def work_queue(self) -> WorkQueue:
        from chalicelib.adapters.work_queue import SqsWorkQueue

        url = self.settings.work_queue_url
        if not url:
            raise RuntimeError("configuration WORK_QUEUE_URL is not set (see README, Configuration)")
        return SqsWorkQueue(self._client("sqs"), url)

    @cached_property
    def workers(self) -> Workers:
        """Each job's worker side, by the job name its messages carry; a use case is built on its first item."""
        from chalicelib import metrics
        from chalicelib.services.fanout import Workers

        return Workers(
            {
                metrics.PROCESS_RENEWALS: lambda item: self.renewals.settle(item),
                metrics.SEND_REMINDERS: lambda item: self.reminders.send(item),
            }
        )

    # -- observability -------------------------------------------------------------------------------------------------
    @cached_property
    def telemetry(self) -> EmfTelemetry:
        from chalicelib.adapters.telemetry import EmfTelemetry

        return EmfTelemetry()

_lock = threading.Lock()
_container: Container | None = None


def get_container() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container()
        return _container


def use_container(container: Container | None) -> None:
    """Install a container (tests, local stack) or drop the cached one (None)."""
    global _container
    with _lock:
        _container = container
