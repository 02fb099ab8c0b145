"""Who may open a websocket: the decision for one upgrade request.

The rules of the OCPP 1.6 Security Whitepaper edition 2, section 2: the
user name of Basic authentication is the charge point identity; a charge
point that has ever used a security profile is never accepted at a lower
one; with profile 3 the TLS client certificate names the charge point.
Plain functions, so every rule can be tested without a network.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from .credentials import Credentials, SecurityProfile
from .passwords import basic_auth_candidates, verify_password

type PasswordCheck = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of a handshake check: admitted at a profile, or refused with an HTTP status."""

    profile: SecurityProfile = SecurityProfile.UNSECURED
    # Index in Credentials.password_hashes of the password used; -1: none.
    password_index: int = -1
    # None when admitted.
    refusal: HTTPStatus | None = None
    reason: str = ""
    # Seconds to wait before trying again (with HTTP 429).
    retry_after: int | None = None

    @property
    def admitted(self) -> bool:
        """Whether the websocket may be opened."""
        return self.refusal is None

    @classmethod
    def admit(cls, profile: SecurityProfile, password_index: int = -1) -> Admission:
        """Admitted at ``profile``."""
        return cls(profile=profile, password_index=password_index)

    @classmethod
    def refuse(
        cls, status: HTTPStatus, reason: str, *, retry_after: int | None = None
    ) -> Admission:
        """Refused with ``status``; ``reason`` goes into the response body and the log."""
        return cls(refusal=status, reason=reason, retry_after=retry_after)


def parse_basic_authorization(header: str) -> tuple[str, str] | None:
    """User name and password of a Basic ``Authorization`` header; None when malformed."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except binascii.Error, UnicodeDecodeError:
        return None
    # RFC 7617: the user name ends at the first ':'; the password may hold more.
    username, separator, password = decoded.partition(":")
    if not separator:
        return None
    return username, password


def connection_profile(*, tls: bool, password: bool, certificate: bool) -> SecurityProfile:
    """The security profile a connection offers."""
    if tls and certificate:
        return SecurityProfile.TLS_CLIENT_CERTIFICATE
    if password:
        return SecurityProfile.TLS_BASIC_AUTH if tls else SecurityProfile.BASIC_AUTH
    # TLS alone authenticates only the server: no better than profile 0.
    return SecurityProfile.UNSECURED


def required_profile(credentials: Credentials) -> SecurityProfile:
    """The lowest profile a known charge point may connect with."""
    if credentials.password_hashes:
        # A password is set: Basic authentication at least.
        return max(credentials.security_profile, SecurityProfile.BASIC_AUTH)
    return credentials.security_profile


def matching_password(sent: str, password_hashes: tuple[str, ...], verify: PasswordCheck) -> int:
    """Index of the hash ``sent`` matches (as sent or as a hex AuthorizationKey); -1: none."""
    candidates = basic_auth_candidates(sent)
    for index, encoded in enumerate(password_hashes):
        if any(verify(candidate, encoded) for candidate in candidates):
            return index
    return -1


def decide(  # noqa: PLR0911  (one return per rule reads best)
    charge_point_id: str,
    authorization_header: str | None,
    *,
    tls: bool,
    client_certificate_id: str | None,
    credentials: Credentials | None,
    admits_unknown: bool,
    verify: PasswordCheck = verify_password,
) -> Admission:
    """Admit or refuse one upgrade request.

    ``client_certificate_id`` is the identity in the verified TLS client
    certificate, if any; ``credentials`` None means the id is unknown.
    ``verify`` checks a password against a hash (slow on purpose: call this
    in an executor when a header and hashes are present).
    """
    if credentials is None and not admits_unknown:
        return Admission.refuse(HTTPStatus.NOT_FOUND, "Unknown charge point")
    if tls and client_certificate_id is not None:
        if client_certificate_id != charge_point_id:
            # A certificate the CA issued for another charger: impersonation
            # or a mix-up, never a fallback to a password.
            return Admission.refuse(
                HTTPStatus.FORBIDDEN, "The client certificate belongs to another charge point"
            )
        return Admission.admit(SecurityProfile.TLS_CLIENT_CERTIFICATE)
    password_index = -1
    if authorization_header is not None:
        parsed = parse_basic_authorization(authorization_header)
        if parsed is None:
            return Admission.refuse(HTTPStatus.UNAUTHORIZED, "Malformed Basic credentials")
        username, sent = parsed
        if username != charge_point_id:
            return Admission.refuse(
                HTTPStatus.UNAUTHORIZED, "The user name must be the charge point identity"
            )
        hashes = credentials.password_hashes if credentials is not None else ()
        # Without a hash there is nothing to check the password against: a
        # charger that sends one unasked is treated as sending none.
        if hashes:
            password_index = matching_password(sent, hashes, verify)
            if password_index < 0:
                return Admission.refuse(HTTPStatus.UNAUTHORIZED, "Wrong password")
    profile = connection_profile(tls=tls, password=password_index >= 0, certificate=False)
    required = required_profile(credentials) if credentials is not None else profile
    if profile >= required:
        return Admission.admit(profile, password_index)
    if password_index < 0 and required in (
        SecurityProfile.BASIC_AUTH,
        SecurityProfile.TLS_BASIC_AUTH,
    ):
        return Admission.refuse(HTTPStatus.UNAUTHORIZED, "A password is required")
    # Whitepaper section 2.2: never accepted at a lower profile than before.
    return Admission.refuse(
        HTTPStatus.FORBIDDEN,
        f"Security profile {int(required)} required, the connection offers {int(profile)}",
    )
