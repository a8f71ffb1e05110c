"""The local Dagster instance the CLI runs on (DAGSTER_HOME, seeded with our dagster.yaml)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg

from studio_assets.settings import PROJECT_ROOT, Settings

__all__ = ["PROJECT_ROOT", "ensure_dagster_home", "local_instance"]


def ensure_dagster_home(settings: Settings) -> Path:
    """Create DAGSTER_HOME with the project's embedded-default dagster.yaml if it has none."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(PROJECT_ROOT / "dagster.yaml", config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def local_instance(settings: Settings) -> dg.DagsterInstance:
    ensure_dagster_home(settings)
    return dg.DagsterInstance.get()
