"""Security events a charger reports (Security Whitepaper edition 2, appendix 1).

SecurityEventNotification names its event by a string; the whitepaper lists
the standard ones and lets a charger report its own, so any name is taken.
Each standard event is marked critical or not: a critical one is pushed to
the central system at once, the others only end up in the security log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .timestamps import format_timestamp


@dataclass(frozen=True, slots=True)
class SecurityEventType:
    """What the whitepaper says of an event type, and whether a person must look at it."""

    # Appendix 1: the charger sends it to the central system at once.
    critical: bool
    # Worth a repair issue: someone should look at the charger.
    needs_attention: bool = False


# Critical in the whitepaper means "send it now", not "something is wrong":
# a charger reports every boot (StartupOfTheDevice, ResetOrReboot), every
# clock sync (SettingSystemTime) and every firmware update as critical. A
# repair for those would greet the user after each reboot and soon be
# ignored, hiding the ones that matter. Only the critical events that point
# at an attack or a failing device need a person:
# - TamperDetectionActivated: the enclosure was opened or the device moved.
# - SecurityLogWasCleared: the trail of what happened is gone, which an
#   intruder does to cover tracks.
# - MemoryExhaustion: the charger may drop security logs and misbehave.
# The non-critical ones (failed logins, invalid messages, certificate and
# TLS trouble, replay attempts) come in bursts during misconfiguration and
# show up elsewhere too (a failed handshake, a Rejected firmware signature);
# they are events and logbook lines, not repairs.
SECURITY_EVENT_TYPES: dict[str, SecurityEventType] = {
    "FirmwareUpdated": SecurityEventType(critical=True),
    "FailedToAuthenticateAtCentralSystem": SecurityEventType(critical=False),
    "CentralSystemFailedToAuthenticate": SecurityEventType(critical=False),
    "SettingSystemTime": SecurityEventType(critical=True),
    "StartupOfTheDevice": SecurityEventType(critical=True),
    "ResetOrReboot": SecurityEventType(critical=True),
    "SecurityLogWasCleared": SecurityEventType(critical=True, needs_attention=True),
    "ReconfigurationOfSecurityParameters": SecurityEventType(critical=False),
    "MemoryExhaustion": SecurityEventType(critical=True, needs_attention=True),
    "InvalidMessages": SecurityEventType(critical=False),
    "AttemptedReplayAttacks": SecurityEventType(critical=False),
    "TamperDetectionActivated": SecurityEventType(critical=True, needs_attention=True),
    "InvalidFirmwareSignature": SecurityEventType(critical=False),
    "InvalidFirmwareSigningCertificate": SecurityEventType(critical=False),
    "InvalidCentralSystemCertificate": SecurityEventType(critical=False),
    "InvalidChargePointCertificate": SecurityEventType(critical=False),
    "InvalidTLSVersion": SecurityEventType(critical=False),
    "InvalidTLSCipherSuite": SecurityEventType(critical=False),
}

# Custom event types (allowed by the whitepaper) mean nothing to us: not critical.
_UNKNOWN = SecurityEventType(critical=False)


def event_type(name: str) -> SecurityEventType:
    """What is known of an event type; an unknown (custom) one is not critical."""
    return SECURITY_EVENT_TYPES.get(name, _UNKNOWN)


def is_critical(name: str) -> bool:
    """Whether the whitepaper marks the event type critical."""
    return event_type(name).critical


def needs_attention(name: str) -> bool:
    """Whether the event type is worth a repair issue."""
    return event_type(name).needs_attention


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One SecurityEventNotification."""

    type: str
    timestamp: datetime
    tech_info: str | None = None

    @property
    def critical(self) -> bool:
        """Whether the whitepaper marks its type critical."""
        return is_critical(self.type)

    @property
    def needs_attention(self) -> bool:
        """Whether it is worth a repair issue."""
        return needs_attention(self.type)

    def as_event_data(self) -> dict[str, Any]:
        """The event's data as listeners get it (JSON-friendly)."""
        return {
            "type": self.type,
            "timestamp": format_timestamp(self.timestamp),
            "tech_info": self.tech_info,
            "critical": self.critical,
        }
