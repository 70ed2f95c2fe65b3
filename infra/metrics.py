"""The custom CloudWatch metrics the app emits (CloudWatch embedded metric format) and the alarms in
`infra/resources.json` watch. One spelling for both sides: the template is generated from these names
(`infra/stack.py`) and the runbook (`infra/DEPLOY.md`, "Alarms") explains each one.

Pure constants, no imports: chalice packages only `app.py`, `chalicelib/` and `vendor/`, so the Lambda code cannot
import `infra/` at run time. The code side imports a copy of this module from `chalicelib/` and
`tests/test_infra.py::test_app_metric_names_match_infra` keeps the two equal once that copy exists.
"""

NAMESPACE = "SubscriptionPortal"

# Dimension names.
JOB = "job"  # value: one of JOBS

# The scheduled functions that report a heartbeat; the value is the Chalice function name (app.py).
CLEANUP_UNACTIVATED = "cleanup_unactivated"
DELIVER_OUTBOX = "deliver_outbox"
SEND_REMINDERS = "send_reminders"
PROCESS_RENEWALS = "process_renewals"
JOBS = (CLEANUP_UNACTIVATED, DELIVER_OUTBOX, SEND_REMINDERS, PROCESS_RENEWALS)

# Count, dimension `job`: 1 when a run finished all its work (not cut short by its time budget, no unhandled error).
# A run that did not start, crashed or stopped with work left emits nothing, so the alarm treats missing data as
# breaching.
JOB_COMPLETED = "JobCompleted"

# Seconds, no dimension: at the end of every outbox run, the age of the oldest email that is due and still unsent
# (0 when none is waiting). Emitted by deliver_outbox.
OUTBOX_OLDEST_UNSENT_AGE = "OutboxOldestUnsentAgeSeconds"

# Count, no dimension: emails SES refused (one per failed attempt, before the retry with backoff). Emitted wherever an
# email is sent (the request that caused it, and deliver_outbox).
EMAILS_FAILED = "EmailsFailed"
