"""The dynamic partitions: one key per app-DB row id."""

import dagster as dg

images = dg.DynamicPartitionsDefinition(name="images")
image_edits = dg.DynamicPartitionsDefinition(name="image_edits")
video_projects = dg.DynamicPartitionsDefinition(name="video_projects")
