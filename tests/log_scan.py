"""Every log line of the test session, as the Lambda functions would write it (the app's JSON formatter), scanned
for what must never be logged: an activation token or link, a card number, the link secret, a bearer token.

Installed on the root logger by tests/conftest.py for the whole session; the session fails at its end if any line
matched (pytest_sessionfinish), whichever tests ran. tests/test_log_hygiene.py proves the scan sees the app's records
and would catch a planted secret.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from chalicelib.domain.payment import MAX_CARD_DIGITS, MIN_CARD_DIGITS, luhn_valid
from chalicelib.observability import json_handler

LINK_SECRET = "x" * 48  # tests/support.py provisions the link secret with this value
ACTIVATION_LINK = re.compile(r"/activate/[^\s\"'?#/\\]{8,}")  # "/activate/…" (redacted) stays allowed
ACTIVATION_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")  # 32 bytes, base64url
BEARER_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# A card number as written in text: 13 to 19 digits, maybe grouped by single spaces or dashes, passing Luhn (the
# payment screen's own rule). The request screen also joins digit runs across any separator, which in a log line
# (uuids, timestamps) would flag nearly everything.
# Bounded by what is not a letter, digit, dot or dash, so digit groups inside a uuid or a timestamp never count.
CARD_DIGITS = re.compile(rf"(?<![\w.-])\d(?:[ -]?\d){{{MIN_CARD_DIGITS - 1},{MAX_CARD_DIGITS - 1}}}(?![\w-])")


def has_card_number(line: str) -> bool:
    return any(luhn_valid(re.sub(r"\D", "", match)) for match in CARD_DIGITS.findall(line))


def leaks_in(line: str) -> list[str]:
    found = []
    if ACTIVATION_LINK.search(line):
        found.append("activation link")
    if ACTIVATION_TOKEN.search(line):
        found.append("activation token")
    if has_card_number(line):
        found.append("card number")
    if LINK_SECRET in line:
        found.append("link secret")
    if BEARER_JWT.search(line):
        found.append("bearer token")
    return found


@dataclass
class Leak:
    test: str
    kinds: list[str]
    line: str


class LogScan(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.scanned = 0
        self.leaks: list[Leak] = []
        self.current_test = "(outside a test)"
        json_handler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as error:  # a line that cannot be formatted would crash in Lambda too
            line = f"UNFORMATTABLE {record.name}: {error!r}"
            self.leaks.append(Leak(self.current_test, ["unformattable record"], line))
            return
        self.scanned += 1
        kinds = leaks_in(line)
        if kinds:
            self.leaks.append(Leak(self.current_test, kinds, line[:2000]))


SCAN = LogScan()


def install() -> None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)  # as in Lambda once the app configured logging: INFO lines are written, so scanned
    if SCAN not in root.handlers:
        root.addHandler(SCAN)
