"""Bearer-token verification against the identity provider's JWKS: the one code path in tests, locally and deployed."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from chalicelib.domain.errors import Unauthenticated
from chalicelib.services.identity import Caller

ALGORITHMS = ["RS256", "ES256"]
REFRESH_AT_MOST_EVERY_S = 60.0
INVALID = "The bearer token is missing, invalid or expired. Sign in again."


def fetch_jwks(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "file://", "http://127.0.0.1", "http://localhost")):
        raise RuntimeError("JWKS_URL must be https (or file:// / loopback http for local runs)")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - scheme checked above
        document: dict[str, Any] = json.loads(response.read())
        return document


class JwtVerifier:
    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        country_claim: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
    ) -> None:
        self._url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._country_claim = country_claim
        self._fetch = fetch
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _key(self, kid: str) -> Any:
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at > REFRESH_AT_MOST_EVERY_S:
                # Refresh on an unknown kid (key rotation), but never let forged kids hammer the IdP.
                self._fetched_at = time.monotonic()
                keys = jwt.PyJWKSet.from_dict(self._fetch(self._url)).keys
                self._keys = {k.key_id: k for k in keys if k.key_id}
            return self._keys.get(kid)

    def verify(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("Send 'Authorization: Bearer <token>' from your sign-in.")
        token = authorization[len("Bearer ") :].strip()
        try:
            header = jwt.get_unverified_header(token)
            key = self._key(str(header.get("kid", "")))
            if key is None or header.get("alg") not in ALGORITHMS:
                raise Unauthenticated(INVALID)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "email"]},
                leeway=30,
            )
        except jwt.PyJWTError:
            raise Unauthenticated(INVALID) from None
        email, country = claims.get("email"), claims.get(self._country_claim)
        if not isinstance(email, str) or not isinstance(country, str) or len(country) != 2:
            raise Unauthenticated("The token carries no email or country; sign in on your country's web site.")
        if claims.get("email_verified") is False:
            raise Unauthenticated("Confirm your email address with your sign-in provider first.")
        return Caller(email=email, country=country.upper())
