import os

import pytest


@pytest.fixture(scope="session")
def base_url():
    """The running specmill server (started by tests/python_clients.rs)."""
    url = os.environ.get("SPECMILL_URL")
    if not url:
        pytest.fail("SPECMILL_URL is not set: run these tests through `cargo test --test python_clients`")
    return url.rstrip("/")
