"""The webhook outbox's deliverer: every pending event whose next attempt has come is POSTed
again (backing off for hours, `resources.repository.outbox`), so a receiver that was down when
a project ended still hears it once it is back."""

from __future__ import annotations

import dagster as dg

from resources.database import AppDatabase
from resources.webhooks import WebhookResource
from studio_assets.runtime.notifications import deliver_due


@dg.sensor(minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def webhook_outbox_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase, webhooks: WebhookResource
) -> dg.SkipReason:
    """Delivers the webhook events still pending (each at least once, with its stable id)."""
    if not webhooks.enabled:
        return dg.SkipReason("no STUDIO_WEBHOOK_URL: nothing to deliver")
    sent = deliver_due(app_db, webhooks, context.log)
    return dg.SkipReason(f"delivered {sent} pending webhook event(s)")
