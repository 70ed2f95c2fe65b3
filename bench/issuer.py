"""A bearer-token issuer for the benchmark (one RSA key per run; the JWKS is a file the app reads by file:// URL)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.provision import AUDIENCE, COUNTRY_CLAIM, ISSUER, KID


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=KID, use="sig", alg="RS256")
        return {"keys": [public]}

    def write_jwks(self, path: Path) -> Path:
        path.write_text(json.dumps(self.jwks()))
        return path

    def token(self, email: str, country: str, lifetime_s: int = 3600) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "email": email, "email_verified": True, COUNTRY_CLAIM: country,
                  "iat": now, "exp": now + lifetime_s}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})

    def bearer(self, email: str, country: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email, country)}"}
