"""CloudWatch alarms: one builder (every alarm notifies AlarmTopic when it fires and when it recovers) and the topic."""

from __future__ import annotations

from typing import Any

from infra.stack.common import TOPIC_SKIP, skip


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


def alarm_topic() -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Topic",
        "Metadata": skip(TOPIC_SKIP),
        "Properties": {"Subscription": [{"Endpoint": {"Ref": "AlarmEmail"}, "Protocol": "email"}]},
    }
