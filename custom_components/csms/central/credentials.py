"""Who may connect as which charge point: the OCPP 1.6 security profiles.

The server asks a :class:`CredentialStore` (the host application) about a
charge point while the websocket handshake is still plain HTTP, so refusals
are HTTP answers (401, 403, 404) and no websocket is ever opened for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol


class SecurityProfile(IntEnum):
    """OCPP 1.6 Security Whitepaper edition 2, section 2."""

    # Profile 0 is not in the whitepaper: no authentication at all, as
    # OCPP-J 1.6 without the security extension. Trusted networks only.
    UNSECURED = 0
    BASIC_AUTH = 1
    TLS_BASIC_AUTH = 2
    TLS_CLIENT_CERTIFICATE = 3


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a known charge point must present."""

    # Salted password hashes (see passwords.py), the current one first.
    # During a rotation the previous one follows until the charger has
    # logged in with the new one.
    password_hashes: tuple[str, ...] = ()
    # The lowest profile it may connect with: it only ever goes up
    # (whitepaper section 2.2: no fallback to a lower profile).
    security_profile: SecurityProfile = SecurityProfile.UNSECURED


class CredentialStore(Protocol):
    """The host application's knowledge of charge points and their secrets."""

    def credentials(self, charge_point_id: str) -> Credentials | None:
        """A known charge point's credentials; None when the id is unknown."""

    def admits_unknown(self) -> bool:
        """Whether unknown charge points may connect (to be onboarded)."""

    def logged_in(
        self, charge_point_id: str, profile: SecurityProfile, password_index: int
    ) -> None:
        """A known charge point connected at ``profile``.

        ``password_index`` is the index in ``password_hashes`` of the password
        it used (-1: none). The store raises the recorded profile and ends a
        rotation once the new password (index 0) has been used.
        """


@dataclass(slots=True)
class ChargePointSecurity:
    """The secrets and security profile the central system keeps for one charge point."""

    password_hashes: list[str] = field(default_factory=list)
    profile: SecurityProfile = SecurityProfile.UNSECURED

    @property
    def has_secrets(self) -> bool:
        """Whether there is anything to remember: a password or a raised profile."""
        return bool(self.password_hashes) or self.profile > SecurityProfile.UNSECURED

    @property
    def credentials(self) -> Credentials:
        """What the server checks at the handshake."""
        return Credentials(tuple(self.password_hashes), self.profile)

    def logged_in(self, profile: SecurityProfile, password_index: int) -> bool:
        """Raise the profile and end a rotation as a login shows; True when anything changed."""
        changed = False
        if profile > self.profile:
            self.profile = profile
            changed = True
        if password_index == 0 and len(self.password_hashes) > 1:
            # The charger uses the new password: the old one is no longer needed.
            del self.password_hashes[1:]
            changed = True
        return changed

    def to_dict(self) -> dict[str, Any]:
        """Serialize (salted hashes only: the passwords themselves are never stored)."""
        return {"password_hashes": list(self.password_hashes), "profile": int(self.profile)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChargePointSecurity:
        """Restore from storage."""
        return cls(
            password_hashes=list(data.get("password_hashes") or []),
            profile=SecurityProfile(int(data.get("profile") or 0)),
        )
