"""Real photos as users bring them: rotated phone pictures, 12 MP camera files, 16-bit scans,
CMYK and palette files, portraits and panoramas — checked on what the user gets back."""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from resources.engine.photo import framing_for, normalise_photo, open_photo
from resources.engine.video import render_clip
from resources.errors import InputRejected
from resources.models import ImageGeneration, VideoClip
from resources.provider.base import GenerationJob
from resources.provider.local import LocalProvider
from resources.repository import rows
from studio_assets.app import submission
from studio_assets.app.samples import room_photo
from studio_assets.app.status import status_of
from studio_assets.assets.images import enhanced_image, inpainted_image
from studio_assets.assets.video import video_clips
from studio_assets.domain.framing import fit_to_frame
from studio_assets.domain.project_spec import ProjectSpec
from studio_assets.domain.validation import MAX_IMAGE_BYTES, EnhanceSpec, InpaintSpec, parse_spec
from studio_assets.runtime.photos import photo_warnings
from tests.support.projects import project
from tests.support.studio_fixtures import Studio

RED = (220, 30, 30)
MAGENTA = (230, 20, 200)
CYAN = (20, 220, 230)
# What exif_transpose applies for an orientation, undone: how a camera stores the picture.
STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.int16)


def local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def image_row(studio: Studio, image_id: str) -> ImageGeneration:
    with studio.db.session() as session:
        return rows.get(session, ImageGeneration, image_id)


def is_red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 170) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)


def near(rgb: np.ndarray, colour: tuple[int, int, int], tolerance: float = 45) -> bool:
    return float(np.abs(rgb.astype(float) - colour).max()) <= tolerance


# -- orientation: masks are drawn on the upright picture ------------------------------------


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_an_upright_mask_edits_where_it_was_drawn_on_a_rotated_phone_photo(
    sqlite_studio: Studio, orientation: int
) -> None:
    studio = sqlite_studio
    upright = Image.open(room_photo(studio.tmp / "up.jpg", size=(480, 360), dull=False))
    box = (60, 50, 150, 120)  # top left of the upright picture: moved by any rotation
    ImageDraw.Draw(upright).ellipse(box, fill=RED)
    phone = studio.tmp / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    upright.transpose(STORED[orientation]).save(phone, "JPEG", quality=95, exif=exif)
    mask = studio.tmp / "mask.png"
    m = Image.new("L", upright.size, 0)  # drawn on the picture as the user sees it
    ImageDraw.Draw(m).rectangle([box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6], fill=255)
    m.save(mask)

    image_id = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(phone), mask=str(mask), mode="remove")
    )
    assert studio.materialize([inpainted_image], "image_edits", image_id).success

    done = image_row(studio, image_id)
    assert done.status == "completed"
    after = pixels(local(done.result_image_url))
    assert after.shape[:2] == (360, 480)  # upright, as shown
    assert is_red(after).sum() == 0  # the object under the mask is gone
    inside = np.asarray(m) > 127
    seen = np.asarray(open_photo(phone), dtype=np.int16)  # the phone photo as a viewer shows it
    assert np.abs(after - seen)[~inside].mean() < 1.5  # the rest is the same upright picture


def test_a_mask_in_stored_orientation_is_refused_with_the_upright_size(studio: Studio) -> None:
    phone = studio.tmp / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 300), (90, 120, 150)).save(phone, "JPEG", exif=exif)
    mask = studio.tmp / "mask.png"
    Image.new("L", (400, 300), 255).save(mask)
    with pytest.raises(InputRejected, match="mask is 400×300 px but the image is 300×400 px"):
        submission.submit_inpaint(
            studio.db, studio.storage, InpaintSpec(image=str(phone), mask=str(mask), mode="remove")
        )


# -- a 12 MP camera file ---------------------------------------------------------------------


