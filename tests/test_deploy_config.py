"""The production configs load: deploy/dagster.yaml on the real Postgres, the Helm values."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


def test_production_instance_runs_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.peers import PG_ADMIN_DSN, _drop_database

    name = f"studio_deploy_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    for key, value in {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": name,
    }.items():
        monkeypatch.setenv(key, value)
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    try:
        instance = dg.DagsterInstance.from_config(str(tmp_path))
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        instance.add_dynamic_partitions("video_projects", ["vp_deploy_check"])
        assert instance.has_dynamic_partition("video_projects", "vp_deploy_check")
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "studio/queue", "value": "video", "limit": 1} in limits
        instance.dispose()
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            _drop_database(admin, name)


def test_helm_values_launch_runs_on_kubernetes_with_the_studio_code_location() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "helm-values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == [
        "--module-name",
        "studio_assets.definitions",
        "--attribute",
        "defs",
    ]
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert {t["value"] for t in queue["tagConcurrencyLimits"]} == {"video", "image"}
    assert values["dagsterDaemon"]["runRetries"]["retryOnAssetOrOpFailure"] is False
