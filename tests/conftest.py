pytest_plugins = [
    "tests.support.peers",
    "tests.support.studio_fixtures",
    "tests.support.dagster_processes",
    "tests.support.fal_standin",
    "tests.support.webhook_receiver",
]
