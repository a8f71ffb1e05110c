"""The `Definitions` Dagster loads (`studio_assets.definitions:defs`, see workspace.yaml)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from resources.database import AppDatabase
from resources.provider.base import ProviderResource
from resources.provider.local import LocalProvider
from resources.storage import storage_from_url
from resources.webhooks import WebhookResource
from sensors.run_health import dead_run_sensor
from sensors.run_status import run_canceled_sensor, run_failed_sensor
from sensors.submissions import image_submission_sensor, video_submission_sensor
from sensors.webhook_outbox import webhook_outbox_sensor
from studio_assets.assets.final_video import final_video
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.assets.video import transition_clips, video_clips
from studio_assets.jobs import image_job, inpaint_job, video_job
from studio_assets.settings import Settings, load_settings


def build_provider(settings: Settings) -> ProviderResource:
    if settings.provider == "fal":
        from resources.provider.fal import FalProvider

        # An EnvVar of an unset variable fails the run before any asset can tell the row why;
        # an empty key fails each generation with studio's own message instead.
        return FalProvider(
            fal_key=dg.EnvVar("FAL_KEY") if settings.fal_key_set else "",
            fetch_allow_hosts=settings.fetch_allow_hosts,
            callback_url=settings.fal_callback_url,
            max_concurrency=settings.max_concurrent_clips,
            provider_concurrency=settings.provider_concurrency,
        )
    return LocalProvider(
        max_concurrency=settings.max_concurrent_clips,
        provider_concurrency=settings.provider_concurrency,
    )


def build_webhooks(settings: Settings) -> WebhookResource:
    # EnvVar of an unset variable fails when the resource initialises, so only when it is set.
    secret = dg.EnvVar("STUDIO_WEBHOOK_SECRET") if settings.webhook_secret_set else ""
    url = dg.EnvVar("STUDIO_WEBHOOK_URL") if settings.webhook_url else ""  # may hold a token
    return WebhookResource(url=url, secret=secret)


def build_resources(settings: Settings) -> dict[str, object]:
    """The resources every asset and sensor uses, from the environment."""
    return {
        # A URL with a password reaches the resource as an EnvVar: Dagit shows config, not env.
        "app_db": AppDatabase(
            url=dg.EnvVar("STUDIO_DATABASE_URL")
            if settings.database_url_set
            else settings.database_url
        ),
        "storage": storage_from_url(
            settings.storage_url,
            endpoint_url=settings.s3_endpoint_url,
            fetch_allow_hosts=settings.fetch_allow_hosts,
            upload_prefix=settings.upload_prefix,
        ),
        "provider": build_provider(settings),
        "webhooks": build_webhooks(settings),
    }


PROVIDER_KIND = {"fal": "fal", "local": "local"}  # the kind Dagit shows for paid steps


def with_provider_kind(assets: list[dg.AssetsDefinition], provider: str) -> list[Any]:
    """The assets with the kind of the provider that will run them: an asset that calls the
    provider is declared with kind `fal` and shows `local` when the offline engine runs."""

    def retag(spec: dg.AssetSpec) -> dg.AssetSpec:
        if "fal" not in spec.kinds:
            return spec
        return spec.replace_attributes(kinds=(spec.kinds - {"fal"}) | {PROVIDER_KIND[provider]})

    return list(dg.map_asset_specs(retag, assets))


def build_defs(settings: Settings) -> dg.Definitions:
    assets = [enhanced_image, inpainted_image, video_clips, transition_clips, final_video]
    return dg.Definitions(
        assets=with_provider_kind(assets, settings.provider),
        jobs=[image_job, inpaint_job, video_job],
        sensors=[
            image_submission_sensor,
            video_submission_sensor,
            run_failed_sensor,
            run_canceled_sensor,
            dead_run_sensor,
            webhook_outbox_sensor,
        ],
        resources=build_resources(settings),
    )


defs = build_defs(load_settings())
