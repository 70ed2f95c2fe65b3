from __future__ import annotations

import threading
from typing import Any


class SecretsManagerLinkSecret:
    """Fetches the link secret once per container (it only changes with a redeploy)."""

    def __init__(self, client: Any, secret_arn: str) -> None:
        self._client = client
        self._arn = secret_arn
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            if self._value is None:
                secret = self._client.get_secret_value(SecretId=self._arn)["SecretString"]
                if len(secret) < 32:
                    raise RuntimeError("the link secret must be at least 32 characters")
                self._value = secret.encode()
            return self._value
