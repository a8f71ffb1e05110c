"""Fixtures that wire studio's resources onto test peers and a temporary Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from resources.database import AppDatabase
from resources.provider.base import ProviderResource
from resources.provider.local import LocalProvider
from resources.storage import LocalStorage, StorageResource
from resources.webhooks import WebhookResource


@dataclass
class Studio:
    """One studio installation for a test: app DB, storage, provider, Dagster instance, webhooks."""

    db: AppDatabase
    storage: StorageResource
    provider: ProviderResource
    instance: dg.DagsterInstance
    tmp: Path
    webhooks: WebhookResource = field(default_factory=WebhookResource)  # no URL: a no-op

    def resources(self) -> dict[str, Any]:
        return {
            "app_db": self.db,
            "storage": self.storage,
            "provider": self.provider,
            "webhooks": self.webhooks,
        }

    def materialize(
        self, assets: list[Any], partitions: str, key: str, run_config: dict[str, Any] | None = None
    ) -> dg.ExecuteInProcessResult:
        self.instance.add_dynamic_partitions(partitions, [key])
        return dg.materialize(
            assets,
            partition_key=key,
            instance=self.instance,
            resources=self.resources(),
            run_config=run_config or {},
            raise_on_error=False,
        )


@contextmanager
def make_studio(folder: Path) -> Iterator[Studio]:
    """A studio of its own on SQLite in `folder`, for a module's fixture (one run, several
    tests reading it)."""
    from resources.database import upgrade

    url = f"sqlite:///{folder / 'app.db'}"
    upgrade(url)
    with dg.instance_for_test() as instance:
        storage = LocalStorage(root=str(folder / "storage"))
        yield Studio(AppDatabase(url=url), storage, LocalProvider(), instance, folder)


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def studio(app_db: AppDatabase, tmp_path: Path, dagster_instance: dg.DagsterInstance) -> Studio:
    """Studio on the parametrized app DB (SQLite and Postgres), local disk, offline engine."""
    storage = LocalStorage(root=str(tmp_path / "storage"))
    return Studio(app_db, storage, LocalProvider(), dagster_instance, tmp_path)


@pytest.fixture
def sqlite_studio(
    sqlite_app_url: str, tmp_path: Path, dagster_instance: dg.DagsterInstance
) -> Studio:
    """Studio on SQLite only, for the slower pipeline tests."""
    storage = LocalStorage(root=str(tmp_path / "storage"))
    return Studio(
        AppDatabase(url=sqlite_app_url), storage, LocalProvider(), dagster_instance, tmp_path
    )


@pytest.fixture
def s3_studio(
    pg_app_url: str,
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
    dagster_instance: dg.DagsterInstance,
) -> Studio:
    """Studio as in production: Postgres app DB and S3 storage (a local S3 server)."""
    from resources.storage import S3Storage

    storage = S3Storage(bucket=s3_bucket, prefix="studio", endpoint_url=s3_server)
    return Studio(AppDatabase(url=pg_app_url), storage, LocalProvider(), dagster_instance, tmp_path)


@pytest.fixture
def production(
    standin: Any,
    pg_app_url: str,
    pg_dagster_instance: dg.DagsterInstance,
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> Studio:
    """Studio as in production, on fal's protocol: the fal stand-in, Postgres for both stores,
    S3 (a local S3 server)."""
    from resources.provider.fal import FalProvider
    from resources.storage import S3Storage
    from tests.support.fal_standin import FAL_KEY

    provider = FalProvider(fal_key=FAL_KEY, poll_interval_s=1.0, fetch_allow_hosts=standin.host)
    storage = S3Storage(bucket=s3_bucket, prefix="prod", endpoint_url=s3_server)
    return Studio(AppDatabase(url=pg_app_url), storage, provider, pg_dagster_instance, tmp_path)
