"""Configuration from the environment (DESIGN.md §3.2), read once where definitions are built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from resources.errors import InputRejected, StudioError
from resources.fetch import parse_allow_hosts
from resources.keys import check_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "studio"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    database_url_set: bool
    storage_url: str
    s3_endpoint_url: str | None
    provider: str
    fetch_allow_hosts: str
    dagster_home: Path
    webhook_url: str | None
    webhook_secret_set: bool
    max_concurrent_clips: int
    provider_concurrency: int
    fal_callback_url: str
    upload_prefix: str
    fal_key_set: bool


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Resolve every STUDIO_* variable with its embedded default."""
    env = os.environ if env is None else env
    home = Path(env.get("STUDIO_HOME") or default_home()).expanduser().resolve()
    provider = env.get("STUDIO_PROVIDER") or ("fal" if env.get("FAL_KEY") else "local")
    if provider not in ("local", "fal"):
        raise StudioError(f"STUDIO_PROVIDER must be 'local' or 'fal', not {provider!r}")
    parse_allow_hosts(env.get("STUDIO_FETCH_ALLOW_HOSTS", "").split(","))  # host:port, or fail now
    return Settings(
        home=home,
        database_url=env.get("STUDIO_DATABASE_URL") or f"sqlite:///{home / 'studio.db'}",
        database_url_set=bool(env.get("STUDIO_DATABASE_URL")),
        storage_url=env.get("STUDIO_STORAGE_URL") or (home / "storage").as_uri(),
        s3_endpoint_url=env.get("STUDIO_S3_ENDPOINT_URL") or None,
        provider=provider,
        fetch_allow_hosts=env.get("STUDIO_FETCH_ALLOW_HOSTS", ""),
        dagster_home=Path(env.get("DAGSTER_HOME") or home / "dagster").resolve(),
        webhook_url=env.get("STUDIO_WEBHOOK_URL") or None,
        webhook_secret_set=bool(env.get("STUDIO_WEBHOOK_SECRET")),
        max_concurrent_clips=_count(env, "STUDIO_MAX_CONCURRENT_CLIPS", 3, least=1),
        provider_concurrency=_count(env, "STUDIO_PROVIDER_CONCURRENCY", 10, least=0),
        fal_callback_url=env.get("STUDIO_FAL_CALLBACK_URL", ""),
        upload_prefix=_upload_prefix(env.get("STUDIO_UPLOAD_PREFIX", "")),
        fal_key_set=bool(env.get("FAL_KEY", "").strip()),
    )


def database_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for a server database or an in-memory one)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def is_checkout(root: Path = PROJECT_ROOT) -> bool:
    """Whether `root` is this repository (studio run from a clone) rather than site-packages."""
    pyproject = root / "pyproject.toml"
    if not (pyproject.is_file() and (root / "workspace.yaml").is_file()):
        return False
    return f'name = "{APP_NAME}"' in pyproject.read_text(errors="replace")


def default_home() -> Path:
    """`.studio` in the checkout, else the platform's user data dir — never the current folder,
    so every command finds the same database wherever it is run from."""
    if is_checkout():
        return PROJECT_ROOT / ".studio"
    import platformdirs

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def _count(env: Mapping[str, str], name: str, default: int, least: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < least:
        raise StudioError(f"{name} must be a whole number of at least {least}, not {value!r}")
    return int(value)


def _upload_prefix(value: str) -> str:
    """STUDIO_UPLOAD_PREFIX as a plain key prefix (`incoming`, `app/uploads`), or empty."""
    prefix = value.strip().strip("/")
    try:
        return check_key(prefix) if prefix else ""
    except InputRejected:
        raise StudioError(
            f"STUDIO_UPLOAD_PREFIX must be a plain key prefix such as 'incoming', not {value!r}"
        ) from None
