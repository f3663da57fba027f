"""Schwab tokens at rest: AES-256-GCM, the reference's exact layout.

Stored value = 12-byte random nonce ‖ ciphertext ‖ 16-byte tag, no associated data,
written as ``0x`` + lowercase hex in events (legacy ``schwab_auth`` rows are hex
without ``0x``; both are read). The 32-byte key comes from configuration and is
never stored.

Randomness (the nonce) is the cipher's business, not the domain's: the SchwabAuth
aggregate only ever sees `EncryptedToken` values that the edge produced with a
`TokenCipher`, so ``decide`` stays pure. Tests inject a fixed nonce source to get
golden ciphertexts.

Plaintext tokens travel as `pydantic.SecretStr` (its repr and str are masked), and
no error raised here contains a token or the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32

_HEX = re.compile(r"^[0-9a-fA-F]*$")


class TokenCryptoError(ValueError):
    """Base of encryption-key and token-ciphertext errors (never carries secret material)."""


class InvalidEncryptionKey(TokenCryptoError):
    pass


class TokenDecryptionError(TokenCryptoError):
    pass


class InvalidEncryptedToken(TokenCryptoError):
    pass


@dataclass(frozen=True)
class EncryptedToken:
    """Ciphertext of one token: nonce ‖ ciphertext ‖ tag. Safe to store and to show."""

    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) < NONCE_BYTES + TAG_BYTES:
            raise InvalidEncryptedToken(
                f"encrypted token too short: {len(self.data)} bytes "
                f"(at least {NONCE_BYTES + TAG_BYTES} expected)"
            )

    @property
    def hex(self) -> str:
        """``0x`` + lowercase hex, the event wire form."""
        return "0x" + self.data.hex()

    @classmethod
    def parse(cls, text: str) -> EncryptedToken:
        """From hex with or without ``0x`` (events / legacy rows)."""
        body = text.strip()
        if body[:2] in ("0x", "0X"):
            body = body[2:]
        if len(body) % 2 or not _HEX.match(body):
            raise InvalidEncryptedToken(
                f"encrypted token is not hex ({len(text)} characters, value not shown)"
            )
        return cls(bytes.fromhex(body))

    def __repr__(self) -> str:
        return f"EncryptedToken({self.hex})"


def parse_key(text: str) -> bytes:
    """A 32-byte key from 64 hex digits (optional ``0x``); errors never echo the value."""
    body = text.strip()
    if body[:2] in ("0x", "0X"):
        body = body[2:]
    if len(body) != 2 * KEY_BYTES or not _HEX.match(body):
        raise InvalidEncryptionKey(
            "the token encryption key must be 32 bytes written as 64 hex digits (value not shown)"
        )
    return bytes.fromhex(body)


class TokenCipher:
    """Encrypts and decrypts Schwab tokens with one key. Its repr hides the key."""

    def __init__(self, key: bytes, nonce_source: Callable[[int], bytes] = os.urandom) -> None:
        if len(key) != KEY_BYTES:
            raise InvalidEncryptionKey(f"the token encryption key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self._nonce_source = nonce_source

    @classmethod
    def from_hex(
        cls, text: str | SecretStr, nonce_source: Callable[[int], bytes] = os.urandom
    ) -> TokenCipher:
        raw = text.get_secret_value() if isinstance(text, SecretStr) else text
        return cls(parse_key(raw), nonce_source)

    def __repr__(self) -> str:
        return "TokenCipher(key=***)"

    def encrypt(self, token: SecretStr) -> EncryptedToken:
        nonce = self._nonce_source(NONCE_BYTES)
        if len(nonce) != NONCE_BYTES:
            raise TokenCryptoError(f"nonce source returned {len(nonce)} bytes, not {NONCE_BYTES}")
        sealed = self._aead.encrypt(nonce, token.get_secret_value().encode("utf-8"), None)
        return EncryptedToken(nonce + sealed)

    def decrypt(self, token: EncryptedToken) -> SecretStr:
        nonce, sealed = token.data[:NONCE_BYTES], token.data[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, sealed, None)
        except InvalidTag:
            raise TokenDecryptionError(
                "cannot decrypt the stored Schwab token: wrong encryption key or tampered "
                "ciphertext"
            ) from None
        try:
            return SecretStr(plain.decode("utf-8"))
        except UnicodeDecodeError:
            raise TokenDecryptionError("decrypted Schwab token is not UTF-8 text") from None
