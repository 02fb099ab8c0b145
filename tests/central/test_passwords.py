"""Charge point passwords: generation, rules, hashes and the AuthorizationKey form."""

from __future__ import annotations

import string

import pytest

from custom_components.csms.central.passwords import (
    HASH_ITERATIONS,
    authorization_key,
    basic_auth_candidates,
    check_password_rules,
    generate_password,
    hash_password,
    verify_password,
)


def test_generated_passwords_are_long_random_and_fit_the_authorization_key() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) == 20
        assert set(password) <= set(string.ascii_letters + string.digits)
        check_password_rules(password)
        assert len(authorization_key(password)) == 40


@pytest.mark.parametrize(
    "password",
    ["a" * 16, "b" * 40, "Pa$$w0rd!#%&()*+,-./;<=>?@[]^_{|}~", "0123456789ABCDEFGHIJ"],
)
def test_passwords_within_the_rules(password: str) -> None:
    check_password_rules(password)


@pytest.mark.parametrize(
    "password",
    [
        "a" * 15,  # too short
        "b" * 41,  # too long
        "with space inside ok",
        "colon:breaks:basic-auth",
        "tab\tinside-the-password",
        "umlaut-ä-is-not-ascii-x",
        "",
    ],
)
def test_passwords_against_the_rules(password: str) -> None:
    with pytest.raises(ValueError, match="password"):
        check_password_rules(password)


def test_hash_verifies_only_its_password() -> None:
    encoded = hash_password("correct-horse-battery")
    assert verify_password("correct-horse-battery", encoded)
    assert not verify_password("correct-horse-batterY", encoded)
    assert not verify_password("", encoded)


def test_hash_format_keeps_scheme_iterations_and_a_fresh_salt() -> None:
    first = hash_password("correct-horse-battery")
    second = hash_password("correct-horse-battery")
    scheme, iterations, salt, digest = first.split("$")
    assert scheme == "pbkdf2_sha256"
    assert int(iterations) == HASH_ITERATIONS == 20_000
    assert salt
    assert digest
    # Salted: the same password never gives the same hash.
    assert first != second
    assert "correct-horse-battery" not in first


def test_hash_with_another_iteration_count_still_verifies() -> None:
    # The count travels with the hash, so it can be raised later.
    scheme, _, salt, _ = hash_password("x" * 16).split("$")
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415

    digest = hashlib.pbkdf2_hmac("sha256", b"y" * 16, base64.b64decode(salt), 1000)
    encoded = f"{scheme}$1000${salt}${base64.b64encode(digest).decode()}"
    assert verify_password("y" * 16, encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain-text-password",
        "md5$1$abc$def",
        "pbkdf2_sha256$many$c2FsdA==$ZGlnZXN0",
        "pbkdf2_sha256$0$c2FsdA==$ZGlnZXN0",
        "pbkdf2_sha256$999999999$c2FsdA==$ZGlnZXN0",
        "pbkdf2_sha256$1000$not base64!$ZGlnZXN0",
        "pbkdf2_sha256$1000$c2FsdA==",
    ],
)
def test_malformed_hashes_match_nothing(encoded: str) -> None:
    assert not verify_password("plain-text-password", encoded)


def test_authorization_key_is_the_hex_of_the_password() -> None:
    assert authorization_key("0123456789abcdef") == "30313233343536373839616263646566"
    assert authorization_key("A" * 20) == "41" * 20


def test_authorization_key_refuses_passwords_that_cannot_travel() -> None:
    with pytest.raises(ValueError, match="at most 20"):
        authorization_key("a" * 21)
    with pytest.raises(ValueError, match="16 to 40"):
        authorization_key("short")


def test_basic_auth_candidates() -> None:
    password = "0123456789abcdefXYZ!"
    key = authorization_key(password)
    # A charger that sends the password, as the whitepaper asks.
    assert basic_auth_candidates(password) == [password]
    # One that sends the AuthorizationKey itself.
    assert basic_auth_candidates(key) == [key, password]
    assert basic_auth_candidates(key.upper()) == [key.upper(), password]


@pytest.mark.parametrize(
    "sent",
    [
        "30" * 15,  # 15 bytes: too short for a key
        "30" * 21,  # 21 bytes: too long
        "303" * 11,  # odd length
        "00" * 16,  # decodes to control characters
        "zz" * 16,  # not hex
    ],
)
def test_basic_auth_candidates_without_a_key_form(sent: str) -> None:
    assert basic_auth_candidates(sent) == [sent]
