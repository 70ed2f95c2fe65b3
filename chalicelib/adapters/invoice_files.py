"""Invoice documents in S3. The bucket is versioned with a default Object Lock retention of 10 years (COMPLIANCE
mode, infra/stack/data.py), so a kept document can be neither deleted nor overwritten in place for the legal retention
period; a second put of the same (deterministic) bytes only adds a version."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.errors import Unavailable

_ABSENT = frozenset({"NoSuchKey", "404", "NotFound"})
UNAVAILABLE = "The invoice document cannot be read or stored right now. Please retry in a moment."


class S3InvoiceFiles:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def get(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
            return bytes(response["Body"].read())
        except ClientError as error:
            if error.response["Error"]["Code"] in _ABSENT:
                return None
            raise Unavailable(UNAVAILABLE) from error
        except BotoCoreError as error:
            raise Unavailable(UNAVAILABLE) from error

    def put(self, key: str, data: bytes, media_type: str) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=media_type,
                ChecksumAlgorithm="SHA256",  # Object Lock buckets need an integrity checksum on every put
            )
        except (ClientError, BotoCoreError) as error:
            raise Unavailable(UNAVAILABLE) from error
