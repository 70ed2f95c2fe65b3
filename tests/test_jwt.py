"""The JWT verifier on its own: every way a token can be wrong is a 401, and only the IdP's RS256 keys count."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.jwt_verifier import JwtVerifier, rsa_keys
from chalicelib.domain.errors import Unauthenticated
from tests.support import AUDIENCE, ISSUER, shared_issuer


def _verifier(jwks=None) -> JwtVerifier:
    document = jwks or shared_issuer().jwks()
    return JwtVerifier("file:///unused", ISSUER, AUDIENCE, "custom:country", fetch=lambda url: document)


def _token(headers=None, key=None, algorithm="RS256", **claims):
    issuer = shared_issuer()
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "email": "a@example.fr",
        "email_verified": True,
        "custom:country": "fr",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key or issuer.key, algorithm=algorithm, headers={"kid": issuer.kid, **(headers or {})})


def test_a_good_token_gives_the_caller_with_the_country_upper_cased():
    caller = _verifier().verify(f"Bearer {_token()}")
    assert (caller.email, caller.country) == ("a@example.fr", "FR")


def test_audience_may_be_a_list():
    assert _verifier().verify(f"Bearer {_token(aud=['other', AUDIENCE])}").email == "a@example.fr"


@pytest.mark.parametrize(
    "token",
    [
        lambda: _token(algorithm="RS512"),
        lambda: _token(headers={"crit": ["exp"]}),
        lambda: _token(nbf=int(time.time()) + 3600),
        lambda: _token(iat=int(time.time()) + 3600),
        lambda: _token(exp="9999999999"),
        lambda: _token(exp=None),
        lambda: _token(aud=["other"]),
        lambda: _token(token_use="access"),
        lambda: _token(email_verified=False),
        lambda: _token(**{"custom:country": "FRA"}),
        lambda: _token().rsplit(".", 1)[0] + ".",
        lambda: _token() + "x",
        lambda: "a.b",
        lambda: "x" * 20000,
        lambda: "e30.e30.e30",
    ],
)
def test_wrong_tokens_are_refused(token):
    with pytest.raises(Unauthenticated):
        _verifier().verify(f"Bearer {token()}")


def test_a_tampered_payload_fails_the_signature():
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "boss@example.fr"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        _verifier().verify(f"Bearer {header}.{forged}.{signature}")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_weak_and_non_signing_keys_in_the_jwks_are_ignored():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(weak.public_key()))
    jwks = {
        "keys": [
            {**public, "kid": "weak"},
            {**shared_issuer().jwks()["keys"][0], "kid": "enc", "use": "enc"},
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
            "junk",
        ]
    }
    assert rsa_keys(jwks) == {}
    token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "email": "a@example.fr", "custom:country": "FR", "exp": int(time.time()) + 60},
        weak,
        algorithm="RS256",
        headers={"kid": "weak"},
    )
    with pytest.raises(Unauthenticated):
        _verifier(jwks).verify(f"Bearer {token}")


def test_an_unknown_kid_refreshes_the_jwks_at_most_once_a_minute():
    fetches = []

    def fetch(url):
        fetches.append(url)
        return shared_issuer().jwks()

    verifier = JwtVerifier("file:///jwks", ISSUER, AUDIENCE, "custom:country", fetch=fetch)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            verifier.verify(f"Bearer {_token(headers={'kid': 'rotated-away'})}")
    assert len(fetches) == 1


def test_jwks_is_fetched_over_https_loopback_http_or_file_only(tmp_path):
    import http.server
    import threading

    from chalicelib.adapters.jwt_verifier import fetch_jwks

    document = shared_issuer().jwks()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(document))
    assert fetch_jwks(path.as_uri()) == document

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps(document).encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert fetch_jwks(f"http://127.0.0.1:{server.server_address[1]}/jwks.json") == document
    finally:
        server.shutdown()
        thread.join()
    for url in ("http://idp.example.com/jwks.json", "ftp://idp.example.com/jwks.json"):
        with pytest.raises(RuntimeError):
            fetch_jwks(url)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: bytes, payload: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{_b64(header)}.{_b64(payload)}"
    signature = shared_issuer().key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _claims(**extra) -> dict:
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "email": "a@example.fr",
        "email_verified": True,
        "custom:country": "FR",
        "exp": int(time.time()) + 600,
        **extra,
    }


@pytest.mark.parametrize(
    "token",
    [
        lambda: _signed(b'{"alg":"none","alg":"RS256","kid":"test-key"}', json.dumps(_claims()).encode()),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', b'{"exp": NaN, "iss": "x"}'),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims(exp=10**400)).encode()),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims(exp=1e308 * 10)).encode()),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims()).encode("utf-16")),
        lambda: _signed(b"[" * 5000 + b"]" * 5000, json.dumps(_claims()).encode()),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims(email_verified="false")).encode()),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims(email_verified=None)).encode()),
        lambda: _signed(
            b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims(email="K\u212aim@example.fr")).encode()
        ),
        lambda: _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims(email="")).encode()),
    ],
)
def test_crafted_but_signed_tokens_are_refused_not_500(token):
    with pytest.raises(Unauthenticated):
        _verifier().verify(f"Bearer {token()}")


def test_a_non_canonical_signature_encoding_is_refused():
    header, payload, signature = _signed(b'{"alg":"RS256","kid":"test-key"}', json.dumps(_claims()).encode()).split(".")
    assert _verifier().verify(f"Bearer {header}.{payload}.{signature}").email == "a@example.fr"
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = alphabet[alphabet.index(last) ^ 1]  # same decoded bytes when the low bits are padding
    with pytest.raises(Unauthenticated):
        _verifier().verify(f"Bearer {header}.{payload}.{signature[:-1]}{sibling}")


def test_an_idp_outage_keeps_the_known_keys_and_without_keys_answers_503():
    from chalicelib.domain.errors import Unavailable

    calls = []

    def flaky(url):
        calls.append(url)
        if len(calls) > 1:
            raise OSError("IdP down")
        return shared_issuer().jwks()

    verifier = JwtVerifier("file:///jwks", ISSUER, AUDIENCE, "custom:country", fetch=flaky)
    assert verifier.verify(f"Bearer {_token()}").email == "a@example.fr"
    verifier._loaded_at -= 7200  # keys are old: a refresh is due, and fails
    verifier._fetched_at -= 7200
    assert verifier.verify(f"Bearer {_token()}").email == "a@example.fr"

    down = JwtVerifier(
        "file:///jwks", ISSUER, AUDIENCE, "custom:country", fetch=lambda url: (_ for _ in ()).throw(OSError("IdP down"))
    )
    with pytest.raises(Unavailable):
        down.verify(f"Bearer {_token()}")


@pytest.mark.parametrize("url", ["http://localhost.evil.example/jwks.json", "http://localhost@evil.example/jwks"])
def test_loopback_means_loopback(url):
    from chalicelib.adapters.jwt_verifier import fetch_jwks

    with pytest.raises(RuntimeError):
        fetch_jwks(url)


def _cryptography_accepts(public_key, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def test_the_rs256_check_answers_what_cryptography_answers():
    """The verifier's own RSASSA-PKCS1-v1_5 check against `cryptography`'s, on good signatures and on every way one
    can be wrong: another message, a flipped bit, the other key, another hash, another padding, a wrong length, the
    modulus or more, zero."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from chalicelib.adapters.jwt_verifier import RsaPublicKey, rs256_signature_is_valid

    signer, other = shared_issuer().key, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = signer.public_key()
    numbers = public.public_numbers()
    key = RsaPublicKey.of(numbers.n, numbers.e)
    size = (numbers.n.bit_length() + 7) // 8
    cases: list[tuple[bytes, bytes]] = []
    for n in range(5):
        message = f"header{n}.payload{n}".encode() * (n + 1)
        good = signer.sign(message, padding.PKCS1v15(), hashes.SHA256())
        flipped = bytearray(good)
        flipped[n * 37 % size] ^= 1 << n
        cases += [
            (message, good),
            (message + b"x", good),
            (message, bytes(flipped)),
            (message, other.sign(message, padding.PKCS1v15(), hashes.SHA256())),
            (message, signer.sign(message, padding.PKCS1v15(), hashes.SHA384())),
            (message, signer.sign(message, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())),
            (message, good[1:]),
            (message, b"\0" + good),
            (message, numbers.n.to_bytes(size, "big")),
            (message, bytes(size)),
        ]
        if (same_mod_n := int.from_bytes(good, "big") + numbers.n) < 256**size:  # a good signature, plus the modulus
            cases.append((message, same_mod_n.to_bytes(size, "big")))
    answers = [(rs256_signature_is_valid(key, m, s), _cryptography_accepts(public, m, s)) for m, s in cases]
    assert [ours for ours, _ in answers] == [theirs for _, theirs in answers]
    assert sum(ours for ours, _ in answers) == 5  # the good ones, and only those


@pytest.mark.parametrize(("n", "e"), [(2**2048 + 1, 1), (2**2048 + 1, 4), (2**2048, 65537), (65537, 65537)])
def test_public_numbers_cryptography_refuses_are_refused(n, e):
    from chalicelib.adapters.jwt_verifier import RsaPublicKey

    with pytest.raises(ValueError):
        RsaPublicKey.of(n, e)
