from __future__ import annotations

import pytest

from tests.e2e.api_client import Api


@pytest.fixture(scope="module")
def api(stack, account) -> Api:  # noqa: ANN001
    email, token = account
    return Api(stack.gateway_url, email, token)