def test_a_12_mp_photo_with_a_large_mask_is_inpainted(sqlite_studio: Studio) -> None:
    studio = sqlite_studio
    size = (4000, 3000)
    photo = room_photo(studio.tmp / "camera.jpg", size=size, dull=False)
    rng = np.random.default_rng(7)  # sensor grain: what makes a lossless result too big
    grained = np.asarray(Image.open(photo), dtype=np.int16) + rng.integers(-12, 13, (3000, 4000, 1))
    img = Image.fromarray(np.clip(grained, 0, 255).astype(np.uint8))
    box = (1500, 1200, 2500, 2000)
    ImageDraw.Draw(img).ellipse(box, fill=RED)
    img.save(photo, "JPEG", quality=92)
    mask = studio.tmp / "mask.png"
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rectangle([800, 600, 3200, 2400], fill=255)  # 36 % of the picture
    m.save(mask)

    image_id = submission.submit_inpaint(
        studio.db, studio.storage, InpaintSpec(image=str(photo), mask=str(mask), mode="remove")
    )
    assert studio.materialize([inpainted_image], "image_edits", image_id).success

    done = image_row(studio, image_id)
    assert done.status == "completed", done.error_message
    result = local(done.result_image_url)
    assert 0 < result.stat().st_size < MAX_IMAGE_BYTES  # the next step accepts it
    after = pixels(result)
    assert after.shape[:2] == (3000, 4000)
    assert is_red(after).sum() == 0
    assert after[700:2300, 900:3100].std() > 5  # a fill, not a hole

    # ...and the result can be edited again (the next version reads it as its input).
    again = submission.submit_inpaint(
        studio.db,
        studio.storage,
        InpaintSpec(image=image_id, mask=str(mask), mode="add", prompt="a green sofa"),
    )
    assert studio.materialize([inpainted_image], "image_edits", again).success
    assert image_row(studio, again).status == "completed"


# -- bit depth, colour modes, profiles -------------------------------------------------------


def _grey_16(path: Path, size: tuple[int, int] = (640, 480)) -> Path:
    """A 16-bit greyscale scan: a gradient and some shapes over the whole 16-bit range."""
    w, h = size
    ramp = np.linspace(4000, 60000, w, dtype=np.float64)[None, :].repeat(h, axis=0)
    ramp[h // 4 : h // 2, w // 5 : w // 2] = 9000
    ramp[h // 2 : 3 * h // 4, w // 2 : 4 * w // 5] = 52000
    Image.fromarray(ramp.astype(np.uint16)).save(path)
    return path


def test_a_16_bit_grey_png_enhances_to_a_picture_not_a_white_page(studio: Studio) -> None:
    scan = _grey_16(studio.tmp / "scan.png")
    assert Image.open(scan).mode.startswith("I")
    image_id = submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(scan)))

    assert studio.materialize([enhanced_image], "images", image_id).success

    after = pixels(local(image_row(studio, image_id).result_image_url))
    assert after.shape[:2] == (480, 640)
    assert after.std() > 30 and after.mean() < 200  # a picture with tones, not flat white


