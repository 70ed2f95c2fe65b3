from chalicelib import jobs
from tests.support import ORDER, activation_link, text_part, token_of


def test_order_to_active(stack, client):
    result = jobs.receive_order(ORDER)
    assert result.created
    [mail] = stack.mails_to("marie.dupont@example.fr")
    print(text_part(mail))
    token = token_of(mail)
    page = client.http.get(f"/activate/{token}")
    assert page.status_code == 200, page.body
    body = page.body.decode()
    assert "PROFIS Engineering Suite" in body
    import re
    version = re.search(r'name="agreement_version" value="([^"]+)"', body).group(1)
    done = client.http.post(f"/activate/{token}", body=f"accept=yes&agreement_version={version}",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200, done.body
    print(done.body.decode())
    listing = client.http.get("/subscriptions", headers=stack.issuer.bearer("Marie.Dupont@example.fr", "FR"))
    print(listing.body)
    assert listing.status_code == 200
