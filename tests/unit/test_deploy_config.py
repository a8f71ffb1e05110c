"""The production configs load: deploy/dagster.yaml on the real Postgres, the Helm values."""

from __future__ import annotations

import importlib
import secrets
import shutil
import sys
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]


def test_production_instance_runs_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.peers import PG_ADMIN_DSN, _drop_database

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
        assert {"key": "studio/queue", "value": "video", "limit": 8} in limits
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
    assert [t["key"] for t in queue["tagConcurrencyLimits"]] == [
        "studio/queue",
        "studio/queue",
        "studio/workspace",
    ]
    assert values["dagsterDaemon"]["runRetries"]["retryOnAssetOrOpFailure"] is False


MONITORING = {
    "enabled": True,
    "start_timeout_seconds": 180,
    "cancel_timeout_seconds": 120,
    "max_resume_run_attempts": 0,
    "poll_interval_seconds": 30,
    "free_slots_after_run_end_seconds": 300,
}


@pytest.mark.parametrize("config", ["dagster.yaml", "deploy/dagster.yaml"])
def test_run_monitoring_is_valid_dagster_instance_config(
    config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both instance files pass Dagster's own schema (a misspelt key fails here, not in prod)."""
    from dagster._core.instance.config import dagster_instance_config

    for key in ("HOST", "PORT", "USER", "PASSWORD", "DB"):
        monkeypatch.setenv(f"DAGSTER_PG_{key}", "5432" if key == "PORT" else "x")
    shutil.copyfile(ROOT / config, tmp_path / "dagster.yaml")
    validated, _ = dagster_instance_config(str(tmp_path))
    assert validated["run_monitoring"] == MONITORING
    assert validated["run_retries"]["enabled"] is True


def test_the_default_instance_monitors_runs_as_configured(tmp_path: Path) -> None:
    shutil.copyfile(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 180
        assert instance.run_monitoring_cancel_timeout_seconds == 120
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_poll_interval_seconds == 30
        # Why studio needs its own dead-worker sensor (sensors/run_health.py):
        assert instance.run_launcher.supports_check_run_worker_health is False
        assert instance.run_launcher.supports_resume_run is False


def test_helm_run_monitoring_matches_the_instance_files() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "helm-values.yaml").read_text())
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    camel = {
        "".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): v
        for k, v in MONITORING.items()
    }
    assert monitoring == camel


def test_every_instance_has_the_same_queue_limits() -> None:
    """One source for the queue limits: dagster.yaml; the production files copy it exactly."""

    def limits(config: dict) -> list[dict]:
        return config["concurrency"]["runs"]["tag_concurrency_limits"]

    local = limits(yaml.safe_load((ROOT / "dagster.yaml").read_text()))
    production = limits(yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text()))
    values = yaml.safe_load((ROOT / "deploy" / "helm-values.yaml").read_text())
    helm = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert {(x["key"], str(x["value"])): x["limit"] for x in local} == {
        ("studio/queue", "video"): 8,
        ("studio/queue", "image"): 4,
        ("studio/workspace", "{'applyLimitPerUniqueValue': True}"): 4,
    }
    assert production == local
    assert helm["tagConcurrencyLimits"] == local


def test_studio_serve_binds_to_localhost_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagit and its GraphQL have no login: `studio serve` listens on 127.0.0.1 by default."""
    from typer.testing import CliRunner

    from studio_assets.cli import app as cli

    execs: list[list[str]] = []
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    monkeypatch.delenv("STUDIO_DATABASE_URL", raising=False)
    monkeypatch.delenv("STUDIO_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(
        cli.serving, "supervise", lambda commands, _env, _cwd: execs.append(commands[0]) or 0
    )
    runner = CliRunner()
    assert runner.invoke(cli.app, ["serve"]).exit_code == 0
    assert runner.invoke(cli.app, ["serve", "--host", "0.0.0.0", "--port", "4000"]).exit_code == 0
    first, second = execs
    assert first[first.index("-h") + 1] == "127.0.0.1" and first[first.index("-p") + 1] == "3000"
    assert second[second.index("-h") + 1] == "0.0.0.0" and second[second.index("-p") + 1] == "4000"


def test_the_celery_instance_is_the_production_one_with_runs_sent_to_celery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/celery/dagster.yaml = deploy/dagster.yaml + CeleryRunLauncher (and a longer start
    timeout: a run may wait in the broker for a free worker); the worker app is the launcher's."""
    celery = yaml.safe_load((ROOT / "deploy" / "celery" / "dagster.yaml").read_text())
    production = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    launcher = celery.pop("run_launcher")
    assert (launcher["module"], launcher["class"]) == (
        "dagster_celery.launcher",
        "CeleryRunLauncher",
    )
    assert celery["run_monitoring"].pop("start_timeout_seconds") == 600
    production["run_monitoring"].pop("start_timeout_seconds")
    assert celery == production

    broker = "pyamqp://guest:guest@broker.internal:5672//"
    monkeypatch.setenv("STUDIO_CELERY_BROKER_URL", broker)
    monkeypatch.setenv("STUDIO_CELERY_BACKEND_URL", "redis://results.internal:6379/0")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    del celery["storage"]  # SQLite in tmp_path: only the launcher is under test here
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({**celery, "run_launcher": launcher}))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_launcher).__name__ == "CeleryRunLauncher"
    sys.modules.pop("studio_assets.celery_worker", None)
    worker = importlib.import_module("studio_assets.celery_worker")
    assert worker.app.conf.broker_url == broker
    assert worker.app.conf.result_backend == "redis://results.internal:6379/0"
    assert {"execute_job", "resume_job"} <= set(worker.app.tasks)


def test_the_user_code_image_copies_what_exists_and_serves_the_code_location() -> None:
    """deploy/Dockerfile (built from the repository root): every COPY source exists, the image
    holds both instance files, and its default command is the Helm values' code server."""
    lines = (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies and all((ROOT / src).exists() for sources in copies for src in sources)
    copied = {src for sources in copies for src in sources}
    assert {"deploy/dagster.yaml", "deploy/celery/dagster.yaml", "alembic"} <= copied
    values = yaml.safe_load((ROOT / "deploy" / "helm-values.yaml").read_text())
    grpc = values["dagster-user-deployments"]["deployments"][0]["dagsterApiGrpcArgs"]
    command = " ".join(line for line in lines if line.startswith(("CMD", "     ")))
    assert all(f'"{arg}"' in command for arg in grpc) and '"3030"' in command
