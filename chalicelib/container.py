"""Builds the adapters lazily, once per Lambda container (the Chalice todo sample's get_app_db(), grown up).

Nothing here runs at import. Tests and the local stack install their own Container with `use_container`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.services.ports import Clock


class Container:
    def __init__(self, env: Mapping[str, str] | None = None, clock: Clock | None = None, session: Any = None) -> None:
        self._env = env
        self._clock = clock
        self._session = session

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
    def repo(self) -> Any:
        from chalicelib.adapters.dynamo import DynamoPortalRepository

        return DynamoPortalRepository(self.dynamodb, self.settings.table_name)

    @cached_property
    def idempotency(self) -> Any:
        from chalicelib.adapters.idempotency import DynamoIdempotencyStore

        return DynamoIdempotencyStore(self.dynamodb, self.settings.table_name)

    @cached_property
    def link_secret(self) -> Any:
        from chalicelib.adapters.secrets import SecretsManagerLinkSecret

        return SecretsManagerLinkSecret(self._client("secretsmanager"), self.settings.link_secret_arn)

    @cached_property
    def mailer(self) -> Any:
        from chalicelib.adapters.ses import SesMailer

        s = self.settings
        return SesMailer(self._client("ses"), s.sender_email, s.vendor_name, s.ses_configuration_set)

    @cached_property
    def renderer(self) -> Any:
        from chalicelib.adapters.rendering import EmailRenderer

        return EmailRenderer(self.settings, self.link_secret)

    @cached_property
    def agreements(self) -> Any:
        from chalicelib.adapters.agreements import FileAgreementCatalog

        return FileAgreementCatalog()

    @cached_property
    def sellers(self) -> Any:
        from chalicelib.adapters.sellers import seller_catalog_from_env

        return seller_catalog_from_env(self._env if self._env is not None else os.environ)

    @cached_property
    def verifier(self) -> Any:
        from chalicelib.adapters.jwt_verifier import JwtVerifier

        s = self.settings
        return JwtVerifier(s.jwks_url, s.jwt_issuer, s.jwt_audience, s.country_claim)

    @cached_property
    def delivery(self) -> Any:
        from chalicelib.services.outbox import Delivery

        return Delivery(self.repo, self.mailer, self.renderer, self.clock)


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
