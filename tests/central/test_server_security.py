"""Security profiles 0-3 on a real OCPP server with real simulated chargers.

Basic authentication on ws:// and wss://, client certificates, refusals as
HTTP answers before any websocket opens, the login back-off and logs free of
secrets. Certificates are made here with the `cryptography` package.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
import logging
from pathlib import Path
import ssl
import threading
from typing import Any

import pytest
from websockets.exceptions import InvalidHandshake, InvalidStatus

from custom_components.csms.central import CentralSystem, OcppServer
from custom_components.csms.central.credentials import Credentials, SecurityProfile
from custom_components.csms.central.gatekeeper import Attempt, Gatekeeper
from custom_components.csms.central.passwords import authorization_key, hash_password
from custom_components.csms.central.server_settings import ServerLimits, TlsListener
from custom_components.csms.central.tls import certificate_identity, server_ssl_context
from simulator import SimulatedChargePoint
from tests.certificates import TestAuthority
from tests.conftest import wait_for

from .memory_store import MemoryStore

CP = "CP001"
PASSWORD = "0123456789abcdefghij"
NEW_PASSWORD = "NewPassword987654321"


# ----------------------------------------------------------------------
# Test PKI: a CA, a server certificate for 127.0.0.1, client certificates
# (tests/certificates.py)
# ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    directory: Path
    ca_file: str
    server_certificate: str
    server_key: str

    def client_files(self, charge_point_id: str) -> tuple[str, str]:
        return (
            str(self.directory / f"{charge_point_id}.crt"),
            str(self.directory / f"{charge_point_id}.key"),
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    authority = TestAuthority(directory)
    server = authority.issue("server", server=True)
    for charge_point_id in (CP, "CP002"):
        authority.issue(charge_point_id, server=False)
    # A client certificate for CP001 from a CA the server does not trust.
    rogue_directory = directory / "rogue"
    rogue_directory.mkdir()
    forged = TestAuthority(rogue_directory).issue(CP, server=False)
    forged.certificate.rename(directory / "rogue.crt")
    forged.key.rename(directory / "rogue.key")
    return Pki(
        directory, str(authority.files.certificate), str(server.certificate), str(server.key)
    )


def client_context(pki: Pki, certificate_of: str | None = None) -> ssl.SSLContext:
    """A charger's TLS context: trusts the test CA; with a client certificate for profile 3."""
    context = ssl.create_default_context(cafile=pki.ca_file)
    if certificate_of is not None:
        context.load_cert_chain(*pki.client_files(certificate_of))
    return context


# ----------------------------------------------------------------------
# The host application's part: state and credential stores
# ----------------------------------------------------------------------


class HostCredentials:
    """A credential store that raises profiles and ends rotations like the HA side."""

    def __init__(self) -> None:
        self.known: dict[str, Credentials] = {}
        self.unknown_admitted = False
        self.logins: list[tuple[str, SecurityProfile, int]] = []

    def add(self, charge_point_id: str, profile: SecurityProfile, *passwords: str) -> Credentials:
        credentials = Credentials(tuple(hash_password(p) for p in passwords), profile)
        self.known[charge_point_id] = credentials
        return credentials

    def credentials(self, charge_point_id: str) -> Credentials | None:
        return self.known.get(charge_point_id)

    def admits_unknown(self) -> bool:
        return self.unknown_admitted

    def logged_in(
        self, charge_point_id: str, profile: SecurityProfile, password_index: int
    ) -> None:
        self.logins.append((charge_point_id, profile, password_index))
        current = self.known[charge_point_id]
        hashes = current.password_hashes[:1] if password_index == 0 else current.password_hashes
        self.known[charge_point_id] = Credentials(hashes, max(current.security_profile, profile))


type StartServer = Callable[..., Awaitable[OcppServer]]


