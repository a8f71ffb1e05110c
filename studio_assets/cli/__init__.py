"""The `studio` console script."""

from studio_assets.cli.app import main

__all__ = ["main"]
