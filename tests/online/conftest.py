from __future__ import annotations

import pytest


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    # The pages set Secure cookies in production; the test client speaks https to keep them.
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client
