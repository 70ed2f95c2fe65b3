"""The one real-browser test: headless Debian Chromium walks the emailed link, reads the agreement and clicks Activate.

Runs against the session's local stack (`python -m devstack`). Chromium and chromedriver come from the OS packages
(`chromium`, `chromium-driver`); the driver path is given explicitly so Selenium Manager never runs (no downloads).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.sample import sample_customer

pytest.register_assert_rewrite("tests.devstack_fixture")  # before the import below: readable failures

from tests.devstack_fixture import DevstackProcess, new_order, unique  # noqa: E402

pytest_plugins = ["tests.devstack_fixture"]  # the session fixture `devstack`

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PAGE_TIMEOUT_S = 20


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not (p.exists() and os.access(p, os.X_OK))]
    if missing:
        pytest.fail(
            f"Headless Chromium is needed for the browser test but {', '.join(missing)} is missing. Run .ci/run, or "
            "install the Debian packages: sudo apt-get install chromium chromium-driver",
            pytrace=False,
        )


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1024",
    ):
        options.add_argument(argument)
    # The DevTools performance log lets the test see the request headers Chromium really sent (the form's Origin).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def _sent_origin(driver: Any, url: str) -> str | None:
    """The Origin header of Chromium's POST to `url`, read from the DevTools network events ('<absent>' if none)."""
    posts: set[str] = set()
    origin: str | None = None
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        params = event.get("params", {})
        if event.get("method") == "Network.requestWillBeSent":
            request = params.get("request", {})
            if request.get("method") == "POST" and request.get("url") == url:
                posts.add(params["requestId"])
                origin = origin or {k.lower(): v for k, v in request.get("headers", {}).items()}.get("origin")
        elif event.get("method") == "Network.requestWillBeSentExtraInfo" and params.get("requestId") in posts:
            headers = {k.lower(): v for k, v in params.get("headers", {}).items()}
            origin = headers.get("origin", origin)
    if not posts:
        return None
    return origin if origin is not None else "<absent>"


def test_admin_activates_in_a_real_browser(devstack: DevstackProcess, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    email = f"{unique('browser')}@example.co.uk"
    order = new_order(
        email,
        country="GB",
        locale="en-GB",
        currency="GBP",
        customer=sample_customer("GB", id="0007654321", name="Smith Structures Ltd"),
    )
    created = devstack.post_order(order)
    assert created.status == 201, created.text
    link = devstack.activation_link(email)

    browser.get(link)
    assert "PROFIS Engineering Suite" in browser.find_element(By.ID, "product").text
    assert order["order_id"] in browser.find_element(By.ID, "order").text
    assert browser.find_element(By.ID, "agreement-title").text.strip()
    assert len(browser.find_element(By.ID, "agreement-text").text.strip()) > 100, "the agreement text is missing"

    # The page looks like the vendor's: its logo really loads under the page's CSP, the UK seller signs the footer.
    logo = browser.find_element(By.ID, "vendor-logo")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", logo), "no logo"
    assert "Example Software UK Ltd" in browser.find_element(By.ID, "seller").text
    # Printed, the page is the agreement: no form, and the whole text instead of a scrolling box.
    box = browser.find_element(By.ID, "agreement-text")
    fits = "return arguments[0].scrollHeight <= arguments[0].clientHeight + 1"
    assert not browser.execute_script(fits, box), "on screen the agreement scrolls in its box"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.ID, "activate").is_displayed()
    assert browser.execute_script(fits, box), "printed, the whole agreement shows"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    browser.find_element(By.ID, "accept").click()
    button = browser.find_element(By.ID, "activate")
    assert button.text == "Activate subscription"
    button.click()

    WebDriverWait(browser, PAGE_TIMEOUT_S).until(ec.presence_of_element_located((By.CSS_SELECTOR, "h1#title")))
    title = browser.find_element(By.CSS_SELECTOR, "h1#title").text
    assert title == "Your subscription is active", browser.page_source
    print(f"Origin header Chromium sent with the activation form: {_sent_origin(browser, link)!r}")

    listing = devstack.get("/subscriptions", headers=devstack.bearer(email, "GB"))
    assert listing.status == 200, listing.text
    [item] = listing.json()["items"]
    assert item["order_id"] == order["order_id"]
    assert item["status"] == "active"
