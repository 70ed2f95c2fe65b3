"""Generates `infra/resources.json`, the template `chalice package --merge-template` merges into chalice's output.

Run `python -m infra.stack` after editing this file; `tests/test_infra.py` fails while the committed JSON differs.

Adding a Lambda function (for example billing's `process_renewals`) is three small edits:
1. one `Function(...)` line in FUNCTIONS below (its chalice name, reserved concurrency, heartbeat if scheduled):
   this gives it the stack's environment, its own retained log group, X-Ray, its Errors, Throttles (and
   heartbeat) alarms and its row on the dashboard;
2. its IAM policy `.chalice/policies/<name>.json` holding exactly what its code calls (the test derives that list by
   running the function on moto and says what is missing or extra);
3. `"<name>": {"iam_policy_file": "policies/<name>.json"}` under `lambda_functions` in `.chalice/config.json`.
Every alarm gets a runbook entry in `infra/DEPLOY.md` (the test checks that too).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib import metrics
from chalicelib.domain.models import ActivationChannel

OUTPUT = Path(__file__).with_name("resources.json")


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

API_RATE_LIMIT = 50  # requests per second, steady, for the whole stage
API_BURST_LIMIT = 100

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
STACK_ENVIRONMENT = {
    "TABLE_NAME": {"Ref": "PortalTable"},
    "LINK_SECRET_ARN": {"Ref": "LinkSecret"},
    "SES_CONFIGURATION_SET": {"Ref": "MailConfigurationSet"},
    "SENDER_EMAIL": {"Ref": "SenderEmail"},
    "PORTAL_ORIGIN": {"Ref": "PortalOrigin"},
    "INVOICE_BUCKET": {"Ref": "InvoiceBucket"},
    "WORK_QUEUE_URL": {"Ref": "WorkQueue"},
}
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922]
LOG_RETENTION_DAYS += [3288, 3653]


def skip(*checks: tuple[str, str]) -> dict[str, Any]:
    """checkov findings that do not apply, each with the reason, on the resource itself."""
    return {"checkov": {"skip": [{"id": check, "comment": comment} for check, comment in checks]}}


# -- reasons for the checkov checks this design does not follow ------------------------------------------------------
NO_CMK = (
    "Encrypted at rest with the AWS-managed key. A customer-managed KMS key would add a key policy to keep right and "
    "kms:Decrypt grants to every reader, for no control we use (no cross-account access, no key-level audit needed)."
)
LOGS_NO_CMK = (
    "CloudWatch Logs encrypts at rest with its own key. The logs hold no secrets or card data (the app refuses and "
    "never logs card numbers); a customer-managed key would only add a key policy to maintain."
)
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
TOPIC_SKIP = (
    "CKV_AWS_26",
    "CloudWatch alarms and SES event publishing cannot publish to a topic encrypted with the AWS-managed aws/sns key; "
    "the messages are alarm names and bounce notices, delivered over TLS.",
)


# -- building blocks -------------------------------------------------------------------------------------------------
def alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    *,
    statistic: str = "Sum",
    period: int = 300,
    evaluation_periods: int = 1,
    datapoints_to_alarm: int | None = None,
    threshold: float = 0,
    comparison: str = "GreaterThanThreshold",
    missing: str = "notBreaching",
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "AlarmDescription": description,
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
        "Period": period,
        "EvaluationPeriods": evaluation_periods,
        "Threshold": threshold,
        "ComparisonOperator": comparison,
        "TreatMissingData": missing,
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
    }
    if statistic.startswith("p"):
        properties["ExtendedStatistic"] = statistic
    else:
        properties["Statistic"] = statistic
    if datapoints_to_alarm is not None:
        properties["DatapointsToAlarm"] = datapoints_to_alarm
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _keys(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "KeyType": kind} for name, kind in zip(names, ("HASH", "RANGE"), strict=True)]


def _index(name: str, hash_key: str, range_key: str, projection: dict[str, Any]) -> dict[str, Any]:
    return {"IndexName": name, "KeySchema": _keys(hash_key, range_key), "Projection": projection}


def portal_table() -> dict[str, Any]:
    keys = ["PK", "SK", "GSI1PK", "GSI1SK", "DLPK", "DLSK", "RNPK", "RNSK", "OBPK", "OBSK"]
    return {
        "Type": "AWS::DynamoDB::Table",
        **RETAIN,
        "Metadata": skip(("CKV_AWS_119", NO_CMK)),
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in keys],
            "KeySchema": _keys("PK", "SK"),
            "GlobalSecondaryIndexes": [
                _index("by_person", "GSI1PK", "GSI1SK", {"ProjectionType": "ALL"}),
                _index(
                    "pending_by_deadline",
                    "DLPK",
                    "DLSK",
                    {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["order_id", "admin_key"]},
                ),
                _index("active_by_renewal", "RNPK", "RNSK", {"ProjectionType": "KEYS_ONLY"}),
                _index("unsent_emails", "OBPK", "OBSK", {"ProjectionType": "ALL"}),
            ],
            "TimeToLiveSpecification": {"AttributeName": "expires_at_epoch", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    }


def queue(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        **RETAIN,
        "Metadata": skip(
            (
                "CKV_AWS_27",
                "Encrypted with SQS-managed keys (SqsManagedSseEnabled); checkov only recognises KmsMasterKeyId.",
            )
        ),
        "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True, **properties},
    }


def log_group(name: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        **RETAIN,
        "Metadata": skip(("CKV_AWS_158", LOGS_NO_CMK)),
        "Properties": {"LogGroupName": name, "RetentionInDays": {"Ref": "LogRetentionInDays"}},
    }


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


def gateway_response(code: str, message: str, status: str | None = None) -> dict[str, Any]:
    """API Gateway's own answers (no route, throttled, too large...) in the app's error shape and headers."""
    response: dict[str, Any] = {
        "ResponseParameters": {
            "Headers": {
                "Cache-Control": "'no-store'",
                "X-Content-Type-Options": "'nosniff'",
                "Access-Control-Allow-Origin": {"Fn::Sub": "'${PortalOrigin}'"},
                "Vary": "'Origin'",
            }
        },
        "ResponseTemplates": {"application/json": f'{{"Code": {code}, "Message": {message}}}'},
    }
    if status is not None:
        response["StatusCode"] = status
    return response


def api_resources() -> dict[str, Any]:
    api = {"ApiName": {"Fn::Sub": "${AWS::StackName}"}, "Stage": "api"}
    access_log_format = {
        key: f"$context.{value}"
        for key, value in {
            "requestId": "requestId",
            "ip": "identity.sourceIp",
            "time": "requestTimeEpoch",
            "method": "httpMethod",
            "resource": "resourcePath",
            "status": "status",
            "latencyMs": "responseLatency",
            "integrationStatus": "integrationStatus",
            "integrationError": "integrationErrorMessage",
            "responseLength": "responseLength",
        }.items()
    }
    return {
        "ApiAccessLogGroup": log_group({"Fn::Sub": "/aws/apigateway/${AWS::StackName}-access"}),
        "RestAPI": {
            "Type": "AWS::Serverless::Api",
            "Metadata": skip(
                (
                    "CKV_AWS_120",
                    "No response cache: every portal response depends on the caller's token and must not be served "
                    "to anyone else or go stale after a change; activation pages are one-off.",
                )
            ),
            "Properties": {
                # One name per stack, so each stage's API metrics (dimension ApiName) are its own.
                "Name": {"Fn::Sub": "${AWS::StackName}"},
                "DefinitionBody": {"info": {"title": {"Fn::Sub": "${AWS::StackName}"}}},
                "TracingEnabled": True,
                "GatewayResponses": {
                    "DEFAULT_4XX": gateway_response('"$context.error.responseType"', "$context.error.messageString"),
                    "DEFAULT_5XX": gateway_response('"$context.error.responseType"', "$context.error.messageString"),
                    "MISSING_AUTHENTICATION_TOKEN": gateway_response(
                        '"NotFoundError"', '"There is no such route: check the method and the path."', "404"
                    ),
                },
                "AccessLogSetting": {
                    "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                    "Format": json.dumps(access_log_format, separators=(",", ":")),
                },
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
                        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
                        "MetricsEnabled": False,
                    }
                ],
            },
        },
        "Api5XXAlarm": alarm(
            "More than 1% of API requests failed with a 5XX in two of the last three 5-minute periods",
            "AWS/ApiGateway",
            "5XXError",
            api,
            statistic="Average",
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=0.01,
        ),
        "ApiLatencyAlarm": alarm(
            "The API's p99 latency was above 3 s in two of the last three 5-minute periods",
            "AWS/ApiGateway",
            "Latency",
            api,
            statistic="p99",
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=3000,
        ),
    }


def mail_resources() -> dict[str, Any]:
    config_set = {"ses:configuration-set": {"Ref": "MailConfigurationSet"}}
    return {
        "MailConfigurationSet": {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {
                "ReputationOptions": {"ReputationMetricsEnabled": True},
                "SendingOptions": {"SendingEnabled": True},
            },
        },
        "SenderDomainIdentity": {
            "Type": "AWS::SES::EmailIdentity",
            "Properties": {
                "EmailIdentity": {"Ref": "MailDomain"},
                "DkimAttributes": {"SigningEnabled": True},
                "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
                "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": "MailConfigurationSet"}},
            },
        },
        # Bounces and complaints, for the handler that records them on the subscription's history (app code; the
        # function subscribes to this topic with @app.on_sns_message and the merge points it at {"Ref": ...}).
        "MailEventsTopic": {"Type": "AWS::SNS::Topic", "Metadata": skip(TOPIC_SKIP), "Properties": {}},
        "MailEventsDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": "MailConfigurationSet"},
                "EventDestination": {
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint"],
                    "SnsDestination": {"TopicARN": {"Ref": "MailEventsTopic"}},
                },
            },
        },
        "MailBounceRateAlarm": alarm(
            "The bounce rate of the portal's emails is above 4% (SES reviews the account at 5%, pauses it at 10%)",
            "AWS/SES",
            "Reputation.BounceRate",
            config_set,
            statistic="Maximum",
            period=900,
            threshold=0.04,
        ),
        "MailComplaintRateAlarm": alarm(
            "The complaint rate of the portal's emails is above 0.08% (SES reviews the account at 0.1%)",
            "AWS/SES",
            "Reputation.ComplaintRate",
            config_set,
            statistic="Maximum",
            period=900,
            threshold=0.0008,
        ),
        "EmailsFailedAlarm": alarm(
            "SES refused 5 or more emails in 15 minutes (each is retried by the outbox with backoff)",
            metrics.NAMESPACE,
            metrics.EMAILS_FAILED,
            {},
            period=900,
            threshold=5,
            comparison="GreaterThanOrEqualToThreshold",
        ),
        "OutboxBacklogAlarm": alarm(
            "An email has been due and unsent for more than 15 minutes",
            metrics.NAMESPACE,
            metrics.OUTBOX_OLDEST_UNSENT_AGE,
            {},
            statistic="Maximum",
            threshold=900,
        ),
    }


WORKER_TIMEOUT_S = 300  # .chalice/config.json, job_worker's lambda_timeout


def queue_resources() -> dict[str, Any]:
    orders = {"QueueName": {"Fn::GetAtt": ["OrdersQueue", "QueueName"]}}
    work = {"QueueName": {"Fn::GetAtt": ["WorkQueue", "QueueName"]}}
    return {
        "WorkDeadLetterQueue": queue({}),
        "WorkQueue": queue(
            {
                # Six times the worker's timeout (AWS's advice for Lambda event sources): a batch still running is
                # never handed to a second worker.
                "VisibilityTimeout": 6 * WORKER_TIMEOUT_S,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": 5,
                },
            }
        ),
        "WorkDeadLetterAlarm": alarm(
            "A job's work message failed 5 times and was dead-lettered: its items (renewals or reminders) "
            "are not done. Read the job_worker log for the reason, fix, then redrive",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}},
            statistic="Maximum",
        ),
        "WorkAgeAlarm": alarm(
            "The oldest message on the work queue has waited more than 6 hours: the workers cannot keep up with the "
            "day's renewals and reminders",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            work,
            statistic="Maximum",
            threshold=6 * 3600,
        ),
        "OrdersDeadLetterQueue": queue({}),
        "OrdersQueue": queue(
            {
                "VisibilityTimeout": 360,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]},
                    "maxReceiveCount": 5,
                },
            }
        ),
        "OrdersDeadLetterAlarm": alarm(
            "An order message was dead-lettered: read the intake log for the reason, fix, then redrive",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["OrdersDeadLetterQueue", "QueueName"]}},
            statistic="Maximum",
        ),
        "OrdersAgeAlarm": alarm(
            "The oldest order on the orders queue has waited more than 15 minutes",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            orders,
            statistic="Maximum",
            threshold=900,
        ),
    }


INVOICE_RETENTION_YEARS = 10  # DESIGN 14.2: invoices are kept 10 years


def invoice_bucket_resources() -> dict[str, Any]:
    """The invoice PDFs: versioned, Object Lock COMPLIANCE for 10 years by default (no one, root included, can delete
    or overwrite a kept PDF before then), private, encrypted, TLS only."""
    return {
        "InvoiceBucket": {
            "Type": "AWS::S3::Bucket",
            **RETAIN,
            "Metadata": skip(
                ("CKV_AWS_145", NO_CMK),
                (
                    "CKV_AWS_18",
                    "Objects are written once by the portal's own functions (CloudTrail records the API calls); server "
                    "access logs would need a second bucket and add nothing for write-once documents.",
                ),
            ),
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": INVOICE_RETENTION_YEARS}},
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
        },
        "InvoiceBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "InvoiceBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": ["InvoiceBucket", "Arn"]},
                                {"Fn::Sub": "${InvoiceBucket.Arn}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }


def table_alarms() -> dict[str, Any]:
    table = {"TableName": {"Ref": "PortalTable"}}
    return {
        f"PortalTable{kind}ThrottleAlarm": alarm(
            f"DynamoDB throttled {kind.lower()}s on the portal table", "AWS/DynamoDB", f"{kind}ThrottleEvents", table
        )
        for kind in ("Read", "Write")
    }


# -- the operations dashboard ----------------------------------------------------------------------------------------
# Built from the finished resources: every alarm, queue, function and custom metric of the template gets its widget
# without a second list. A metric drawn with the statistic an alarm evaluates is drawn at the alarm's period with the
# alarm's threshold as a line, labelled with the alarm's name (the runbook entry of the same name says what to do).
CHALICE_CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"
CHALICE_DEFAULT_TIMEOUT_S = 60
GRID_WIDTH = 24
DEFAULT_PERIOD_S = 300
MAX_ALARMS_PER_WIDGET = 100  # CloudWatch's limit for one alarm status widget
COMPARISON_SIGNS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


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


def fn_sub_text(value: Any) -> str:
    """A template expression as Fn::Sub text: {"Ref": "X"} -> "${X}", {"Fn::GetAtt": ["X", "A"]} (or "X.A") ->
    "${X.A}"; a string stays itself."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{'.'.join(argument if isinstance(argument, list) else [argument])}}}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return argument
    raise ValueError(f"no Fn::Sub form for {value!r}")


