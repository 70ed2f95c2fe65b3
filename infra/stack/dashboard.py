"""The operations dashboard, one row of widgets per concern."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib import metrics
from chalicelib.domain.models import ActivationChannel
from infra.stack.functions import FUNCTIONS, Function
from infra.stack.widgets import Dashboard, custom, line

# Built from the finished resources: every alarm, queue, function and custom metric of the template gets its widget
# without a second list. A metric drawn with the statistic an alarm evaluates is drawn at the alarm's period with the
# alarm's threshold as a line, labelled with the alarm's name (the runbook entry of the same name says what to do).
CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
CHALICE_DEFAULT_TIMEOUT_S = 60


def metric_names() -> tuple[str, ...]:
    """Every custom metric named in chalicelib/metrics.py (metric names are CamelCase; dimension names and values are
    lower case)."""
    return tuple(
        value
        for name, value in vars(metrics).items()
        if name.isupper() and isinstance(value, str) and value[:1].isupper() and value != metrics.NAMESPACE
    )


def _timeout_s(function: Function) -> int:
    config = json.loads(CHALICE_CONFIG.read_text())
    own = config.get("lambda_functions", {}).get(function.name, {})
    return int(own.get("lambda_timeout", config.get("lambda_timeout", CHALICE_DEFAULT_TIMEOUT_S)))


def _queues(resources: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(queue, its dead-letter queue or None) for every queue that is not itself a dead-letter queue."""
    queues = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    dead_letter_of = {
        name: properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for name, properties in queues.items()
        if "RedrivePolicy" in properties
    }
    dead_letter_queues = set(dead_letter_of.values())
    return [(name, dead_letter_of.get(name)) for name in queues if name not in dead_letter_queues]


def dashboard(resources: dict[str, Any]) -> dict[str, Any]:
    board = Dashboard(resources)
    board.section(
        "Subscription portal: alarms",
        "An alarm emails `AlarmEmail` when it fires and when it recovers. Each alarm has its entry under "
        '"Alarms" in the runbook (`infra/DEPLOY.md`); the rows below draw each alarm\'s metric with its threshold '
        "line labelled with the alarm's name.",
    )
    board.alarm_status("Every alarm of the stack (firing first)")

    _api_rows(board)
    _order_and_queue_rows(board, resources)
    _email_rows(board)
    _job_rows(board)
    _function_rows(board)
    _table_rows(board, resources)

    unplaced = [name for name in metric_names() if name not in board.drawn]
    if unplaced:
        board.section("Other metrics", "Metrics of `chalicelib/metrics.py` no row above draws yet: give each its row.")
        for metric in unplaced:
            board.search(metric, metric, None)
    body = {"start": "-PT12H", "periodOverride": "inherit", "widgets": board.widgets}
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": "${AWS::StackName}"},
            "DashboardBody": {"Fn::Sub": json.dumps(body, separators=(",", ":"))},
        },
    }


def _api_rows(board: Dashboard) -> None:
    """API Gateway's metrics and the app's answers by route."""
    api = {"ApiName": {"Fn::Sub": "${AWS::StackName}"}, "Stage": "api"}
    board.section(
        "API", "API Gateway's view (`Api5XXAlarm`, `ApiLatencyAlarm`) and the answers the app counted by route."
    )
    board.graph("Requests", [line("AWS/ApiGateway", "Count", api, "Sum", "requests")], width=6)
    board.graph(
        "Error rate (share of requests)",
        [
            line("AWS/ApiGateway", "5XXError", api, "Average", "5XX"),
            line("AWS/ApiGateway", "4XXError", api, "Average", "4XX"),
        ],
        width=6,
    )
    board.graph(
        "Latency (ms)",
        [
            line("AWS/ApiGateway", "Latency", api, "p99", "p99"),
            line("AWS/ApiGateway", "Latency", api, "p50", "p50"),
            line("AWS/ApiGateway", "IntegrationLatency", api, "p99", "p99 in the function"),
        ],
        width=12,
    )
    board.search("5xx answers by route (ApiServerErrors)", metrics.API_SERVER_ERRORS, (metrics.ROUTE,))
    board.search("4xx answers by route (ApiClientErrors)", metrics.API_CLIENT_ERRORS, (metrics.ROUTE,))


