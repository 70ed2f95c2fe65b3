"""Schemathesis checks of our own, loaded by tests/test_schemathesis.py through SCHEMATHESIS_HOOKS."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def status_listed_by_code(ctx: Any, response: Any, case: Any) -> None:
    """Every status an operation answers is one it lists by its code. Schemathesis' own `status_code_conformance`
    accepts anything once an operation has a `default` response (every one of ours does, for the gateway's 502/504),
    so it would no longer notice an undocumented status. A method the path does not have (the coverage phase tries
    them) must be the 405 the document's description promises."""
    if case.method.upper() != case.operation.method.upper():
        if case.method.upper() != "OPTIONS" and response.status_code != 405:
            raise AssertionError(f"{case.method} on {case.operation.path} (not documented) answered "
                                 f"{response.status_code}, not 405")
        return
    listed = [code for code in case.operation.responses.status_codes if code != "default"]
    if str(response.status_code) not in listed:
        raise AssertionError(f"{case.operation.label} answered {response.status_code}, which it does not list "
                             f"(listed: {', '.join(listed)})")
