"""The image and video flows with Postgres and S3 (a local S3 server over real HTTP)."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from resources.errors import InputRejected
from resources.ffmpeg import probe
from resources.models import ImageGeneration
from resources.repository import rows
from studio_assets.app import status, submission
from studio_assets.app.samples import object_and_mask, room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec
from tests.support.projects import make_project, run
from tests.support.studio_fixtures import Studio


def download(url: str, dest: Path) -> Path:
    dest.write_bytes(httpx.get(url, timeout=30).raise_for_status().content)
    return dest


def test_enhance_and_inpaint_on_postgres_and_s3(s3_studio: Studio) -> None:
    studio = s3_studio
    photo = room_photo(studio.tmp / "room.jpg", "bedroom", (480, 270), dull=False)
    object_and_mask(photo, mask := studio.tmp / "mask.png", (200, 150, 260, 200))

    enhanced = submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(photo)))
    edited = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    )
    assert studio.materialize([enhanced_image], "images", enhanced).success
    assert studio.materialize([inpainted_image], "image_edits", edited).success

    with studio.db.session() as session:
        for image_id in (enhanced, edited):
            row = rows.get(session, ImageGeneration, image_id)
            assert row.status == "completed" and row.result_image_url.startswith("s3://")
    result = status.image_status(studio.db, studio.storage, edited)
    assert result["result_image_url"].startswith("http://")  # presigned
    out = download(result["result_image_url"], studio.tmp / "out.png")
    with Image.open(out) as img, Image.open(photo) as src:
        assert img.size == src.size
        inside = np.asarray(Image.open(mask)) > 127
        after, before = (np.asarray(i.convert("RGB"), dtype=np.int16) for i in (img, src))
        # outside the mask: as it was, to the precision of a high-quality JPEG
        assert np.abs(after - before)[~inside].mean() < 1


def test_a_private_url_and_an_unsafe_key_write_nothing_to_s3(
    s3_studio: Studio, s3_client, s3_bucket: str
) -> None:
    studio = s3_studio
    image_id = submission.submit_enhance(
        studio.db,
        studio.storage,
        EnhanceSpec(image="http://169.254.169.254/latest/meta-data/x.jpg"),
    )
    assert not studio.materialize([enhanced_image], "images", image_id).success
    with studio.db.session() as session:
        assert "private or loopback" in rows.get(session, ImageGeneration, image_id).error_message
    with pytest.raises(InputRejected, match="unsafe storage key"):
        studio.storage.put_file("../../etc/passwd", Path(__file__))
    assert s3_client.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0


def test_a_video_project_on_postgres_and_s3(s3_studio: Studio) -> None:
    studio = s3_studio
    project_id = make_project(studio, ("exterior", "kitchen"), seamless=(0,))
    assert run(studio, project_id).success
    result = status.video_status(studio.db, studio.storage, project_id)
    assert result["status"] == "completed"
    video = download(result["output"]["video_url"], studio.tmp / "final.mp4")
    info = probe(video)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.duration_s == pytest.approx(15.0, abs=0.5)
