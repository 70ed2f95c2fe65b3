"""Bearer-token verification against the identity provider's JWKS: the one code path in tests, locally and deployed.

RS256 only (what Cognito and most IdPs sign ID tokens with). The signature check is `cryptography`'s RSA PKCS#1 v1.5
verification; only the JOSE plumbing (base64url, JSON, claim checks) is here. Not using PyJWT saves ~60 ms of cold
start: it imports all of `cryptography.x509` and an HTTP client before the first request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import Unauthenticated
from chalicelib.services.identity import Caller

REFRESH_AT_MOST_EVERY_S = 60.0
LEEWAY_S = 30
MAX_TOKEN_LENGTH = 16 * 1024
MIN_RSA_BITS = 2048
INVALID = "The bearer token is missing, invalid or expired. Sign in again."
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def fetch_jwks(url: str) -> dict[str, Any]:
    """https (the IdP), or file:// and loopback http for local runs. urllib3 is botocore's own HTTP client, already
    loaded with boto3, so fetching adds nothing to the cold start."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        with open(unquote(urlsplit(url).path), "rb") as file:
            document: dict[str, Any] = json.loads(file.read())
            return document
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise RuntimeError("JWKS_URL must be https (or file:// / loopback http for local runs)")
    import urllib3

    response = urllib3.request("GET", url, timeout=5.0, retries=2)
    if response.status != 200:
        raise RuntimeError(f"the JWKS at {url} answered {response.status}")
    document = json.loads(response.data)
    return document


def _b64decode(segment: str) -> bytes:
    if not _BASE64URL.match(segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def rsa_keys(jwks: dict[str, Any]) -> dict[str, Any]:
    """The JWKS's RSA signing keys by kid; anything else (other key types, weak keys, encryption keys) is ignored."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    keys: dict[str, Any] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            n = int.from_bytes(_b64decode(jwk["n"]), "big")
            e = int.from_bytes(_b64decode(jwk["e"]), "big")
            if n.bit_length() < MIN_RSA_BITS:
                continue
            keys[jwk["kid"]] = RSAPublicNumbers(e, n).public_key()
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
    return keys


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
                self._keys = rsa_keys(self._fetch(self._url))
            return self._keys.get(kid)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        parts = token.split(".")
        if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3:
            raise Unauthenticated(INVALID)
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise Unauthenticated(INVALID) from None
        # Only RS256, and no extension we would have to understand: "none", HS256 keyed with the public key and
        # friends never reach a key.
        if not isinstance(header, dict) or header.get("alg") != "RS256" or "crit" in header:
            raise Unauthenticated(INVALID)
        key = self._key(str(header.get("kid", "")))
        if key is None:
            raise Unauthenticated(INVALID)
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise Unauthenticated(INVALID) from None
        if not isinstance(claims, dict):
            raise Unauthenticated(INVALID)
        return claims

    def verify(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("Send 'Authorization: Bearer <token>' from your sign-in.")
        claims = self._verified_claims(authorization[len("Bearer ") :].strip())
        now = time.time()
        exp = _seconds(claims.get("exp"))
        if exp is None or now > exp + LEEWAY_S:
            raise Unauthenticated(INVALID)
        for claim in ("nbf", "iat"):  # optional, but when present: numbers, and not in the future
            if claim in claims and ((moment := _seconds(claims[claim])) is None or now + LEEWAY_S < moment):
                raise Unauthenticated(INVALID)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != self._issuer or self._audience not in audiences:
            raise Unauthenticated(INVALID)
        if claims.get("token_use", "id") != "id":  # Cognito access tokens carry no email: the portal sends ID tokens
            raise Unauthenticated("Send the ID token from your sign-in, not an access token.")
        email, country = claims.get("email"), claims.get(self._country_claim)
        if not isinstance(email, str) or not isinstance(country, str) or len(country) != 2:
            raise Unauthenticated("The token carries no email or country; sign in on your country's web site.")
        if claims.get("email_verified") is False:
            raise Unauthenticated("Confirm your email address with your sign-in provider first.")
        return Caller(email=email, country=country.upper())
