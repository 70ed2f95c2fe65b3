"""Who is calling, as established by the verified bearer token."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.models import normalize_email


@dataclass(frozen=True)
class Caller:
    email: str
    country: str

    @property
    def key(self) -> str:
        return normalize_email(self.email)


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from, as kept in the activation evidence."""

    ip: str
    user_agent: str
