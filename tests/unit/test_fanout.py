"""A fan-out item that fails is reported with its reason, and an unexpected exception (a bug,
not one of studio's errors) leaves its traceback in the log instead of vanishing."""

from __future__ import annotations

import logging

import pytest

from resources.errors import InputRejected
from studio_assets.runtime.fanout import ItemRetry, fan_out


def test_an_unexpected_error_is_reported_and_its_traceback_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def work(item: str) -> str:
        if item == "bug":
            return {}["missing"]  # type: ignore[no-any-return]
        if item == "bad":
            raise InputRejected("clip 2: the photo is not an image")
        return item.upper()

    with caplog.at_level(logging.WARNING):
        results = fan_out(
            work, ["ok", "bad", "bug"], max_workers=2, retry=ItemRetry(1), on_done=lambda _: None
        )

    by_item = {r.item: r for r in results}
    assert by_item["ok"].value == "OK" and by_item["ok"].error is None
    assert by_item["bad"].error == "clip 2: the photo is not an image"
    assert by_item["bug"].value is None and "missing" in (by_item["bug"].error or "")
    logged = [r for r in caplog.records if r.exc_info]
    assert [r.exc_info[0] for r in logged if r.exc_info] == [KeyError]  # the bug, not the refusal
    assert "Traceback" not in (by_item["bug"].error or "")
