"""Launching a row's job over Dagster's GraphQL API, as the property app does (DESIGN §3.4).

Two calls: `addDynamicPartition` (idempotent: a duplicate is fine), then `launchRun` with the
`dagster/partition` tag. A run launched for an unknown key would be created and then fail at
its first step, hence the order. One run per submission: when the tags name a submission that
already has a run (the sensor's, or an earlier launch), that run is returned, not a second one.
"""

from __future__ import annotations

from typing import Any

import httpx

from resources.errors import StudioError

LOCATION = "studio"
REPOSITORY = "__repository__"

ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name,
                      partitionKey: $key) {
    __typename
    ... on Error { message }
  }
}"""

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}"""


RUNS_OF_SUBMISSION = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId status } }
    ... on Error { message }
  }
}"""

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


class LaunchError(StudioError):
    """GraphQL refused the launch, or the webserver could not be reached."""


def graphql(
    url: str, query: str, variables: dict[str, Any], timeout_s: float = 30.0
) -> dict[str, Any]:
    """POST one GraphQL operation to `{url}/graphql`; raise `LaunchError` on any failure."""
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/graphql",
            timeout=timeout_s,
            json={"query": query, "variables": variables},
        )
    except httpx.HTTPError as exc:
        raise LaunchError(
            f"Dagster webserver at {url} is unreachable "
            f"({type(exc).__name__}); is `studio serve` running?"
        ) from None
    if response.status_code != 200:
        raise LaunchError(f"Dagster webserver at {url} answered HTTP {response.status_code}")
    body = response.json()
    if body.get("errors"):
        raise LaunchError("GraphQL error: " + "; ".join(e["message"] for e in body["errors"]))
    return dict(body["data"])


def launch(
    url: str, job_name: str, partitions_name: str, row_id: str, tags: dict[str, str] | None = None
) -> str:
    """Add `row_id` to its dynamic partitions and launch `job_name` for it; return the run id."""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
    added = graphql(
        url, ADD_PARTITION, {"selector": selector, "name": partitions_name, "key": row_id}
    )["addDynamicPartition"]
    if added["__typename"] not in ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError"):
        raise LaunchError(f"could not add partition {row_id!r}: {added.get('message')}")
    all_tags = {"dagster/partition": row_id, **(tags or {})}
    if "studio/submission" in all_tags and (existing := _run_of_submission(url, all_tags)):
        return existing
    params = {
        "selector": {**selector, "jobName": job_name},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in all_tags.items()]},
    }
    result = graphql(url, LAUNCH_RUN, {"params": params})["launchRun"]
    if result["__typename"] == "LaunchRunSuccess":
        return str(result["run"]["runId"])
    reasons = [e["message"] for e in result.get("errors", [])] or [result.get("message", "")]
    raise LaunchError(
        f"launching {job_name} for {row_id} failed ({result['__typename']}): " + "; ".join(reasons)
    )


def _run_of_submission(url: str, tags: dict[str, str]) -> str | None:
    """The run this submission already has, if any; a finished one is refused (a new attempt
    is a new submission: `studio retry`)."""
    wanted = [{"key": k, "value": tags[k]} for k in ("dagster/partition", "studio/submission")]
    found = graphql(url, RUNS_OF_SUBMISSION, {"filter": {"tags": wanted}})["runsOrError"]
    if found["__typename"] != "Runs":
        raise LaunchError(
            f"could not look up the runs of {tags['dagster/partition']}: {found.get('message')}"
        )
    if not found["results"]:
        return None
    run = found["results"][0]
    if run["status"] in FINISHED:
        raise LaunchError(
            f"submission {tags['studio/submission']} of {tags['dagster/partition']} already ran "
            f"(run {run['runId']}, {run['status']}); `studio retry` submits it again"
        )
    return str(run["runId"])
