"""The activation pages look like the vendor's (issue 9, item 8): the vendor's name and logo served by the app
itself, the selling company of the subscription's country with its contact, the privacy and legal notice links,
a print layout, and the agreement PDF link only when one is given."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib import jobs
from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.rendering import messages, render_template
from chalicelib.container import Container, use_container
from tests.support import NOW, ORDER, Stack, order, provision, shared_issuer, shared_session, token_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the signature is all a browser needs to sniff; the bytes must go as sent


@pytest.fixture
def branded(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Stack, Client]]:
    """The usual stack, with the extra settings given as the fixture's parameter ({tmp} is the test's tmp_path)."""
    extra: dict[str, str] = getattr(request, "param", {})
    with mock_aws():
        env, ddb = provision(tmp_path)
        env.update({name: value.format(tmp=tmp_path) for name, value in extra.items()})
        container = Container(env, clock=FixedClock(NOW), session=shared_session())
        use_container(container)
        try:
            with Client(app, stage_name="dev") as client:
                yield Stack(container=container, clock=FixedClock(NOW), issuer=shared_issuer(), ddb=ddb), client
        finally:
            use_container(None)


def _pending_token(stack: Stack, message: dict[str, object] = ORDER) -> str:
    jobs.receive_order(message)
    return token_of(stack.sent()[-1])


def _logo_src(html: str) -> str:
    match = re.search(r'<img src="([^"]+)"[^>]*id="vendor-logo"', html)
    assert match, "no vendor logo on the page"
    return match.group(1).replace("&amp;", "&")


def test_agreement_page_shows_the_vendor_and_the_french_seller_with_its_contact(branded) -> None:
    stack, client = branded
    html = client.http.get(f"/activate/{_pending_token(stack)}").body.decode()

    assert re.search(r'id="vendor-name">Example Software<', html)
    assert "<title>Activez votre abonnement · Example Software</title>" in html
    footer = html[html.index('<footer class="vendor"') :]
    assert "Vendeur" in footer and "Exemple Logiciels France SAS (SAMPLE)" in footer
    assert "12 rue de l&#39;Exemple" in footer and "69002 Lyon" in footer
    assert 'href="mailto:facturation@fr.example.com"' in footer
    assert 'href="tel:+33199001234"' in footer and "+33 1 99 00 12 34" in footer
    assert 'id="privacy"' not in html and 'id="legal-notice"' not in html  # not configured: no dead links
    assert 'id="agreement-pdf"' not in html  # no PDF reachable from a link-only page yet


def test_each_country_names_its_own_seller(branded) -> None:
    stack, client = branded
    token = _pending_token(stack, order(country="DE", locale="de-DE", order_id="4500099999"))
    html = client.http.get(f"/activate/{token}").body.decode()
    assert "Verkäufer" in html and "Beispiel Software Deutschland GmbH (SAMPLE)" in html
    assert "Exemple Logiciels France" not in html
    assert 'href="mailto:rechnung@de.example.com"' in html and "tel:" not in html  # this seller has no phone


LINKS = {"PRIVACY_URL": "https://www.example.fr/privacy", "LEGAL_NOTICE_URL": "https://www.example.fr/legal"}


@pytest.mark.parametrize("branded", [LINKS], indirect=True)
def test_configured_privacy_and_legal_notice_links_show_in_the_footer_of_every_page(branded) -> None:
    stack, client = branded
    token = _pending_token(stack)
    page = client.http.get(f"/activate/{token}").body.decode()
    version = re.search(r'name="agreement_version" value="([^"]+)"', page).group(1)
    confirmed = client.http.post(f"/activate/{token}", body=f"accept=yes&agreement_version={version}", headers=FORM)
    unknown = client.http.get("/activate/" + "A" * 43)

    french = ("Politique de confidentialité", "Mentions légales")
    for response, (privacy, legal) in (
        (page, french),
        (confirmed.body.decode(), french),
        (unknown.body.decode(), ("Privacy notice", "Legal notice")),
    ):
        assert f'<a id="privacy" href="https://www.example.fr/privacy" rel="noreferrer">{privacy}</a>' in response
        assert f'<a id="legal-notice" href="https://www.example.fr/legal" rel="noreferrer">{legal}</a>' in response
    assert "Exemple Logiciels France" in confirmed.body.decode()
    assert "Exemple Logiciels France" not in unknown.body.decode()  # an unknown link names no seller
    assert unknown.status_code == 404


def test_the_logo_is_served_by_the_app_under_the_pages_csp_with_a_long_cache(branded) -> None:
    stack, client = branded
    page_url = f"/activate/{_pending_token(stack)}"
    page = client.http.get(page_url)
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]
    logo_url = urljoin(page_url, _logo_src(page.body.decode()))
    assert logo_url.startswith("/assets/logo.svg?v=")  # relative: works under any base path of the deployment

    logo = client.http.get(logo_url)
    assert logo.status_code == 200
    assert logo.headers["Content-Type"] == "image/svg+xml"
    assert logo.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    assert logo.body.decode().lstrip().startswith("<svg")

    assert client.http.get("/assets/logo.svg").headers["Cache-Control"] == "public, max-age=3600"  # unversioned
    head = client.http.request("HEAD", logo_url)
    assert head.status_code == 200 and head.body in (b"", "")


def test_an_unknown_asset_is_a_clear_404(branded) -> None:
    _, client = branded
    for name in ("logo.png", "..%2Fconfig.py", "favicon.ico"):
        response = client.http.get(f"/assets/{name}")
        assert response.status_code == 404
        assert response.json_body["Code"] == "NotFoundError"
        assert "/assets/logo.svg" in response.json_body["Message"]


@pytest.mark.parametrize("branded", [{"VENDOR_LOGO_PATH": "{tmp}/vendor.png"}], indirect=True)
def test_a_configured_png_logo_is_served_byte_for_byte(branded, tmp_path: Path) -> None:
    stack, client = branded
    (tmp_path / "vendor.png").write_bytes(PNG)
    page_url = f"/activate/{_pending_token(stack)}"
    logo_url = urljoin(page_url, _logo_src(client.http.get(page_url).body.decode()))
    assert logo_url.startswith("/assets/logo.png?v=")
    logo = client.http.get(logo_url, headers={"Accept": "image/png"})
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/png"
    assert logo.body == PNG


@pytest.mark.parametrize("branded", [{"VENDOR_LOGO_PATH": "assets/missing.svg"}], indirect=True)
def test_a_broken_logo_setting_costs_the_header_not_the_page(branded, caplog: pytest.LogCaptureFixture) -> None:
    stack, client = branded
    page = client.http.get(f"/activate/{_pending_token(stack)}")
    assert page.status_code == 200 and 'id="activate"' in page.body.decode()
    assert 'id="vendor-logo"' not in page.body.decode()
    assert "VENDOR_LOGO_PATH: cannot read logo file" in caplog.text
    assert client.http.get("/assets/logo.svg").status_code == 500  # an operator's error, said in the log


def test_the_pdf_link_appears_only_when_the_caller_gives_one() -> None:
    from types import SimpleNamespace

    t = messages("de")["page"]
    subscription = SimpleNamespace(
        product=SimpleNamespace(name="P", code="C"),
        license_quantity=1,
        customer=SimpleNamespace(name="K"),
        order_id="O",
        admin=SimpleNamespace(name="A", email="a@example.com"),
    )
    context = dict(
        t=t,
        title="T",
        s=subscription,
        agreement=SimpleNamespace(version="DE-de-2026.1", title="Vertrag", text="..."),
        deadline="01.01.2027",
        notice=None,
        vendor_name="V",
        logo_url=None,
        seller=None,
        privacy_url=None,
        legal_notice_url=None,
    )
    without = render_template("pages/agreement.html", **context)
    with_pdf = render_template("pages/agreement.html", **context, pdf_url="agreement.pdf?x=<1>")
    assert 'id="agreement-pdf"' not in without
    assert (
        '<a id="agreement-pdf" href="agreement.pdf?x=&lt;1&gt;" download>Vertrag als PDF herunterladen</a>' in with_pdf
    )
