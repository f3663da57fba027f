"""The SchwabAuth aggregate (singleton, id ``schwab``) and its view (SPEC §4.4).

Wire-compatible with the reference: aggregate type ``SchwabAuth``, bare event types
``TokensStored`` / ``AccessTokenRefreshed``, tokens as ``0x`` + hex of the AES-GCM
ciphertext. Commands carry tokens already encrypted by a `TokenCipher` at the edge
(see `hedgebot.brokers.schwab.crypto`): ``decide`` needs no key and no randomness,
and plaintext can never reach an event.

Timestamps come with the command (the caller's clock): for a token, the time the
request that fetched it was sent, so expiry estimates err early.

Deliberate differences from the reference:
* a refresh records only the new access token; the refresh token keeps its original
  ``refresh_token_fetched_at``, so the 7-day limit is measured from the login (the
  reference restarted that clock on every refresh and overestimated the lifetime);
* ``Migrate`` into an already authenticated aggregate is a no-op for identical
  tokens and an error otherwise (the reference appended a second ``TokensStored``,
  which could overwrite fresher tokens with legacy ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hedgebot.brokers.schwab.crypto import EncryptedToken
from hedgebot.domain import DomainError
from hedgebot.eventstore import Aggregate, DecideContext, EventRegistry, StoredEvent, Tagged, codec
from hedgebot.eventstore.views import View, ViewRows

AGGREGATE_TYPE = "SchwabAuth"
AGGREGATE_ID = "schwab"
VIEW_TABLE = "schwab_auth_view"

# -- events ---------------------------------------------------------------------


class SchwabAuthEvent(Tagged, root=True):
    pass


@dataclass(frozen=True)
class TokensStored(SchwabAuthEvent):
    access_token: str
    access_token_fetched_at: datetime
    refresh_token: str
    refresh_token_fetched_at: datetime


@dataclass(frozen=True)
class AccessTokenRefreshed(SchwabAuthEvent):
    access_token: str
    refreshed_at: datetime


SCHWAB_AUTH_EVENTS = EventRegistry(AGGREGATE_TYPE, SchwabAuthEvent, prefix=None)

# -- state ----------------------------------------------------------------------


class SchwabAuthState(Tagged, root=True):
    pass


@dataclass(frozen=True)
class NotAuthenticated(SchwabAuthState):
    pass


@dataclass(frozen=True)
class Authenticated(SchwabAuthState):
    access_token: str
    access_token_fetched_at: datetime
    refresh_token: str
    refresh_token_fetched_at: datetime

    @property
    def encrypted_access_token(self) -> EncryptedToken:
        return EncryptedToken.parse(self.access_token)

    @property
    def encrypted_refresh_token(self) -> EncryptedToken:
        return EncryptedToken.parse(self.refresh_token)


# -- commands -------------------------------------------------------------------


class SchwabAuthCommand:
    pass


@dataclass(frozen=True)
class StoreTokens(SchwabAuthCommand):
    """A new login (code exchange): both tokens, fetched at ``fetched_at``."""

    access_token: EncryptedToken
    refresh_token: EncryptedToken
    fetched_at: datetime


@dataclass(frozen=True)
class RefreshAccessToken(SchwabAuthCommand):
    access_token: EncryptedToken
    refreshed_at: datetime


@dataclass(frozen=True)
class Migrate(SchwabAuthCommand):
    """Already-encrypted tokens of a legacy ``schwab_auth`` row, with their own times."""

    access_token: EncryptedToken
    access_token_fetched_at: datetime
    refresh_token: EncryptedToken
    refresh_token_fetched_at: datetime


class SchwabAuthError(DomainError):
    pass


class NotAuthenticatedError(SchwabAuthError):
    def __init__(self) -> None:
        super().__init__(
            "cannot refresh the Schwab access token: not authenticated (run `hedgebot auth schwab`)"
        )


class AlreadyAuthenticated(SchwabAuthError):
    def __init__(self) -> None:
        super().__init__(
            "SchwabAuth already holds other tokens; legacy tokens are not imported over "
            "them (run `hedgebot auth schwab` to log in again instead)"
        )


# -- decide / evolve ------------------------------------------------------------


def decide(
    state: SchwabAuthState, command: SchwabAuthCommand, ctx: DecideContext
) -> Sequence[SchwabAuthEvent]:
    if isinstance(command, StoreTokens):
        return [
            TokensStored(
                access_token=command.access_token.hex,
                access_token_fetched_at=command.fetched_at,
                refresh_token=command.refresh_token.hex,
                refresh_token_fetched_at=command.fetched_at,
            )
        ]
    if isinstance(command, RefreshAccessToken):
        if not isinstance(state, Authenticated):
            raise NotAuthenticatedError()
        return [
            AccessTokenRefreshed(
                access_token=command.access_token.hex, refreshed_at=command.refreshed_at
            )
        ]
    if isinstance(command, Migrate):
        event = TokensStored(
            access_token=command.access_token.hex,
            access_token_fetched_at=command.access_token_fetched_at,
            refresh_token=command.refresh_token.hex,
            refresh_token_fetched_at=command.refresh_token_fetched_at,
        )
        if isinstance(state, Authenticated):
            if evolve(state, event) == state:
                return []
            raise AlreadyAuthenticated()
        return [event]
    raise TypeError(f"not a SchwabAuth command: {type(command).__name__}")


def evolve(state: SchwabAuthState, event: SchwabAuthEvent) -> SchwabAuthState:
    if isinstance(event, TokensStored):
        return Authenticated(
            access_token=event.access_token,
            access_token_fetched_at=event.access_token_fetched_at,
            refresh_token=event.refresh_token,
            refresh_token_fetched_at=event.refresh_token_fetched_at,
        )
    if isinstance(event, AccessTokenRefreshed):
        if not isinstance(state, Authenticated):
            return state  # as the reference: a refresh without tokens changes nothing
        return Authenticated(
            access_token=event.access_token,
            access_token_fetched_at=event.refreshed_at,
            refresh_token=state.refresh_token,
            refresh_token_fetched_at=state.refresh_token_fetched_at,
        )
    return state


SCHWAB_AUTH: Aggregate[SchwabAuthState, SchwabAuthCommand] = Aggregate(
    aggregate_type=AGGREGATE_TYPE,
    events=SCHWAB_AUTH_EVENTS,
    state_type=SchwabAuthState,
    initial_state=NotAuthenticated,
    decide=decide,
    evolve=evolve,
)

# -- view -----------------------------------------------------------------------


class SchwabAuthView(View):
    """``schwab_auth_view``: one row ``schwab`` holding the state with encrypted tokens,
    ``{"Authenticated":{…}}`` or ``"NotAuthenticated"`` as the reference's view."""

    table = VIEW_TABLE
    aggregate_types = frozenset({AGGREGATE_TYPE})

    def apply(self, rows: Mapping[str, ViewRows], event: StoredEvent, decoded: Any) -> None:
        if event.aggregate_id != AGGREGATE_ID or not isinstance(decoded, SchwabAuthEvent):
            return
        table = rows[self.table]
        current = table.get(AGGREGATE_ID)
        state: SchwabAuthState = (
            NotAuthenticated() if current is None else codec.from_jsonable(SchwabAuthState, current)
        )
        new_state = evolve(state, decoded)
        table.put(AGGREGATE_ID, codec.to_jsonable(SchwabAuthState, new_state))


def read_view_state(payload: str | None) -> SchwabAuthState:
    """The state held in a ``schwab_auth_view`` payload (None → not authenticated)."""
    if payload is None:
        return NotAuthenticated()
    return codec.from_json(SchwabAuthState, payload)