def test_a_clip_from_a_16_bit_grey_png_shows_the_picture(tmp_path: Path) -> None:
    scan = _grey_16(tmp_path / "scan.png")
    framed = fit_to_frame(scan, tmp_path / "framed.jpg", "16:9")
    assert pixels(framed.path).std() > 30
    clip = tmp_path / "clip.mp4"
    render_clip(scan, clip, width=320, height=180, duration_s=1.0)
    with av.open(str(clip)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.std() > 30 and frame.mean() < 200


BLOCKS = {"red": ((200, 30, 30), (20, 20)), "green": ((30, 160, 60), (120, 20)),
          "blue": ((40, 60, 190), (20, 120)), "white": ((245, 245, 245), (120, 120))}  # fmt: skip


def _blocks(mode: str = "RGB") -> Image.Image:
    img = Image.new("RGB", (200, 200), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    for colour, (x, y) in BLOCKS.values():
        draw.rectangle([x, y, x + 60, y + 60], fill=colour)
    return img.convert(mode)


def _block_colours(path: Path) -> dict[str, np.ndarray]:
    rgb = pixels(path)
    return {name: rgb[y + 30, x + 30] for name, (_, (x, y)) in BLOCKS.items()}


def test_a_cmyk_jpeg_keeps_its_colours(studio: Studio) -> None:
    cmyk = studio.tmp / "print.jpg"
    _blocks("CMYK").save(cmyk, "JPEG", quality=95)
    normal = normalise_photo(cmyk, studio.tmp / "normal.jpg")
    for name, seen in _block_colours(normal).items():
        assert near(seen, BLOCKS[name][0], 25), (name, seen)  # not inverted, not shifted

    image_id = submission.submit_enhance(studio.db, studio.storage, EnhanceSpec(image=str(cmyk)))
    assert studio.materialize([enhanced_image], "images", image_id).success
    enhanced = _block_colours(local(image_row(studio, image_id).result_image_url))
    red, blue = enhanced["red"], enhanced["blue"]
    assert red[0] > red[1] + 80 and blue[2] > blue[0] + 80  # red is still red, blue still blue


def test_palette_and_alpha_pngs_are_flattened_over_white(tmp_path: Path) -> None:
    palette = Image.new("P", (120, 120), 0)
    palette.putpalette([0, 0, 0, 200, 30, 30, 30, 160, 60] + [0] * (253 * 3))
    ImageDraw.Draw(palette).rectangle([30, 30, 90, 90], fill=1)
    palette.save(tmp_path / "palette.png", transparency=0)  # index 0 is transparent
    rgba = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).rectangle([30, 30, 90, 90], fill=(30, 160, 60, 255))
    rgba.save(tmp_path / "alpha.png")
    grey_alpha = Image.new("LA", (120, 120), (0, 0))
    ImageDraw.Draw(grey_alpha).rectangle([30, 30, 90, 90], fill=(60, 255))
    grey_alpha.save(tmp_path / "grey-alpha.png")
    keyed = Image.new("RGB", (120, 120), (0, 0, 0))
    ImageDraw.Draw(keyed).rectangle([30, 30, 90, 90], fill=(40, 60, 190))
    keyed.save(tmp_path / "colour-key.png", transparency=(0, 0, 0))  # black is transparent

    for name, inside in [("palette", (200, 30, 30)), ("alpha", (30, 160, 60)),
                         ("grey-alpha", (60, 60, 60)), ("colour-key", (40, 60, 190))]:  # fmt: skip
        rgb = pixels(normalise_photo(tmp_path / f"{name}.png", tmp_path / f"{name}.jpg"))
        assert near(rgb[5, 5], (255, 255, 255), 6), name  # transparent: white, not black
        assert near(rgb[60, 60], inside, 12), name


def _swapped_primaries_profile() -> bytes:
    """An RGB display profile whose red and blue primaries are swapped (an ICC v2 matrix/TRC
    profile): pixels that say red mean blue, so only a converter that reads it gets it right."""

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))

    text = b"swapped primaries"
    desc = (
        b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0"
        + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    )  # fmt: skip
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\0\0\0\0none\0\0\0\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue (D50)
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + b"\0" * (-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
        + b"".join(struct.pack(">i", round(v * 65536)) for v in (0.9642, 1.0, 0.8249))
        + b"\0" * 48
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + data


def test_an_embedded_colour_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    profile = _swapped_primaries_profile()
    description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    assert "swapped" in description
    tagged = tmp_path / "tagged.jpg"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tagged, "JPEG", quality=95, icc_profile=profile)
    rgb = pixels(normalise_photo(tagged, tmp_path / "srgb.jpg"))
    assert rgb[32, 32, 2] > rgb[32, 32, 0] + 100  # "red" in that space is blue in sRGB

    plain = tmp_path / "plain.jpg"  # an sRGB JPEG needs nothing: its bytes are kept
    Image.new("RGB", (64, 64), (200, 30, 30)).save(plain, "JPEG", quality=95)
    copy = normalise_photo(plain, tmp_path / "copy.jpg")
    assert copy.read_bytes() == plain.read_bytes()


# -- framing ---------------------------------------------------------------------------------


