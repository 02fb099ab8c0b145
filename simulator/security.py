"""The simulated charger's side of the OCPP 1.6 security extension.

Security Whitepaper edition 2: the charger reports security events, asks for
a client certificate with a CSR (SignCertificate) and takes the signed chain
(CertificateSigned), keeps the root certificates the central system installs
and names them by their hash data, and answers ExtendedTriggerMessage.
"""

from collections.abc import Callable
import functools
import hashlib
import logging
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from . import configuration as config
from ._ocpp import after, call, call_result, enums, on
from .core import ChargePointCore, utc_now

_LOGGER = logging.getLogger(__name__)

CENTRAL_SYSTEM_ROOT = "CentralSystemRootCertificate"
MANUFACTURER_ROOT = "ManufacturerRootCertificate"

_DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA512": hashlib.sha512,
}


def _public_key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey bit string of a certificate (what issuerKeyHash hashes)."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    msg = f"no key hash for {type(key).__name__} keys"
    raise ValueError(msg)


def hash_data_of(
    certificate: x509.Certificate, issuer: x509.Certificate, hash_algorithm: str = "SHA256"
) -> dict[str, str]:
    """CertificateHashData as OCPP defines it (snake_case keys, lowercase hex)."""
    digest = _DIGESTS[hash_algorithm]
    return {
        "hash_algorithm": hash_algorithm,
        "issuer_name_hash": digest(certificate.issuer.public_bytes()).hexdigest(),
        "issuer_key_hash": digest(_public_key_bits(issuer)).hexdigest(),
        "serial_number": format(certificate.serial_number, "x"),
    }


def _same_hash_data(wanted: dict[str, Any], actual: dict[str, str]) -> bool:
    return all(
        str(wanted.get(key, "")).lower() == actual[key].lower()
        for key in ("issuer_name_hash", "issuer_key_hash", "serial_number")
    )


