"""Production shape end to end: Fal (stand-in) + S3 (local server) + Postgres for both stores.

A 3-clip project with one seamless transition runs twice: the stand-in sees exactly the
3 clips and the 1 transition, and nothing at all on the re-run. An enhancement and an
inpainting run the same way. Inputs reach fal as presigned S3 URLs — no photo is downloaded
and re-uploaded.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import httpx
import pytest
from PIL import Image

from resources.ffmpeg import probe
from resources.models import ImageGeneration
from resources.provider.pricing import (
    ANY_LLM,
    KLING_I2V,
    KOKORO_TTS,
    NANO_BANANA_EDIT,
    QWEN_INPAINT,
)
from resources.repository import rows
from studio_assets.app import control, status, submission
from studio_assets.app.samples import object_and_mask, room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec, parse_spec
from tests.pipeline.test_publishing import text_at
from tests.support.fal_standin import FAL_KEY, FalStandin
from tests.support.projects import make_project, project, run
from tests.support.studio_fixtures import Studio


def test_images_on_fal_s3_and_postgres_are_bought_once(
    production: Studio, standin: FalStandin, s3_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    studio = production
    photo = room_photo(studio.tmp / "room.jpg", "bedroom", (480, 270))
    object_and_mask(photo, mask := studio.tmp / "mask.png", (200, 150, 260, 200))
    enhanced = submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(photo)))
    edited = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    )

    for _ in range(2):  # the second time, as an operator re-materializing them
        assert studio.materialize([enhanced_image], "images", enhanced).success
        assert studio.materialize([inpainted_image], "image_edits", edited).success

    assert [j.model for j in standin.jobs] == [NANO_BANANA_EDIT, QWEN_INPAINT]
    for job in standin.jobs:
        assert len(job.input_urls) == (2 if job.model == QWEN_INPAINT else 1)  # + the mask
        for url in job.input_urls:
            assert url.startswith(s3_server) and "X-Amz-Signature" in url
    assert not standin.uploads
    with studio.db.session() as session:
        rows_by_id = {i: rows.get(session, ImageGeneration, i) for i in (enhanced, edited)}
    assert {i: (r.status, r.cost_cents) for i, r in rows_by_id.items()} == {
        enhanced: ("completed", 15),
        edited: ("completed", 3),
    }
    assert all(r.result_image_url.startswith("s3://") for r in rows_by_id.values())
    assert FAL_KEY not in caplog.text


def test_a_project_on_fal_s3_and_postgres_is_bought_once(
    production: Studio,
    standin: FalStandin,
    s3_server: str,
    s3_bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    studio = production
    project_id = make_project(studio, ("exterior", "living-room", "kitchen"), seamless=(0,))

    assert run(studio, project_id).success

    jobs = list(standin.jobs)
    assert [j.model for j in jobs] == [KLING_I2V] * 4  # 3 clips + 1 transition
    for job in jobs:
        assert job.input["generate_audio"] in (True, False) and job.input["duration"] == "5"
        for url in job.input_urls:  # presigned S3 URLs, not uploads or data URIs
            assert url.startswith(s3_server) and "X-Amz-Signature" in url
    assert not standin.uploads
    done = project(studio, project_id)
    assert done.status == "completed" and done.actual_cost == done.estimated_cost == 3 * 70 + 35
    assert done.final_video_url.startswith(f"s3://{s3_bucket}/prod/")
    output = status.video_status(studio.db, studio.storage, project_id)["output"]
    assert output["video_url"].startswith("http")  # presigned

    assert run(studio, project_id).success  # an operator re-materializes it
    assert len(standin.jobs) == 4  # nothing bought again
    assert FAL_KEY not in caplog.text


def test_fal_reads_the_upright_photo_and_a_mask_of_its_size(
    production: Studio, standin: FalStandin
) -> None:
    studio = production
    upright = Image.open(room_photo(studio.tmp / "up.jpg", "bedroom", (480, 270), dull=False))
    phone = studio.tmp / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side, shown upright
    upright.transpose(Image.Transpose.ROTATE_90).save(phone, "JPEG", quality=95, exif=exif)
    mask = studio.tmp / "mask.png"
    Image.new("L", (240, 135), 0).save(mask)  # half size, drawn on the upright picture
    edited = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(phone), mask=str(mask), mode="remove")
    )

    assert studio.materialize([inpainted_image], "image_edits", edited).success

    (job,) = [j for j in standin.jobs if j.model == QWEN_INPAINT]
    image_url, mask_url = job.input["image_url"], job.input["mask_url"]
    assert "/images/" in image_url and "/uploads/" not in image_url  # the normalised copy
    with (
        Image.open(io.BytesIO(httpx.get(image_url, timeout=10).content)) as seen,
        Image.open(io.BytesIO(httpx.get(mask_url, timeout=10).content)) as seen_mask,
    ):
        assert seen.size == seen_mask.size == (480, 270)  # upright, and the mask matches it
        assert seen.getexif().get(0x0112, 1) == 1  # nothing left for fal to rotate again


def test_a_free_preview_then_approval_buys_each_clip_and_line_once_on_fal(
    production: Studio, standin: FalStandin
) -> None:
    """A narrated preview with a paid voice is free (the offline voice speaks it); approving
    buys each clip and each line of the same script once; compiling again buys nothing."""
    studio = production
    clips = [
        {"image": str(room_photo(studio.tmp / f"{room}.jpg", room, (480, 270))), "room_type": room}
        for room in ("exterior", "kitchen")
    ]
    clips[0]["transition"] = "seamless"
    spec = {"name": "Preview house", "preview": True, "listing": {"address": "3 Oak Lane"},
            "branding": {"agent_name": "Sam Reyes"}, "clips": clips,
            "narration": {"voice": "af_heart", "speed": 1.1}}  # fmt: skip
    parsed = parse_spec(ProjectSpec, spec)
    lines = parsed.paid_lines()
    assert len(lines) == 4  # intro, 2 rooms, outro (a branded rendition speaks it)
    line_cents = sum(math.ceil(2 * len(text) / 1000) for text in lines)
    project_id = submission.submit_project(
        studio.db, studio.storage, parsed, model=KLING_I2V, speech_model=KOKORO_TTS
    )
    assert project(studio, project_id).estimated_cost == 3 * 35 + line_cents  # shown as a draft

    assert run(studio, project_id).success
    previewed = project(studio, project_id)
    assert previewed.status == "previewed" and standin.jobs == []  # free: fal saw nothing
    assert previewed.estimated_cost == 3 * 35 + line_cents  # 2 clips + 1 transition + lines
    assert len(previewed.preview_outputs) == 2  # branded and unbranded

    control.approve(studio.db, project_id)
    assert run(studio, project_id).success

    done = project(studio, project_id)
    assert done.status == "completed" and done.actual_cost == done.estimated_cost
    assert [j.model for j in standin.jobs if j.model == KLING_I2V] == [KLING_I2V] * 3
    spoken = [j.input for j in standin.jobs if j.model == KOKORO_TTS]
    assert sorted(i["prompt"] for i in spoken) == sorted(lines)  # each line once
    assert {(i["voice"], i["speed"]) for i in spoken} == {("af_heart", 1.1)}
    assert [o["branded"] for o in done.outputs] == [True, False]
    frames = studio.tmp / "frames"
    frames.mkdir()
    for before, after in zip(previewed.preview_outputs, done.outputs, strict=True):
        video = Path(studio.storage.download(after["video_url"], frames / "after.mp4"))
        assert probe(video).audio_codec == "aac"
        seen = [
            text_at(Path(studio.storage.download(o["video_url"], frames / f"{n}.mp4")), 0.6, frames)
            for n, o in enumerate((before, after))
        ]
        assert all("3 Oak Lane" in text for text in seen)  # the final's card is the preview's

    jobs = len(standin.jobs)
    assert run(studio, project_id).success  # compiled again: every line is reused
    assert len(standin.jobs) == jobs
    assert project(studio, project_id).actual_cost == done.actual_cost


def test_the_paid_writers_checked_lines_are_what_fal_speaks(
    production: Studio, standin: FalStandin
) -> None:
    """`writer: "llm"` on fal: the draft's estimate has the writer's 2 ¢; the writer is asked
    once, given the facts; its room line naming the agent and its invented number are refused
    (the written lines are spoken there, the status says why); the rest is spoken as it wrote
    it; the unbranded cut speaks no agent; the cost is the estimate."""
    studio = production

    def hostile(body: dict[str, object]) -> str:
        draft = json.loads(str(body["prompt"]))["draft"]
        lines = [d["text"] for d in draft]
        lines[0] = "Welcome home to 3 Oak Lane."
        lines[1] = "Sam Reyes adores this kitchen."  # the agent, outside the outro
        lines[2] = "The bedroom, one of 6."  # a number the facts do not hold
        return json.dumps({"lines": lines})

    standin.script.writer = hostile
    clips = [
        {"image": str(room_photo(studio.tmp / f"{room}.jpg", room, (480, 270))), "room_type": room}
        for room in ("kitchen", "bedroom")
    ]
    spec = {"name": "Oak", "listing": {"address": "3 Oak Lane", "beds": 3},
            "branding": {"agent_name": "Sam Reyes"}, "clips": clips,
            "renditions": [{"aspect_ratio": "16:9"}, {"aspect_ratio": "16:9", "branded": False}],
            "narration": {"voice": "af_heart", "writer": "llm"}}  # fmt: skip
    parsed = parse_spec(ProjectSpec, spec)
    facts_lines = parsed.paid_lines()
    project_id = submission.submit_project(
        studio.db, studio.storage, parsed, model=KLING_I2V, speech_model=KOKORO_TTS,
        writer_model=ANY_LLM,
    )  # fmt: skip
    assert project(studio, project_id).estimated_cost == 2 * 35 + len(facts_lines) + 2

    assert run(studio, project_id).success

    (asked,) = [j.input for j in standin.jobs if j.model == ANY_LLM]
    assert json.loads(asked["prompt"])["facts"]["address"] == "3 Oak Lane"
    assert FAL_KEY not in json.dumps(asked)
    spoken = sorted(j.input["prompt"] for j in standin.jobs if j.model == KOKORO_TTS)
    shown = status.status_of(studio.db, studio.storage, project_id)["narration"]
    said = [line["text"] for line in shown["script"]]
    assert sorted(said) == spoken  # the status shows what was spoken
    assert said[0] == "Welcome home to 3 Oak Lane."
    assert said[1:3] == facts_lines[1:3]  # the refused rewrites: the written lines
    written = shown["written_by"]
    assert written["status"] == "written"
    assert [w.split(":")[0] for w in written["warnings"]] == [
        "narration line 2 (room)", "narration line 3 (room)"
    ]  # fmt: skip
    unbranded = [line["text"] for line in shown["script"] if not line["branded_only"]]
    assert not any("Sam Reyes" in text for text in unbranded)
    done = project(studio, project_id)
    assert done.status == "completed" and done.actual_cost == done.estimated_cost

    jobs = len(standin.jobs)
    assert run(studio, project_id).success  # compiled again: the script and lines are reused
    assert len(standin.jobs) == jobs