@dataclass(frozen=True)
class Line:
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, Any], ...]
    stat: str
    label: str
    right: bool = False  # on the right y axis (another unit than the widget's alarmed metrics)


def line(
    namespace: str, metric: str, dimensions: dict[str, Any], stat: str, label: str = "", *, right: bool = False
) -> Line:
    return Line(namespace, metric, tuple(dimensions.items()), stat, label or metric, right)


def custom(
    metric: str, stat: str = "Sum", label: str = "", dimensions: dict[str, str] | None = None, *, right: bool = False
) -> Line:
    return line(metrics.NAMESPACE, metric, dimensions or {}, stat, label, right=right)


class Dashboard:
    def __init__(self, resources: dict[str, Any]) -> None:
        self._resources = resources
        self.widgets: list[dict[str, Any]] = []
        self.drawn: set[str] = set()  # custom metrics with a widget
        self._x = self._y = self._row_height = 0

    def _alarms_watching(self, drawn: Line) -> list[tuple[str, dict[str, Any]]]:
        return [
            (name, p)
            for name, r in self._resources.items()
            if r["Type"] == "AWS::CloudWatch::Alarm"
            and ((p := r["Properties"])["Namespace"], p["MetricName"]) == (drawn.namespace, drawn.metric)
            and {d["Name"]: d["Value"] for d in p["Dimensions"]} == dict(drawn.dimensions)
            and p.get("ExtendedStatistic", p.get("Statistic")) == drawn.stat
        ]

    def _place(self, widget: dict[str, Any]) -> None:
        if self._x + widget["width"] > GRID_WIDTH:
            self._x, self._y, self._row_height = 0, self._y + self._row_height, 0
        self.widgets.append({**widget, "x": self._x, "y": self._y})
        self._x += widget["width"]
        self._row_height = max(self._row_height, widget["height"])

    def section(self, title: str, markdown: str) -> None:
        if self._x:
            self._x, self._y, self._row_height = 0, self._y + self._row_height, 0
        height = 1 + (len(markdown) // 190 + 1 if markdown else 0)
        text = f"## {title}\n{markdown}" if markdown else f"## {title}"
        self._place({"type": "text", "width": GRID_WIDTH, "height": height, "properties": {"markdown": text}})

    def alarm_status(self, title: str) -> None:
        alarms = [f"${{{name}.Arn}}" for name, r in self._resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
        for start in range(0, len(alarms), MAX_ALARMS_PER_WIDGET):
            chunk = alarms[start : start + MAX_ALARMS_PER_WIDGET]
            self._place(
                {
                    "type": "alarm",
                    "width": GRID_WIDTH,
                    "height": 2 + len(chunk) // 4,
                    "properties": {"title": title, "alarms": chunk, "sortBy": "stateUpdatedTimestamp"},
                }
            )

    def graph(
        self,
        title: str,
        lines: list[Line],
        *,
        width: int = 8,
        period: int = DEFAULT_PERIOD_S,
        limits: tuple[tuple[str, float], ...] = (),  # (label, value): lines that are not alarms (timeouts, pools)
    ) -> None:
        metrics_array: list[list[Any]] = []
        annotations: list[dict[str, Any]] = [{"label": label, "value": value} for label, value in limits]
        for drawn in lines:
            options: dict[str, Any] = {"label": drawn.label, "stat": drawn.stat, "period": period}
            for name, alarm_properties in self._alarms_watching(drawn):
                options["period"] = alarm_properties["Period"]
                sign = COMPARISON_SIGNS[alarm_properties["ComparisonOperator"]]
                threshold = alarm_properties["Threshold"]
                annotations.append(
                    {
                        "label": f"{name}: {drawn.stat} per {alarm_properties['Period']} s {sign} {threshold}",
                        "value": threshold,
                    }
                )
            if drawn.right:
                options["yAxis"] = "right"
            if drawn.namespace == metrics.NAMESPACE:
                self.drawn.add(drawn.metric)
            flat = [part for name, value in drawn.dimensions for part in (name, fn_sub_text(value))]
            metrics_array.append([drawn.namespace, drawn.metric, *flat, options])
        properties: dict[str, Any] = {
            "title": title,
            "view": "timeSeries",
            "region": "${AWS::Region}",
            "period": period,
            "metrics": metrics_array,
            "yAxis": {"left": {"min": 0}, "right": {"min": 0}},
        }
        if annotations:
            properties["annotations"] = {"horizontal": annotations}
        self._place({"type": "metric", "width": width, "height": 6, "properties": properties})

    def search(self, title: str, metric: str, dimension_names: tuple[str, ...] | None, *, width: int = 12) -> None:
        """One line per dimension value the app has emitted (routes: too many and too open to list here); without
        dimension names, one line per dimension set the metric was emitted with."""
        if dimension_names is None:
            where, query_id = f'Namespace="{metrics.NAMESPACE}"', "any"
        else:
            where, query_id = (
                "{" + ",".join((metrics.NAMESPACE, *dimension_names)) + "}",
                "by_" + "_".join(dimension_names),
            )
        expression = f"SEARCH('{where} MetricName=\"{metric}\"', 'Sum', {DEFAULT_PERIOD_S})"
        self.drawn.add(metric)
        properties = {
            "title": title,
            "view": "timeSeries",
            "region": "${AWS::Region}",
            "period": DEFAULT_PERIOD_S,
            "metrics": [[{"expression": expression, "id": query_id}]],
            "yAxis": {"left": {"min": 0}},
        }
        self._place({"type": "metric", "width": width, "height": 6, "properties": properties})


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
    api = {"ApiName": {"Fn::Sub": "${AWS::StackName}"}, "Stage": "api"}
    board.section(
        "Subscription portal: alarms",
        "An alarm emails `AlarmEmail` when it fires and when it recovers. Each alarm has its entry under "
        '"Alarms" in the runbook (`infra/DEPLOY.md`); the rows below draw each alarm\'s metric with its threshold '
        "line labelled with the alarm's name.",
    )
    board.alarm_status("Every alarm of the stack (firing first)")

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


def template() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "PortalTable": portal_table(),
        **table_alarms(),
        "LinkSecret": {
            "Type": "AWS::SecretsManager::Secret",
            # Every emailed activation link is derived from this value: a stack deletion or replacement must not
            # take it away (runbook: "Rotate the link secret").
            **RETAIN,
            "Metadata": skip(("CKV_AWS_149", NO_CMK)),
            "Properties": {
                "Description": "Key that activation links are derived from (never leaves Lambda)",
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
        **queue_resources(),
        **mail_resources(),
        **invoice_bucket_resources(),
        **api_resources(),
    }
    for function in FUNCTIONS:
        resources.update(function_resources(function))
    resources["AlarmTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Metadata": skip(TOPIC_SKIP),
        "Properties": {"Subscription": [{"Endpoint": {"Ref": "AlarmEmail"}, "Protocol": "email"}]},
    }
    resources["OperationsDashboard"] = dashboard(resources)
    dkim = {
        f"SenderDomainDkimRecord{n}": {
            "Description": f"DKIM record {n} of 3 to publish in the domain's DNS",
            "Value": {
                "Fn::Join": [
                    " ",
                    [
                        {"Fn::GetAtt": ["SenderDomainIdentity", f"DkimDNSTokenName{n}"]},
                        "CNAME",
                        {"Fn::GetAtt": ["SenderDomainIdentity", f"DkimDNSTokenValue{n}"]},
                    ],
                ]
            },
        }
        for n in (1, 2, 3)
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Subscription portal: data, queues, mail, logs and alarms, plus what chalice's functions need "
        "from them (environment, log group, queue, concurrency). Generated by infra/stack.py; merged into "
        "`chalice package` output (see infra/DEPLOY.md).",
        "Parameters": {
            "MailDomain": {
                "Type": "String",
                "Description": "Domain the portal sends from; SES signs with DKIM once its 3 records are in DNS",
                "Default": "example.com",
            },
            "SenderEmail": {
                "Type": "String",
                "Description": "From address of every email the portal sends; must be at MailDomain",
                "Default": "no-reply@example.com",
            },
            "PortalOrigin": {
                "Type": "String",
                "Description": "The portal web app's origin: the only origin CORS allows, in the app's answers and "
                "API Gateway's own",
                "AllowedPattern": "^https://[A-Za-z0-9.-]+(:[0-9]+)?$",
            },
            "AlarmEmail": {
                "Type": "String",
                "Description": "Who is told when an alarm fires (and when it recovers)",
                "Default": "ops@example.com",
            },
            "LogRetentionInDays": {
                "Type": "Number",
                "Description": "How long the functions' and the API's CloudWatch logs are kept",
                "Default": 90,
                "AllowedValues": LOG_RETENTION_DAYS,
            },
            "ApiRateLimit": {
                "Type": "Number",
                "Description": "Requests per second the API stage accepts (steady state), beyond which callers get 429",
                "Default": API_RATE_LIMIT,
            },
            "ApiBurstLimit": {
                "Type": "Number",
                "Description": "Requests the API stage accepts in a burst",
                "Default": API_BURST_LIMIT,
            },
        },
        "Resources": resources,
        "Outputs": {
            "PortalTableName": {"Value": {"Ref": "PortalTable"}},
            "OrdersQueueUrl": {"Value": {"Ref": "OrdersQueue"}},
            "OrdersDeadLetterQueueUrl": {"Value": {"Ref": "OrdersDeadLetterQueue"}},
            "WorkQueueUrl": {"Value": {"Ref": "WorkQueue"}},
            "WorkDeadLetterQueueUrl": {"Value": {"Ref": "WorkDeadLetterQueue"}},
            "LinkSecretArn": {"Value": {"Ref": "LinkSecret"}},
            "MailEventsTopicArn": {"Value": {"Ref": "MailEventsTopic"}},
            "InvoiceBucketName": {"Value": {"Ref": "InvoiceBucket"}},
            **dkim,
        },
    }


def render() -> str:
    return json.dumps(template(), indent=2) + "\n"


def main() -> None:
    OUTPUT.write_text(render())
    sys.stdout.write(f"wrote {OUTPUT}\n")


if __name__ == "__main__":
    main()
