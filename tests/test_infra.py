"""The deployment as it ships: `chalice package --merge-template infra/resources.json`, linted and inspected.

Packaging runs once per module and stage. The first run on a machine downloads the Lambda (manylinux) wheels through
pip; chalice then caches the dependency zip in `.chalice/deployments/<md5 of requirements>-python3.11.zip` (gitignored)
and later runs only re-add the app's own code, so the whole module takes a few seconds. If packaging fails (no package
registry, a broken import in app.py), the tests fail with chalice's output: nothing here is skipped.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from app import app
from chalicelib import metrics
from chalicelib.adapters.telemetry import EmfTelemetry
from chalicelib.domain.models import ActivationChannel
from infra import stack
from infra.stack import FUNCTIONS
from infra.tables import create_table, table_properties

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REGION = "eu-west-1"
STAGES = ("dev", "prod")
RESOURCES = ROOT / "infra" / "resources.json"
DYNAMO_ADAPTER = ROOT / "chalicelib" / "adapters" / "dynamodb"


def _dynamo_source() -> str:
    return "\n".join(path.read_text() for path in sorted(DYNAMO_ADAPTER.glob("*.py")))

# What every function must get from the stack (not from .chalice/config.json).
STACK_ENVIRONMENT = {
    "TABLE_NAME": {"Ref": "PortalTable"},
    "LINK_SECRET_ARN": {"Ref": "LinkSecret"},
    "SES_CONFIGURATION_SET": {"Ref": "MailConfigurationSet"},
    "SENDER_EMAIL": {"Ref": "SenderEmail"},
}

# cfn-lint findings tolerated on the packaged template, by rule id, each with its reason. Empty on purpose: add an id
# here only with a comment saying why it cannot be fixed in infra/resources.json or the policy files.
IGNORED_LINT_RULES: frozenset[str] = frozenset()

# The only "*" any IAM statement may contain: the log-stream part of one of this stack's own function log groups.
# Lambda names its streams at runtime (YYYY/MM/DD/<function>[<version>]<guid>), so IAM cannot list them; AWS documents
# `arn:...:log-group:<name>:*` as the form for stream-level actions (CreateLogStream, PutLogEvents).
LOG_STREAMS_OF_GROUP = re.compile(
    r"^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:\$\{(?P<group>\w+)\}:\*$"
)
# S3 object permissions name objects, and invoice PDFs get their keys as they are issued: the functions that keep them
# read and write only under the bucket's invoices/ prefix (the application's own key layout, invoice_documents.py).
INVOICE_OBJECTS = "${InvoiceBucket.Arn}/invoices/*"
INVOICE_OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject"}
# X-Ray has no resource-level permissions: its two write actions take "*" and nothing else.
XRAY_WRITE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
CHALICE_CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
LOGICAL_IDS = {function.name: function.logical_id for function in FUNCTIONS}
STACK_ARN = re.compile(r"^arn:\$\{AWS::Partition\}:[a-z0-9-]+:\$\{AWS::Region\}:\$\{AWS::AccountId\}:")
PSEUDO_PARAMETERS = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::URLSuffix"}


# -- packaging ------------------------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed next to {sys.executable} (run `make` to build the virtualenv)")
    return str(path)


def _run(command: list[str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": REGION}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """stage -> directory holding sam.json and deployment.zip."""
    base = tmp_path_factory.mktemp("package")
    out: dict[str, Path] = {}
    for stage in STAGES:
        target = base / stage
        result = _run([_tool("chalice"), "package", "--stage", stage, "--merge-template", str(RESOURCES), str(target)])
        if result.returncode != 0 or not (target / "sam.json").is_file():
            pytest.fail(
                f"chalice package --stage {stage} failed (exit {result.returncode}):\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}",
                pytrace=False,
            )
        out[stage] = target
    return out


@pytest.fixture(scope="module")
def templates(packages: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return {stage: json.loads((path / "sam.json").read_text()) for stage, path in packages.items()}


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    """Chalice function name -> its IAM policy file (the same in every stage)."""
    return {
        name: json.loads((ROOT / ".chalice" / function["iam_policy_file"]).read_text())
        for name, function in CHALICE_CONFIG["lambda_functions"].items()
    }


def _all_grants(policies: dict[str, dict[str, Any]], action: str, resource: str) -> bool:
    return any(_grants(policy, action, resource) for policy in policies.values())


# -- helpers --------------------------------------------------------------------------------------------------------
def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == type_}


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    functions = _resources(template, "AWS::Serverless::Function")
    assert functions, "the packaged template has no functions"
    return functions


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_sub(value: Any) -> str:
    """One spelling per reference: {"Ref": "X"} -> "${X}", {"Fn::GetAtt": ["X", "Arn"]} -> "${X.Arn}"."""
    return stack.fn_sub_text(value)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(document.get("Statement", []))


def _grants(policy: dict[str, Any], action: str, resource: str) -> bool:
    return any(
        s.get("Effect") == "Allow"
        and action in _as_list(s.get("Action", []))
        and resource in {_as_sub(r) for r in _as_list(s.get("Resource", []))}
        for s in _statements(policy)
    )


def _policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::IAM::Role":
            yield f"{name}.AssumeRolePolicyDocument", properties["AssumeRolePolicyDocument"]
            for policy in properties.get("Policies", []):
                yield f"{name}.{policy['PolicyName']}", policy["PolicyDocument"]
            assert not properties.get("ManagedPolicyArns"), f"{name} attaches managed policies (they hold '*')"
        elif resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, properties["PolicyDocument"]
        elif resource.get("Type") == "AWS::Serverless::Function":
            assert "Policies" not in properties, f"{name}: SAM policy templates would bypass the policy files"


def _index_names_used_by_code() -> set[str]:
    return set(re.findall(r"""["']?IndexName["']?\s*[=:]\s*["'](\w+)["']""", _dynamo_source()))


