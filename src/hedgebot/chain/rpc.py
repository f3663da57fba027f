"""A small async Ethereum JSON-RPC client over HTTP (httpx), with retries.

Errors are translated at this boundary into hedgebot's own:

* `RpcUnavailable` — transport failure, timeout, HTTP 429/5xx, a non-JSON answer, or a
  JSON-RPC error that nodes use for transient conditions. Retried with the project's
  retry policy (`hedgebot.brokers.retry.RetryPolicy`); when the attempts run out it
  surfaces, and the follower backs off and tries again later.
* `RpcRequestError` — the node answered with a definite JSON-RPC error (a revert, an
  unknown method, a range too large). Not retried.

RPC URLs often embed an API key (``…/v2/<key>``): messages and logs only ever show the
URL's scheme and host (`redact_url`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from hedgebot.brokers.retry import RetryPolicy

log = structlog.get_logger(__name__)

#: JSON-RPC error codes nodes return for conditions a retry can cure
#: (-32005 limit exceeded / rate limited; -32603 internal error).
_TRANSIENT_CODES = frozenset({-32005, -32603})
_TRANSIENT_HINTS = ("rate limit", "too many requests", "timeout", "timed out", "unavailable")


class RpcError(Exception):
    """Base of the chain RPC errors."""


class RpcUnavailable(RpcError):
    """The node could not be reached or answered with a transient failure."""


class RpcRequestError(RpcError):
    """The node rejected the request (a JSON-RPC error object)."""

    def __init__(self, method: str, code: int | None, message: str, data: object = None) -> None:
        super().__init__(f"{method} failed: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


def is_transient_rpc_error(error: BaseException) -> bool:
    return isinstance(error, RpcUnavailable)


#: Default retry for RPC calls: about 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s (plus jitter).
RPC_RETRY = RetryPolicy(
    max_attempts=6, initial_wait=0.2, max_wait=10.0, retry_if=is_transient_rpc_error
)


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` only: paths and query strings may hold API keys."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class JsonRpcClient:
    """One endpoint. ``call`` retries transient failures under ``retry``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy = RPC_RETRY,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the chain follower needs an http(s) RPC URL, got {redact_url(url)}")
        self._url = url
        self.endpoint = redact_url(url)
        self._retry = retry
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._ids = itertools.count(1)

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        return await self._retry.call(self.call_once, method, params)

    async def call_once(self, method: str, params: Sequence[Any] = ()) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = await self._client.post(self._url, json=request)
        except httpx.HTTPError as exc:
            raise RpcUnavailable(
                f"{method} to {self.endpoint} failed: {type(exc).__name__}"
            ) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise RpcUnavailable(f"{method} to {self.endpoint}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise RpcUnavailable(
                f"{method} to {self.endpoint}: HTTP {response.status_code}, not JSON"
            ) from None
        if not isinstance(body, dict):
            raise RpcUnavailable(f"{method} to {self.endpoint}: unexpected answer shape")
        error = body.get("error")
        if error is not None:
            raise _error_from(method, error)
        if response.status_code >= 400:
            raise RpcUnavailable(f"{method} to {self.endpoint}: HTTP {response.status_code}")
        if "result" not in body:
            raise RpcUnavailable(f"{method} to {self.endpoint}: answer without a result")
        return body["result"]

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_from(method: str, error: object) -> RpcError:
    if not isinstance(error, dict):
        return RpcUnavailable(f"{method}: malformed error object")
    code = error.get("code")
    message = str(error.get("message", ""))
    if code in _TRANSIENT_CODES or any(hint in message.lower() for hint in _TRANSIENT_HINTS):
        return RpcUnavailable(f"{method} failed: {message} (code {code})")
    return RpcRequestError(
        method, code if isinstance(code, int) else None, message, error.get("data")
    )
