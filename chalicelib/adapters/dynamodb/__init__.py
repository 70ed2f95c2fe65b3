"""The DynamoDB adapter: one table (infra/resources.json), one store per port.

schema.py         the key schema and item codecs (the only place a key string is written)
table.py          reads, paged queries, single conditional writes
unit_of_work.py   one TransactWriteItems: state change + audit event + outbox email (+ what a capability adds)
staging.py        the use cases' UnitOfWork port (services/ports/unit_of_work.py) as one such transaction
orders.py, subscriptions.py, administration.py, outbox.py, cleanup.py, idempotency.py   the stores
"""
