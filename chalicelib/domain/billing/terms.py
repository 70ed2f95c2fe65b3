"""Terms and renewal dates (DESIGN 14.5): every date from the activation date (the anchor), never from the last one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from chalicelib.domain.models import add_months


@dataclass(frozen=True)
class Term:
    """Term k of a subscription: from `start` to `end` inclusive; `next_start` is the renewal date that ends it."""

    k: int
    start: date
    end: date
    next_start: date


def renewal_date(anchor: date, k: int, term_months: int) -> date:
    """The k-th renewal date: always from the anchor (the activation date), clamped to the month's end, so 31 Jan
    monthly gives 28/29 Feb then 31 Mar, never a drifting 28th."""
    if k < 0 or term_months < 1:
        raise ValueError("k must be >= 0 and term_months >= 1")
    return add_months(anchor, k * term_months)


def term(anchor: date, k: int, term_months: int) -> Term:
    """Term k (0 = the first, starting on the anchor)."""
    following = renewal_date(anchor, k + 1, term_months)
    return Term(k, renewal_date(anchor, k, term_months), following - timedelta(days=1), following)


def first_term(activation_day: date, term_months: int) -> Term:
    """The term activation invoices; its `next_start` is the subscription's first renewal date."""
    return term(activation_day, 0, term_months)


def term_period(anchor: date, k: int, term_months: int) -> tuple[date, date]:
    """Term k (0 = the first, starting on the anchor): (start, end inclusive)."""
    t = term(anchor, k, term_months)
    return t.start, t.end


def term_index(anchor: date, renews_on: date, term_months: int) -> int:
    """k such that renewal_date(anchor, k, term_months) == renews_on (clamping never changes the month)."""
    months = (renews_on.year - anchor.year) * 12 + renews_on.month - anchor.month
    return months // term_months


def term_starting(anchor: date, renews_on: date, term_months: int) -> Term:
    """The term a renewal on `renews_on` begins."""
    return term(anchor, term_index(anchor, renews_on, term_months), term_months)
