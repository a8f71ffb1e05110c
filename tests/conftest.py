pytest_plugins = [
    "tests.peers",
    "tests.studio_fixtures",
    "tests.dagster_processes",
    "tests.fal_standin",
]