def _camel(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _iam_actions_catalog() -> dict[str, Any]:
    """The IAM service/action catalog cfn-lint ships (its W3037 check is switched off for SAM templates)."""
    import cfnlint.data.AdditionalSpecs
    from cfnlint.helpers import load_resource

    return load_resource(cfnlint.data.AdditionalSpecs, "Policies.json")


# -- (1) cfn-lint -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_packaged_template_passes_cfn_lint(packages: dict[str, Path], stage: str) -> None:
    result = _run([_tool("cfn-lint"), "--format", "json", "--regions", REGION, "--", str(packages[stage] / "sam.json")])
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        pytest.fail(
            f"cfn-lint did not run (exit {result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False
        )
    problems = [
        f"{f['Rule']['Id']} {f['Level']} {f['Location']['Path']}: {f['Message']}"
        for f in findings
        if f["Level"] in ("Error", "Warning") and f["Rule"]["Id"] not in IGNORED_LINT_RULES
    ]
    assert problems == [], "\n".join(problems)


def test_package_contains_the_app_and_linux_wheels(packages: dict[str, Path]) -> None:
    with zipfile.ZipFile(packages["dev"] / "deployment.zip") as archive:
        names = set(archive.namelist())
    assert {"app.py", "chalicelib/container.py", "chalicelib/adapters/dynamodb/unit_of_work.py"} <= names
    binaries = [n for n in names if n.endswith(".so")]
    for package in ("pydantic_core/", "cryptography/"):
        built = [n for n in binaries if n.startswith(package)]
        assert built, f"no compiled module for {package} in the zip"
        assert all("x86_64-linux" in n or n.endswith(".abi3.so") for n in built), built


# -- (2) IAM: exact actions and resources ---------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcards_in_iam_statements(templates: dict[str, dict[str, Any]], stage: str) -> None:
    template = templates[stage]
    names = set(template["Resources"]) | set(template.get("Parameters", {})) | PSEUDO_PARAMETERS
    function_log_groups = {
        f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for f in _functions(template).values()
        if "LoggingConfig" in f["Properties"]
    }
    checked = 0
    for where, document in _policy_documents(template):
        for statement in _statements(document):
            assert "NotAction" not in statement and "NotResource" not in statement, where
            for action in _as_list(statement.get("Action", [])):
                assert "*" not in action and "?" not in action, f"{where}: wildcard action {action!r}"
            if statement.get("Resource") == "*":
                assert set(_as_list(statement["Action"])) <= XRAY_WRITE_ACTIONS, f"{where}: '*' beyond X-Ray"
                continue
            for raw in _as_list(statement.get("Resource", [])):
                assert not isinstance(raw, str), f"{where}: literal resource {raw!r} (use the stack's own resources)"
                resource = _as_sub(raw)
                checked += 1
                for variable in re.findall(r"\$\{([^}]+)\}", resource):
                    assert variable.split(".")[0] in names, f"{where}: {resource} refers to unknown {variable}"
                if resource.startswith("arn:"):
                    assert STACK_ARN.match(resource), (
                        f"{where}: {resource} is not in the stack's partition/region/account"
                    )
                if resource == INVOICE_OBJECTS:
                    assert set(_as_list(statement["Action"])) <= INVOICE_OBJECT_ACTIONS, where
                    continue
                if "*" in resource or "?" in resource:
                    log_streams = LOG_STREAMS_OF_GROUP.match(resource)
                    assert log_streams, f"{where}: wildcard resource {resource}"
                    assert log_streams["group"] in function_log_groups, f"{where}: {resource} is no function's log"
    assert checked, "no IAM resources found: did the policy files get lost?"


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_its_own_role_with_its_own_policy_file(
    templates: dict[str, dict[str, Any]], policies: dict[str, dict[str, Any]], stage: str
) -> None:
    template = templates[stage]
    roles = set()
    for name, function_policy in policies.items():
        function = template["Resources"][LOGICAL_IDS[name]]
        role = function["Properties"]["Role"]
        assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{name} uses a role from outside the stack: {role}"
        roles.add(role["Fn::GetAtt"][0])
        role_properties = template["Resources"][role["Fn::GetAtt"][0]]["Properties"]
        assert [p["PolicyDocument"] for p in role_properties["Policies"]] == [function_policy], name
    assert len(roles) == len(policies) == len(_functions(template)), "one role per function"


def test_policy_actions_exist_in_iam(policies: dict[str, dict[str, Any]]) -> None:
    catalog = _iam_actions_catalog()
    for function, policy in policies.items():
        for statement in _statements(policy):
            for action in _as_list(statement["Action"]):
                service, _, name = action.partition(":")
                assert name.lower() in catalog[service]["Actions"], f"{function}'s policy: {action} is no IAM action"


def test_some_function_may_make_every_call_the_adapters_contain(policies: dict[str, dict[str, Any]]) -> None:
    """Every AWS call written in the adapters is allowed to at least one function (a static net under the exact,
    per-function check of tests/test_iam_per_function.py, which sees only the calls its scenarios reach)."""
    adapters = ROOT / "chalicelib" / "adapters"
    dynamo_source = _dynamo_source()

    table_actions: set[str] = set()
    for operation in set(re.findall(r"_client\.(\w+)\(", dynamo_source)):
        if operation == "transact_write_items":  # authorised item by item, by the kind of each entry
            kinds = set(re.findall(r"""["'](Put|Update|Delete|ConditionCheck)["']\s*:\s*\{""", dynamo_source))
            assert kinds, "transact_write_items without recognisable entries"
            table_actions |= {f"dynamodb:{kind}Item" for kind in kinds}
        else:
            table_actions.add(f"dynamodb:{_camel(operation)}")
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} <= table_actions, table_actions
    for action in sorted(table_actions):
        assert _all_grants(policies, action, "${PortalTable.Arn}"), f"no function may {action} on PortalTable"

    for operation in re.findall(r"_client\.(\w+)\(", (adapters / "ses.py").read_text()):
        for identity in (
            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailDomain}",
            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}",
        ):
            assert _all_grants(policies, f"ses:{_camel(operation)}", identity), (
                f"no function may {operation} {identity}"
            )

    for operation in re.findall(r"_client\.(\w+)\(", (adapters / "secrets.py").read_text()):
        assert _all_grants(policies, f"secretsmanager:{_camel(operation)}", "${LinkSecret}"), operation


