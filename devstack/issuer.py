"""A local identity provider: one RSA key whose JWKS the app trusts exactly like the real IdP's (same verifier)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_LIFETIME_S = 12 * 3600


class LocalIssuer:
    def __init__(self, issuer: str, audience: str, country_claim: str = "country") -> None:
        self.issuer = issuer
        self.audience = audience
        self.country_claim = country_claim
        self.kid = "devstack-" + secrets.token_hex(4)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [public]}

    def write_jwks(self, path: Path) -> str:
        """Writes the JWKS and returns its file:// URL (the app's verifier accepts file:// for local runs)."""
        path.write_text(json.dumps(self.jwks()))
        return path.as_uri()

    def token(self, email: str, country: str, name: str | None = None, lifetime_s: int = TOKEN_LIFETIME_S) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": email.casefold(),
            "email": email,
            "email_verified": True,  # the local identity provider vouches for every address
            self.country_claim: country,
            "iat": now,
            "exp": now + lifetime_s,
        }
        if name:
            claims["name"] = name
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
