"""Deleting a video project, an image (and, when asked, its newer versions) or an image project:
its stored objects first, then its rows, so a delete cut short is finished by running it again.

Deleted objects: everything under the item's own folders (clips, transitions, speech, every
version's results, renditions, thumbnails, captions, previews, ZIPs), its submit-journal
entries, and the inputs it read from its workspace (uploaded photos, masks, logos, its own
music) — except an object a row that stays still reads (an input two items share, a result a
later edit or a video was made from). Never the shared library, never another workspace's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dagster as dg
from sqlalchemy.orm import Session

from resources.database import AppDatabase
from resources.errors import InputRejected, StudioError
from resources.keys import image_folder, image_project_folder, video_folder, workspace_prefixes
from resources.provider.base import ProviderResource
from resources.repository import removal, rows
from resources.storage import StorageResource
from resources.webhooks import WebhookResource
from studio_assets.app import control
from studio_assets.partitions import image_edits, images, video_projects
from studio_assets.runtime.submit_journal import journal_key

STOP_WAIT_S = 120.0
"""How long `--cancel` waits for a canceled run to stop before deleting under it."""


@dataclass(frozen=True)
class Deleted:
    row_id: str
    objects: int


def delete_item(
    db: AppDatabase, storage: StorageResource, row_id: str, with_newer: bool = False
) -> Deleted:
    """Delete `row_id`'s objects, then its rows (refused while it is queued or running)."""
    with db.session() as session:
        item = removal.owned(session, row_id, with_newer)
        candidates = _candidate_keys(storage, item)
        keys = [key for key in candidates if not _shared(session, storage, key, item)]
    storage.delete_keys(keys)
    with db.session() as session:
        again = removal.owned(session, row_id, with_newer)  # still idle: nobody queued it since
        removal.remove(session, again)
    return Deleted(row_id, len(keys))


def forget_partitions(instance: dg.DagsterInstance, row_ids: list[str]) -> None:
    """The deleted rows' Dagster partitions (their runs stay in the history)."""
    for definition in (video_projects, images, image_edits):
        assert definition.name is not None
        for row_id in row_ids:
            instance.delete_dynamic_partition(definition.name, row_id)


def owned_ids(db: AppDatabase, row_id: str, with_newer: bool = False) -> list[str]:
    """The row ids a delete of `row_id` removes (checked as the delete itself checks)."""
    with db.session() as session:
        item = removal.owned(session, row_id, with_newer)
    return [*item.projects, *item.images, *item.image_projects]


def wait_until_stopped(instance: dg.DagsterInstance, run_ids: list[str]) -> None:
    """Until every run in `run_ids` has ended, or STOP_WAIT_S has passed (then refuse: a run
    still writing would leave objects behind)."""
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
        if all(run is None or run.is_finished for run in runs):
            return
        time.sleep(0.5)
    raise StudioError(
        f"the canceled run did not stop within {STOP_WAIT_S:.0f} s; nothing was deleted: try "
        "again once `studio status` says canceled"
    )


def _candidate_keys(storage: StorageResource, item: removal.Owned) -> list[str]:
    """Every key the item may own: its folders' contents, its journal entries, and those of its
    inputs and outputs that are in its workspace (not the library, not a URL elsewhere)."""
    ws = item.workspace_id
    folders = [
        *(video_folder(ws, project) for project in item.projects),
        *(image_folder(ws, image) for image in item.images),
        *(image_project_folder(ws, project) for project in item.image_projects),
        # A photo's project: its stored ZIPs held the photo (and went stale when it moved).
        *([image_project_folder(ws, item.touched_project)] if item.touched_project else []),
    ]
    keys = {key for folder in folders for key in storage.keys_under(folder)}
    keys |= {journal_key(token) for token in item.tokens}
    keys |= set(keys_in_workspace(storage, ws, item.inputs | item.outputs))
    return sorted(keys)


def keys_in_workspace(storage: StorageResource, workspace_id: str, uris: set[str]) -> list[str]:
    """The keys of those `uris` that are stored in the workspace (not the shared library, not
    an https URL, not another storage's): the only ones an item may delete."""
    scopes = workspace_prefixes(workspace_id, storage.upload_prefix)
    keys = []
    for uri in sorted(uris):
        try:
            key = storage.key_of(uri)
        except InputRejected:
            continue
        if key.startswith(scopes):
            keys.append(key)
    return keys


def _shared(session: Session, storage: StorageResource, key: str, item: removal.Owned) -> bool:
    """Whether a row that stays reads the object (kept, however it came to be here)."""
    return not key.startswith("journal/") and removal.still_read(
        session, storage.uri_for(key), item
    )


def cancel_first(
    db: AppDatabase,
    provider: ProviderResource,
    instance: dg.DagsterInstance,
    webhooks: WebhookResource,
    row_id: str,
) -> None:
    """`--cancel`: a queued or running item is canceled (its provider requests too) and its
    runs are waited for, so nothing writes under the delete; an idle one is left as it is."""
    with db.session() as session:
        kind = rows.find_kind(session, row_id)
        row = rows.get(session, rows.model_for(kind), row_id)
        parts = [row] if kind != "image_project" else removal.versions(session, row_id)
        if all(part.status not in removal.BUSY for part in parts):
            return
    control.cancel(db, provider, instance, row_id, webhooks)
    wait_until_stopped(instance, [part.run_id for part in parts if part.run_id])
