"""The API Gateway stage: throttling, access logs, its own error answers in the app's shape, and its alarms."""

from __future__ import annotations

import json
from typing import Any

from infra.stack.alarms import alarm
from infra.stack.common import log_group, skip

API_RATE_LIMIT = 50  # requests per second, steady, for the whole stage
API_BURST_LIMIT = 100


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