def _order_and_queue_rows(board: Dashboard, resources: dict[str, Any]) -> None:
    """Intake, activations, and every queue of `resources` with its dead letters."""
    board.section(
        "Orders, subscriptions and queues",
        "Orders taken and refused by intake, activations, and every queue: the age of its oldest message "
        "(`OrdersAgeAlarm`) and its dead letters (`OrdersDeadLetterAlarm`).",
    )
    board.graph(
        "Orders",
        [custom(metrics.ORDERS_ACCEPTED, label="accepted")]
        + [
            custom(metrics.ORDERS_REJECTED, label=f"rejected: {r}", dimensions={metrics.REASON: r})
            for r in metrics.ORDER_REJECTION_REASONS
        ],
        width=12,
    )
    board.graph(
        "Subscriptions",
        [
            custom(metrics.ACTIVATIONS, label=f"activated: {c.value}", dimensions={metrics.CHANNEL: c.value})
            for c in ActivationChannel
        ]
        + [custom(metrics.UNACTIVATED_REMOVED, label="removed, never activated")],
        width=12,
    )
    for queue_name, dead_letter_queue in _queues(resources):
        queue_dimension = {"QueueName": {"Fn::GetAtt": [queue_name, "QueueName"]}}
        board.graph(
            f"{queue_name}: age of the oldest message (s), messages waiting",
            [
                line("AWS/SQS", "ApproximateAgeOfOldestMessage", queue_dimension, "Maximum", "oldest message age"),
                line(
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", queue_dimension, "Maximum", "waiting", right=True
                ),
            ],
            width=12,
        )
        if dead_letter_queue is not None:
            dead_letters = {"QueueName": {"Fn::GetAtt": [dead_letter_queue, "QueueName"]}}
            board.graph(
                f"{dead_letter_queue}: dead letters",
                [line("AWS/SQS", "ApproximateNumberOfMessagesVisible", dead_letters, "Maximum", "messages")],
                width=12,
            )


def _email_rows(board: Dashboard) -> None:
    """What SES and the outbox did."""
    config_set = {"ses:configuration-set": {"Ref": "MailConfigurationSet"}}
    board.section(
        "Emails",
        "Sent, refused by SES (`EmailsFailedAlarm`), retried by the outbox, the outbox backlog "
        "(`OutboxBacklogAlarm`), bounces and complaints (`MailBounceRateAlarm`, `MailComplaintRateAlarm`).",
    )
    board.graph(
        "Emails sent and retried",
        [custom(metrics.EMAILS_SENT, label="sent"), custom(metrics.EMAILS_RETRIED, label="retried by the outbox")],
        width=6,
    )
    board.graph("Emails SES refused", [custom(metrics.EMAILS_FAILED, label="refused (retried later)")], width=6)
    board.graph(
        "Outbox: oldest due unsent email (s), backlog",
        [
            custom(metrics.OUTBOX_OLDEST_UNSENT_AGE, "Maximum", "oldest due unsent (s)"),
            custom(metrics.OUTBOX_BACKLOG, "Maximum", "due unsent emails", right=True),
        ],
        width=12,
    )
    board.graph(
        "Bounces and complaints",
        [custom(metrics.EMAILS_BOUNCED, label="bounced"), custom(metrics.EMAIL_COMPLAINTS, label="complaints")],
        width=8,
    )
    board.graph(
        "SES bounce rate", [line("AWS/SES", "Reputation.BounceRate", config_set, "Maximum", "bounce rate")], width=8
    )
    board.graph(
        "SES complaint rate",
        [line("AWS/SES", "Reputation.ComplaintRate", config_set, "Maximum", "complaint rate")],
        width=8,
    )


