"""The cold start's read path (bench section 1): the first GET /subscriptions in a fresh interpreter imports neither
pydantic nor the modules that bring it (request-body schemas, invoices, orders, the OpenAPI document), nor
cryptography; and what it answers with instead, the hand-built subscription JSON, the hand-written record codec and the
hand-checked settings, says exactly what the pydantic versions said."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from chalicelib.api.schemas import SubscriptionAdminOut, SubscriptionUserOut
from chalicelib.api.subscription_json import subscription_out
from chalicelib.config import ConfigurationError, Settings
from chalicelib.domain.capabilities import CAPABILITIES, CatalogueProduct, ProductCatalogue, capabilities
from chalicelib.domain.models import (
    ActivationChannel,
    ActivationEvidence,
    Customer,
    PaymentMethod,
    Person,
    PostalAddress,
    Product,
    Role,
    Subscription,
    SubscriptionStatus,
    subscription_from_record,
    to_record,
)
from tests.support import env_for

ROOT = Path(__file__).resolve().parent.parent


def test_the_first_get_subscriptions_in_a_fresh_interpreter_never_imports_pydantic(tmp_path):
    """The bench's own cold-start child (`app-fresh`): nothing preloaded, AWS a moto server in another process."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from bench.provision import REGION, fake_credentials
        fake_credentials()
        from bench import coldstart
        from bench.issuer import Issuer

        work = Path(sys.argv[1])
        issuer = Issuer()
        jwks = issuer.write_jwks(work / "jwks.json")
        server, env = coldstart._moto_server_env(jwks, coldstart._seed_items())
        config = work / "coldstart.json"
        token = issuer.token(coldstart.CALLER, "FR")
        config.write_text(json.dumps({"region": REGION, "jwks": str(jwks), "token": token, "items": [], "env": env}))
        try:
            print(json.dumps(coldstart._child("app-fresh", config)))
        finally:
            server.stop()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["status"], result["second_status"], result["items"]) == (200, 200, 4)
    assert result["preloaded"] == []
    imported = set(result["imported"])
    assert {"chalice", "boto3"} <= imported  # what the answer does need
    # the RS256 check is the verifier's own arithmetic (tests/test_jwt.py holds it to cryptography's answers)
    assert not imported & {"pydantic", "pydantic_core", "jinja2", "cryptography", "jwt"}, result["imported"]
    assert not [m for m in imported if m.startswith("chalicelib.")], result["imported"]


