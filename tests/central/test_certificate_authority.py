"""The local CA: created once, kept private, signing only CSRs a charger may have signed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import hashlib
from pathlib import Path
import stat

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
import pytest

from custom_components.csms.central.certificate_authority import (
    CA_COMMON_NAME,
    CERTIFICATE_FILE,
    KEY_FILE,
    CertificateAuthorityError,
    CertificateError,
    CsrError,
    LocalCertificateAuthority,
    certificate_hash_data,
    check_csr,
    load_certificates,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def make_csr(
    common_name: str | None,
    organization: str | None = None,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
) -> str:
    """A PEM CSR as a charger makes one."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    attributes = []
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def authority() -> LocalCertificateAuthority:
    return LocalCertificateAuthority.create(NOW)


def test_created_once_and_kept_private(tmp_path: Path) -> None:
    directory = tmp_path / ".storage" / "csms_ca"

    created = LocalCertificateAuthority.load_or_create(directory)
    loaded = LocalCertificateAuthority.load_or_create(directory)

    assert loaded.certificate == created.certificate
    assert loaded.key_pem == created.key_pem
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    root = x509.load_pem_x509_certificate((directory / CERTIFICATE_FILE).read_bytes())
    assert root.subject.rfc4514_string() == f"CN={CA_COMMON_NAME}"
    assert root.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = root.not_valid_after_utc - root.not_valid_before_utc
    assert timedelta(days=3650) < lifetime < timedelta(days=3660)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]


def test_a_damaged_authority_is_not_replaced(tmp_path: Path) -> None:
    LocalCertificateAuthority.load_or_create(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    with pytest.raises(CertificateAuthorityError, match="damaged"):
        LocalCertificateAuthority.load_or_create(tmp_path)
    # Another CA's key with this certificate: nothing it signs would verify.
    (tmp_path / KEY_FILE).write_bytes(LocalCertificateAuthority.create().key_pem)
    with pytest.raises(CertificateAuthorityError, match="does not match"):
        LocalCertificateAuthority.load_or_create(tmp_path)


def test_signs_a_client_certificate_for_the_charger(authority: LocalCertificateAuthority) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    chain = authority.sign(make_csr("CP001", "Example CPO", key), "CP001", now=NOW)

    leaf, issuer = load_certificates(chain)
    assert issuer == authority.certificate
    leaf.verify_directly_issued_by(authority.certificate)
    assert leaf.public_key() == key.public_key()
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP001"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Example CPO"
    )
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == (
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    )
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.not_valid_before_utc < NOW
    assert leaf.not_valid_after_utc == NOW + timedelta(days=365)


def test_without_an_organization_the_subject_is_the_identity(
    authority: LocalCertificateAuthority,
) -> None:
    leaf, _ = load_certificates(authority.sign(make_csr("CP001"), "CP001"))
    assert leaf.subject.rfc4514_string() == "CN=CP001"


def test_rsa_keys_of_2048_bits_are_taken(authority: LocalCertificateAuthority) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf, _ = load_certificates(authority.sign(make_csr("CP001", key=key), "CP001"))
    assert leaf.public_key() == key.public_key()
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_no_certificate_outlives_the_authority(authority: LocalCertificateAuthority) -> None:
    late = authority.certificate.not_valid_after_utc - timedelta(days=30)
    leaf, _ = load_certificates(authority.sign(make_csr("CP001"), "CP001", now=late))
    assert leaf.not_valid_after_utc == authority.certificate.not_valid_after_utc


def _tampered(csr_pem: str) -> str:
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    return x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()


# CSRs made when the test runs: test ids must not depend on random keys.
REFUSED: dict[str, tuple[Callable[[], str], str]] = {
    "garbage": (lambda: "not a csr", "not a readable PEM"),
    "other_charger": (
        lambda: make_csr("CP002"),
        "commonName 'CP002' is not the charge point's identity",
    ),
    "no_common_name": (lambda: make_csr(None, "Example CPO"), "no single commonName"),
    "tampered": (lambda: _tampered(make_csr("CP001")), "signature does not verify"),
    "weak_rsa": (
        lambda: make_csr(
            "CP001", key=rsa.generate_private_key(public_exponent=65537, key_size=1024)
        ),
        "RSA key has 1024 bits",
    ),
    "weak_ec": (
        lambda: make_csr("CP001", key=ec.generate_private_key(ec.SECP192R1())),
        "EC key has 192 bits",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_requests(authority: LocalCertificateAuthority, case: str) -> None:
    make, reason = REFUSED[case]
    csr = make()
    with pytest.raises(CsrError, match=reason):
        check_csr(csr, "CP001")
    with pytest.raises(CsrError, match=reason):
        authority.sign(csr, "CP001")


def test_hash_data_names_a_certificate_by_its_issuer_and_serial(
    authority: LocalCertificateAuthority,
) -> None:
    root = authority.certificate
    point = root.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert certificate_hash_data(root) == {
        "hash_algorithm": "SHA256",
        "issuer_name_hash": hashlib.sha256(root.issuer.public_bytes()).hexdigest(),
        "issuer_key_hash": hashlib.sha256(point).hexdigest(),
        "serial_number": format(root.serial_number, "x"),
    }
    leaf, _ = load_certificates(authority.sign(make_csr("CP001"), "CP001"))
    by_issuer = certificate_hash_data(leaf, root, "SHA512")
    assert by_issuer["issuer_key_hash"] == hashlib.sha512(point).hexdigest()
    assert by_issuer["serial_number"] == format(leaf.serial_number, "x")


def test_certificates_are_read_from_pem(authority: LocalCertificateAuthority) -> None:
    assert load_certificates(authority.root_pem) == [authority.certificate]
    with pytest.raises(CertificateError):
        load_certificates("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateError):
        load_certificates("")
