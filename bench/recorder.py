"""Counts AWS API calls per client through botocore's event hooks, with the request parameters and the parsed response.

`Recorder.phase` labels the calls: the benchmark switches it to "email" while the outbox delivers an email right after
a state change (the SES send and the mark_sent update), so "the email" can be reported apart from the route's own calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.clock import FixedClock
from chalicelib.container import Container


@dataclass
class Call:
    service: str
    operation: str
    phase: str
    params: dict[str, Any]
    parsed: dict[str, Any] = field(default_factory=dict)
    status: int = 0


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.phase = "request"

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events

        def params_of(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["bench_params"] = params

        def before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
            call = Call(service, model.name, self.phase, dict(context.get("bench_params") or {}))
            context["bench_call"] = call
            self.calls.append(call)

        def after_call(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            call = context.get("bench_call")
            if call is not None:
                call.parsed, call.status = parsed, http_response.status_code

        events.register(f"before-parameter-build.{service}", params_of, unique_id=f"bench-params-{id(self)}")
        events.register(f"before-call.{service}", before_call, unique_id=f"bench-call-{id(self)}")
        events.register(f"after-call.{service}", after_call, unique_id=f"bench-after-{id(self)}")
        return client

    def reset(self) -> None:
        self.calls = []
        self.phase = "request"

    @contextmanager
    def labelled(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    def count(self, service: str | None = None, phase: str | None = None) -> Counter[str]:
        return Counter(
            c.operation if service else f"{c.service}:{c.operation}"
            for c in self.calls
            if (service is None or c.service == service) and (phase is None or c.phase == phase)
        )


class CountingContainer(Container):
    """The app's own Container; every AWS client it creates reports to the recorder, and the outbox's immediate
    delivery (deliver_now) is labelled as the "email" phase."""

    def __init__(self, env: dict[str, str], clock: FixedClock, recorder: Recorder) -> None:
        super().__init__(env, clock=clock)
        self.recorder = recorder

    def _client(self, service: str) -> Any:
        return self.recorder.attach(super()._client(service))

    def label_email_phase(self) -> None:
        delivery = self.delivery
        deliver_now = delivery.deliver_now

        def labelled(emails: Any) -> None:
            with self.recorder.labelled("email"):
                deliver_now(emails)

        delivery.deliver_now = labelled
