"""Channel test fixtures."""

from __future__ import annotations

import pytest
from wechatpy.session.memorystorage import MemoryStorage

from siyu.engage.channels import wechat_api


@pytest.fixture(autouse=True)
def _fresh_wechat_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tokens are kept per process under the API's address; a stand-in server that got the
    # port of an earlier test's one must not be handed that test's token.
    monkeypatch.setattr(wechat_api, "TOKENS", MemoryStorage())
