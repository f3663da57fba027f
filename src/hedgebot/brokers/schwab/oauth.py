"""Schwab OAuth 2.0: the authorize URL, the redirect's code, and the token endpoint.

``POST {base}/v1/oauth/token`` with ``Authorization: Basic base64(app_key:app_secret)``
and a form body: ``grant_type=authorization_code&code=…&redirect_uri=…`` for a
login, ``grant_type=refresh_token&refresh_token=…`` for a refresh. Access tokens
live 30 minutes; the refresh token 7 days, after which only a new browser login
helps. Tokens and codes are `SecretStr` from the moment they are parsed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from pydantic import SecretStr

from hedgebot.brokers.errors import AuthExpired, BrokerProtocolError, BrokerUnavailable, RateLimited
from hedgebot.brokers.retry import parse_retry_after

AUTHORIZE_PATH = "/v1/oauth/authorize"
TOKEN_PATH = "/v1/oauth/token"  # noqa: S105 - a URL path, not a secret
REAUTH_INSTRUCTIONS = "Run `hedgebot auth schwab` to log in to Schwab again"


class InvalidRedirectUrl(ValueError):
    """The pasted URL carries no authorization code (the message never repeats the URL)."""


@dataclass(frozen=True)
class TokenGrant:
    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: int | None


def authorize_url(base_url: str, app_key: SecretStr, redirect_uri: str) -> str:
    """Where the operator logs in; Schwab then redirects to ``redirect_uri?code=…``."""
    query = urlencode({"client_id": app_key.get_secret_value(), "redirect_uri": redirect_uri})
    return f"{base_url.rstrip('/')}{AUTHORIZE_PATH}?{query}"


def extract_code(redirect_url: str) -> SecretStr:
    """The ``code`` query parameter of the URL the browser was redirected to."""
    text = redirect_url.strip()
    if not text:
        raise InvalidRedirectUrl("no redirect URL given")
    values = parse_qs(urlsplit(text).query).get("code")
    if not values or not values[0]:
        raise InvalidRedirectUrl(
            "the redirect URL has no 'code' parameter; paste the whole address the browser "
            "shows after logging in (it starts with the redirect URI and contains ?code=)"
        )
    return SecretStr(values[0])


class SchwabOAuth:
    """The token endpoint. Credentials are held as secrets and never logged."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        app_key: SecretStr,
        app_secret: SecretStr,
        redirect_uri: str,
    ) -> None:
        self._http = http
        self._redirect_uri = redirect_uri
        pair = f"{app_key.get_secret_value()}:{app_secret.get_secret_value()}"
        self._basic = SecretStr("Basic " + base64.b64encode(pair.encode()).decode())

    def __repr__(self) -> str:
        return f"SchwabOAuth(redirect_uri={self._redirect_uri!r})"

    async def exchange_code(self, code: SecretStr) -> TokenGrant:
        """A login: the redirect's code for both tokens. Not retried (codes are single-use)."""
        form = {
            "grant_type": "authorization_code",
            "code": code.get_secret_value(),
            "redirect_uri": self._redirect_uri,
        }
        response = await self._post(form, "code exchange")
        if response.status_code in (400, 401, 403):
            raise AuthExpired(
                f"Schwab refused the authorization code ({_error(response)})",
                "Run `hedgebot auth schwab` again and paste the redirect URL right after "
                "logging in (codes expire within minutes and work once)",
            )
        grant = _grant(response, "code exchange")
        if grant.refresh_token is None:
            raise BrokerProtocolError("Schwab code exchange returned no refresh token")
        return grant

    async def refresh(self, refresh_token: SecretStr) -> TokenGrant:
        """A new access token from the refresh token (7-day limit)."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        response = await self._post(form, "token refresh")
        if response.status_code in (400, 401, 403):
            raise AuthExpired(
                f"Schwab refused the refresh token ({_error(response)}); it has probably "
                "passed its 7-day limit or was revoked",
                REAUTH_INSTRUCTIONS,
            )
        return _grant(response, "token refresh")

    async def _post(self, form: dict[str, str], what: str) -> httpx.Response:
        try:
            response = await self._http.post(
                TOKEN_PATH,
                data=form,
                headers={
                    "Authorization": self._basic.get_secret_value(),
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
            )
        except httpx.TimeoutException:
            raise BrokerUnavailable(f"Schwab {what}: timed out") from None
        except httpx.TransportError as exc:
            raise BrokerUnavailable(f"Schwab {what}: {type(exc).__name__}") from None
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimited(f"Schwab {what}: rate limited (429)", retry_after)
        if response.status_code >= 500:
            raise BrokerUnavailable(f"Schwab {what}: HTTP {response.status_code}")
        return response


def _error(response: httpx.Response) -> str:
    """HTTP status and the OAuth ``error`` code only: descriptions may echo request data."""
    code = None
    try:
        data: Any = response.json()
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            code = data["error"][:80]
    except ValueError:
        pass
    return f"HTTP {response.status_code}" + (f": {code}" if code else "")


def _grant(response: httpx.Response, what: str) -> TokenGrant:
    if response.status_code != 200:
        raise BrokerProtocolError(f"Schwab {what}: unexpected {_error(response)}")
    try:
        data: Any = response.json()
    except ValueError:
        raise BrokerProtocolError(f"Schwab {what}: response is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise BrokerProtocolError(f"Schwab {what}: response has no access_token")
    refresh = data.get("refresh_token")
    expires = data.get("expires_in")
    return TokenGrant(
        access_token=SecretStr(data["access_token"]),
        refresh_token=SecretStr(refresh) if isinstance(refresh, str) and refresh else None,
        expires_in=expires if isinstance(expires, int) else None,
    )