# -- (3) order intake from the stack's queue --------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_sqs_fed_functions_read_their_queue_with_partial_batch_responses(
    templates: dict[str, dict[str, Any]], policies: dict[str, dict[str, Any]], stage: str
) -> None:
    """Intake reads OrdersQueue, the jobs' worker WorkQueue; each only its own, with partial batch responses."""
    template = templates[stage]
    sqs_sources = {
        name: (function, event["Properties"])
        for name, function in _functions(template).items()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    }
    handlers = {name: function["Properties"]["Handler"] for name, (function, _) in sqs_sources.items()}
    assert handlers == {"IntakeOrders": "app.intake_orders", "JobWorker": "app.job_worker"}
    own_queue = {"IntakeOrders": ("intake_orders", "OrdersQueue"), "JobWorker": ("job_worker", "WorkQueue")}
    for name, (function, source) in sqs_sources.items():
        policy_name, queue_id = own_queue[name]
        assert source.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], source
        assert _as_sub(source["Queue"]) == f"${{{queue_id}.Arn}}", source["Queue"]
        queue = template["Resources"][queue_id]
        assert queue["Type"] == "AWS::SQS::Queue"
        # Lambda refuses an event source whose queue hides messages for less time than the function may run.
        assert queue["Properties"]["VisibilityTimeout"] >= function["Properties"]["Timeout"]
        # Pollers never start more copies than the function may run: a throttled batch would go back to the queue
        # and count towards the dead-letter redrive.
        assert source["ScalingConfig"]["MaximumConcurrency"] <= function["Properties"]["ReservedConcurrentExecutions"]
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
            assert _grants(policies[policy_name], action, f"${{{queue_id}.Arn}}"), f"{name} lacks {action}"
    senders = {"cleanup_unactivated", "send_reminders", "process_renewals"}  # they queue the jobs' work
    for name, policy in policies.items():
        queues = {_as_sub(r) for st in _statements(policy) for r in _as_list(st["Resource"]) if "Queue" in _as_sub(r)}
        allowed = {"intake_orders": {"${OrdersQueue.Arn}"}, "job_worker": {"${WorkQueue.Arn}"}}.get(
            name, {"${WorkQueue.Arn}"} if name in senders else set()
        )
        assert queues <= allowed, f"{name} may touch {queues - allowed}"


