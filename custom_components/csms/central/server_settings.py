"""How an OCPP server listens, and the limits that keep one charger from hurting the rest."""

from __future__ import annotations

from dataclasses import dataclass
import ssl


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Hardening limits of one server; the defaults suit 1000 chargers on one host."""

    # Frames above this size end the connection (close code 1009). The
    # largest legitimate 1.6 frame is a StopTransaction with transactionData:
    # 10 hours of 1-minute samples of ten measurands are about 600 KiB, and a
    # StopTransaction that never fits is resent for ever, its session unbilled.
    max_frame_bytes: int = 1024 * 1024
    # Open and opening connections; more get HTTP 503 before the upgrade.
    max_connections: int = 2000
    # Calls a charger may send per second, sustained and in a burst. A charger
    # above it is slowed down (its frames wait), nothing is dropped.
    messages_per_second: float = 20.0
    message_burst: int = 100
    # Seconds for the opening handshake; a silent client is cut off after it.
    handshake_timeout: float = 10.0
    # Failed logins from one address for one charge point before it has to wait.
    failed_logins_before_backoff: int = 5


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A second, TLS (wss://) port of a server: security profiles 2 and 3."""

    port: int
    ssl_context: ssl.SSLContext
