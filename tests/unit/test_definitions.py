"""The code location Dagster loads: names from the contract, partitions, jobs, sensors."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import yaml

from studio_assets.definitions import build_defs
from studio_assets.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_match_the_contract(tmp_path: Path) -> None:
    defs = build_defs(load_settings({"STUDIO_HOME": str(tmp_path)}))
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == {
        "enhanced_image",
        "inpainted_image",
        "video_clips",
        "transition_clips",
        "final_video",
    }
    partitions = {key: spec.partitions_def for key, spec in specs.items()}
    assert all(isinstance(p, dg.DynamicPartitionsDefinition) for p in partitions.values())
    assert partitions["enhanced_image"].name == "images"
    assert partitions["inpainted_image"].name == "image_edits"
    assert {partitions[k].name for k in ("video_clips", "transition_clips", "final_video")} == {
        "video_projects"
    }
    for name, queue in (("image_job", "image"), ("inpaint_job", "image"), ("video_job", "video")):
        job = defs.resolve_job_def(name)
        assert job.tags["studio/queue"] == queue
    assert str(defs.resolve_job_def("video_job").tags["dagster/max_runtime"]) == "1800"
    sensors = {s.name: s for s in defs.sensors}
    assert {"image_submission_sensor", "video_submission_sensor"} <= set(sensors)
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())


def test_the_provider_switches_to_fal_with_a_key(tmp_path: Path) -> None:
    local = build_defs(load_settings({"STUDIO_HOME": str(tmp_path)}))
    fal = build_defs(load_settings({"STUDIO_HOME": str(tmp_path), "FAL_KEY": "k"}))
    assert type(local.resources["provider"]).__name__ == "LocalProvider"
    assert type(fal.resources["provider"]).__name__ == "FalProvider"
    # STUDIO_MAX_CONCURRENT_CLIPS is the fan-out's width, whichever provider runs
    two = {"STUDIO_HOME": str(tmp_path), "STUDIO_MAX_CONCURRENT_CLIPS": "2"}
    for env in (two, {**two, "FAL_KEY": "k"}):
        assert build_defs(load_settings(env)).resources["provider"].max_concurrency == 2
    assert local.resources["provider"].max_concurrency == 3
    # Dagit's kinds say which provider runs the paid steps
    kinds = {
        name: {s.key.to_user_string(): s.kinds for s in defs.resolve_all_asset_specs()}
        for name, defs in (("local", local), ("fal", fal))
    }
    assert kinds["local"]["video_clips"] == {"local", "video"}
    assert kinds["fal"]["video_clips"] == {"fal", "video"}
    assert kinds["local"]["enhanced_image"] == {"local", "image"}
    assert kinds["local"]["final_video"] == kinds["fal"]["final_video"] == {"ffmpeg", "video"}


def test_instance_limits_runs_per_queue_and_workspace_and_retries_crashes(tmp_path: Path) -> None:
    shutil.copyfile(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    limits = {(t["key"], str(t["value"])): t["limit"] for t in queue.tag_concurrency_limits}
    assert limits == {
        ("studio/queue", "video"): 8,
        ("studio/queue", "image"): 4,
        ("studio/workspace", "{'applyLimitPerUniqueValue': True}"): 4,
    }
    assert queue.max_concurrent_runs == 12
    assert instance.run_coordinator.dequeue_interval_seconds == 1  # type: ignore[attr-defined]
    assert instance.run_monitoring_enabled
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    assert not instance.run_retries_retry_on_asset_or_op_failure
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]
    assert (module["module_name"], module["attribute"], module["location_name"]) == (
        "studio_assets.definitions",
        "defs",
        "studio",
    )
