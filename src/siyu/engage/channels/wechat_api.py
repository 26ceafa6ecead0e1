"""What the WeCom and Official Account channels share, on top of wechatpy.

wechatpy fixes the token URL and keeps tokens per client object; here the base URL is the
channel's (`api_base_url`, so a test or a proxy can stand in for Tencent), the token comes from
that same host, and tokens live in one store per process, so a worker that opens a channel for
every run asks for a token once in its two hours, not once a run (both APIs limit token calls).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
from wechatpy.client import WeChatClient as OfficialAccountClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.work import WeChatClient as WorkClient

from siyu.engage.channels.base import Delivery

TOKENS = MemoryStorage()
# Codes that say "later": system busy, frequency limits, concurrency limits.
RETRY_CODES = {-1, 45009, 45011, 45033, 45035, 45047}
# Codes that say the token or the app secret is wrong: the channel's configuration, retry later.
CREDENTIAL_CODES = {40001, 40013, 40014, 40125, 41001, 42001, 40091}


class _TokenFromBase:
    """Mixin: tokens fetched from `API_BASE_URL` and stored under a key naming that base."""

    API_BASE_URL: str
    token_path: str
    token_params: Callable[[], dict[str, str]]
    _http: requests.Session
    timeout: float | None
    session: MemoryStorage

    def _token_scope(self) -> str:
        raise NotImplementedError

    @property
    def access_token_key(self) -> str:
        return f"{self.API_BASE_URL}|{self._token_scope()}|access_token"

    @property
    def access_token_expires_at_key(self) -> str:
        return f"{self.API_BASE_URL}|{self._token_scope()}|expires_at"

    def fetch_access_token(self) -> dict[str, Any]:
        response = self._http.get(
            f"{self.API_BASE_URL}{self.token_path}",
            params=self.token_params(),
            timeout=self.timeout,
        )
        response.raise_for_status()
        result = response.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.session.set(self.access_token_expires_at_key, int(time.time()) + expires_in)
        return result


class WecomClient(_TokenFromBase, WorkClient):
    token_path = "gettoken"

    def __init__(self, corp_id: str, secret: str, *, api_base_url: str, timeout: float) -> None:
        super().__init__(corp_id, secret, session=TOKENS, timeout=timeout)
        self.API_BASE_URL = api_base_url

    def token_params(self) -> dict[str, str]:
        return {"corpid": self.corp_id, "corpsecret": self.secret}

    def _token_scope(self) -> str:
        # A corp has one secret per app; the secret's hash keeps two apps' tokens apart.
        return f"{self.corp_id}|{hashlib.sha256(self.secret.encode()).hexdigest()[:12]}"


class OfficialAccountApiClient(_TokenFromBase, OfficialAccountClient):
    token_path = "token"

    def __init__(self, app_id: str, secret: str, *, api_base_url: str, timeout: float) -> None:
        super().__init__(app_id, secret, session=TOKENS, timeout=timeout)
        self.API_BASE_URL = api_base_url

    def token_params(self) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}

    def _token_scope(self) -> str:
        return self.appid


def call(
    request: Callable[[], dict[str, Any]], *, bad_address_codes: Iterable[int]
) -> tuple[dict[str, Any] | None, Delivery | None]:
    """Run one API call; the answer, or the Delivery that an error means."""
    try:
        result = request()
    except WeChatClientException as error:
        if error.errcode is None:  # an HTTP error status, not an API answer
            status = getattr(error.response, "status_code", None)
            return None, Delivery("retry", reason=f"HTTP {status}")
        return None, errcode_delivery(int(error.errcode), str(error.errmsg), bad_address_codes)
    except (requests.RequestException, ValueError) as error:
        return None, Delivery("retry", reason=f"WeChat API unreachable: {error}")
    if not isinstance(result, dict):  # wechatpy hands back the response when it is not JSON
        return None, Delivery("retry", reason="the answer is not JSON")
    return result, None


def errcode_delivery(code: int, message: str, bad_address_codes: Iterable[int]) -> Delivery:
    reason = f"{code}: {message}"
    if code in RETRY_CODES or code in CREDENTIAL_CODES:
        return Delivery("retry", reason=reason)
    if code in set(bad_address_codes):
        return Delivery("failed", reason=reason, bad_address=True)
    return Delivery("failed", reason=reason)