def _subject_photo(path: Path, size: tuple[int, int]) -> Path:
    """A room with a magenta block at its centre and cyan bands along its four edges."""
    img = Image.open(room_photo(path, size=size, dull=False)).convert("RGB")
    w, h = size
    draw = ImageDraw.Draw(img)
    band = max(8, min(w, h) // 25)
    for box in ([0, 0, w, band], [0, h - band, w, h], [0, 0, band, h], [w - band, 0, w, h]):
        draw.rectangle(box, fill=CYAN)
    s = min(w, h) // 8
    draw.rectangle([w // 2 - s, h // 2 - s, w // 2 + s, h // 2 + s], fill=MAGENTA)
    img.save(path, "JPEG", quality=95)
    return path


@pytest.mark.parametrize(
    ("size", "aspect", "frame"),
    [((720, 1280), "16:9", (1920, 1080)), ((2400, 600), "9:16", (1080, 1920))],
    ids=["portrait-in-16:9", "panorama-in-9:16"],
)
def test_the_whole_photo_is_framed_over_a_blurred_fill(
    tmp_path: Path, size: tuple[int, int], aspect: str, frame: tuple[int, int]
) -> None:
    photo = _subject_photo(tmp_path / "photo.jpg", size)
    framed = fit_to_frame(photo, tmp_path / "framed.jpg", aspect)
    assert framed.framing.treatment == "fill" and framed.framing.visible == 1.0
    rgb = pixels(framed.path)
    assert rgb.shape[:2] == (frame[1], frame[0])
    fw, fh = frame
    assert near(rgb[fh // 2, fw // 2], MAGENTA)  # the subject is at the centre
    # Every edge of the photo is in the frame: the cyan bands, near the photo's borders.
    scale = min(fw / size[0], fh / size[1])
    pw, ph = round(size[0] * scale), round(size[1] * scale)
    x0, y0 = (fw - pw) // 2, (fh - ph) // 2
    for y, x in [(y0 + 3, fw // 2), (y0 + ph - 4, fw // 2), (fh // 2 + 40, x0 + 3),
                 (fh // 2 + 40, x0 + pw - 4)]:  # fmt: skip
        assert near(rgb[y, x], CYAN), (y, x, rgb[y, x])
    # Beside the photo: its own picture, blurred and darkened (not black bars, not a stretch).
    beside = rgb[fh // 2, : x0 - 2] if x0 else rgb[: y0 - 2, fw // 2]
    assert 10 < beside.mean() < 200


def test_a_near_match_is_cropped_and_keeps_almost_everything() -> None:
    crop = framing_for((2000, 1100), (1920, 1080))
    assert crop.treatment == "crop" and crop.visible > 0.97
    assert framing_for((1600, 1200), (1920, 1080)).treatment == "fill"  # 4:3 loses 25 % cropped
    assert framing_for((320, 240), (1920, 1080)).tiny
    assert not framing_for((1280, 960), (1920, 1080)).tiny


def _shows_the_subject_and_both_sides(frame: np.ndarray) -> None:
    h, w = frame.shape[:2]
    ys, xs = np.nonzero(np.all(np.abs(frame.astype(int) - MAGENTA) < 60, axis=-1))
    assert len(xs) > 500 and 0.35 < xs.mean() / w < 0.65 and 0.35 < ys.mean() / h < 0.65
    row = frame[h // 2 + 110].astype(int)  # just below the block: the photo's side bands
    cyan = np.nonzero(np.all(np.abs(row - CYAN) < 70, axis=-1))[0]
    assert len(cyan) and cyan.min() < w // 2 - 150 and cyan.max() > w // 2 + 150


class RecordingProvider(LocalProvider):
    """The offline engine, keeping a copy of every image a generation was handed."""

    record_dir: str

    def submit(self, job: GenerationJob) -> str:
        request_id = super().submit(job)
        shutil.copyfile(job.image.path, Path(self.record_dir) / f"{job.label.split()[1]}.jpg")
        return request_id


def test_a_portrait_clip_keeps_the_room_and_a_tiny_photo_is_flagged(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    portrait = _subject_photo(studio.tmp / "portrait.jpg", (720, 1280))
    tiny = room_photo(studio.tmp / "tiny.jpg", "kitchen", (320, 240))
    spec = parse_spec(
        ProjectSpec,
        {
            "name": "Portrait house",
            "aspect_ratio": "16:9",
            "clips": [
                {"image": str(portrait), "room_type": "living-room"},
                {"image": str(tiny), "room_type": "kitchen"},
            ],
        },
    )
    project_id = submission.submit_project(studio.db, studio.storage, spec)
    (record := studio.tmp / "handed").mkdir()
    studio.provider = RecordingProvider(record_dir=str(record))

    result = studio.materialize([video_clips], "video_projects", project_id)

    assert result.success
    # The provider (any provider: this is what Kling would get too) is handed the framed photo.
    handed = pixels(record / "1.jpg")
    assert handed.shape[:2] == (1080, 1920)
    assert near(handed[540, 960], MAGENTA) and near(handed[8, 960], CYAN)
    with studio.db.session() as session:
        clip = session.query(VideoClip).filter_by(sequence_order=0).one()
        clip_path = local(clip.clip_url)
    with av.open(str(clip_path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for frame in (frames[0], frames[-1]):  # whatever the camera move, from start to end
        _shows_the_subject_and_both_sides(frame)

    warnings = result.asset_materializations_for_node("video_clips")[0].metadata
    flagged = warnings["photo_warnings"].value
    assert len(flagged) == 1 and "clip 2" in flagged[0] and "320×240" in flagged[0]
    assert photo_warnings(studio.storage, project(studio, project_id)) == flagged
    assert status_of(studio.db, studio.storage, project_id)["warnings"] == flagged
