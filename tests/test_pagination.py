"""Pagination ends where the list ends (issue 17): no `next_cursor` on the last page of any paginated route, even when
that page is exactly full (DynamoDB's LastEvaluatedKey is there whenever a query stops at its limit), and a cursor,
when there is one, always leads to a page with something on it."""

from __future__ import annotations

import pytest

from chalicelib import jobs
from chalicelib.services.access import MAX_PAGE
from tests.support import ADMIN, SEAT, order
from tests.test_administration import body_of, call


@pytest.fixture
def lists(client, stack, active):
    """Two subscriptions for the admin, three seats and an earlier contact of the customer on the active one."""
    for n in range(2):
        assert call(client, stack, "POST", f"/subscriptions/{active}/users",
                    {"email": f"p{n}@example.fr", "name": f"P{n}"}).status_code == 201
    assert jobs.receive_order(order(order_id="O-2", admin={"email": "paul.old@example.fr", "name": "Paul Old"})).created
    assert jobs.receive_order(order(order_id="O-3")).created  # a second subscription of the same admin
    return active


ROUTES = [  # (path under the active subscription or absolute, who asks)
    ("/subscriptions", ADMIN),
    ("/me/entitlements", SEAT),
    ("{s}/users", ADMIN),
    ("{s}/admin-candidates", ADMIN),
    ("{s}/history", ADMIN),
    ("{s}/invoices", ADMIN),
]


def _walk(client, stack, path, email, limit):
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = call(client, stack, "GET", path + query, email=email)
        assert response.status_code == 200, response.body
        page = body_of(response)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ends"


@pytest.mark.parametrize(("route", "email"), ROUTES, ids=[r for r, _ in ROUTES])
def test_no_cursor_on_the_last_page_even_an_exactly_full_one(client, stack, lists, route, email):
    path = route.replace("{s}", f"/subscriptions/{lists}")
    everything = _walk(client, stack, path, email, MAX_PAGE)
    assert len(everything) == 1
    total = len(everything[0]["items"])
    assert total >= 1, "the fixture gives every list something"
    for limit in sorted({1, 2, total}):
        pages = _walk(client, stack, path, email, limit)
        # every page holds something and the pages together are the whole list, in order: no empty page at the end
        assert all(page["items"] for page in pages), (limit, pages)
        assert [item for page in pages for item in page["items"]] == everything[0]["items"], limit
        assert len(pages) == -(-total // limit), (limit, [len(p["items"]) for p in pages])


def test_the_candidates_list_ends_with_the_last_person_it_shows(client, stack, lists):
    """The admin's own contact and the seat holders' contacts are left out of the contacts phase: a page that ends
    with the last seat holder has no cursor when only such people are left."""
    path = f"/subscriptions/{lists}/admin-candidates"
    everything = body_of(call(client, stack, "GET", path))["items"]
    seat_holders = [c for c in everything if "seat_holder" in c["sources"]]
    others = [c for c in everything if "seat_holder" not in c["sources"]]
    assert [c["email"] for c in others] == ["paul.old@example.fr"]
    first = body_of(call(client, stack, "GET", f"{path}?limit={len(seat_holders)}"))
    assert first["items"] == seat_holders and first["next_cursor"]
    rest = body_of(call(client, stack, "GET", f"{path}?limit=5&cursor={first['next_cursor']}"))
    assert rest == {"items": others, "next_cursor": None}
