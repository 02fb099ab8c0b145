"""OCPP timestamps: ISO 8601, UTC."""

from __future__ import annotations

from datetime import UTC, datetime
import logging

_LOGGER = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_timestamp(value: object, *, fallback: datetime) -> datetime:
    """Parse an OCPP date-time; ``fallback`` when it is missing or unreadable.

    A timestamp without an offset is taken as UTC (OCPP 1.6 section 3.1
    requires UTC; chargers that omit the ``Z`` mean it). A wrong timestamp is
    logged and replaced instead of refusing the message: a charger answered
    with an error for a transaction message would resend it forever.
    """
    if not isinstance(value, str):
        return fallback
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _LOGGER.warning("Unreadable timestamp %r, using %s instead", value, fallback)
        return fallback
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    """Format as OCPP expects: UTC with a ``Z`` and millisecond precision."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
