"""Image enhancement and inpainting end to end: rows in, assets materialized, rows out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resources.errors import InputRejected
from resources.models import ImageGeneration
from resources.repository import rows
from studio_assets.app import submission
from studio_assets.app.samples import object_and_mask, room_photo
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.domain.validation import EnhanceSpec, InpaintSpec
from tests.support.studio_fixtures import Studio


def row(studio: Studio, image_id: str) -> ImageGeneration:
    with studio.db.session() as session:
        return rows.get(session, ImageGeneration, image_id)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.int16)


def local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def test_enhance_completes_with_a_visibly_better_image_of_the_same_size(studio: Studio) -> None:
    photo = room_photo(studio.tmp / "kitchen.jpg", "kitchen", (800, 450))
    image_id = submission.submit_enhance(
        studio.db,
        studio.storage,
        EnhanceSpec(image=str(photo), room_type="kitchen", style="scandinavian"),
    )

    result = studio.materialize([enhanced_image], "images", image_id)

    assert result.success
    done = row(studio, image_id)
    assert (done.status, done.progress, done.cost_cents) == ("completed", 100, 0)
    assert done.prompt.startswith("This is a kitchen. Style it as a bright Scandinavian")
    before, after = pixels(photo), pixels(local(done.result_image_url))
    assert before.shape == after.shape
    assert np.abs(after - before).mean() > 10  # visibly different
    assert after.std() > before.std()  # more contrast than the dull original
    metadata = result.asset_materializations_for_node("enhanced_image")[0].metadata
    assert metadata["cost_cents"].value == 0 and metadata["provider"].value == "local"
    assert "data:image/jpeg;base64" in metadata["preview"].value


def test_inpaint_remove_erases_the_object_and_leaves_the_rest_untouched(studio: Studio) -> None:
    photo = room_photo(studio.tmp / "living.jpg", "living-room", (640, 360), dull=False)
    box = (400, 240, 470, 300)
    object_and_mask(photo, mask := studio.tmp / "mask.png", box)
    image_id = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    )

    assert studio.materialize([inpainted_image], "image_edits", image_id).success

    done = row(studio, image_id)
    assert done.status == "completed" and done.version == 1
    before, after = pixels(photo), pixels(local(done.result_image_url))
    inside = np.asarray(Image.open(mask)) > 127
    outside = np.abs(after - before)[~inside]
    # outside the mask: as it was, to the precision of a high-quality JPEG
    assert outside.mean() < 1 and np.percentile(outside, 99) <= 4
    red = (after[..., 0] > 180) & (after[..., 1] < 80) & (after[..., 2] < 80)
    assert red[inside].sum() == 0  # the red object is gone


def test_an_edit_of_an_edit_is_a_new_version_chained_to_its_parent(studio: Studio) -> None:
    photo = room_photo(studio.tmp / "bed.jpg", "bedroom", (320, 180), dull=False)
    object_and_mask(photo, mask := studio.tmp / "mask.png", (100, 100, 140, 140))
    first = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    )
    assert studio.materialize([inpainted_image], "image_edits", first).success

    second = submission.submit_inpaint(
        studio.db,
        studio.storage,
        InpaintSpec(image=first, mask=str(mask), mode="add", prompt="a green plant"),
    )
    assert studio.materialize([inpainted_image], "image_edits", second).success

    child, parent = row(studio, second), row(studio, first)
    assert (child.parent_id, child.version) == (first, 2)
    assert child.original_image_url == parent.result_image_url
    assert Path(local(parent.result_image_url)).exists()  # the parent was not overwritten


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 100), "corrupt"),
        (
            lambda p: p.write_text("just some notes, not a photo"),
            "is not a JPEG, PNG or WebP image",
        ),
        (lambda p: Image.new("L", (9000, 10)).save(p, "PNG"), "9000×10 px"),
    ],
)
def test_bad_images_are_refused_at_submit_and_nothing_is_written(
    studio: Studio, make, message: str
) -> None:
    bad = studio.tmp / "bad.jpg"
    make(bad)
    with pytest.raises(InputRejected, match=message):
        submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(bad)))
    with studio.db.session() as session:
        assert session.query(ImageGeneration).count() == 0
    assert not (studio.tmp / "storage").exists()


def test_a_bad_image_reaching_the_run_fails_the_row_without_retries(studio: Studio) -> None:
    bad = studio.tmp / "notes.jpg"
    bad.write_text("not a photo")
    uri = studio.storage.put_file("workspaces/ws_default/uploads/up_1/notes.jpg", bad)
    image_id = submission.submit_enhance(
        studio.db, studio.storage, EnhanceSpec(image=uri)
    )  # a stored object's content is only checked when the run fetches it

    result = studio.materialize([enhanced_image], "images", image_id)

    assert not result.success
    failed = row(studio, image_id)
    assert failed.status == "failed" and "is not a JPEG, PNG or WebP image" in failed.error_message
    assert failed.result_image_url is None
    attempts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    assert len(attempts) == 1  # bad input is not retried


def test_a_mask_of_the_wrong_shape_is_refused(studio: Studio) -> None:
    photo = room_photo(studio.tmp / "p.jpg", size=(640, 360))
    mask = studio.tmp / "m.png"
    Image.new("L", (300, 300), 255).save(mask)
    with pytest.raises(InputRejected, match="mask is 300×300 px but the image is 640×360"):
        submission.submit_inpaint(
            studio.db, studio.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
        )


def test_a_private_url_input_is_refused_on_the_row(studio: Studio) -> None:
    image_id = submission.submit_enhance(
        studio.db, studio.storage, EnhanceSpec(image="http://127.0.0.1:9/secret.jpg")
    )
    assert not studio.materialize([enhanced_image], "images", image_id).success
    failed = row(studio, image_id)
    assert failed.status == "failed" and "private or loopback" in failed.error_message


def test_a_completed_image_is_not_bought_again_unless_forced(studio: Studio) -> None:
    photo = room_photo(studio.tmp / "k.jpg", "kitchen", (320, 180))
    image_id = submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(photo)))
    assert studio.materialize([enhanced_image], "images", image_id).success
    first_request = row(studio, image_id).provider_request_id

    again = studio.materialize([enhanced_image], "images", image_id)
    meta = again.asset_materializations_for_node("enhanced_image")[0].metadata
    assert meta["status"].value == "cached"
    assert row(studio, image_id).provider_request_id == first_request

    forced = studio.materialize(
        [enhanced_image],
        "images",
        image_id,
        {"ops": {"enhanced_image": {"config": {"force": True}}}},
    )
    assert forced.success and row(studio, image_id).provider_request_id != first_request