# -- (4) configuration of every function ----------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_every_function_gets_the_stack_configuration(templates: dict[str, dict[str, Any]], stage: str) -> None:
    template = templates[stage]
    required = set(re.findall(r"""need\(["'](\w+)["']\)""", (ROOT / "chalicelib" / "config.py").read_text()))
    log_groups: set[str] = set()
    for name, function in _functions(template).items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in STACK_ENVIRONMENT.items():
            assert variables.get(key) == value, f"{stage} {name}: {key}={variables.get(key)!r}, expected {value}"
        missing = required - set(variables)
        assert not missing, f"{stage} {name} lacks configuration {sorted(missing)}"
        log_group = function["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        assert template["Resources"].get(log_group, {}).get("Type") == "AWS::Logs::LogGroup", f"{name}: {log_group}"
        log_groups.add(log_group)
    assert len(log_groups) == len(_functions(template)), "each function logs into its own group"


# -- (5) indexes: code, template and policies agree ---------------------------------------------------------------
def test_indexes_used_by_the_code_exist_and_may_be_queried(policies: dict[str, dict[str, Any]]) -> None:
    used = _index_names_used_by_code()
    assert used, f"no IndexName found in {DYNAMO_ADAPTER}"
    defined = {index["IndexName"] for index in table_properties()["GlobalSecondaryIndexes"]}
    assert used <= defined, f"indexes queried but not in infra/resources.json: {sorted(used - defined)}"
    for index in sorted(used):
        assert _all_grants(policies, "dynamodb:Query", "${PortalTable.Arn}/index/" + index), index
    for function, policy in policies.items():
        granted = {
            _as_sub(r).removeprefix("${PortalTable.Arn}/index/")
            for s in _statements(policy)
            for r in _as_list(s["Resource"])
            if _as_sub(r).startswith("${PortalTable.Arn}/index/")
        }
        assert granted <= defined, f"{function} may query indexes that do not exist: {sorted(granted - defined)}"


# -- (6) the tables tests build are the tables that deploy ---------------------------------------------------------
def _index_shape(indexes: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
    return {i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"]) for i in indexes}


def test_table_built_by_the_tests_matches_the_packaged_template(templates: dict[str, dict[str, Any]]) -> None:
    packaged = templates["dev"]["Resources"]["PortalTable"]["Properties"]
    assert packaged == table_properties(), "chalice's merge changed PortalTable"
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client, "portal-infra-check")
        table = client.describe_table(TableName="portal-infra-check")["Table"]
        ttl = client.describe_time_to_live(TableName="portal-infra-check")["TimeToLiveDescription"]
    assert table["KeySchema"] == packaged["KeySchema"]
    by_name = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert by_name == {a["AttributeName"]: a["AttributeType"] for a in packaged["AttributeDefinitions"]}
    assert _index_shape(table["GlobalSecondaryIndexes"]) == _index_shape(packaged["GlobalSecondaryIndexes"])
    assert not table.get("LocalSecondaryIndexes") and "LocalSecondaryIndexes" not in packaged
    assert table["BillingModeSummary"]["BillingMode"] == packaged["BillingMode"]
    assert ttl["AttributeName"] == packaged["TimeToLiveSpecification"]["AttributeName"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


# -- (7) the merge template is what infra/stack/ generates --------------------------------------------------------
def test_resources_json_is_generated_from_infra_stack() -> None:
    assert RESOURCES.read_text() == stack.render(), "infra/resources.json is stale: run `python -m infra.stack`"


# -- (8) alarms: metric, threshold, action --------------------------------------------------------------------------
SCHEDULED = {s.name for s in app.event_sources if type(s).__name__ == "ScheduledEventConfig"}
API = {"ApiName": {"Fn::Sub": "${AWS::StackName}"}, "Stage": "api"}
ORDERS_QUEUE = {"QueueName": {"Fn::GetAtt": ["OrdersQueue", "QueueName"]}}
DEAD_LETTERS = {"QueueName": {"Fn::GetAtt": ["OrdersDeadLetterQueue", "QueueName"]}}
WORK_QUEUE = {"QueueName": {"Fn::GetAtt": ["WorkQueue", "QueueName"]}}
WORK_DEAD_LETTERS = {"QueueName": {"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}}
TABLE = {"TableName": {"Ref": "PortalTable"}}
MAIL = {"ses:configuration-set": {"Ref": "MailConfigurationSet"}}


def _expected_alarms() -> dict[str, tuple[str, str, dict[str, Any], str, float, str, str]]:
    """name -> (namespace, metric, dimensions, statistic, threshold, comparison, missing data): written out here,
    independently of infra/stack/, as the runbook describes them."""
    gt, lt, ge = "GreaterThanThreshold", "LessThanThreshold", "GreaterThanOrEqualToThreshold"
    ns = metrics.NAMESPACE
    alarms = {
        "OrdersDeadLetterAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", DEAD_LETTERS, "Maximum", 0, gt, "n"),
        "OrdersAgeAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage", ORDERS_QUEUE, "Maximum", 900, gt, "n"),
        "WorkDeadLetterAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", WORK_DEAD_LETTERS, "Maximum", 0, gt,
                                "n"),
        "WorkAgeAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage", WORK_QUEUE, "Maximum", 21600, gt, "n"),
        "OutboxBacklogAlarm": (ns, "OutboxOldestUnsentAgeSeconds", {}, "Maximum", 900, gt, "n"),
        "EmailsFailedAlarm": (ns, "EmailsFailed", {}, "Sum", 5, ge, "n"),
        "Api5XXAlarm": ("AWS/ApiGateway", "5XXError", API, "Average", 0.01, gt, "n"),
        "ApiLatencyAlarm": ("AWS/ApiGateway", "Latency", API, "p99", 3000, gt, "n"),
        "PortalTableReadThrottleAlarm": ("AWS/DynamoDB", "ReadThrottleEvents", TABLE, "Sum", 0, gt, "n"),
        "PortalTableWriteThrottleAlarm": ("AWS/DynamoDB", "WriteThrottleEvents", TABLE, "Sum", 0, gt, "n"),
        "MailBounceRateAlarm": ("AWS/SES", "Reputation.BounceRate", MAIL, "Maximum", 0.04, gt, "n"),
        "MailComplaintRateAlarm": ("AWS/SES", "Reputation.ComplaintRate", MAIL, "Maximum", 0.0008, gt, "n"),
    }
    for name in {s.name for s in app.event_sources} | {"api_handler"}:
        function = {"FunctionName": {"Ref": LOGICAL_IDS[name]}}
        for metric in ("Errors", "Throttles"):
            alarms[f"{LOGICAL_IDS[name]}{metric}Alarm"] = ("AWS/Lambda", metric, function, "Sum", 0, gt, "n")
        if name in SCHEDULED:  # did not run, failed or stopped with work left: no JobCompleted, and that breaches
            beat = (ns, "JobCompleted", {"job": name}, "Sum", 1, lt, "breaching")
            alarms[f"{LOGICAL_IDS[name]}HeartbeatAlarm"] = beat
    return {k: (*v[:6], "notBreaching" if v[6] == "n" else v[6]) for k, v in alarms.items()}


@pytest.mark.parametrize("stage", STAGES)
def test_every_alarm_watches_its_metric_at_its_threshold_and_tells_the_alarm_topic(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    alarms = _resources(templates[stage], "AWS::CloudWatch::Alarm")
    expected = _expected_alarms()
    assert set(alarms) == set(expected)
    for name, (namespace, metric, dimensions, statistic, threshold, comparison, missing) in expected.items():
        p = alarms[name]["Properties"]
        assert (p["Namespace"], p["MetricName"]) == (namespace, metric), name
        assert {d["Name"]: d["Value"] for d in p["Dimensions"]} == dimensions, name
        assert p.get("ExtendedStatistic", p.get("Statistic")) == statistic, name
        assert (p["Threshold"], p["ComparisonOperator"], p["TreatMissingData"]) == (threshold, comparison, missing)
        assert p["AlarmActions"] == p["OKActions"] == [{"Ref": "AlarmTopic"}], name
        for dimension in p["Dimensions"]:  # every dimension points at a resource of this stack
            refs = (
                re.findall(r"\$\{([\w:]+)", _as_sub(dimension["Value"])) if isinstance(dimension["Value"], dict) else []
            )
            assert all(r in templates[stage]["Resources"] or r.startswith("AWS::") for r in refs), (name, refs)
    topic = templates[stage]["Resources"]["AlarmTopic"]["Properties"]["Subscription"]
    assert topic == [{"Endpoint": {"Ref": "AlarmEmail"}, "Protocol": "email"}]


def test_heartbeat_period_fits_each_jobs_schedule(templates: dict[str, dict[str, Any]]) -> None:
    """A job's heartbeat window holds at least one scheduled run, so a healthy job never looks missing."""
    rates = {s.name: s.schedule_expression.to_string() for s in app.event_sources if s.name in SCHEDULED}
    unit_s = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
    for name, rate in rates.items():
        period = templates["prod"]["Resources"][f"{LOGICAL_IDS[name]}HeartbeatAlarm"]["Properties"]["Period"]
        if daily := re.fullmatch(r"cron\(\d+ \d+ \* \* \? \*\)", rate):  # a fixed minute and hour: once a day
            assert daily and period >= 86400, (name, rate, period)
            continue
        count, unit = re.fullmatch(r"rate\((\d+) (\w+)\)", rate).groups()  # type: ignore[union-attr]
        assert period >= int(count) * unit_s[unit], (name, rate, period)


def test_every_alarm_and_metric_has_a_runbook_entry(templates: dict[str, dict[str, Any]]) -> None:
    runbook = (ROOT / "infra" / "DEPLOY.md").read_text()
    alarms = _resources(templates["prod"], "AWS::CloudWatch::Alarm")
    missing = [name for name in alarms if f"`{name}`" not in runbook and f"`{_alarm_family(name)}`" not in runbook]
    assert missing == [], "alarms without a runbook entry in infra/DEPLOY.md"
    for name in (metrics.NAMESPACE, metrics.JOB_COMPLETED, metrics.OUTBOX_OLDEST_UNSENT_AGE, metrics.EMAILS_FAILED):
        assert f"`{name}`" in runbook, name


def _alarm_family(name: str) -> str:
    """Per-function alarms share one entry: `<Function>ErrorsAlarm` -> `*ErrorsAlarm`."""
    for suffix in ("ErrorsAlarm", "ThrottlesAlarm", "HeartbeatAlarm"):
        if name.endswith(suffix):
            return f"*{suffix}"
    return name


def test_every_scheduled_function_reports_the_heartbeat_its_alarm_watches() -> None:
    assert {f.name for f in FUNCTIONS if f.heartbeat_period_s} == set(metrics.JOBS) == SCHEDULED


# -- (9) blast radius -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_state_survives_the_stack_and_functions_are_bounded(templates: dict[str, dict[str, Any]], stage: str) -> None:
    resources = templates[stage]["Resources"]
    table = resources["PortalTable"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    kept = ["PortalTable", "LinkSecret", "OrdersQueue", "OrdersDeadLetterQueue"]
    kept += list(_resources(templates[stage], "AWS::Logs::LogGroup"))
    for name in kept:
        assert resources[name].get("DeletionPolicy") == resources[name].get("UpdateReplacePolicy") == "Retain", name
    functions = _functions(templates[stage])
    reserved = {name: f["Properties"].get("ReservedConcurrentExecutions") for name, f in functions.items()}
    assert all(isinstance(n, int) and n > 0 for n in reserved.values()), reserved
    # The API cannot take what intake and the jobs need, and the account keeps its unreserved 100 of a default 1000.
    assert reserved["APIHandler"] + sum(n for k, n in reserved.items() if k != "APIHandler") <= 900
    assert all(f["Properties"]["Tracing"] == "Active" for f in functions.values())


@pytest.mark.parametrize("stage", STAGES)
def test_api_is_traced_logged_and_throttled(templates: dict[str, dict[str, Any]], stage: str) -> None:
    template = templates[stage]
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["TracingEnabled"] is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert {"$context.requestId", "$context.status", "$context.identity.sourceIp"} <= set(
        json.loads(api["AccessLogSetting"]["Format"]).values()
    )
    [everything] = api["MethodSettings"]
    assert (everything["ResourcePath"], everything["HttpMethod"]) == ("/*", "*")
    assert everything["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert everything["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    parameters = template["Parameters"]
    assert 0 < parameters["ApiRateLimit"]["Default"] <= parameters["ApiBurstLimit"]["Default"]


@pytest.mark.parametrize("stage", STAGES)
def test_mail_is_signed_by_the_domain_and_reports_bounces(templates: dict[str, dict[str, Any]], stage: str) -> None:
    resources = templates[stage]["Resources"]
    identity = resources["SenderDomainIdentity"]["Properties"]
    assert identity["EmailIdentity"] == {"Ref": "MailDomain"}
    assert identity["DkimAttributes"] == {"SigningEnabled": True}
    assert identity["ConfigurationSetAttributes"] == {"ConfigurationSetName": {"Ref": "MailConfigurationSet"}}
    destination = resources["MailEventsDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}
    assert set(destination["EventDestination"]["MatchingEventTypes"]) == {"bounce", "complaint"}
    assert destination["EventDestination"]["SnsDestination"] == {"TopicARN": {"Ref": "MailEventsTopic"}}


# -- (10) checkov on the packaged template ----------------------------------------------------------------------------
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.mark.parametrize("stage", STAGES)
def test_packaged_template_passes_checkov_and_every_skip_says_why(packages: dict[str, Path], stage: str) -> None:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed in .venv-checkov (run `make checkov-venv`, which `make test` does)")
    template = str(packages[stage] / "sam.json")
    result = _run(
        [str(CHECKOV), "--skip-download", "--framework", "cloudformation", "--output", "json", "--file", template],
        timeout=300,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov did not run (exit {result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False)
    [cloudformation] = _as_list(report)
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in cloudformation["results"]["failed_checks"]]
    assert failed == []
    assert cloudformation["summary"]["passed"] > 0 and cloudformation["summary"]["parsing_errors"] == 0
    assert cloudformation["summary"]["skipped"] == len(cloudformation["results"]["skipped_checks"]) > 0
    for check in cloudformation["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 30, f"{check['check_id']} on {check['resource']} is skipped without a reason"


@pytest.mark.parametrize("stage", STAGES)
def test_api_gateways_own_answers_have_the_apps_error_shape_and_headers(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    """Unknown routes and methods (MISSING_AUTHENTICATION_TOKEN, as 404), throttling, oversized requests and the
    like are answered by API Gateway itself: the same {"Code", "Message"} JSON, no-store, nosniff and CORS for the
    one portal origin the app allows (the stack parameter that also sets the app's PORTAL_ORIGIN)."""
    template = templates[stage]
    api = template["Resources"]["RestAPI"]
    assert api["Type"] == "AWS::Serverless::Api"
    responses = api["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"} <= set(responses)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    origin = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]["PORTAL_ORIGIN"]
    assert origin == {"Ref": "PortalOrigin"} and "PortalOrigin" in template["Parameters"]
    for kind, response in responses.items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Cache-Control"] == "'no-store'" and headers["X-Content-Type-Options"] == "'nosniff'", kind
        assert headers["Access-Control-Allow-Origin"] == {"Fn::Sub": "'${PortalOrigin}'"}, kind
        body = response["ResponseTemplates"]["application/json"]
        rendered = body.replace("$context.error.responseType", "X").replace("$context.error.messageString", '"m"')
        assert set(json.loads(rendered)) == {"Code", "Message"}, kind


# -- (11) the operations dashboard ----------------------------------------------------------------------------------
GRID_WIDTH = 24
SEARCH_QUERY = re.compile(
    r"""SEARCH\('(?:\{(?P<schema>[^}]*)\}|Namespace="(?P<namespace>[^"]+)") MetricName="(?P<metric>[^"]+)"'"""
)
SUB_VARIABLE = re.compile(r"\$\{([^}!]*)\}")


def _substituted(text: str) -> str:
    """What CloudFormation's Fn::Sub does, with "@<name>" standing for each value: "${X.Arn}" -> "@X.Arn"."""
    return SUB_VARIABLE.sub(lambda m: f"@{m[1]}", text)


def _dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    [dashboard] = _resources(template, "AWS::CloudWatch::Dashboard").values()
    properties = dashboard["Properties"]
    assert properties["DashboardName"] == {"Fn::Sub": "${AWS::StackName}"}, "one dashboard per stack, named after it"
    text = properties["DashboardBody"]["Fn::Sub"]
    known = set(template["Resources"]) | PSEUDO_PARAMETERS
    unknown = [v for v in SUB_VARIABLE.findall(text) if v.split(".")[0] not in known]
    assert unknown == [], f"the dashboard refers to what the template does not define: {unknown}"
    body: dict[str, Any] = json.loads(_substituted(text))
    return body


@dataclass(frozen=True)
class _Drawn:
    namespace: str
    metric: str
    dimensions: dict[str, str]
    options: dict[str, Any]
    widget: dict[str, Any]


def _drawn(body: dict[str, Any]) -> tuple[list[_Drawn], list[tuple[str, str | None, str]]]:
    """The metrics the dashboard draws, and its SEARCH queries as (metric, schema or None, namespace)."""
    drawn: list[_Drawn] = []
    searches: list[tuple[str, str | None, str]] = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for entry in widget["properties"]["metrics"]:
            *parts, options = entry if isinstance(entry[-1], dict) else [*entry, {}]
            if "expression" in options:
                query = SEARCH_QUERY.search(options["expression"])
                assert query, f"an expression the test cannot read: {options['expression']}"
                namespace = query["namespace"] or query["schema"].split(",")[0]
                searches.append((query["metric"], query["schema"], namespace))
                continue
            namespace, metric, *dimensions = parts
            pairs = dict(zip(dimensions[::2], dimensions[1::2], strict=True))
            drawn.append(_Drawn(namespace, metric, pairs, options, widget))
    return drawn, searches


def _emitted_metrics() -> dict[str, set[tuple[tuple[str, str | None], ...]]]:
    """metric -> the dimension sets chalicelib emits it with, read from every `...telemetry.count/seconds(...)` call:
    (name, value) where the code writes the value literally, (name, None) where it is computed."""
    emitted: dict[str, set[tuple[tuple[str, str | None], ...]]] = {}
    trees = {path: ast.parse(path.read_text()) for path in sorted((ROOT / "chalicelib").rglob("*.py"))}
    # The outbox counts through its channel's policy (`policy.sent_metric`): those are the metrics every
    # `ChannelPolicy(sent_metric=metrics.X, ...)` names
    policy_metrics: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("ChannelPolicy"):
                for keyword in node.keywords:
                    value = keyword.value
                    if keyword.arg and isinstance(value, ast.Attribute) and ast.unparse(value.value) == "metrics":
                        policy_metrics.setdefault(keyword.arg, []).append(getattr(metrics, value.attr))
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("count", "seconds")
                and "telemetry" in ast.unparse(node.func.value)
            ):
                continue
            argument = node.args[0]
            if isinstance(argument, ast.Attribute) and ast.unparse(argument.value) == "policy":
                names = list(policy_metrics.get(argument.attr, []))
            else:
                names = [
                    getattr(metrics, n.attr)
                    for n in ast.walk(argument)
                    if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "metrics"
                ]
            assert names, f"{path}:{node.lineno}: a metric not named from chalicelib/metrics.py"
            dimensions = tuple(
                sorted(
                    (k.arg or "", k.value.value if isinstance(k.value, ast.Constant) else None) for k in node.keywords
                )
            )
            for name in names:
                emitted.setdefault(name, set()).add(dimensions)
    return emitted


# The values a computed dimension takes, where they are known in advance (routes are not: the dashboard searches).
DIMENSION_VALUES: dict[str, set[str]] = {
    metrics.JOB: set(metrics.JOBS),
    metrics.CHANNEL: {channel.value for channel in ActivationChannel},
}


def _packaged_sub(value: Any) -> str:
    return _substituted(_as_sub(value))


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_body_is_json_with_widgets_inside_the_grid(templates: dict[str, dict[str, Any]], stage: str) -> None:
    body = _dashboard_body(templates[stage])
    widgets = body["widgets"]
    assert 0 < len(widgets) <= 500  # CloudWatch's limit per dashboard
    cells: set[tuple[int, int]] = set()
    for widget in widgets:
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        assert x >= 0 and y >= 0 and width > 0 and height > 0 and x + width <= GRID_WIDTH, widget
        area = {(col, row) for col in range(x, x + width) for row in range(y, y + height)}
        assert not cells & area, f"widgets overlap at {sorted(cells & area)[:3]}"
        cells |= area
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "@AWS::Region", widget["properties"]["title"]
            assert widget["properties"]["metrics"], widget["properties"]["title"]
        if widget["type"] == "alarm":
            assert 0 < len(widget["properties"]["alarms"]) <= 100
    assert body["periodOverride"] == "inherit", "the alarms' periods, not the time range's, so threshold lines hold"


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_lists_every_alarm_and_draws_its_metric_at_its_threshold(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    template = templates[stage]
    body = _dashboard_body(template)
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    listed = [arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]
    assert sorted(listed) == sorted(f"@{name}.Arn" for name in alarms), "the alarm status widget lists every alarm"
    drawn, _ = _drawn(body)
    for name, alarm in alarms.items():
        p = alarm["Properties"]
        dimensions = {d["Name"]: _packaged_sub(d["Value"]) for d in p["Dimensions"]}
        statistic = p.get("ExtendedStatistic", p.get("Statistic"))
        lines = [
            d
            for d in drawn
            if (d.namespace, d.metric, d.dimensions) == (p["Namespace"], p["MetricName"], dimensions)
            and (d.options.get("stat"), d.options.get("period")) == (statistic, p["Period"])
        ]
        assert lines, f"{name}: its metric is not drawn as it evaluates it ({statistic} per {p['Period']} s)"
        thresholds = [
            a
            for d in lines
            for a in d.widget["properties"].get("annotations", {}).get("horizontal", [])
            if a["value"] == p["Threshold"] and name in a["label"]
        ]
        assert thresholds, f"{name}: no threshold line labelled with the alarm's name"


def test_dashboard_draws_every_custom_metric_with_the_dimensions_the_code_emits(
    templates: dict[str, dict[str, Any]],
) -> None:
    emitted = _emitted_metrics()
    assert set(emitted) == set(stack.metric_names()), (
        "chalicelib/metrics.py and the metrics the code emits differ: "
        f"named, never emitted {sorted(set(stack.metric_names()) - set(emitted))}, "
        f"emitted, not named {sorted(set(emitted) - set(stack.metric_names()))}"
    )
    # The EMF lines carry exactly the dimensions the call names (no Powertools `service`), or no widget finds them.
    lines: list[str] = []
    telemetry = EmfTelemetry(write=lines.append)
    telemetry.count(metrics.JOB_COMPLETED, job=metrics.DELIVER_OUTBOX)
    telemetry.count(metrics.EMAILS_SENT)
    telemetry.flush()
    written = sorted(json.dumps(json.loads(line)["_aws"]["CloudWatchMetrics"]) for line in lines)
    assert written == sorted(
        json.dumps(
            [{"Namespace": metrics.NAMESPACE, "Dimensions": [dimensions], "Metrics": [{"Name": m, "Unit": "Count"}]}]
        )
        for m, dimensions in ((metrics.JOB_COMPLETED, [metrics.JOB]), (metrics.EMAILS_SENT, []))
    )
    drawn, searches = _drawn(_dashboard_body(templates["prod"]))
    missing = []
    for metric, dimension_sets in sorted(emitted.items()):
        for dimensions in dimension_sets:
            names = {name for name, _ in dimensions}
            found = [d for d in drawn if (d.namespace, d.metric) == (metrics.NAMESPACE, metric)]
            found = [d for d in found if set(d.dimensions) == names]
            for name, value in dimensions:
                wanted = {value} if value is not None else DIMENSION_VALUES.get(name)
                if wanted is None:
                    found = []  # values not known in advance: only a search finds them
                elif not wanted <= {d.dimensions[name] for d in found}:
                    found = []
            searched = any(
                (m, namespace) == (metric, metrics.NAMESPACE)
                and (schema is None or set(schema.split(",")[1:]) == names)
                for m, schema, namespace in searches
            )
            if not found and not searched:
                missing.append(f"{metric} {dict(dimensions)}")
    assert missing == [], "emitted but on no widget with these dimensions"


@pytest.mark.parametrize("stage", STAGES)
def test_dashboard_has_every_functions_and_every_queues_widgets(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    template = templates[stage]
    drawn, _ = _drawn(_dashboard_body(template))

    def lines(namespace: str, metric: str, dimensions: dict[str, str]) -> list[_Drawn]:
        return [d for d in drawn if (d.namespace, d.metric, d.dimensions) == (namespace, metric, dimensions)]

    def limits(found: list[_Drawn]) -> set[float]:
        return {a["value"] for d in found for a in d.widget["properties"].get("annotations", {}).get("horizontal", [])}

    for name, function in _functions(template).items():
        function_name = {"FunctionName": f"@{name}"}
        for metric in ("Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions"):
            assert lines("AWS/Lambda", metric, function_name), f"{name}: no {metric} widget"
        reserved = function["Properties"]["ReservedConcurrentExecutions"]
        assert reserved in limits(lines("AWS/Lambda", "ConcurrentExecutions", function_name)), name
        timeout_ms = function["Properties"]["Timeout"] * 1000
        assert timeout_ms in limits(lines("AWS/Lambda", "Duration", function_name)), name
    queues = _resources(template, "AWS::SQS::Queue")
    dead_letter_queues = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    for name in queues:
        queue_name = {"QueueName": f"@{name}.QueueName"}
        assert lines("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue_name), f"{name}: depth not drawn"
        if name not in dead_letter_queues:
            assert lines("AWS/SQS", "ApproximateAgeOfOldestMessage", queue_name), f"{name}: age not drawn"


def test_runbook_explains_every_row_of_the_dashboard(templates: dict[str, dict[str, Any]]) -> None:
    runbook = (ROOT / "infra" / "DEPLOY.md").read_text()
    assert "\n## Dashboard\n" in runbook
    section = runbook.split("\n## Dashboard\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        w["properties"]["markdown"].splitlines()[0].removeprefix("## ")
        for w in _dashboard_body(templates["prod"])["widgets"]
        if w["type"] == "text"
    ]
    assert rows and [row for row in rows if f"**{row}**" not in section] == []
