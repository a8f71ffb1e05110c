"""A second record of accepted submits, in storage, for when the app DB cannot take one.

Right after the provider accepts a job, its request id is written under the slot's submit
token here as well as to the DB. If the DB write never lands (an outage, the worker killed in
between), reconciliation finds the id here — storage is shared by every worker, unlike a local
disk, and is a different system from the DB. A provider's completion callback can write the same
record (`record`), so a job accepted by a process that died at once is still found.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import dagster as dg

from resources.keys import check_key
from resources.storage import StorageResource

log = dg.get_dagster_logger(__name__)


def journal_key(token: str) -> str:
    return check_key(f"journal/submits/{token}.json")


def record(storage: StorageResource, token: str, request_id: str) -> bool:
    """Write the record; whether it was written (never raises: the DB write still follows)."""
    try:
        with tempfile.TemporaryDirectory(prefix="studio-journal-") as tmp:
            path = Path(tmp) / "entry.json"
            path.write_text(json.dumps({"token": token, "request_id": request_id}))
            storage.put_file(journal_key(token), path, "application/json")
        return True
    except Exception as exc:  # storage down too: the DB write with patience is what is left
        log.warning(f"could not journal request {request_id} ({type(exc).__name__})")
        return False


def lookup(storage: StorageResource, token: str) -> str | None:
    """The request id recorded for `token`, if any."""
    uri = storage.uri_for(journal_key(token))
    try:
        if not storage.exists(uri):
            return None
        with tempfile.TemporaryDirectory(prefix="studio-journal-") as tmp:
            entry = json.loads(storage.download(uri, Path(tmp) / "entry.json").read_text())
    except Exception as exc:
        log.warning(f"could not read the submit journal ({type(exc).__name__})")
        return None
    request_id = entry.get("request_id") if entry.get("token") == token else None
    return request_id if isinstance(request_id, str) and request_id else None


def forget(storage: StorageResource, token: str) -> None:
    """Drop the record once the DB holds the id (best effort)."""
    try:
        storage.delete(storage.uri_for(journal_key(token)))
    except Exception as exc:
        log.warning(f"could not clear the submit journal entry ({type(exc).__name__})")
