"""TLS for the wss:// port: security profiles 2 and 3.

One listener serves both: the server always presents its certificate
(profile 2), and when a client CA is given a charger may also present a
client certificate issued by it (profile 3). The charge point certificate's
commonName is the charge point identity (Security Whitepaper edition 2).
"""

from __future__ import annotations

from collections.abc import Mapping
import ssl
from typing import Any

# TLS 1.2 suites: the whitepaper's ECDHE-ECDSA and RSA-key-exchange GCM
# suites, their ECDHE-RSA counterparts for RSA server certificates, and
# ChaCha20 for small chargers without AES hardware. TLS 1.3 suites are not
# affected by this list.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
    )
)


def server_ssl_context(
    certificate_file: str, key_file: str | None = None, client_ca_file: str | None = None
) -> ssl.SSLContext:
    """The server side TLS context; reads files, so call it in an executor.

    ``certificate_file`` may hold the chain (server certificate first) and,
    without ``key_file``, the private key too.
    With ``client_ca_file`` chargers may authenticate with a certificate
    issued by that CA; chargers without one still connect (profile 2).
    Raises OSError or ssl.SSLError when a file is missing or unusable.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # Whitepaper: TLS 1.2 or higher.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.load_cert_chain(certificate_file, key_file)
    if client_ca_file is not None:
        context.load_verify_locations(cafile=client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def certificate_identity(peer_cert: Mapping[str, Any] | None) -> str | None:
    """The subject commonName of a verified peer certificate (``SSLSocket.getpeercert()``).

    None without a certificate, without a commonName, or with several
    different ones (an identity must be unambiguous).
    """
    if not peer_cert:
        return None
    names = {
        value
        for relative_name in peer_cert.get("subject", ())
        for attribute, value in relative_name
        if attribute == "commonName"
    }
    if len(names) != 1:
        return None
    identity: str = names.pop()
    return identity
