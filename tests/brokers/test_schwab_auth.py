"""SchwabAuth: given/when/then, golden payloads (es-and-migration §2.3), the view, the cipher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from hedgebot.brokers.schwab.auth import (
    SCHWAB_AUTH,
    SCHWAB_AUTH_EVENTS,
    AccessTokenRefreshed,
    AlreadyAuthenticated,
    Authenticated,
    Migrate,
    NotAuthenticated,
    NotAuthenticatedError,
    RefreshAccessToken,
    SchwabAuthView,
    StoreTokens,
    TokensStored,
    read_view_state,
)
from hedgebot.brokers.schwab.crypto import (
    EncryptedToken,
    InvalidEncryptedToken,
    InvalidEncryptionKey,
    TokenCipher,
    TokenDecryptionError,
    parse_key,
)
from hedgebot.clock import ManualClock
from hedgebot.eventstore import CommandHandler, Projector
from hedgebot.eventstore.sqlite import SqliteEventStore
from hedgebot.eventstore.testing import payloads, scenario

FETCHED = datetime(2025, 11, 5, 12, 34, 56, tzinfo=UTC)
LATER = FETCHED + timedelta(minutes=29)

# the reference migration test's tokens (es-and-migration §2.3, row 4)
ACCESS = EncryptedToken(bytes(range(0x01, 0x21)))
REFRESH = EncryptedToken(bytes(range(0x21, 0x41)))
NEW_ACCESS = EncryptedToken(bytes(range(0x41, 0x61)))

KEY = bytes(range(32))
NONCE = bytes(range(100, 112))
# AES-256-GCM of b"AT-golden-token" under KEY and NONCE, checked against pycryptodome
GOLDEN_CIPHERTEXT = (
    "0x6465666768696a6b6c6d6e6f094ff301168532fb504f2b87b100040c269fa0ac476190083563b45ab00853"
)


def stored(access: EncryptedToken = ACCESS, at: datetime = FETCHED) -> TokensStored:
    return TokensStored(access.hex, at, REFRESH.hex, at)


# -- given / when / then ------------------------------------------------------------


def test_storing_tokens_authenticates_with_both_fetch_times_from_the_command() -> None:
    scenario(SCHWAB_AUTH).given().when(StoreTokens(ACCESS, REFRESH, FETCHED)).then(stored())


def test_storing_tokens_again_replaces_them_after_a_new_login() -> None:
    later_login = StoreTokens(NEW_ACCESS, REFRESH, LATER)
    scenario(SCHWAB_AUTH).given(stored()).when(later_login).then(
        TokensStored(NEW_ACCESS.hex, LATER, REFRESH.hex, LATER)
    )


def test_refreshing_the_access_token_when_authenticated_records_only_the_access_token() -> None:
    refresh = RefreshAccessToken(NEW_ACCESS, LATER)
    scenario(SCHWAB_AUTH).given(stored()).when(refresh).then(
        AccessTokenRefreshed(NEW_ACCESS.hex, LATER)
    )


def test_refresh_keeps_the_refresh_token_and_its_original_fetch_time() -> None:
    state = (
        scenario(SCHWAB_AUTH)
        .given(stored())
        .when(RefreshAccessToken(NEW_ACCESS, LATER))
        .then_state()
    )
    assert state == Authenticated(NEW_ACCESS.hex, LATER, REFRESH.hex, FETCHED)


def test_refreshing_without_tokens_is_rejected() -> None:
    error = (
        scenario(SCHWAB_AUTH)
        .given()
        .when(RefreshAccessToken(NEW_ACCESS, LATER))
        .then_raises(NotAuthenticatedError)
    )
    assert "hedgebot auth schwab" in str(error)


def test_migrating_legacy_tokens_keeps_their_own_fetch_times() -> None:
    migrate = Migrate(ACCESS, FETCHED, REFRESH, FETCHED - timedelta(days=2))
    scenario(SCHWAB_AUTH).given().when(migrate).then(
        TokensStored(ACCESS.hex, FETCHED, REFRESH.hex, FETCHED - timedelta(days=2))
    )


def test_migrating_the_same_tokens_again_changes_nothing() -> None:
    migrate = Migrate(ACCESS, FETCHED, REFRESH, FETCHED)
    scenario(SCHWAB_AUTH).given(stored()).when(migrate).then()


def test_migrating_over_other_tokens_is_refused() -> None:
    migrate = Migrate(NEW_ACCESS, FETCHED, REFRESH, FETCHED)
    scenario(SCHWAB_AUTH).given(stored()).when(migrate).then_raises(AlreadyAuthenticated)


def test_a_stored_refresh_without_tokens_folds_to_not_authenticated() -> None:
    state = SCHWAB_AUTH.fold(NotAuthenticated(), [AccessTokenRefreshed(ACCESS.hex, FETCHED)])
    assert state == NotAuthenticated()


# -- golden payloads ------------------------------------------------------------------


def test_tokens_stored_payload_matches_the_reference_byte_for_byte() -> None:
    events = (
        scenario(SCHWAB_AUTH)
        .given()
        .when(Migrate(ACCESS, FETCHED, REFRESH, FETCHED))
        .then(stored())
    )
    assert payloads(SCHWAB_AUTH, events) == [
        '{"TokensStored":{"access_token":"0x0102030405060708090a0b0c0d0e0f10111213141516171819'
        '1a1b1c1d1e1f20","access_token_fetched_at":"2025-11-05T12:34:56Z","refresh_token":'
        '"0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",'
        '"refresh_token_fetched_at":"2025-11-05T12:34:56Z"}}'
    ]
    assert [SCHWAB_AUTH_EVENTS.event_type(e) for e in events] == ["TokensStored"]


def test_access_token_refreshed_payload_matches_the_reference_byte_for_byte() -> None:
    golden = EncryptedToken.parse(GOLDEN_CIPHERTEXT)
    refreshed_at = datetime(2025, 11, 5, 13, 4, 56, 123000, tzinfo=UTC)
    events = (
        scenario(SCHWAB_AUTH)
        .given(stored())
        .when(RefreshAccessToken(golden, refreshed_at))
        .then(AccessTokenRefreshed(GOLDEN_CIPHERTEXT, refreshed_at))
    )
    assert payloads(SCHWAB_AUTH, events) == [
        '{"AccessTokenRefreshed":{"access_token":"' + GOLDEN_CIPHERTEXT + '",'
        '"refreshed_at":"2025-11-05T13:04:56.123Z"}}'
    ]
    assert SCHWAB_AUTH_EVENTS.event_type(events[0]) == "AccessTokenRefreshed"


def test_reference_payloads_decode() -> None:
    reference = (
        '{"TokensStored":{"access_token":"0x0102030405060708090a0b0c0d0e0f101112131415161718191a'
        '1b1c1d1e1f20","access_token_fetched_at":"2025-11-05T12:34:56.123456789Z","refresh_token"'
        ':"0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",'
        '"refresh_token_fetched_at":"2025-11-05T12:34:56.123456789Z"}}'
    )
    event = SCHWAB_AUTH_EVENTS.decode_payload("TokensStored", "1.0", reference)
    assert isinstance(event, TokensStored)
    assert EncryptedToken.parse(event.access_token) == ACCESS


# -- the cipher -----------------------------------------------------------------------


def test_cipher_layout_is_nonce_then_ciphertext_and_tag() -> None:
    cipher = TokenCipher(KEY, nonce_source=lambda n: NONCE)
    token = cipher.encrypt(SecretStr("AT-golden-token"))
    assert token.hex == GOLDEN_CIPHERTEXT
    assert token.data[:12] == NONCE
    assert len(token.data) == 12 + len("AT-golden-token") + 16
    assert cipher.decrypt(token).get_secret_value() == "AT-golden-token"


def test_each_encryption_uses_a_fresh_nonce() -> None:
    cipher = TokenCipher(KEY)
    first = cipher.encrypt(SecretStr("same"))
    second = cipher.encrypt(SecretStr("same"))
    assert first != second
    assert cipher.decrypt(first).get_secret_value() == "same"


def test_legacy_hex_without_0x_decrypts() -> None:
    legacy = GOLDEN_CIPHERTEXT.removeprefix("0x")
    token = EncryptedToken.parse(legacy)
    assert TokenCipher(KEY).decrypt(token).get_secret_value() == "AT-golden-token"


def test_a_wrong_key_is_a_clear_error_without_the_token() -> None:
    wrong = TokenCipher(bytes(32))
    with pytest.raises(TokenDecryptionError) as caught:
        wrong.decrypt(EncryptedToken.parse(GOLDEN_CIPHERTEXT))
    message = str(caught.value)
    assert "wrong encryption key or tampered ciphertext" in message
    assert "AT-golden" not in message and "AT-golden" not in repr(caught.value)


def test_a_tampered_ciphertext_is_a_clear_error() -> None:
    data = bytearray(EncryptedToken.parse(GOLDEN_CIPHERTEXT).data)
    data[15] ^= 0x01
    with pytest.raises(TokenDecryptionError, match="tampered"):
        TokenCipher(KEY).decrypt(EncryptedToken(bytes(data)))


def test_malformed_encrypted_tokens_are_refused() -> None:
    with pytest.raises(InvalidEncryptedToken, match="not hex"):
        EncryptedToken.parse("0xzz")
    with pytest.raises(InvalidEncryptedToken, match="too short"):
        EncryptedToken.parse("0x0102")


def test_key_errors_never_echo_the_key() -> None:
    secret_looking = "ab" * 31  # 62 hex digits: one byte short
    with pytest.raises(InvalidEncryptionKey) as caught:
        parse_key(secret_looking)
    assert secret_looking not in str(caught.value)
    assert parse_key("0x" + "ab" * 32) == bytes([0xAB]) * 32


def test_cipher_repr_hides_the_key() -> None:
    cipher = TokenCipher.from_hex(SecretStr(KEY.hex()))
    assert KEY.hex() not in repr(cipher)
    assert "***" in repr(cipher)


# -- the view on a real SQLite store -------------------------------------------------------


def test_view_holds_the_encrypted_state_and_rebuilds_identically(sqlite_path: Path) -> None:
    store = SqliteEventStore(str(sqlite_path), synchronous="NORMAL")
    try:
        projector = Projector([SchwabAuthView()], [SCHWAB_AUTH_EVENTS])
        handler = CommandHandler(
            store, SCHWAB_AUTH, clock=ManualClock(FETCHED), projector=projector
        )
        handler.execute("schwab", StoreTokens(ACCESS, REFRESH, FETCHED))
        handler.execute("schwab", RefreshAccessToken(NEW_ACCESS, LATER))
        row = store.view_get("schwab_auth_view", "schwab")
        assert row is not None
        assert row.version == 2
        assert read_view_state(row.payload) == Authenticated(
            NEW_ACCESS.hex, LATER, REFRESH.hex, FETCHED
        )
        assert row.payload.startswith('{"Authenticated":{"access_token":"0x4142')
        projector.rebuild(store, "schwab_auth_view")
        assert store.view_get("schwab_auth_view", "schwab") == row
    finally:
        store.close()


def test_view_table_only_accepts_the_schwab_row(sqlite_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(sqlite_path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO schwab_auth_view (view_id, version, payload) VALUES ('other', 1, '{}')"
            )
    finally:
        conn.close()