def _job_rows(board: Dashboard) -> None:
    """Every scheduled function: its runs per heartbeat window and how long they took."""
    board.section(
        "Scheduled jobs",
        "One point per heartbeat window: runs that completed (`*HeartbeatAlarm` fires below 1) and runs that stopped "
        "with work left; how long runs took against the function's timeout.",
    )
    for function in FUNCTIONS:
        if function.heartbeat_period_s is None:
            continue
        job = {metrics.JOB: function.name}
        board.graph(
            f"{function.name}: runs per {function.heartbeat_period_s} s",
            [
                custom(metrics.JOB_COMPLETED, label="completed", dimensions=job),
                custom(metrics.JOB_STOPPED_EARLY, label="stopped with work left", dimensions=job),
            ],
            width=6,
            period=function.heartbeat_period_s,
        )
        board.graph(
            f"{function.name}: run duration (s)",
            [
                custom(metrics.JOB_DURATION, "Maximum", "longest", job),
                custom(metrics.JOB_DURATION, "Average", "average", job),
            ],
            width=6,
            limits=(("timeout", _timeout_s(function)),),
        )


def _function_rows(board: Dashboard) -> None:
    """Every function: errors, throttles, duration and concurrency against its limits."""
    board.section(
        "Lambda functions",
        "Per function: errors and throttles (`*ErrorsAlarm`, `*ThrottlesAlarm`), duration against its timeout, "
        'concurrent executions against its reserved concurrency (see "Concurrency" in the runbook).',
    )
    for function in FUNCTIONS:
        name = {"FunctionName": {"Ref": function.logical_id}}
        board.graph(
            f"{function.logical_id}: errors, throttles",
            [
                line("AWS/Lambda", "Errors", name, "Sum", "errors"),
                line("AWS/Lambda", "Throttles", name, "Sum", "throttles"),
                line("AWS/Lambda", "Invocations", name, "Sum", "invocations", right=True),
            ],
        )
        board.graph(
            f"{function.logical_id}: duration (ms)",
            [line("AWS/Lambda", "Duration", name, stat, stat) for stat in ("Maximum", "p99", "Average")],
            limits=(("timeout", _timeout_s(function) * 1000),),
        )
        board.graph(
            f"{function.logical_id}: concurrent executions",
            [line("AWS/Lambda", "ConcurrentExecutions", name, "Maximum", "concurrent executions")],
            limits=(("reserved concurrency", function.reserved_concurrency),),
        )


def _table_rows(board: Dashboard, resources: dict[str, Any]) -> None:
    """The portal table and its indexes."""
    table = {"TableName": {"Ref": "PortalTable"}}
    indexes = [i["IndexName"] for i in resources["PortalTable"]["Properties"].get("GlobalSecondaryIndexes", [])]
    board.section(
        "DynamoDB (PortalTable)",
        "Throttled requests (`PortalTableReadThrottleAlarm`, `PortalTableWriteThrottleAlarm`) on the table and on "
        "each index, and the capacity consumed (on demand: what the bill follows).",
    )
    board.graph(
        "Table: throttled requests",
        [line("AWS/DynamoDB", f"{kind}ThrottleEvents", table, "Sum", kind.lower()) for kind in ("Read", "Write")],
    )
    board.graph(
        "Indexes: throttled requests",
        [
            line(
                "AWS/DynamoDB",
                f"{kind}ThrottleEvents",
                {**table, "GlobalSecondaryIndexName": index},
                "Sum",
                f"{index} {kind.lower()}",
            )
            for index in indexes
            for kind in ("Read", "Write")
        ],
    )
    board.graph(
        "Consumed capacity units",
        [
            line("AWS/DynamoDB", f"Consumed{kind}CapacityUnits", table, "Sum", kind.lower())
            for kind in ("Read", "Write")
        ],
    )
