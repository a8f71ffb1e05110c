"""The receiver for provider callbacks: fal's webhook names the request a submit token bought.

With `STUDIO_FAL_CALLBACK_URL` set, every submit asks fal to POST to
`{callback url}/fal/{submit token}?model=…` when the job ends. The receiver writes the request id
into the submit journal (`submit_journal`), so a job that fal accepted while our worker died
before hearing its id is found by reconciliation and waited on — not bought again. The token
is a 128-bit secret of one submit: a caller who does not know it can only write records that
no slot ever reads. `studio callbacks` serves it; put it behind the same proxy as Dagit.
"""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from resources.provider.fal_http import join_request_id
from resources.storage import StorageResource
from studio_assets.runtime import submit_journal

_TOKEN = re.compile(r"[0-9a-f]{32}")
_MODEL = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){1,4}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


def callback_app(storage: StorageResource) -> Starlette:
    """A Starlette app with one route, `POST /fal/{token}`."""

    async def fal_webhook(request: Request) -> JSONResponse:
        token, model = request.path_params["token"], request.query_params.get("model", "")
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        fal_id = body.get("request_id") if isinstance(body, dict) else None
        if not (
            _TOKEN.fullmatch(token)
            and _MODEL.fullmatch(model)
            and ".." not in model
            and isinstance(fal_id, str)
            and _REQUEST_ID.fullmatch(fal_id)
        ):
            return JSONResponse({"error": "not a fal callback for a studio submit"}, 400)
        if not submit_journal.record(storage, token, join_request_id(model, fal_id)):
            return JSONResponse({"error": "storage unavailable; retry"}, status_code=503)
        return JSONResponse({"recorded": True})

    return Starlette(routes=[Route("/fal/{token}", fal_webhook, methods=["POST"])])
