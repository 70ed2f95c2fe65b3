"""The Lambda functions: what the merge adds to each of chalice's functions (environment, log group, event source,
concurrency) and each function's alarms. A new function is one `Function(...)` line in FUNCTIONS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import metrics
from infra.stack.alarms import alarm
from infra.stack.common import log_group, skip


@dataclass(frozen=True)
class Function:
    name: str  # the Chalice function name (app.py, .chalice/config.json, the policy file)
    logical_id: str  # the CloudFormation name chalice gives it
    log_group_id: str
    reserved_concurrency: int
    heartbeat_period_s: int | None = None  # scheduled jobs: alarm when no run completed within this window
    purpose: str = ""


# Reserved concurrency (runbook: "Concurrency"): the API can never take the capacity intake and the jobs need, and all
# of them together (142) leave the account's unreserved pool (at least 100 must stay unreserved) untouched.
FUNCTIONS: tuple[Function, ...] = (
    Function("api_handler", "APIHandler", "ApiHandlerLogGroup", 100, purpose="The API (portal JSON API and pages)"),
    Function("intake_orders", "IntakeOrders", "IntakeOrdersLogGroup", 10, purpose="The order intake"),
    Function(
        metrics.CLEANUP_UNACTIVATED,
        "CleanupUnactivated",
        "CleanupUnactivatedLogGroup",
        1,
        heartbeat_period_s=3600,
        purpose="The hourly cleanup of unactivated subscriptions",
    ),
    Function(
        metrics.DELIVER_OUTBOX,
        "DeliverOutbox",
        "DeliverOutboxLogGroup",
        2,
        heartbeat_period_s=300,
        purpose="The outbox job (every minute)",
    ),
    Function(
        "record_mail_event",
        "RecordMailEvent",
        "RecordMailEventLogGroup",
        2,
        purpose="The recorder of bounces and complaints (MailEventsTopic)",
    ),
    Function(
        metrics.SEND_REMINDERS,
        "SendReminders",
        "SendRemindersLogGroup",
        1,
        heartbeat_period_s=86400,
        purpose="The daily activation and renewal reminders",
    ),
    Function(
        metrics.PROCESS_RENEWALS,
        "ProcessRenewals",
        "ProcessRenewalsLogGroup",
        1,
        heartbeat_period_s=86400,
        purpose="The daily renewals (renewal invoices, ended subscriptions)",
    ),
    # The reminders and renewals runs only list what is due and queue it on WorkQueue; this function does the items,
    # at most this many at once (docs/capacity.md: ~80-100 renewals a second across countries, ~30-40 within one).
    Function("job_worker", "JobWorker", "JobWorkerLogGroup", 25, purpose="The jobs' worker (WorkQueue)"),
)
SQS_INTAKE = "intake_orders"  # the function fed by OrdersQueue
SQS_WORKER = "job_worker"  # the function fed by WorkQueue
SQS_SOURCES = {SQS_INTAKE: "OrdersQueue", SQS_WORKER: "WorkQueue"}
SNS_MAIL_EVENTS = "record_mail_event"  # the function subscribed to MailEventsTopic

STACK_ENVIRONMENT = {
    "TABLE_NAME": {"Ref": "PortalTable"},
    "LINK_SECRET_ARN": {"Ref": "LinkSecret"},
    "SES_CONFIGURATION_SET": {"Ref": "MailConfigurationSet"},
    "SENDER_EMAIL": {"Ref": "SenderEmail"},
    "PORTAL_ORIGIN": {"Ref": "PortalOrigin"},
    "INVOICE_BUCKET": {"Ref": "InvoiceBucket"},
    "WORK_QUEUE_URL": {"Ref": "WorkQueue"},
}
LAMBDA_SKIPS = (
    (
        "CKV_AWS_117",
        "No VPC: the functions reach only AWS public endpoints and the identity provider's JWKS over HTTPS; a VPC "
        "would need NAT gateways or endpoints for that and protects nothing here.",
    ),
    (
        "CKV_AWS_173",
        "The environment holds no secrets (names, URLs, ARNs); the link secret stays in Secrets Manager. Lambda "
        "encrypts the environment at rest with its AWS-managed key.",
    ),
    (
        "CKV_AWS_116",
        "Failures are caught elsewhere: the API is invoked synchronously (the caller sees the error), intake's "
        "failed orders go to OrdersDeadLetterQueue through the queue's redrive policy, and a scheduled job that fails "
        "runs again on its next tick and its heartbeat alarm fires.",
    ),
)


def function_resources(function: Function) -> dict[str, Any]:
    """What the merge adds to chalice's function, and the function's log group and alarms."""
    fid = function.logical_id
    properties: dict[str, Any] = {
        "Environment": {"Variables": dict(STACK_ENVIRONMENT)},
        "LoggingConfig": {"LogGroup": {"Ref": function.log_group_id}},
        "ReservedConcurrentExecutions": function.reserved_concurrency,
    }
    if function.name in SQS_SOURCES:
        properties["Events"] = {
            f"{fid}SqsEventSource": {
                "Type": "SQS",
                "Properties": {
                    "Queue": {"Fn::Sub": f"${{{SQS_SOURCES[function.name]}.Arn}}"},
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    # The pollers never invoke more copies than the function may run: no throttled batch goes back
                    # to the queue and counts towards the dead-letter redrive.
                    "ScalingConfig": {"MaximumConcurrency": function.reserved_concurrency},
                },
            }
        }
    if function.name == SNS_MAIL_EVENTS:
        # Fn::Sub, as chalice writes it: the merge then replaces chalice's topic ARN (a Ref would sit next to it).
        properties["Events"] = {
            "RecordMailEventSnsSubscription": {
                "Type": "SNS",
                "Properties": {"Topic": {"Fn::Sub": "${MailEventsTopic}"}},
            }
        }
    name = {"Ref": fid}
    resources: dict[str, Any] = {
        function.log_group_id: log_group({"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{fid}"}),
        fid: {"Type": "AWS::Serverless::Function", "Metadata": skip(*LAMBDA_SKIPS), "Properties": properties},
        f"{fid}ErrorsAlarm": alarm(
            f"{function.purpose}: the function raised errors", "AWS/Lambda", "Errors", {"FunctionName": name}
        ),
        f"{fid}ThrottlesAlarm": alarm(
            f"{function.purpose}: invocations were refused at its reserved concurrency "
            f"({function.reserved_concurrency})",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": name},
        ),
    }
    if function.heartbeat_period_s is not None:
        resources[f"{fid}HeartbeatAlarm"] = alarm(
            f"{function.purpose}: no run completed in the last {function.heartbeat_period_s} s (it did not run, "
            "failed, or stopped with work left)",
            metrics.NAMESPACE,
            metrics.JOB_COMPLETED,
            {metrics.JOB: function.name},
            period=function.heartbeat_period_s,
            threshold=1,
            comparison="LessThanThreshold",
            missing="breaching",
        )
    return resources
