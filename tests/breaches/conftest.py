import pytest


@pytest.fixture(autouse=True)
def _after_commit_runs_at_once(after_commit_at_once):
    """Emails queued in a test's transaction go out at once (tests.desk.after_commit_at_once)."""