def _subscription(**changes: object) -> Subscription:
    ordered = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
    base = Subscription(
        id="5b2c6a8e-0f3d-4c1e-9a57-2d8e4b1f7c30",
        order_id="SO-1",
        status=SubscriptionStatus.PENDING_ACTIVATION,
        product=Product(code="PROFIS-ENG", name="PROFIS Engineering Suite"),
        country="FR",
        locale="fr-FR",
        customer=Customer(
            id="0000012345",
            name="Béton & Fils",
            vat_id="FR40303265045",
            address=PostalAddress(lines=("3 place Bellecour", "Bât B"), postal_code="69002", city="Lyon", country="FR"),
        ),
        admin=Person(email="marie.dupont@example.fr", name="Marie Dupont"),
        license_quantity=5,
        term_months=12,
        unit_price=Decimal("450.00"),
        currency="EUR",
        po_number="PO-7781",
        payment_method=PaymentMethod(
            type="card", token="tok_1", brand="visa", last4="4242", exp_month=4, exp_year=2030
        ),
        ordered_at=ordered,
        activation_deadline=datetime(2026, 5, 30, 9, 30, 15, 250000, tzinfo=UTC),
        agreement_version="FR-fr-2026.1",
        activation_token_hash="ab" * 32,
        activation_token_id="token-1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


ACTIVE = _subscription(
    status=SubscriptionStatus.ACTIVE,
    activated_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
    next_renewal_date=date(2027, 3, 2),
    evidence=ActivationEvidence(
        accepted_by="marie.dupont@example.fr",
        accepted_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        agreement_version="FR-fr-2026.1",
        ip="198.51.100.7",
        user_agent="Mozilla/5.0",
        channel=ActivationChannel.PORTAL,
    ),
    activation_token_hash=None,
    version=2,
)
ENDED = replace(ACTIVE, status=SubscriptionStatus.ENDED, next_renewal_date=None, ended_on=date(2027, 3, 2), version=3)
SAMPLES = {
    "pending": _subscription(),
    "pending, invoice, no address": _subscription(
        customer=Customer(id="7", name="Solo"), payment_method=PaymentMethod(type="invoice"), po_number=None
    ),
    "active": ACTIVE,
    "ended": ENDED,
}


@pytest.mark.parametrize("subscription", SAMPLES.values(), ids=SAMPLES.keys())
def test_the_stored_record_is_what_pydantic_wrote_and_reads_back_the_same(subscription):
    """Items stored before the domain models were dataclasses read the same: the JSON form is pydantic's."""
    record = to_record(subscription)
    assert record == TypeAdapter(Subscription).dump_python(subscription, mode="json")
    assert subscription_from_record(record) == subscription
    # as DynamoDB hands it back: whole numbers as Decimal, extra attributes of the item
    stored = {**json.loads(json.dumps(record), parse_int=Decimal), "PK": "SUB#x", "SK": "SUB", "type": "subscription"}
    assert subscription_from_record(stored) == subscription


@pytest.mark.parametrize("role", [Role.ADMIN, Role.USER])
@pytest.mark.parametrize("subscription", SAMPLES.values(), ids=SAMPLES.keys())
def test_the_subscription_json_is_exactly_its_documented_schema(subscription, role):
    """The hand-built answer validates against the document's model and dumps back unchanged, key order included."""
    catalogue = ProductCatalogue({"PROFIS-ENG": CatalogueProduct(name="PROFIS Engineering Suite", users="vendor")})
    allowed = capabilities(role, subscription, catalogue)
    out = subscription_out(subscription, role, allowed, current_agreement="FR-fr-2026.2")
    model = SubscriptionAdminOut if role is Role.ADMIN else SubscriptionUserOut
    dumped = model.model_validate(out).model_dump(mode="json")
    if role is Role.ADMIN:  # the route leaves out the payment method's empty fields
        dumped["payment_method"] = {k: v for k, v in dumped["payment_method"].items() if v is not None}
    assert json.dumps(out) == json.dumps(dumped)
    assert list(out["capabilities"]) == list(CAPABILITIES)  # type: ignore[call-overload]


def _env(**changes: str) -> dict[str, str]:
    env = env_for(Path("/tmp/jwks.json"), "arn:aws:secretsmanager:eu-west-1:123456789012:secret:link")
    return {**env, **changes}


def test_the_settings_read_every_variable():
    settings = Settings.from_env(
        _env(
            COUNTRY_URLS=json.dumps({
                "default": {"activation": "https://a.example.com/", "portal": "https://p.example.com"},
                "DE": {"activation": "http://localhost:8000", "portal": "http://127.0.0.1:3000/"},
            }),
            PRODUCT_CATALOGUE=json.dumps({"FLEET": {"name": "Fleet", "users": "vendor"}, "ENG": {"name": "Eng"}}),
            ACTIVATION_REMINDER_DAYS="45,7,1",
            RENEWAL_REMINDER_DAYS="60",
            PRIVACY_URL="https://vendor.example.com/privacy/",
        )
    )  # fmt: skip
    assert settings.urls_for("DE").portal == "http://127.0.0.1:3000"
    assert settings.urls_for("IT").activation == "https://a.example.com"
    assert settings.activation_origins() == frozenset({"https://a.example.com", "http://localhost:8000"})
    assert settings.products == {
        "FLEET": CatalogueProduct(name="Fleet", users="vendor"),
        "ENG": CatalogueProduct(name="Eng", users="portal"),
    }
    assert not settings.product_catalogue().users_managed_in_portal("FLEET")
    assert settings.product_catalogue().users_managed_in_portal("OTHER")
    assert (settings.activation_reminder_days, settings.renewal_reminder_days) == ((45, 7, 1), 60)
    assert settings.privacy_url == "https://vendor.example.com/privacy"


def test_the_sellers_are_read_through_the_settings():
    """SELLERS_JSON is read in config.py like every other variable (chalicelib/README); the adapter only loads it."""
    from chalicelib.adapters.sellers import BUNDLED_SELLERS
    from chalicelib.container import Container

    inline = json.dumps({"sellers": [json.loads(BUNDLED_SELLERS.read_text(encoding="utf-8"))["sellers"][1]]})
    container = Container(_env(SELLERS_JSON=f"  {inline}\n"))
    assert container.settings.sellers == inline
    assert container.sellers.countries() == {"DE"}
    assert Settings.from_env(_env()).sellers == ""
    assert Container(_env()).sellers.get("FR") is not None  # unset: the bundled sample


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"COUNTRY_URLS": "{not json"}, "COUNTRY_URLS is not valid JSON"),
        ({"COUNTRY_URLS": '{"FR": {"activation": "https://a.example", "portal": "https://p.example"}}'},
         "needs a 'default' entry"),
        ({"COUNTRY_URLS": '{"default": {"activation": "https://a.example"}}'}, "exactly the keys"),
        ({"COUNTRY_URLS": '{"default": {"activation": "http://a.example", "portal": "https://p.example"}}'},
         "must be an absolute https URL"),
        ({"PRIVACY_URL": "privacy.html"}, "PRIVACY_URL: 'privacy.html' must be an absolute https URL"),
        ({"PRODUCT_CATALOGUE": '{"FLEET": {"name": "Fleet", "users": "nobody"}}'}, "PRODUCT_CATALOGUE.FLEET must be"),
        ({"PRODUCT_CATALOGUE": '{"FLEET": {"name": "Fleet", "seats": 3}}'}, "PRODUCT_CATALOGUE.FLEET must be"),
        ({"PRODUCT_CATALOGUE": '["FLEET"]'}, "PRODUCT_CATALOGUE must be a JSON object"),
        ({"ACTIVATION_REMINDER_DAYS": "30,90"}, "from 1 to 89"),
        ({"ACTIVATION_REMINDER_DAYS": "30,soon"}, "whole days"),
        ({"RENEWAL_REMINDER_DAYS": "0"}, "from 1 to 365"),
        ({"TABLE_NAME": ""}, "TABLE_NAME is not set"),
    ],
)  # fmt: skip
def test_a_bad_setting_names_the_variable_and_what_it_should_be(changes, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        Settings.from_env(_env(**changes))


def test_a_seller_address_is_still_checked_by_pydantic():
    """PostalAddress is a dataclass now; inside a pydantic model (a seller, an invoice) it is validated as before."""
    from pydantic import BaseModel, ValidationError

    class Holder(BaseModel):
        address: PostalAddress

    assert Holder.model_validate({"address": {"lines": ["1 rue X"], "country": "FR"}}).address.lines == ("1 rue X",)
    for bad in ({"country": "France"}, {"country": "FR", "street": "1 rue X"}):
        with pytest.raises(ValidationError):
            Holder.model_validate({"address": bad})