@pytest.fixture
async def start_server(pki: Pki) -> AsyncGenerator[StartServer]:
    started: list[OcppServer] = []

    async def _start(
        credentials: HostCredentials | None = None,
        *,
        tls: bool = True,
        client_ca: bool = True,
        limits: ServerLimits | None = None,
    ) -> OcppServer:
        listener = None
        if tls:
            context = server_ssl_context(
                pki.server_certificate, pki.server_key, pki.ca_file if client_ca else None
            )
            listener = TlsListener(port=0, ssl_context=context)
        central = CentralSystem(MemoryStore())
        await central.async_load()
        server = OcppServer(
            central,
            host="127.0.0.1",
            port=0,
            tls=listener,
            credentials=credentials,
            limits=limits or ServerLimits(),
        )
        await server.start()
        started.append(server)
        return server

    yield _start
    for server in started:
        await server.stop()


@pytest.fixture
def store() -> HostCredentials:
    return HostCredentials()


def ws_url(server: OcppServer) -> str:
    return f"ws://127.0.0.1:{server.port}"


def wss_url(server: OcppServer) -> str:
    return f"wss://127.0.0.1:{server.tls_port}"


type NewCharger = Callable[..., SimulatedChargePoint]


@pytest.fixture
def charger(charge_points: list[SimulatedChargePoint]) -> NewCharger:
    def _new(charge_point_id: str = CP, **kwargs: Any) -> SimulatedChargePoint:
        charge_point = SimulatedChargePoint(charge_point_id, **kwargs)
        charge_points.append(charge_point)
        return charge_point

    return _new


async def refusal(charge_point: SimulatedChargePoint, url: str) -> InvalidStatus:
    """Connect, expecting an HTTP refusal; return it."""
    with pytest.raises(InvalidStatus) as refused:
        await charge_point.connect(url)
    assert not charge_point.connected
    return refused.value


def status_of(refused: InvalidStatus) -> int:
    return refused.response.status_code


# ----------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------


async def test_without_credential_store_everyone_is_profile_0(
    start_server: StartServer, charger: NewCharger
) -> None:
    server = await start_server(None, tls=False)
    assert server.tls_port is None
    charge_point = charger(password="whatever-it-sends-123")
    response = await charge_point.connect(ws_url(server))
    assert response.status == "Accepted"
    assert server.security_profile(CP) is SecurityProfile.UNSECURED


async def test_profile_1_right_password_boots(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password=PASSWORD)
    response = await charge_point.connect(ws_url(server))
    assert response.status == "Accepted"
    assert server.security_profile(CP) is SecurityProfile.BASIC_AUTH
    assert store.logins == [(CP, SecurityProfile.BASIC_AUTH, 0)]
    assert server.central.charge_points[CP].connected
    await charge_point.disconnect()
    await charge_point_gone(server)
    assert server.security_profile(CP) is None


async def charge_point_gone(server: OcppServer) -> None:
    await wait_for(lambda: CP not in server.connections)


async def test_password_sent_as_authorization_key_is_accepted(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    # Charger quirk: the hex AuthorizationKey itself in the Basic header.
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password=authorization_key(PASSWORD))
    assert (await charge_point.connect(ws_url(server))).status == "Accepted"
    assert server.security_profile(CP) is SecurityProfile.BASIC_AUTH


