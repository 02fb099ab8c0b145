"""Charge point passwords: generation, rules, salted hashes, the AuthorizationKey form.

Security profiles 1 and 2 (OCPP 1.6 Security Whitepaper edition 2, section
2.3) authenticate a charge point with HTTP Basic authentication: the user
name is its identity, the password the one the central system gave it with
ChangeConfiguration AuthorizationKey. Only salted hashes are kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string

# Letters and digits only: no character a charger's configuration menu or a
# Basic header could mangle. 20 of 62 symbols are about 119 bits.
PASSWORD_ALPHABET = string.ascii_letters + string.digits
GENERATED_LENGTH = 20
# Whitepaper: the AuthorizationKey is 16 to 20 bytes long; OCPP 2.0.1 allows
# passwords up to 40 characters for chargers configured by hand.
MIN_PASSWORD_LENGTH = 16
MAX_PASSWORD_LENGTH = 40
MAX_AUTHORIZATION_KEY_BYTES = 20

HASH_SCHEME = "pbkdf2_sha256"
# The passwords are long random strings, so a slow hash adds little; 1000
# chargers reconnecting at once must not keep a Raspberry Pi busy for
# minutes. The count is part of each hash, so it can be raised later.
HASH_ITERATIONS = 20_000
SALT_BYTES = 16
# Guards verification against a corrupted stored hash asking for an absurd
# amount of work.
MAX_HASH_ITERATIONS = 10_000_000


def generate_password() -> str:
    """A new random password that fits the AuthorizationKey (20 characters)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))


def check_password_rules(password: str) -> None:
    """Raise ValueError unless ``password`` may be used for Basic authentication.

    16-40 printable ASCII characters without spaces; no ':' either, because
    Basic authentication separates user name and password with the first ':'.
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        msg = f"a password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        raise ValueError(msg)
    if not all(_is_password_character(character) for character in password):
        msg = "a password may contain printable ASCII characters except space and ':'"
        raise ValueError(msg)


def _is_password_character(character: str) -> bool:
    return "!" <= character <= "~" and character != ":"


def hash_password(password: str) -> str:
    """A salted hash: ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _pbkdf2(password, salt, HASH_ITERATIONS)
    return "$".join((HASH_SCHEME, str(HASH_ITERATIONS), _b64encode(salt), _b64encode(digest)))


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password`.

    The comparison takes the same time wherever the hashes differ; a
    malformed hash matches nothing.
    """
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != HASH_SCHEME or not parts[1].isdigit():
        return False
    iterations = int(parts[1])
    if not 1 <= iterations <= MAX_HASH_ITERATIONS:
        return False
    try:
        salt = base64.b64decode(parts[2], validate=True)
        expected = base64.b64decode(parts[3], validate=True)
    except binascii.Error:
        return False
    return hmac.compare_digest(_pbkdf2(password, salt, iterations), expected)


def authorization_key(password: str) -> str:
    """The value of ChangeConfiguration AuthorizationKey that gives a charger ``password``.

    Whitepaper edition 2: the key travels as the hexadecimal representation
    of the password's bytes, 16 to 20 bytes (32 to 40 hex characters).
    Raises ValueError for a password that cannot travel that way.
    """
    check_password_rules(password)
    if len(password) > MAX_AUTHORIZATION_KEY_BYTES:
        msg = (
            f"a password sent as AuthorizationKey is at most "
            f"{MAX_AUTHORIZATION_KEY_BYTES} characters long"
        )
        raise ValueError(msg)
    return password.encode("ascii").hex()


def basic_auth_candidates(sent: str) -> list[str]:
    """The passwords a Basic header's password may stand for.

    The password as sent, and, for chargers that put the AuthorizationKey
    itself in the header (seen in simulators and some chargers), its
    hex-decoded form when ``sent`` looks like a key.
    """
    candidates = [sent]
    decoded = _decoded_authorization_key(sent)
    if decoded is not None and decoded != sent:
        candidates.append(decoded)
    return candidates


def _decoded_authorization_key(value: str) -> str | None:
    if not 2 * MIN_PASSWORD_LENGTH <= len(value) <= 2 * MAX_AUTHORIZATION_KEY_BYTES:
        return None
    if len(value) % 2 or not all(character in string.hexdigits for character in value):
        return None
    decoded = bytes.fromhex(value)
    if not all(0x21 <= byte <= 0x7E for byte in decoded):
        return None
    return decoded.decode("ascii")


def _pbkdf2(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
