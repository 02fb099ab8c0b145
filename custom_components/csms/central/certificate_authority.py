"""A local certificate authority for charge point certificates (security profile 3).

A charger asks for a client certificate with SignCertificate (a PKCS#10
CSR); the central system has it signed and sends the chain back with
CertificateSigned. Installations without a PKI of their own get this small
CA, kept as two PEM files in a directory the host gives: an EC P-256 key and
a self-signed 10-year certificate. The host loads it in a thread (file I/O,
key generation on first use).

Also here: reading CSRs and certificates, and the certificate hash data OCPP
names certificates by (the CertID fields of OCSP, RFC 6960).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.ocsp import OCSPRequestBuilder
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .timestamps import utcnow

CA_COMMON_NAME = "csms local CA"
CA_VALIDITY = timedelta(days=3652)
CERTIFICATE_VALIDITY = timedelta(days=365)
# Certificates start a little in the past: a charger whose clock runs behind
# would otherwise take a fresh certificate for one not yet valid.
BACKDATE = timedelta(minutes=5)
KEY_FILE = "ca.key"
CERTIFICATE_FILE = "ca.crt"
# Whitepaper section 3.1 (key sizes): RSA keys of at least 2048 bits, EC keys
# of at least 224 bits.
MIN_RSA_BITS = 2048
MIN_EC_BITS = 224

HASH_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}


class CsrError(ValueError):
    """A certificate signing request that is not signed (the reason says why)."""


class CertificateError(ValueError):
    """Text that is not the PEM certificate(s) it should be."""


class CertificateAuthorityError(OSError):
    """The local CA's files are there but cannot be used."""


def common_name(name: x509.Name) -> str | None:
    """The one commonName of a subject; None when there is none or several."""
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(attributes) != 1:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


type PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def csr_public_key(csr: x509.CertificateSigningRequest) -> PublicKey:
    """The CSR's key, if it is one the whitepaper allows and strong enough."""
    try:
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm) as err:
        raise CsrError("its public key cannot be read") from err
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CsrError(f"its RSA key has {key.key_size} bits, fewer than {MIN_RSA_BITS}")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_EC_BITS:
            raise CsrError(f"its EC key has {key.curve.key_size} bits, fewer than {MIN_EC_BITS}")
        return key
    # The whitepaper names RSA and elliptic curve keys only.
    raise CsrError(f"its key type {type(key).__name__} is not RSA or EC")


def load_csr(csr_pem: str) -> x509.CertificateSigningRequest:
    """A PEM CSR whose signature verifies and whose key is strong enough."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        signature_valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as err:
        raise CsrError("it is not a readable PEM certificate signing request") from err
    if not signature_valid:
        # Proof that the requester holds the private key: without it anyone
        # could have a certificate issued for a key they copied.
        raise CsrError("its signature does not verify")
    csr_public_key(csr)
    return csr


def check_csr(csr_pem: str, charge_point_id: str) -> x509.CertificateSigningRequest:
    """A CSR this charge point may have signed: readable, verified, and for itself.

    The whitepaper makes the certificate's commonName the charge point's
    identity, and a profile 3 connection is admitted as the charge point its
    certificate names. Signing a CSR that names another charge point would
    hand this one (or whoever controls it) the means to connect as that
    other charger: such a CSR is refused, not corrected.
    """
    csr = load_csr(csr_pem)
    name = common_name(csr.subject)
    if name is None:
        raise CsrError("its subject has no single commonName")
    if name != charge_point_id:
        raise CsrError(f"its commonName {name!r} is not the charge point's identity")
    return csr


def load_certificates(pem: str) -> list[x509.Certificate]:
    """The certificates of a PEM text, in order; at least one."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as err:
        raise CertificateError("no readable PEM certificate") from err
    return certificates


def certificate_hash_data(
    certificate: x509.Certificate,
    issuer: x509.Certificate | None = None,
    hash_algorithm: str = "SHA256",
) -> dict[str, str]:
    """OCPP's CertificateHashData of a certificate (snake_case keys).

    These are the fields of an OCSP CertID: hashes of the issuer's name (DER)
    and of its public key (the bit string), and the serial number in hex
    without leading zeros. A root certificate is its own issuer.
    """
    request = (
        OCSPRequestBuilder()
        .add_certificate(certificate, issuer or certificate, HASH_ALGORITHMS[hash_algorithm])
        .build()
    )
    return {
        "hash_algorithm": hash_algorithm,
        "issuer_name_hash": request.issuer_name_hash.hex(),
        "issuer_key_hash": request.issuer_key_hash.hex(),
        "serial_number": format(request.serial_number, "x"),
    }


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read; it must not exist yet."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


@dataclass(frozen=True, slots=True)
class LocalCertificateAuthority:
    """The CA's key and self-signed certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(cls, now: datetime | None = None) -> LocalCertificateAuthority:
        """A new CA: a fresh P-256 key and a 10-year root certificate."""
        now = now or utcnow()
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_VALIDITY)
            # It signs charge point certificates only, no intermediate CAs.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def load_or_create(cls, directory: Path) -> LocalCertificateAuthority:
        """The CA kept in ``directory``, created there on first use (blocking I/O).

        A damaged CA is not replaced: every certificate it issued would stop
        being trusted without anyone noticing why.
        """
        key_path = directory / KEY_FILE
        certificate_path = directory / CERTIFICATE_FILE
        if not key_path.exists() and not certificate_path.exists():
            authority = cls.create()
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            certificate_path.write_text(authority.root_pem, encoding="ascii")
            _write_private(key_path, authority.key_pem)
            return authority
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        except (OSError, ValueError, UnsupportedAlgorithm) as err:
            raise CertificateAuthorityError(
                f"The local CA in {directory} is damaged: {err}"
            ) from err
        if not isinstance(key, ec.EllipticCurvePrivateKey) or (
            key.public_key() != certificate.public_key()
        ):
            raise CertificateAuthorityError(
                f"The local CA in {directory} is damaged: its key does not match its certificate"
            )
        return cls(key, certificate)

    @property
    def root_pem(self) -> str:
        """The CA certificate, for chargers and servers to trust."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 (the file's mode protects it)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, csr_pem: str, charge_point_id: str, now: datetime | None = None) -> str:
        """Issue a 1-year client certificate for a CSR; the PEM chain to send back.

        The subject is the charge point's identity as commonName and the
        CSR's organizationName (the CPO name, configuration key CpoName).
        The chain is the new certificate followed by the CA's, so a charger
        can check it before the CA root was installed with InstallCertificate.
        Raises CsrError for a CSR :func:`check_csr` refuses.
        """
        csr = check_csr(csr_pem, charge_point_id)
        now = now or utcnow()
        subject: list[x509.NameAttribute[str | bytes]] = [
            x509.NameAttribute(NameOID.COMMON_NAME, charge_point_id)
        ]
        subject += csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[:1]
        public_key = csr_public_key(csr)
        authority_key = self.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + CERTIFICATE_VALIDITY, self.certificate.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    # TLS with an RSA key may encrypt the key exchange with it.
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                    data_encipherment=False,
                    key_agreement=isinstance(public_key, ec.EllipticCurvePublicKey),
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(authority_key),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        leaf = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        return leaf + self.root_pem
