"""The jobs' work queue on SQS: items go in messages of up to ITEMS_PER_MESSAGE, sent ten messages per call.

A message carries several items because a large renewal day lists a million of them: one message each would take the
dispatching run 100,000 SendMessageBatch calls (too many for one 15-minute invocation); 25 each take 4,000. A worker
that fails on one item gets the whole message again, which is safe because every item's work is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import WorkNotQueued
from chalicelib.services.ports.work import WorkItem

ITEMS_PER_MESSAGE = 25
MESSAGES_PER_CALL = 10  # SendMessageBatch's limit
ATTEMPTS = 3  # per message the queue refused (SendMessageBatch reports each failed entry)


def message_body(job: str, items: Sequence[WorkItem]) -> str:
    return json.dumps({"job": job, "items": [dict(item) for item in items]}, separators=(",", ":"))


class SqsWorkQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, job: str, items: Sequence[WorkItem]) -> int:
        bodies = [message_body(job, items[i : i + ITEMS_PER_MESSAGE]) for i in range(0, len(items), ITEMS_PER_MESSAGE)]
        for start in range(0, len(bodies), MESSAGES_PER_CALL):
            self._send(bodies[start : start + MESSAGES_PER_CALL])
        return len(bodies)

    def _send(self, bodies: list[str]) -> None:
        pending = {str(n): body for n, body in enumerate(bodies)}
        for _ in range(ATTEMPTS):
            entries = [{"Id": entry_id, "MessageBody": body} for entry_id, body in pending.items()]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                raise WorkNotQueued(f"the work queue refused a batch: {error}") from error
            pending = {failure["Id"]: pending[failure["Id"]] for failure in response.get("Failed", [])}
            if not pending:
                return
        raise WorkNotQueued(f"the work queue kept refusing {len(pending)} message(s)")