async def test_wrong_password_is_refused_before_the_upgrade(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    refused = await refusal(charger(password="wrong-password-12345"), ws_url(server))
    assert status_of(refused) == 401
    assert refused.response.headers["WWW-Authenticate"] == 'Basic realm="OCPP"'
    # No websocket was opened: the central system never saw the charger.
    assert server.connections == {}
    assert CP not in server.central.charge_points
    assert store.logins == []


async def test_missing_password_is_401(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    refused = await refusal(charger(), ws_url(server))
    assert status_of(refused) == 401
    assert refused.response.headers["WWW-Authenticate"] == 'Basic realm="OCPP"'
    # Nor over TLS.
    refused = await refusal(charger(ssl_context=client_context(pki)), wss_url(server))
    assert status_of(refused) == 401


async def test_unknown_charge_point(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    server = await start_server(store)
    refused = await refusal(charger("CP404"), ws_url(server))
    assert status_of(refused) == 404
    # Admitted when the host onboards unknown chargers; nothing to log in.
    store.unknown_admitted = True
    charge_point = charger("CP404")
    assert (await charge_point.connect(ws_url(server))).status == "Accepted"
    assert server.security_profile("CP404") is SecurityProfile.UNSECURED
    assert store.logins == []


async def test_profile_2_password_over_tls(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.TLS_BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    assert server.tls_port not in (None, 0, server.port)
    charge_point = charger(password=PASSWORD, ssl_context=client_context(pki))
    assert (await charge_point.connect(wss_url(server))).status == "Accepted"
    assert server.security_profile(CP) is SecurityProfile.TLS_BASIC_AUTH
    assert store.logins == [(CP, SecurityProfile.TLS_BASIC_AUTH, 0)]


async def test_profile_1_charger_on_the_tls_port_is_raised_to_2(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password=PASSWORD, ssl_context=client_context(pki))
    await charge_point.connect(wss_url(server))
    assert store.known[CP].security_profile is SecurityProfile.TLS_BASIC_AUTH
    await charge_point.disconnect()
    # From now on the plain port is a downgrade.
    refused = await refusal(charger(password=PASSWORD), ws_url(server))
    assert status_of(refused) == 403


async def test_profile_3_client_certificate(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.TLS_CLIENT_CERTIFICATE)
    server = await start_server(store)
    charge_point = charger(ssl_context=client_context(pki, certificate_of=CP))
    assert (await charge_point.connect(wss_url(server))).status == "Accepted"
    assert server.security_profile(CP) is SecurityProfile.TLS_CLIENT_CERTIFICATE
    assert store.logins == [(CP, SecurityProfile.TLS_CLIENT_CERTIFICATE, -1)]


async def test_client_certificate_of_another_charger_is_403(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password=PASSWORD, ssl_context=client_context(pki, "CP002"))
    assert status_of(await refusal(charge_point, wss_url(server))) == 403


async def test_without_client_ca_a_certificate_counts_for_nothing(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.TLS_CLIENT_CERTIFICATE)
    server = await start_server(store, client_ca=False)
    # The server asks for no certificate: TLS alone is too weak for profile 3.
    charge_point = charger(ssl_context=client_context(pki, certificate_of=CP))
    assert status_of(await refusal(charge_point, wss_url(server))) == 403


@pytest.fixture
async def quiet_tls_failures() -> None:
    """Failed TLS handshakes are reported to the loop's handler only in debug mode.

    The test loop runs in debug mode and fails the test on such a report;
    a production loop only drops the connection.
    """
    asyncio.get_running_loop().set_debug(False)


@pytest.mark.usefixtures("quiet_tls_failures")
async def test_certificate_from_an_untrusted_ca_fails_the_tls_handshake(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.TLS_CLIENT_CERTIFICATE)
    server = await start_server(store)
    context = client_context(pki)
    context.load_cert_chain(str(pki.directory / "rogue.crt"), str(pki.directory / "rogue.key"))
    charge_point = charger(ssl_context=context)
    with pytest.raises((ssl.SSLError, OSError, InvalidHandshake)):
        await charge_point.connect(wss_url(server))
    assert server.connections == {}
    assert store.logins == []


async def test_downgrade_from_profile_2_to_plain_is_403(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.TLS_BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    refused = await refusal(charger(password=PASSWORD), ws_url(server))
    assert status_of(refused) == 403
    assert store.logins == []


async def test_downgrade_from_profile_3_to_password_is_403(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.TLS_CLIENT_CERTIFICATE, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password=PASSWORD, ssl_context=client_context(pki))
    assert status_of(await refusal(charge_point, wss_url(server))) == 403


@pytest.mark.usefixtures("quiet_tls_failures")
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
async def test_tls_below_1_2_is_refused(pki: Pki, start_server: StartServer) -> None:
    server = await start_server(None)

    def context_up_to(version: ssl.TLSVersion) -> ssl.SSLContext:
        context = client_context(pki)
        # A client that could still speak TLS 1.1 (OpenSSL forbids it by default).
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = version
        return context

    old = SimulatedChargePoint(CP, ssl_context=context_up_to(ssl.TLSVersion.TLSv1_1))
    # The server's protocol version alert, or the reset that follows it.
    with pytest.raises(OSError):  # noqa: PT011
        await old.connect(wss_url(server))
    await old.disconnect()
    assert server.connections == {}
    # The same client allowed TLS 1.2 gets in.
    current = SimulatedChargePoint(CP, ssl_context=context_up_to(ssl.TLSVersion.TLSv1_2))
    assert (await current.connect(wss_url(server))).status == "Accepted"
    await current.disconnect()


async def test_repeated_failures_back_off_with_429(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store, limits=ServerLimits(failed_logins_before_backoff=3))
    for _ in range(3):
        refused = await refusal(charger(password="wrong-password-12345"), ws_url(server))
        assert status_of(refused) == 401
    # Even the right password has to wait now.
    refused = await refusal(charger(password=PASSWORD), ws_url(server))
    assert status_of(refused) == 429
    assert refused.response.headers["Retry-After"] == "10"
    # Another charger behind the same address is not affected.
    store.add("CP002", SecurityProfile.BASIC_AUTH, PASSWORD)
    other = charger("CP002", password=PASSWORD)
    assert (await other.connect(ws_url(server))).status == "Accepted"


async def test_connection_moves_from_plain_to_tls_port(
    pki: Pki, start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    first = charger(password=PASSWORD)
    await first.connect(ws_url(server))
    assert server.security_profile(CP) is SecurityProfile.BASIC_AUTH
    second = charger(password=PASSWORD, ssl_context=client_context(pki))
    await second.connect(wss_url(server))
    # One connection per charge point, whichever port: the newer one wins.
    await first.wait_closed()
    assert server.connections[CP].websocket.request is not None
    assert server.security_profile(CP) is SecurityProfile.TLS_BASIC_AUTH
    assert server.central.charge_points[CP].connected


async def test_authorization_key_rotation_with_the_simulator(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password=PASSWORD)
    await charge_point.connect(ws_url(server))
    # The host keeps the old password valid until the new one was used.
    store.add(CP, SecurityProfile.BASIC_AUTH, NEW_PASSWORD, PASSWORD)
    answer = await server.request(
        CP,
        "ChangeConfiguration",
        {"key": "AuthorizationKey", "value": authorization_key(NEW_PASSWORD)},
    )
    assert answer == {"status": "Accepted"}
    assert charge_point.password == NEW_PASSWORD
    # Write-only: GetConfiguration never shows the key.
    configuration = await server.request(CP, "GetConfiguration", {"key": ["AuthorizationKey"]})
    assert authorization_key(NEW_PASSWORD) not in str(configuration)
    assert NEW_PASSWORD not in str(configuration)
    await charge_point.disconnect()
    await charge_point_gone(server)
    await charge_point.connect(ws_url(server))
    assert store.logins[-1] == (CP, SecurityProfile.BASIC_AUTH, 0)
    assert len(store.known[CP].password_hashes) == 1


async def test_simulator_security_configuration(
    start_server: StartServer, charger: NewCharger
) -> None:
    server = await start_server(None, tls=False)
    charge_point = charger()
    await charge_point.connect(ws_url(server))

    async def change(key: str, value: str) -> str:
        answer = await server.request(CP, "ChangeConfiguration", {"key": key, "value": value})
        return str(answer["status"])

    # Profile 1 needs a password first; keys that are no hex of 16-20 bytes are refused.
    assert await change("SecurityProfile", "1") == "Rejected"
    assert await change("AuthorizationKey", "tooshort") == "Rejected"
    assert await change("AuthorizationKey", "zz" * 16) == "Rejected"  # no hex
    assert await change("AuthorizationKey", "41" * 21) == "Rejected"  # 21 bytes
    # Bytes that are no password text: the key itself is the password.
    assert await change("AuthorizationKey", "3a" * 16) == "Accepted"
    assert charge_point.password == "3a" * 16
    assert await change("AuthorizationKey", authorization_key(PASSWORD)) == "Accepted"
    assert await change("SecurityProfile", "1") == "Accepted"
    # No downgrade, no TLS profile without TLS, nothing beyond 3.
    assert await change("SecurityProfile", "0") == "Rejected"
    assert await change("SecurityProfile", "2") == "Rejected"
    assert await change("SecurityProfile", "4") == "Rejected"
    configuration = await server.request(CP, "GetConfiguration", {})
    values = {item["key"]: item.get("value") for item in configuration["configuration_key"]}
    assert values["SecurityProfile"] == "1"
    assert not values.get("AuthorizationKey")


async def test_no_secret_in_any_log_record(
    caplog: pytest.LogCaptureFixture,
    start_server: StartServer,
    store: HostCredentials,
    charger: NewCharger,
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    await refusal(charger(password="wrong-password-12345"), ws_url(server))
    charge_point = charger(password=PASSWORD)
    await charge_point.connect(ws_url(server))
    header = charge_point._authorization_headers()["Authorization"]
    token = header.split()[1]
    records = caplog.get_records("call")
    assert any("refused connection" in record.getMessage() for record in records)
    assert any(
        "< Authorization: [redacted]" in record.getMessage()
        for record in records
        if record.name == "websockets.server"
    )
    for record in records:
        text = record.getMessage()
        for password_hash in credentials.password_hashes:
            assert password_hash not in text
            assert password_hash.split("$")[3] not in text
        if record.name.startswith(("websockets.client", "simulator")):
            continue  # the charger's own side of the line
        for secret in (PASSWORD, "wrong-password-12345", token):
            assert secret not in text, (record.name, text)


def test_server_ssl_context(pki: Pki) -> None:
    context = server_ssl_context(pki.server_certificate, pki.server_key, pki.ca_file)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_OPTIONAL
    without_ca = server_ssl_context(pki.server_certificate, pki.server_key)
    assert without_ca.verify_mode == ssl.CERT_NONE
    with pytest.raises(OSError):  # noqa: PT011  (FileNotFoundError or ssl.SSLError)
        server_ssl_context(str(pki.directory / "missing.crt"), pki.server_key)


def test_certificate_identity() -> None:
    subject = ((("countryName", "DE"),), (("organizationName", "CPO"),), (("commonName", CP),))
    assert certificate_identity({"subject": subject}) == CP
    assert certificate_identity({"subject": ((("organizationName", "CPO"),),)}) is None
    assert certificate_identity({}) is None
    assert certificate_identity(None) is None
    two = ((("commonName", CP),), (("commonName", "CP002"),))
    assert certificate_identity({"subject": two}) is None


async def test_reconnecting_charger_sees_a_refusal_of_its_first_attempt(
    start_server: StartServer, store: HostCredentials, charger: NewCharger
) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    server = await start_server(store)
    charge_point = charger(password="wrong-password-12345")
    with pytest.raises(InvalidStatus) as refused:
        await charge_point.connect(ws_url(server), reconnect=True)
    assert status_of(refused.value) == 401


async def test_parallel_guesses_wait_for_the_check_in_progress(store: HostCredentials) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    entered, release = threading.Event(), threading.Event()

    def slow_verify(password: str, encoded: str) -> bool:
        entered.set()
        release.wait(5)
        return False

    gatekeeper = Gatekeeper(store, verify=slow_verify)
    header = "Basic " + base64.b64encode(f"{CP}:guess-number-one-123".encode()).decode()
    attempt = Attempt(CP, "192.0.2.1", (header,))
    first = asyncio.create_task(gatekeeper.check(attempt))
    assert await asyncio.to_thread(entered.wait, 5)
    second = await gatekeeper.check(attempt)
    assert second.refusal == 429
    assert second.retry_after == 1
    # Another address is checked meanwhile.
    other = await gatekeeper.check(Attempt(CP, "192.0.2.2", ()))
    assert other.refusal == 401
    release.set()
    assert (await first).refusal == 401


async def test_two_authorization_headers_are_refused(store: HostCredentials) -> None:
    store.add(CP, SecurityProfile.BASIC_AUTH, PASSWORD)
    header = "Basic " + base64.b64encode(f"{CP}:{PASSWORD}".encode()).decode()
    gatekeeper = Gatekeeper(store)
    assert (await gatekeeper.check(Attempt(CP, "192.0.2.1", (header,)))).admitted
    twice = await gatekeeper.check(Attempt(CP, "192.0.2.1", (header, header)))
    assert twice.refusal == 401