class SecurityExtension(ChargePointCore):
    """Answers to the central system's certificate and extended trigger calls."""

    def __init__(self, charge_point_id: str, **kwargs: Any) -> None:
        """Create a charge point without a client certificate or installed roots."""
        super().__init__(charge_point_id, **kwargs)
        self.installed_certificates: dict[str, list[x509.Certificate]] = {
            CENTRAL_SYSTEM_ROOT: [],
            MANUFACTURER_ROOT: [],
        }
        # The client certificate (and the rest of its chain) CertificateSigned
        # delivered, and its key: what a security profile 3 connection uses.
        self.client_certificate_chain: list[x509.Certificate] = []
        self.client_key: ec.EllipticCurvePrivateKey | None = None
        # The key of the CSR sent last, waiting for its certificate.
        self._csr_key: ec.EllipticCurvePrivateKey | None = None

    # ------------------------------------------------------------------
    # Messages initiated by the charge point
    # ------------------------------------------------------------------

    async def security_event(
        self, event_type: str, tech_info: str | None = None, timestamp: str | None = None
    ) -> Any:
        """Send SecurityEventNotification and return the call result."""
        return await self.call(
            call.SecurityEventNotification(
                type=event_type, timestamp=timestamp or utc_now(), tech_info=tech_info
            ),
            suppress=False,
        )

    def make_csr(self, common_name: str | None = None, organization: str | None = None) -> str:
        """A CSR for a new P-256 key, remembered until its certificate arrives.

        The subject is the charge point's identity and the CpoName
        configuration key (whitepaper: CN and O of the client certificate),
        unless other values are given.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        organization = organization or self.configuration["CpoName"].value
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, common_name or self.id),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                    ]
                )
            )
            .sign(key, hashes.SHA256())
        )
        self._csr_key = key
        return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")

    async def sign_certificate(self, csr: str | None = None) -> Any:
        """Send SignCertificate (a fresh CSR of its own unless `csr` is given)."""
        response = await self.call(
            call.SignCertificate(csr=csr if csr is not None else self.make_csr()),
            suppress=False,
        )
        _LOGGER.info("%s: certificate signing request %s", self.id, response.status)
        return response

    # ------------------------------------------------------------------
    # Calls initiated by the central system
    # ------------------------------------------------------------------

    @on(enums.Action.extended_trigger_message)
    def _on_extended_trigger_message(
        self,
        requested_message: str,
        call_unique_id: str,
        connector_id: int | None = None,
        **_: Any,
    ) -> Any:
        if connector_id is not None and not self._exists(connector_id, allow_zero=True):
            return call_result.ExtendedTriggerMessage(status=enums.TriggerMessageStatus.rejected)
        self._defer(
            call_unique_id,
            f"triggered {requested_message}",
            functools.partial(self._send_extended_trigger, requested_message, connector_id),
        )
        return call_result.ExtendedTriggerMessage(status=enums.TriggerMessageStatus.accepted)

    @after(enums.Action.extended_trigger_message)
    def _after_extended_trigger_message(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    async def _send_extended_trigger(self, message: str, connector_id: int | None) -> None:
        if message == "SignChargePointCertificate":
            await self.sign_certificate()
        elif message == "LogStatusNotification":
            status, request_id = self._log_status()
            await self.call(
                call.LogStatusNotification(status=status, request_id=request_id), suppress=False
            )
        else:
            await self._send_triggered(message, connector_id)

    async def _send_triggered(self, message: str, connector_id: int | None) -> None:
        """Send a message TriggerMessage can ask for (the charge point's answers know how)."""
        raise NotImplementedError

    def _log_status(self) -> tuple[str, int | None]:
        """The log upload's status and requestId; Idle when no upload runs."""
        return "Idle", None

    @on(enums.Action.certificate_signed)
    def _on_certificate_signed(self, certificate_chain: str, call_unique_id: str, **_: Any) -> Any:
        reason = self._chain_refusal(certificate_chain)
        if reason is not None:
            _LOGGER.info("%s: certificate chain rejected: %s", self.id, reason)
            # Whitepaper: a charger reports a certificate it refuses.
            self._defer(
                call_unique_id,
                "security event",
                functools.partial(self.security_event, "InvalidChargePointCertificate", reason),
            )
            return call_result.CertificateSigned(status=enums.CertificateSignedStatus.rejected)
        self.client_certificate_chain = x509.load_pem_x509_certificates(certificate_chain.encode())
        self.client_key, self._csr_key = self._csr_key, None
        return call_result.CertificateSigned(status=enums.CertificateSignedStatus.accepted)

    @after(enums.Action.certificate_signed)
    def _after_certificate_signed(self, call_unique_id: str, **_: Any) -> None:
        self._run_deferred(call_unique_id)

    def _chain_refusal(self, certificate_chain: str) -> str | None:
        """Why a CertificateSigned chain is refused; None when it is taken."""
        max_size = config.as_int(self.configuration, "CertificateSignedMaxChainSize")
        if max_size and len(certificate_chain) > max_size:
            return f"chain of {len(certificate_chain)} characters, at most {max_size}"
        try:
            chain = x509.load_pem_x509_certificates(certificate_chain.encode())
        except ValueError:
            return "not a PEM certificate chain"
        leaf = chain[0]
        if self._csr_key is None or leaf.public_key() != self._csr_key.public_key():
            return "not the key of the last certificate signing request"
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if [name.value for name in names] != [self.id]:
            return "its commonName is not the charge point's identity"
        return None

    @on(enums.Action.install_certificate)
    def _on_install_certificate(self, certificate_type: str, certificate: str, **_: Any) -> Any:
        try:
            new = x509.load_pem_x509_certificate(certificate.encode())
        except ValueError:
            return call_result.InstallCertificate(status=enums.CertificateStatus.rejected)
        store = self.installed_certificates.setdefault(certificate_type, [])
        if new in store:
            return call_result.InstallCertificate(status=enums.CertificateStatus.accepted)
        installed = sum(len(certificates) for certificates in self.installed_certificates.values())
        if installed >= config.as_int(self.configuration, "CertificateStoreMaxLength"):
            return call_result.InstallCertificate(status=enums.CertificateStatus.rejected)
        if (
            certificate_type == CENTRAL_SYSTEM_ROOT
            and store
            and config.as_bool(self.configuration, "AdditionalRootCertificateCheck")
        ):
            # Whitepaper: one central system root at a time (plus the previous
            # one as a fallback), and a new one must be signed by the old.
            try:
                new.verify_directly_issued_by(store[0])
            except ValueError, TypeError, InvalidSignature:
                return call_result.InstallCertificate(status=enums.CertificateStatus.rejected)
            store[:] = [new, store[0]]
        else:
            store.append(new)
        _LOGGER.info("%s: installed a %s", self.id, certificate_type)
        return call_result.InstallCertificate(status=enums.CertificateStatus.accepted)

    def _issuer_of(self, certificate: x509.Certificate) -> x509.Certificate:
        """The installed certificate that issued `certificate` (a root is its own).

        Names alone do not tell: two CAs may well share one.
        """
        if certificate.issuer == certificate.subject:
            return certificate
        for certificates in self.installed_certificates.values():
            for candidate in certificates:
                try:
                    certificate.verify_directly_issued_by(candidate)
                except ValueError, TypeError, InvalidSignature:
                    continue
                return candidate
        return certificate

    def installed_hash_data(
        self, certificate_type: str, hash_algorithm: str = "SHA256"
    ) -> list[dict[str, str]]:
        """The hash data of the installed certificates of a type."""
        return [
            hash_data_of(certificate, self._issuer_of(certificate), hash_algorithm)
            for certificate in self.installed_certificates.get(certificate_type, [])
        ]

    @on(enums.Action.delete_certificate)
    def _on_delete_certificate(self, certificate_hash_data: dict[str, Any], **_: Any) -> Any:
        algorithm = str(certificate_hash_data.get("hash_algorithm"))
        for certificates in self.installed_certificates.values():
            for certificate in certificates:
                actual = hash_data_of(certificate, self._issuer_of(certificate), algorithm)
                if _same_hash_data(certificate_hash_data, actual):
                    certificates.remove(certificate)
                    _LOGGER.info("%s: deleted certificate %s", self.id, actual["serial_number"])
                    return call_result.DeleteCertificate(
                        status=enums.DeleteCertificateStatus.accepted
                    )
        return call_result.DeleteCertificate(status=enums.DeleteCertificateStatus.not_found)

    @on(enums.Action.get_installed_certificate_ids)
    def _on_get_installed_certificate_ids(self, certificate_type: str, **_: Any) -> Any:
        hash_data = self.installed_hash_data(certificate_type)
        if not hash_data:
            return call_result.GetInstalledCertificateIds(
                status=enums.GetInstalledCertificateStatus.not_found
            )
        return call_result.GetInstalledCertificateIds(
            status=enums.GetInstalledCertificateStatus.accepted,
            certificate_hash_data=hash_data,
        )
