"""Subscription portal: Chalice app wiring only. No I/O and no environment reads at import."""

from chalice.app import Chalice, CloudWatchEvent, Cron, Rate, SNSEvent, SQSEvent

from chalicelib.api.activation_pages import pages
from chalicelib.api.assets import assets
from chalicelib.api.billing_routes import billing_api
from chalicelib.api.contract_routes import contract_routes
from chalicelib.api.http import edge_middleware
from chalicelib.api.pipeline import route_table
from chalicelib.api.subscription_routes import api
from chalicelib.observability import observe

# Every portal route, in the order the OpenAPI document lists them; `make docs` (tools/docs.py) reads it from here.
ROUTE_TABLE = route_table(billing_api, api)

app = Chalice(app_name="subscription-portal")
app.register_blueprint(pages)
app.register_blueprint(assets)
app.register_blueprint(api)
app.register_blueprint(contract_routes(ROUTE_TABLE))
app.register_blueprint(billing_api)
app.register_middleware(observe, "all")  # outermost: JSON logs with correlation ids, metrics flushed at the end
app.register_middleware(edge_middleware, "http")
app.api.binary_types.append("application/pdf")  # the invoice and agreement PDFs (the frontend sends that Accept)


@app.on_sqs_message(queue="subscription-portal-orders", batch_size=10)
def intake_orders(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import jobs  # not imported by the API function's cold start

    return jobs.intake_batch(event)


@app.schedule(Rate(1, unit=Rate.HOURS))
def cleanup_unactivated(event: CloudWatchEvent) -> dict[str, object]:
    from chalicelib import jobs

    return jobs.run_cleanup(event.context)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def deliver_outbox(event: CloudWatchEvent) -> dict[str, object]:
    from chalicelib import jobs

    return jobs.run_outbox(event.context)


@app.on_sns_message(topic="subscription-portal-mail-events")
def record_mail_event(event: SNSEvent) -> dict[str, str]:
    from chalicelib import jobs

    return jobs.record_mail_notice(event.to_dict())


@app.schedule(Cron(30, 6, "*", "*", "?", "*"))  # daily, 06:30 UTC: reminders arrive in the European morning
def send_reminders(event: CloudWatchEvent) -> dict[str, object]:
    from chalicelib import jobs

    return jobs.run_reminders(event.context)


@app.schedule(Cron(0, 5, "*", "*", "?", "*"))  # daily, 05:00 UTC: the day's renewals before the reminders
def process_renewals(event: CloudWatchEvent) -> dict[str, object]:
    from chalicelib import jobs

    return jobs.run_renewals(event.context)


@app.on_sqs_message(queue="subscription-portal-work", batch_size=4)
def job_worker(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib import jobs

    return jobs.work_batch(event)
