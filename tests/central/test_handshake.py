"""The handshake decision: security profiles 0-3, refusals 401/403/404, no downgrade."""

from __future__ import annotations

import base64
from http import HTTPStatus

import pytest

from custom_components.csms.central.credentials import Credentials, SecurityProfile
from custom_components.csms.central.handshake import (
    Admission,
    connection_profile,
    decide,
    parse_basic_authorization,
)
from custom_components.csms.central.passwords import authorization_key

CP = "CP001"
PASSWORD = "0123456789abcdefghij"
OLD_PASSWORD = "old-password-0123456"


def fake_hash(password: str) -> str:
    return f"fake${password}"


def fake_verify(password: str, encoded: str) -> bool:
    """Stands in for PBKDF2: the rules, not the hashing, are under test here."""
    return encoded == fake_hash(password)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def known(profile: SecurityProfile, *passwords: str) -> Credentials:
    return Credentials(tuple(fake_hash(password) for password in passwords), profile)


def check(
    header: str | None,
    credentials: Credentials | None,
    *,
    tls: bool = False,
    certificate: str | None = None,
    admits_unknown: bool = False,
) -> Admission:
    return decide(
        CP,
        header,
        tls=tls,
        client_certificate_id=certificate,
        credentials=credentials,
        admits_unknown=admits_unknown,
        verify=fake_verify,
    )


def admitted(admission: Admission) -> tuple[SecurityProfile, int]:
    assert admission.admitted, admission
    return admission.profile, admission.password_index


def refused(admission: Admission) -> HTTPStatus | None:
    assert not admission.admitted
    assert admission.reason
    return admission.refusal


def test_unknown_charge_point() -> None:
    assert refused(check(None, None)) is HTTPStatus.NOT_FOUND
    assert refused(check(basic(CP, PASSWORD), None, tls=True)) is HTTPStatus.NOT_FOUND
    # Admitted to be onboarded, at what the connection offers.
    assert admitted(check(None, None, admits_unknown=True)) == (SecurityProfile.UNSECURED, -1)
    # A password cannot be checked without a hash: it counts for nothing.
    assert admitted(check(basic(CP, PASSWORD), None, tls=True, admits_unknown=True)) == (
        SecurityProfile.UNSECURED,
        -1,
    )
    assert admitted(check(None, None, tls=True, certificate=CP, admits_unknown=True)) == (
        SecurityProfile.TLS_CLIENT_CERTIFICATE,
        -1,
    )


def test_unknown_charge_point_with_another_user_name() -> None:
    admission = check(basic("CP999", PASSWORD), None, admits_unknown=True)
    assert refused(admission) is HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("tls", "header", "certificate", "profile"),
    [
        (False, None, None, SecurityProfile.UNSECURED),
        (False, basic(CP, PASSWORD), None, SecurityProfile.BASIC_AUTH),
        (True, None, None, SecurityProfile.UNSECURED),
        (True, basic(CP, PASSWORD), None, SecurityProfile.TLS_BASIC_AUTH),
        (True, None, CP, SecurityProfile.TLS_CLIENT_CERTIFICATE),
        (True, basic(CP, PASSWORD), CP, SecurityProfile.TLS_CLIENT_CERTIFICATE),
    ],
)
def test_connection_profile_of_a_profile_0_charger_with_a_password(
    tls: bool, header: str | None, certificate: str | None, profile: SecurityProfile
) -> None:
    # Recorded profile 0 but a password on file: the password is checked
    # and counts (a hash present means Basic auth at least).
    credentials = Credentials((fake_hash(PASSWORD),), SecurityProfile.UNSECURED)
    if header is None and certificate is None:
        assert refused(check(header, credentials, tls=tls)) is HTTPStatus.UNAUTHORIZED
        return
    assert check(header, credentials, tls=tls, certificate=certificate).profile is profile


def test_profile_0_charger_without_password() -> None:
    credentials = known(SecurityProfile.UNSECURED)
    assert admitted(check(None, credentials)) == (SecurityProfile.UNSECURED, -1)
    # A charger that sends a password unasked: nothing to check it against.
    assert admitted(check(basic(CP, "anything-at-all-123"), credentials)) == (
        SecurityProfile.UNSECURED,
        -1,
    )


def test_profile_1_right_password() -> None:
    credentials = known(SecurityProfile.BASIC_AUTH, PASSWORD)
    assert admitted(check(basic(CP, PASSWORD), credentials)) == (SecurityProfile.BASIC_AUTH, 0)
    # On the TLS port the same charger connects at profile 2.
    assert admitted(check(basic(CP, PASSWORD), credentials, tls=True)) == (
        SecurityProfile.TLS_BASIC_AUTH,
        0,
    )


def test_profile_1_password_sent_as_authorization_key() -> None:
    credentials = known(SecurityProfile.BASIC_AUTH, PASSWORD)
    header = basic(CP, authorization_key(PASSWORD))
    assert admitted(check(header, credentials)) == (SecurityProfile.BASIC_AUTH, 0)


