"""Messaging: the orders and work queues with their dead-letter queues, and mail (SES, its events topic), with their
alarms."""

from __future__ import annotations

from typing import Any

from chalicelib import metrics
from infra.stack.alarms import alarm
from infra.stack.common import RETAIN, TOPIC_SKIP, skip


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
