"""Storage keys: the one place that turns ids into paths refuses anything that could escape."""

from __future__ import annotations

import pytest

from resources.errors import InputRejected
from resources.keys import check_key, image_key, upload_key, video_key


def test_keys_for_ids_are_plain_relative_paths() -> None:
    assert image_key("ws_1", "img_2", "result.png") == "workspaces/ws_1/images/img_2/result.png"
    assert video_key("ws_1", "vp-9", "clip_03.mp4") == "workspaces/ws_1/videos/vp-9/clip_03.mp4"
    assert upload_key("ws", "u1", "photo.v2.JPG") == "workspaces/ws/uploads/u1/photo.v2.JPG"


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/abs",
        "a//b",
        "a/../b",
        "a/./b",
        "a\\b",
        "a/",
        "",
        "café/x.png",
        "a b/c.png",
        "%2e%2e/x",
        "a/.hidden",
        "a/b\n",
        "a/b\x00c",
        "a/" + "x" * 129,
    ],
)
def test_unsafe_keys_are_refused_naming_the_key(key: str) -> None:
    with pytest.raises(InputRejected, match="unsafe storage key") as caught:
        check_key(key)
    assert repr(key) in str(caught.value)


@pytest.mark.parametrize(
    ("workspace", "row", "name"),
    [("..", "img", "x.png"), ("ws", "../other", "x.png"), ("ws", "img", "/etc/passwd")],
)
def test_ids_cannot_smuggle_path_segments(workspace: str, row: str, name: str) -> None:
    with pytest.raises(InputRejected, match="unsafe storage key"):
        image_key(workspace, row, name)
    with pytest.raises(InputRejected, match="unsafe storage key"):
        video_key(workspace, row, name)
