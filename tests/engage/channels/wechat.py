"""A loopback stand-in for the WeChat and WeCom APIs: tokens, and each call checked for one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.engage.channels.fakes import Reply, Request

Answer = Callable[[Request, dict[str, Any]], dict[str, Any]]


@dataclass
class WechatApi:
    """Issues tokens at `token_path` for the right credentials and passes each call with a valid
    token to `routes[path]`; answers errcodes as WeChat documents them otherwise."""

    token_path: str
    credentials: dict[str, str]  # the query parameters a token needs
    routes: dict[str, Answer]
    tokens: list[str] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)

    def __call__(self, request: Request) -> Reply:
        if request.path == self.token_path:
            if any(request.query.get(k) != v for k, v in self.credentials.items()):
                return Reply(200, {"errcode": 40001, "errmsg": "invalid credential"})
            token = f"TOKEN-{len(self.tokens) + 1}"
            self.tokens.append(token)
            return Reply(
                200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
            )
        token = request.query.get("access_token")
        if token not in self.tokens:
            return Reply(200, {"errcode": 40014, "errmsg": "invalid access_token"})
        if token in self.expired:
            return Reply(200, {"errcode": 42001, "errmsg": "access_token expired"})
        answer = self.routes.get(request.path)
        if answer is None or request.method != "POST":
            return Reply(404, b"not found", content_type="text/plain")
        return Reply(200, answer(request, request.json()))
