"""Generates `infra/resources.json`, the template `chalice package --merge-template` merges into chalice's output.
One module per concern: `functions`, `data` (table, bucket, secret), `messaging` (queues, mail), `api`, `alarms`,
`dashboard` (with its `widgets`), and `template`, which puts them together.

Run `python -m infra.stack` after editing the package; `tests/test_infra.py` fails while the committed JSON differs.

Adding a Lambda function (for example billing's `process_renewals`) is three small edits:
1. one `Function(...)` line in FUNCTIONS (`functions.py`: its chalice name, reserved concurrency, heartbeat if
   scheduled): this gives it the stack's environment, its own retained log group, X-Ray, its Errors, Throttles (and
   heartbeat) alarms and its row on the dashboard;
2. its IAM policy `.chalice/policies/<name>.json` holding exactly what its code calls (the test derives that list by
   running the function on moto and says what is missing or extra);
3. `"<name>": {"iam_policy_file": "policies/<name>.json"}` under `lambda_functions` in `.chalice/config.json`.
Every alarm gets a runbook entry in `infra/DEPLOY.md` (the test checks that too).
"""

from infra.stack.dashboard import metric_names
from infra.stack.functions import FUNCTIONS, SQS_SOURCES, Function
from infra.stack.template import OUTPUT, main, render, template
from infra.stack.widgets import fn_sub_text

__all__ = [
    "FUNCTIONS", "OUTPUT", "SQS_SOURCES", "Function", "fn_sub_text", "main", "metric_names", "render", "template",
]
