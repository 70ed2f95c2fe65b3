"""Bearer-token verification against the identity provider's JWKS: the one code path in tests, locally and deployed.

RS256 only (what Cognito and most IdPs sign ID tokens with). Not using PyJWT saves ~60 ms of cold start: it imports
all of `cryptography.x509` and an HTTP client before the first request. The signature check itself is RSASSA-PKCS1-v1_5
verification as RFC 8017 8.2.2 specifies it, in a few lines of integer arithmetic (`rs256_signature_is_valid`): the
expected encoded block is built and compared whole, never parsed, so there is no padding parser to fool. Verifying is
public-key arithmetic on public data (nothing secret to leak); `cryptography` would add ~9 ms to every cold start for
the same answer, which tests/test_jwt.py checks against it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from chalicelib import strictjson
from chalicelib.domain.errors import Unauthenticated, Unavailable
from chalicelib.domain.models import normalize_email
from chalicelib.domain.validators import validate_email
from chalicelib.services.identity import Caller

REFRESH_AT_MOST_EVERY_S = 10.0  # an unknown kid may refresh the keys this often (forged kids cannot hammer the IdP)
KEYS_MAX_AGE_S = 3600.0  # keys the IdP withdrew stop working within the hour
LEEWAY_S = 30
MAX_TOKEN_LENGTH = 16 * 1024
MIN_RSA_BITS = 2048
INVALID = "The bearer token is missing, invalid or expired. Sign in again."
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
log = logging.getLogger(__name__)


def fetch_jwks(url: str) -> dict[str, Any]:
    """https (the IdP), or file:// and loopback http for local runs; no redirects. urllib3 is botocore's own HTTP
    client, already loaded with boto3, so fetching adds nothing to the cold start."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        with open(unquote(parts.path), "rb") as file:
            document: Any = strictjson.loads(file.read())
    elif parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")):
        import urllib3

        response = urllib3.PoolManager(timeout=5.0, retries=2).request("GET", url, redirect=False)
        if response.status != 200:
            raise RuntimeError(f"the JWKS at {url} answered {response.status}")
        document = strictjson.loads(response.data)
    else:
        raise RuntimeError("JWKS_URL must be https (or file:// / loopback http for local runs)")
    if not isinstance(document, dict):
        raise RuntimeError("the JWKS is not a JSON object")
    return document


def _b64decode(segment: str) -> bytes:
    """Canonical base64url only: the same token can never be written two ways."""
    if not _BASE64URL.fullmatch(segment):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise ValueError("not canonical base64url")
    return data


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


# DER of DigestInfo{AlgorithmIdentifier{id-sha256, NULL}, OCTET STRING(32)}: the prefix of the hash in the block
# (RFC 8017 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True)
class RsaPublicKey:
    n: int  # modulus
    e: int  # public exponent

    @classmethod
    def of(cls, n: int, e: int) -> RsaPublicKey:
        """The checks `cryptography` makes on public numbers: an odd modulus, an odd exponent from 3 below it."""
        if n < 3 or n % 2 == 0 or not 3 <= e < n or e % 2 == 0:
            raise ValueError("not an RSA public key")
        return cls(n, e)


def rs256_signature_is_valid(key: RsaPublicKey, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5-VERIFY with SHA-256 (RFC 8017 8.2.2): the signature as a number below the modulus, raised to
    the public exponent, must be exactly the block EMSA-PKCS1-v1_5 encodes for the message's hash."""
    size = (key.n.bit_length() + 7) // 8
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if len(signature) != size or size < len(digest_info) + 11:  # at least 8 bytes of 0xff padding
        return False
    number = int.from_bytes(signature, "big")
    if number >= key.n:
        return False
    encoded = pow(number, key.e, key.n).to_bytes(size, "big")
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def rsa_keys(jwks: dict[str, Any]) -> dict[str, RsaPublicKey]:
    """The JWKS's RSA signing keys by kid; anything else (other key types, weak keys, encryption keys) is ignored."""
    keys: dict[str, RsaPublicKey] = {}
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
            keys[jwk["kid"]] = RsaPublicKey.of(n, e)
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
        self._keys: dict[str, RsaPublicKey] = {}
        self._fetched_at = float("-inf")
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _key(self, kid: str) -> RsaPublicKey | None:
        with self._lock:
            now = time.monotonic()
            stale = now - self._loaded_at > KEYS_MAX_AGE_S
            if (kid not in self._keys or stale) and now - self._fetched_at > REFRESH_AT_MOST_EVERY_S:
                self._fetched_at = now
                try:
                    self._keys = rsa_keys(self._fetch(self._url))
                    self._loaded_at = now
                except Exception:  # keep the keys we have; a passing IdP hiccup must not log everyone out
                    log.exception("the identity provider's keys could not be fetched")
                    self._fetched_at = now - REFRESH_AT_MOST_EVERY_S + 1.0  # try again in a second
                    if not self._keys:
                        raise Unavailable("Sign-in cannot be checked right now; please retry in a moment.") from None
            return self._keys.get(kid)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        parts = token.split(".")
        if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3:
            raise Unauthenticated(INVALID)
        try:
            header = strictjson.loads(_b64decode(parts[0]))
            claims = strictjson.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, binascii.Error):
            raise Unauthenticated(INVALID) from None
        # Only RS256, and no extension we would have to understand: "none", HS256 keyed with the public key and
        # friends never reach a key.
        if not isinstance(header, dict) or header.get("alg") != "RS256" or "crit" in header:
            raise Unauthenticated(INVALID)
        key = self._key(str(header.get("kid", "")))
        if key is None:
            raise Unauthenticated(INVALID)
        if not rs256_signature_is_valid(key, f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
            raise Unauthenticated(INVALID)
        if not isinstance(claims, dict):
            raise Unauthenticated(INVALID)
        return claims

    def verify(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # auth schemes are case-insensitive (RFC 9110 11.1)
            raise Unauthenticated("Send 'Authorization: Bearer <token>' from your sign-in.")
        claims = self._verified_claims(token.strip())
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
        if not isinstance(email, str) or not isinstance(country, str) or not re.fullmatch(r"[A-Za-z]{2}", country):
            raise Unauthenticated("The token carries no email or country; sign in on your country's web site.")
        try:
            email = validate_email(email)
        except ValueError:
            raise Unauthenticated("The token's email address is not one this portal can use.") from None
        if claims.get("email_verified") not in (True, "true"):  # the email is the identity: it must be proven
            raise Unauthenticated("Confirm your email address with your sign-in provider first.")
        return Caller(email=normalize_email(email), country=country.upper())
