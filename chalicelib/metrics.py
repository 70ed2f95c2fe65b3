"""The custom CloudWatch metrics the app emits in CloudWatch embedded metric format (`chalicelib/observability.py`)
and the alarms watch: `infra/stack/` generates the alarms from this same module (Chalice packages only `app.py`,
`chalicelib/` and `vendor/`, so the one list lives here), and the runbook (`infra/DEPLOY.md`, "Alarms") explains each.
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

# -- business and health metrics (no alarm of their own; dashboards and investigations) -----------------------------
# Dimension names.
REASON = "reason"  # OrdersRejected: one of ORDER_REJECTION_REASONS
CHANNEL = "channel"  # Activations: the ActivationChannel value (email_link, portal)
ROUTE = "route"  # ApiClientErrors / ApiServerErrors: "<METHOD> <route template>", never the raw path

ORDER_REJECTION_REASONS = ("invalid", "past_deadline", "error")

# Count, no dimension: emails SES accepted (the request that caused them, and deliver_outbox).
EMAILS_SENT = "EmailsSent"
# Count, no dimension: emails deliver_outbox attempted because the request that queued them did not send them.
EMAILS_RETRIED = "EmailsRetried"
# Count, no dimension: due unsent emails deliver_outbox met in a run (a lower bound when the run stopped early).
OUTBOX_BACKLOG = "OutboxBacklog"
# Count, no dimension: bounces and complaints SES reported for the portal's emails (MailEventsTopic).
EMAILS_BOUNCED = "EmailsBounced"
EMAIL_COMPLAINTS = "EmailComplaints"

# Seconds, dimension `job`: how long each run of a scheduled job took, complete or not.
JOB_DURATION = "JobDurationSeconds"
# Count, dimension `job`: 1 for a run that stopped with work left (its time budget ran out); see JobCompleted.
JOB_STOPPED_EARLY = "JobStoppedEarly"
# Count, no dimension: subscriptions cleanup_unactivated removed (90 days without activation).
UNACTIVATED_REMOVED = "UnactivatedRemoved"

# Count: order messages that created a subscription (no dimension), or that were refused (dimension `reason`).
ORDERS_ACCEPTED = "OrdersAccepted"
ORDERS_REJECTED = "OrdersRejected"
# Count, dimension `channel`: subscriptions activated.
ACTIVATIONS = "Activations"
# Count, dimension `route`: API answers with a 4xx / 5xx status.
API_CLIENT_ERRORS = "ApiClientErrors"
API_SERVER_ERRORS = "ApiServerErrors"

# -- the jobs' fan-out (services/fanout.py): the scheduled runs queue work, the job_worker function does it ----------
KIND = "kind"  # RemindersSent: activation, renewal

# Count, dimension `job`: items a scheduled run listed as due and queued for the workers.
WORK_ITEMS_QUEUED = "WorkItemsQueued"
# Count, dimension `job`: work messages a worker could not finish (delivered again; dead-lettered after 5 receives).
WORK_MESSAGES_FAILED = "WorkMessagesFailed"
# Count, no dimension: subscriptions renewed (for one term or more) / ended (cancelled at renewal) by the workers.
SUBSCRIPTIONS_RENEWED = "SubscriptionsRenewed"
SUBSCRIPTIONS_ENDED = "SubscriptionsEnded"
# Count, no dimension: invoices issued (the first with an activation, then one per renewed term).
INVOICES_ISSUED = "InvoicesIssued"
# Count, dimension `kind`: reminders sent.
REMINDERS_SENT = "RemindersSent"
