"""Schwab tokens in use: valid access tokens on demand, one refresh at a time, the
refresher task of ``hedgebot run``.

Tokens are persisted only through the SchwabAuth aggregate (encrypted by the
`TokenCipher` before they reach a command); the plaintext exists only in memory, as
`SecretStr`, for the request that needs it.

Lifetimes are Schwab's published ones, measured from the fetch times in the
aggregate: access 30 minutes (refreshed ``refresh_margin`` early), refresh 7 days
from the login (a refresh does not extend it). A refresh happens once even when many
requests find the token expired at the same moment: they queue on one lock and the
ones behind the first see the fresh token and do not refresh again. A request
rejected with 401 asks for a refresh *of the token it used*; if another request has
already replaced it, it just gets the new one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from pydantic import SecretStr

from hedgebot.brokers.errors import AuthExpired, BrokerError
from hedgebot.brokers.retry import BROKER_RETRY, RetryPolicy
from hedgebot.brokers.schwab.auth import (
    AGGREGATE_ID,
    SCHWAB_AUTH,
    SCHWAB_AUTH_EVENTS,
    Authenticated,
    RefreshAccessToken,
    SchwabAuthCommand,
    SchwabAuthState,
    SchwabAuthView,
    StoreTokens,
)
from hedgebot.brokers.schwab.crypto import TokenCipher
from hedgebot.brokers.schwab.oauth import REAUTH_INSTRUCTIONS, SchwabOAuth
from hedgebot.clock import Clock
from hedgebot.eventstore import CommandHandler, EventStore, Projector

log = structlog.get_logger(__name__)

ACCESS_TOKEN_LIFETIME = timedelta(minutes=30)
REFRESH_TOKEN_LIFETIME = timedelta(days=7)


class SchwabAuthStore(Protocol):
    """Where SchwabAuth lives: load its state, run a command (synchronously)."""

    def load(self) -> SchwabAuthState: ...

    def execute(self, command: SchwabAuthCommand) -> None: ...


class EventStoreSchwabAuth:
    """`SchwabAuthStore` on the event store, through the aggregate's command handler."""

    def __init__(self, handler: CommandHandler[SchwabAuthState, SchwabAuthCommand]) -> None:
        self._handler = handler

    def load(self) -> SchwabAuthState:
        return self._handler.load(AGGREGATE_ID).state

    def execute(self, command: SchwabAuthCommand) -> None:
        self._handler.execute(AGGREGATE_ID, command)


def schwab_auth_handler(
    store: EventStore, clock: Clock, projector: Projector | None = None
) -> CommandHandler[SchwabAuthState, SchwabAuthCommand]:
    """The SchwabAuth command handler; by default it maintains ``schwab_auth_view``."""
    if projector is None:
        projector = Projector([SchwabAuthView()], [SCHWAB_AUTH_EVENTS])
    return CommandHandler(store, SCHWAB_AUTH, clock=clock, projector=projector)


@dataclass(frozen=True)
class TokenStatus:
    """Expiry times only: safe to log and to show in ``/health``."""

    access_expires_at: datetime
    refresh_expires_at: datetime


class SchwabTokens:
    def __init__(
        self,
        auth: SchwabAuthStore,
        cipher: TokenCipher,
        oauth: SchwabOAuth,
        clock: Clock,
        *,
        refresh_margin: timedelta = timedelta(minutes=5),
        retry: RetryPolicy = BROKER_RETRY,
    ) -> None:
        self._auth = auth
        self._cipher = cipher
        self._oauth = oauth
        self._clock = clock
        self._margin = refresh_margin
        self._retry = retry
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "SchwabTokens()"

    # -- queries ------------------------------------------------------------------

    def status(self) -> TokenStatus:
        state = self._authenticated()
        return _status(state)

    # -- commands -------------------------------------------------------------------

    async def login(self, code: SecretStr) -> TokenStatus:
        """Exchange a login's authorization code and store both tokens (encrypted)."""
        fetched_at = self._clock.now()
        grant = await self._oauth.exchange_code(code)
        assert grant.refresh_token is not None  # exchange_code guarantees it
        command = StoreTokens(
            access_token=self._cipher.encrypt(grant.access_token),
            refresh_token=self._cipher.encrypt(grant.refresh_token),
            fetched_at=fetched_at,
        )
        async with self._lock:
            self._auth.execute(command)
        status = self.status()
        log.info(
            "schwab_tokens_stored",
            access_expires_at=status.access_expires_at.isoformat(),
            refresh_expires_at=status.refresh_expires_at.isoformat(),
        )
        return status

    async def access_token(self) -> SecretStr:
        """A currently valid access token, refreshing it first when it is (nearly) expired."""
        state = self._authenticated()
        if self._access_valid(state):
            return self._cipher.decrypt(state.encrypted_access_token)
        async with self._lock:
            state = self._authenticated()
            if self._access_valid(state):
                return self._cipher.decrypt(state.encrypted_access_token)
            return await self._refresh(state)

    async def refresh_after_rejection(self, rejected: SecretStr) -> SecretStr:
        """Schwab answered 401 to ``rejected``: refresh it, unless that already happened."""
        async with self._lock:
            state = self._authenticated()
            current = self._cipher.decrypt(state.encrypted_access_token)
            if current.get_secret_value() != rejected.get_secret_value():
                return current
            return await self._refresh(state)

    async def ensure_fresh(self) -> TokenStatus:
        """Refresh if the access token is due; raise `AuthExpired` past the 7-day limit."""
        state = self._authenticated()
        self._check_refresh_token(state)
        if not self._access_valid(state):
            async with self._lock:
                state = self._authenticated()
                if not self._access_valid(state):
                    await self._refresh(state)
        return self.status()

    # -- internals --------------------------------------------------------------------

    def _authenticated(self) -> Authenticated:
        state = self._auth.load()
        if not isinstance(state, Authenticated):
            raise AuthExpired("no Schwab tokens are stored", REAUTH_INSTRUCTIONS)
        return state

    def _access_valid(self, state: Authenticated) -> bool:
        expires = state.access_token_fetched_at + ACCESS_TOKEN_LIFETIME
        return self._clock.now() < expires - self._margin

    def _check_refresh_token(self, state: Authenticated) -> None:
        expires = state.refresh_token_fetched_at + REFRESH_TOKEN_LIFETIME
        if self._clock.now() >= expires:
            raise AuthExpired(
                f"the Schwab refresh token expired at {expires:%Y-%m-%d %H:%M} UTC "
                "(Schwab's 7-day limit)",
                REAUTH_INSTRUCTIONS,
            )

    async def _refresh(self, state: Authenticated) -> SecretStr:
        """Call with the lock held."""
        self._check_refresh_token(state)
        refresh_token = self._cipher.decrypt(state.encrypted_refresh_token)
        sent_at = self._clock.now()
        grant = await self._retry.call(self._oauth.refresh, refresh_token)
        rotated = (
            grant.refresh_token is not None
            and grant.refresh_token.get_secret_value() != refresh_token.get_secret_value()
        )
        command: SchwabAuthCommand
        if rotated:
            assert grant.refresh_token is not None
            command = StoreTokens(
                access_token=self._cipher.encrypt(grant.access_token),
                refresh_token=self._cipher.encrypt(grant.refresh_token),
                fetched_at=sent_at,
            )
        else:
            command = RefreshAccessToken(
                access_token=self._cipher.encrypt(grant.access_token), refreshed_at=sent_at
            )
        self._auth.execute(command)
        log.info(
            "schwab_access_token_refreshed",
            access_expires_at=(sent_at + ACCESS_TOKEN_LIFETIME).isoformat(),
            refresh_token_rotated=rotated,
        )
        return grant.access_token


