"""Run config of the video assets (Dagit's launchpad, `studio run --force`)."""

from __future__ import annotations

import dagster as dg


class VideoRunConfig(dg.Config):
    force: bool = False
    """Buy every clip (or transition) again, even the finished ones."""
    clip_ids: list[str] = []
    """Buy only these clips (or their transitions) again."""

    def forced(self, clip_id: str) -> bool:
        return self.force or clip_id in self.clip_ids
