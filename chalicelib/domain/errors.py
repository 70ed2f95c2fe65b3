"""Domain errors. Adapters translate AWS errors into these; the HTTP edge maps these to status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    code = "DomainError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """`field`: where in the body the problem is (a JSON pointer, e.g. "/email"), for a form to show it there."""

    code = "BadRequestError"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrderRejected(InvalidInput):
    """An order message that can never be accepted as it is (goes to the dead-letter queue)."""

    code = "InvalidOrder"

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("Order rejected: " + "; ".join(reasons))
        self.reasons = reasons


class Unauthenticated(DomainError):
    code = "UnauthorizedError"


class Forbidden(DomainError):
    code = "ForbiddenError"


class NotFound(DomainError):
    code = "NotFoundError"


class Conflict(DomainError):
    code = "ConflictError"


class AlreadyActive(Conflict):
    code = "AlreadyActive"


class AgreementVersionMismatch(Conflict):
    code = "AgreementVersionMismatch"


class SellerMissing(Conflict):
    """No selling company is configured for the subscription's country: it cannot be invoiced."""

    code = "SellerMissing"


class IdempotencyKeyInProgress(Conflict):
    """The first request with this Idempotency-Key is still running (draft-ietf-httpapi-idempotency-key-header: 409)."""

    code = "IdempotencyKeyInProgress"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was already used for a different request (the draft's 422)."""

    code = "IdempotencyKeyReused"


class DeadlinePassed(DomainError):
    code = "ActivationDeadlinePassed"


class PreconditionFailed(DomainError):
    code = "PreconditionFailed"


class PayloadTooLarge(DomainError):
    code = "PayloadTooLarge"


class Unavailable(DomainError):
    """A dependency (the identity provider's keys, storage) cannot answer now; nothing was changed."""

    code = "ServiceUnavailable"


# Persistence outcomes that the services interpret; raised by adapters, never reach HTTP.
class PersistenceError(Exception):
    """Base for storage outcomes a use case must interpret."""


class WriteConflict(PersistenceError):
    """A conditional write lost: the stored item was not in the state the write expected.

    `failed` names the operations of the unit of work whose condition failed (each store labels its operations, e.g.
    "subscription", "counter"), so a use case can tell which precondition moved; empty when DynamoDB only reported a
    concurrent transaction on the same items."""

    def __init__(self, failed: frozenset[str] = frozenset()) -> None:
        super().__init__(", ".join(sorted(failed)) or "concurrent transaction")
        self.failed = failed


class DuplicateOrder(PersistenceError):
    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


class WorkNotQueued(PersistenceError):
    """The work queue kept refusing messages: the job stops, and what it had listed stays due for its next run."""