def _status(state: Authenticated) -> TokenStatus:
    return TokenStatus(
        access_expires_at=state.access_token_fetched_at + ACCESS_TOKEN_LIFETIME,
        refresh_expires_at=state.refresh_token_fetched_at + REFRESH_TOKEN_LIFETIME,
    )


class StopToken(Protocol):
    """What the refresher needs of `hedgebot.conductor.Stop`."""

    @property
    def is_set(self) -> bool: ...

    async def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class RefresherAlert:
    at: datetime
    kind: str  # "expiring" | "expired" | "refresh_failed"
    message: str


class TokenRefresher:
    """The ``hedgebot run`` service: keep the access token fresh (it is refreshed about
    every 25 minutes) and warn while the refresh token nears its 7-day limit.

    An expired login does not stop the bot (the API stays up for a re-login); it is
    logged as an error, at most every ``alert_every``, with the command to run. The
    latest alerts are kept in ``alerts`` for health reporting.
    """

    def __init__(
        self,
        tokens: SchwabTokens,
        clock: Clock,
        *,
        check_every: float = 60.0,
        alert_before: timedelta = timedelta(days=1),
        alert_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.tokens = tokens
        self.clock = clock
        self.check_every = check_every
        self.alert_before = alert_before
        self.alert_every = alert_every
        self.alerts: deque[RefresherAlert] = deque(maxlen=50)
        self._last_alert: datetime | None = None

    def _alert_due(self) -> bool:
        now = self.clock.now()
        return self._last_alert is None or now - self._last_alert >= self.alert_every

    def _alert(self, kind: str, message: str) -> None:
        self._last_alert = self.clock.now()
        self.alerts.append(RefresherAlert(self._last_alert, kind, message))

    async def tick(self) -> None:
        """One check: refresh when due, alert when the login nears or passed its end."""
        try:
            status = await self.tokens.ensure_fresh()
        except AuthExpired as exc:
            if self._alert_due():
                self._alert("expired", str(exc))
                log.error("schwab_auth_expired", error=str(exc))
            return
        except BrokerError as exc:
            self.alerts.append(RefresherAlert(self.clock.now(), "refresh_failed", str(exc)))
            log.warning(
                "schwab_token_refresh_failed", error_kind=type(exc).__name__, error=str(exc)
            )
            return
        remaining = status.refresh_expires_at - self.clock.now()
        if remaining <= self.alert_before and self._alert_due():
            message = (
                f"the Schwab login ends at {status.refresh_expires_at:%Y-%m-%d %H:%M} UTC; "
                "run `hedgebot auth schwab` before then"
            )
            self._alert("expiring", message)
            log.warning(
                "schwab_refresh_token_expiring",
                refresh_expires_at=status.refresh_expires_at.isoformat(),
                hours_left=round(remaining.total_seconds() / 3600, 1),
                instructions=REAUTH_INSTRUCTIONS,
            )

    async def run(self, stop: StopToken) -> None:
        while not stop.is_set:
            await self.tick()
            if await stop.wait(self.check_every):
                return


async def run_token_refresher(
    stop: StopToken, tokens: SchwabTokens, clock: Clock, *, check_every: float = 60.0
) -> None:
    """`TokenRefresher` with the default alerting, as a conductor service."""
    await TokenRefresher(tokens, clock, check_every=check_every).run(stop)