def test_rotation_accepts_old_and_new_password() -> None:
    credentials = known(SecurityProfile.BASIC_AUTH, PASSWORD, OLD_PASSWORD)
    assert admitted(check(basic(CP, PASSWORD), credentials)) == (SecurityProfile.BASIC_AUTH, 0)
    assert admitted(check(basic(CP, OLD_PASSWORD), credentials)) == (
        SecurityProfile.BASIC_AUTH,
        1,
    )


@pytest.mark.parametrize(
    "header",
    [
        basic(CP, "wrong-password-0123"),
        basic("CP002", PASSWORD),
        basic(CP.lower(), PASSWORD),
        "Bearer abcdef",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon-at-all").decode(),
        "Basic " + base64.b64encode(b"CP001:\xff\xfe").decode(),
        "",
    ],
)
def test_wrong_credentials_are_401(header: str) -> None:
    credentials = known(SecurityProfile.BASIC_AUTH, PASSWORD)
    assert refused(check(header, credentials)) is HTTPStatus.UNAUTHORIZED
    assert refused(check(header, credentials, tls=True)) is HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("profile", [SecurityProfile.BASIC_AUTH, SecurityProfile.TLS_BASIC_AUTH])
@pytest.mark.parametrize("tls", [False, True])
def test_missing_password_is_401(profile: SecurityProfile, tls: bool) -> None:
    assert refused(check(None, known(profile, PASSWORD), tls=tls)) is HTTPStatus.UNAUTHORIZED


def test_profile_2_refused_on_the_plain_port() -> None:
    credentials = known(SecurityProfile.TLS_BASIC_AUTH, PASSWORD)
    assert refused(check(basic(CP, PASSWORD), credentials)) is HTTPStatus.FORBIDDEN
    assert admitted(check(basic(CP, PASSWORD), credentials, tls=True)) == (
        SecurityProfile.TLS_BASIC_AUTH,
        0,
    )


def test_profile_3_needs_the_client_certificate() -> None:
    credentials = known(SecurityProfile.TLS_CLIENT_CERTIFICATE, PASSWORD)
    assert refused(check(basic(CP, PASSWORD), credentials, tls=True)) is HTTPStatus.FORBIDDEN
    assert refused(check(basic(CP, PASSWORD), credentials)) is HTTPStatus.FORBIDDEN
    assert refused(check(None, credentials, tls=True)) is HTTPStatus.FORBIDDEN
    assert admitted(check(None, credentials, tls=True, certificate=CP)) == (
        SecurityProfile.TLS_CLIENT_CERTIFICATE,
        -1,
    )


def test_profile_3_without_password_on_file() -> None:
    credentials = known(SecurityProfile.TLS_CLIENT_CERTIFICATE)
    assert refused(check(None, credentials, tls=True)) is HTTPStatus.FORBIDDEN
    assert refused(check(None, credentials)) is HTTPStatus.FORBIDDEN
    assert check(None, credentials, tls=True, certificate=CP).admitted


def test_certificate_of_another_charge_point_is_403() -> None:
    for credentials in (known(SecurityProfile.UNSECURED), known(SecurityProfile.BASIC_AUTH)):
        admission = check(basic(CP, PASSWORD), credentials, tls=True, certificate="CP002")
        assert refused(admission) is HTTPStatus.FORBIDDEN


def test_certificate_only_counts_with_tls() -> None:
    # Cannot happen with a real socket; the rule must not depend on it.
    credentials = known(SecurityProfile.TLS_CLIENT_CERTIFICATE)
    assert refused(check(None, credentials, certificate=CP)) is HTTPStatus.FORBIDDEN


def test_no_password_checked_without_a_header() -> None:
    calls: list[str] = []

    def counting_verify(password: str, encoded: str) -> bool:
        calls.append(password)
        return False

    decide(
        CP,
        None,
        tls=False,
        client_certificate_id=None,
        credentials=known(SecurityProfile.BASIC_AUTH, PASSWORD),
        admits_unknown=False,
        verify=counting_verify,
    )
    assert calls == []


def test_real_password_hashes() -> None:
    from custom_components.csms.central.passwords import hash_password  # noqa: PLC0415

    credentials = Credentials((hash_password(PASSWORD),), SecurityProfile.BASIC_AUTH)
    admission = decide(
        CP,
        basic(CP, PASSWORD),
        tls=False,
        client_certificate_id=None,
        credentials=credentials,
        admits_unknown=False,
    )
    assert admitted(admission) == (SecurityProfile.BASIC_AUTH, 0)


def test_parse_basic_authorization() -> None:
    assert parse_basic_authorization(basic(CP, "pass:with:colons")) == (CP, "pass:with:colons")
    assert parse_basic_authorization("basic " + basic(CP, "x")[6:]) == (CP, "x")
    assert parse_basic_authorization("Basic") is None
    assert parse_basic_authorization("Digest abc") is None


def test_connection_profile() -> None:
    assert connection_profile(tls=False, password=False, certificate=False) == 0
    assert connection_profile(tls=False, password=True, certificate=False) == 1
    assert connection_profile(tls=True, password=True, certificate=False) == 2
    assert connection_profile(tls=True, password=False, certificate=True) == 3
    assert connection_profile(tls=False, password=False, certificate=True) == 0
