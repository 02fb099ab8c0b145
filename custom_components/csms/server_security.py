"""A server entry's security settings: its TLS port and its hardening limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
import ssl
from typing import Any

from homeassistant.core import HomeAssistant

from .central.certificate_authority import CERTIFICATE_FILE
from .central.server_settings import ServerLimits, TlsListener
from .central.tls import server_ssl_context
from .certificates import CA_DIRECTORY
from .const import (
    CONF_CERTIFICATE_FILE,
    CONF_CLIENT_CA_FILE,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_FRAME_KIB,
    CONF_PRIVATE_KEY_FILE,
    CONF_TLS_PORT,
)

DEFAULT_LIMITS = ServerLimits()


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files a TLS port needs; HA's own certificate when none are set."""

    certificate: str
    private_key: str | None
    client_ca: str | None
    # The local CA that signs chargers' certificates (SignCertificate): the
    # client CA when none is set and it exists.
    local_ca: str | None = None


class TlsSetupError(Exception):
    """The TLS port's certificate, key or CA cannot be used."""

    def __init__(self, reason: str) -> None:
        """Keep the reason for the user."""
        super().__init__(reason)
        self.reason = reason


def server_limits(options: Mapping[str, Any]) -> ServerLimits:
    """The hardening limits the user chose; defaults for the rest."""
    return ServerLimits(
        max_frame_bytes=int(
            options.get(CONF_MAX_FRAME_KIB, DEFAULT_LIMITS.max_frame_bytes // 1024) * 1024
        ),
        max_connections=int(options.get(CONF_MAX_CONNECTIONS, DEFAULT_LIMITS.max_connections)),
    )


def tls_files(hass: HomeAssistant, options: Mapping[str, Any]) -> TlsFiles | None:
    """The files of the TLS port; None when there is no certificate to use."""
    certificate: str | None = options.get(CONF_CERTIFICATE_FILE)
    private_key: str | None = options.get(CONF_PRIVATE_KEY_FILE)
    http = getattr(hass, "http", None)
    if not certificate and http is not None and http.ssl_certificate:
        # Home Assistant's own certificate: chargers already trust its CA.
        certificate, private_key = http.ssl_certificate, http.ssl_key
    if not certificate:
        return None
    return TlsFiles(
        certificate,
        private_key or None,
        options.get(CONF_CLIENT_CA_FILE) or None,
        hass.config.path(*CA_DIRECTORY, CERTIFICATE_FILE),
    )


def load_ssl_context(files: TlsFiles) -> ssl.SSLContext:
    """Build the TLS context (file I/O: run it in the executor)."""
    for path in (files.certificate, files.private_key, files.client_ca):
        if path is not None and not Path(path).is_file():
            raise TlsSetupError(f"{path}: no such file")
    client_ca = files.client_ca
    if client_ca is None and files.local_ca is not None and Path(files.local_ca).is_file():
        client_ca = files.local_ca
    try:
        # Without a key file the certificate file holds the key too.
        key = files.private_key or files.certificate
        return server_ssl_context(files.certificate, key, client_ca)
    except (OSError, ssl.SSLError, ValueError) as err:
        raise TlsSetupError(str(err)) from err


async def async_tls_listener(hass: HomeAssistant, options: Mapping[str, Any]) -> TlsListener | None:
    """The TLS port of a server entry, if it has one.

    Raises:
        TlsSetupError: a TLS port is set but its files cannot be used.
    """
    port: int | None = options.get(CONF_TLS_PORT)
    if not port:
        return None
    files = tls_files(hass, options)
    if files is None:
        raise TlsSetupError("no certificate: set one, or configure Home Assistant with one")
    context = await hass.async_add_executor_job(load_ssl_context, files)
    return TlsListener(port=int(port), ssl_context=context)
