"""Charger passwords in Home Assistant: onboarding, adding a charger, rotation, the TLS port."""

from __future__ import annotations

from pathlib import Path
import socket
from types import SimpleNamespace
from typing import Any

from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.exceptions import InvalidStatus

from custom_components.csms.central.passwords import verify_password
from custom_components.csms.const import (
    CONF_CERTIFICATE_FILE,
    CONF_CERTIFICATE_SIGNING,
    CONF_CHARGE_POINT_ID,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_FRAME_KIB,
    CONF_ONBOARDING,
    CONF_PRIVATE_KEY_FILE,
    CONF_SET_PASSWORD,
    CONF_TLS_PORT,
    DOMAIN,
    ONBOARDING_REFUSE,
)
from simulator import SimulatedChargePoint
from simulator.core import ChargePointCore

from .certificates import TestAuthority
from .conftest import free_port, server_config_entry, server_url, wait_for

PASSWORD = "correct-horse-battery"[:20]
NEW_PASSWORD = "Another-Password-20c"


class LegacyChargePoint(SimulatedChargePoint):
    """An OCPP-J 1.6 charger without the security whitepaper: no SecurityProfile key."""

    def _change_security_key(self, name: str, value: str) -> Any:
        if name == "SecurityProfile":
            return "NotSupported"
        return super()._change_security_key(name, value)


class KeylessChargePoint(SimulatedChargePoint):
    """A charger whose AuthorizationKey cannot be set over OCPP (it is read-only there)."""

    def _change_security_key(self, name: str, value: str) -> Any:
        if name == "AuthorizationKey":
            return "Rejected"
        return super()._change_security_key(name, value)


async def _open(
    hass: HomeAssistant,
    server: MockConfigEntry,
    charge_point_id: str,
    charge_points: list[ChargePointCore],
    *,
    password: str | None = None,
    cls: type[SimulatedChargePoint] = SimulatedChargePoint,
) -> SimulatedChargePoint:
    charge_point = cls(charge_point_id, password=password)
    charge_points.append(charge_point)
    await charge_point.connect(server_url(server))
    await hass.async_block_till_done()
    return charge_point


async def _refused(
    server: MockConfigEntry, charge_point_id: str, password: str | None = None
) -> int:
    """The HTTP status a charger gets when it connects with ``password``."""
    charge_point = SimulatedChargePoint(charge_point_id, password=password)
    with pytest.raises(InvalidStatus) as refusal:
        await charge_point.connect(server_url(server))
    return refusal.value.response.status_code


async def _discovery(hass: HomeAssistant, charge_point_id: str) -> dict[str, Any]:
    def flows() -> list[dict[str, Any]]:
        return [
            flow
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
            if flow["context"].get("unique_id") == charge_point_id
        ]

    await wait_for(lambda: bool(flows()))
    return flows()[0]


def _security(server: MockConfigEntry, charge_point_id: str) -> Any:
    return server.runtime_data.central.charge_points[charge_point_id].security


async def test_onboarding_sends_the_charger_its_password(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[ChargePointCore]
) -> None:
    charge_point = await _open(hass, server_entry, "NEW1", charge_points)
    flow = await _discovery(hass, "NEW1")

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "Carport", CONF_SET_PASSWORD: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "password_sent"
    password = result["description_placeholders"]["password"]
    assert len(password) == 20
    # The charger took it as AuthorizationKey and was told to use Basic auth.
    assert charge_point.password == password
    assert charge_point.configuration["SecurityProfile"].value == "1"
    (stored,) = _security(server_entry, "NEW1").password_hashes
    assert password not in stored
    assert verify_password(password, stored)

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Carport"

    # From its next connection on it logs in with the password; without one it is refused.
    await charge_point.disconnect()
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"
    assert await _refused(server_entry, "NEW1") == 401
    assert await _refused(server_entry, "NEW1", "wrong-password-12345") == 401


async def test_onboarding_shows_the_password_a_charger_did_not_take(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[ChargePointCore]
) -> None:
    charge_point = await _open(hass, server_entry, "NEW2", charge_points, cls=KeylessChargePoint)
    flow = await _discovery(hass, "NEW2")

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "Garage", CONF_SET_PASSWORD: True}
    )
    assert result["step_id"] == "password_manual"
    password = result["description_placeholders"]["password"]
    assert charge_point.password is None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY

    # The installer enters it at the charger: required from now on.
    await charge_point.disconnect()
    assert await _refused(server_entry, "NEW2") == 401
    charge_point.password = password
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"


async def _refusing_server(hass: HomeAssistant) -> MockConfigEntry:
    entry = server_config_entry(options={CONF_ONBOARDING: ONBOARDING_REFUSE})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_a_refusing_server_takes_only_chargers_added_beforehand(
    hass: HomeAssistant, charge_points: list[ChargePointCore]
) -> None:
    server = await _refusing_server(hass)
    assert await _refused(server, "LOT07") == 404

    result = await hass.config_entries.options.async_init(server.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_charger"}
    )
    assert result["step_id"] == "add_charger"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_CHARGE_POINT_ID: " LOT07 ", CONF_NAME: "Lot 7", CONF_SET_PASSWORD: True},
    )
    assert result["step_id"] == "charger_added"
    password = result["description_placeholders"]["password"]
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "LOT07")
    assert entry is not None
    assert entry.title == "Lot 7"
    assert entry.state is ConfigEntryState.LOADED
    # The password is required from its very first connection.
    assert await _refused(server, "LOT07") == 401
    charge_point = await _open(hass, server, "LOT07", charge_points, password=password)
    assert charge_point.boot_response.status == "Accepted"


async def test_adding_a_charger_checks_its_id(
    hass: HomeAssistant, charge_points: list[ChargePointCore]
) -> None:
    server = await _refusing_server(hass)
    result = await hass.config_entries.options.async_init(server.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_charger"}
    )
    for charge_point_id, error in (
        ("", "invalid_charge_point_id"),
        ("x" * 49, "invalid_charge_point_id"),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_CHARGE_POINT_ID: charge_point_id, CONF_SET_PASSWORD: False}
        )
        assert result["errors"] == {CONF_CHARGE_POINT_ID: error}

    # Without a password: added, and it connects like before the security profiles.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CHARGE_POINT_ID: "LOT08", CONF_SET_PASSWORD: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "LOT08")
    assert entry is not None
    assert entry.title == "LOT08"
    charge_point = await _open(hass, server, "LOT08", charge_points)
    assert charge_point.boot_response.status == "Accepted"

    result = await hass.config_entries.options.async_init(server.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_charger"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CHARGE_POINT_ID: "LOT08", CONF_SET_PASSWORD: False}
    )
    assert result["errors"] == {CONF_CHARGE_POINT_ID: "charger_exists"}


async def _set_password(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "set_charger_password", data, blocking=True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_set_charger_password_rotates_without_locking_the_charger_out(
    hass: HomeAssistant, connect: Any, server_entry: MockConfigEntry
) -> None:
    charge_point = await connect("CP001")
    # No password given: one is generated, sent, and returned this once.
    response = await _set_password(hass, charge_point_id="CP001")
    first = response["password"]
    assert response == {"sent_to_charger": True, "password": first}
    assert charge_point.password == first
    await charge_point.disconnect()
    await charge_point.connect(server_url(server_entry))

    response = await _set_password(hass, charge_point_id="CP001", password=NEW_PASSWORD)
    assert response == {"sent_to_charger": True}
    assert charge_point.password == NEW_PASSWORD
    # Until the charger has used the new password, the old one still works.
    assert len(_security(server_entry, "CP001").password_hashes) == 2
    await charge_point.disconnect()
    charge_point.password = first
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"
    await charge_point.disconnect()
    charge_point.password = NEW_PASSWORD
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"
    # It has: the old password is gone.
    assert len(_security(server_entry, "CP001").password_hashes) == 1
    await charge_point.disconnect()
    assert await _refused(server_entry, "CP001", first) == 401


async def test_set_charger_password_for_an_offline_charger_or_a_long_password(
    hass: HomeAssistant, connect: Any, server_entry: MockConfigEntry
) -> None:
    charge_point = await connect("CP001")
    # 21 characters or more do not fit an AuthorizationKey: entered at the charger.
    long_password = "p" * 21 + "x" * 9
    assert await _set_password(hass, charge_point_id="CP001", password=long_password) == {
        "sent_to_charger": False
    }
    assert charge_point.password is None
    await charge_point.disconnect()
    assert await _refused(server_entry, "CP001") == 401

    assert await _set_password(hass, charge_point_id="CP001", password=PASSWORD) == {
        "sent_to_charger": False
    }
    charge_point.password = PASSWORD
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"


async def test_a_refused_key_leaves_the_old_password_in_force(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[ChargePointCore]
) -> None:
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": "integration_discovery"},
        data={
            "server_entry_id": server_entry.entry_id,
            CONF_CHARGE_POINT_ID: "CP009",
            "accept": True,
        },
    )
    await hass.async_block_till_done()
    await _set_password(hass, charge_point_id="CP009", password=PASSWORD)
    charge_point = await _open(
        hass, server_entry, "CP009", charge_points, password=PASSWORD, cls=KeylessChargePoint
    )
    with pytest.raises(HomeAssistantError) as refusal:
        await _set_password(hass, charge_point_id="CP009", password=NEW_PASSWORD)
    assert refusal.value.translation_key == "authorization_key_refused"
    assert len(_security(server_entry, "CP009").password_hashes) == 1
    await charge_point.disconnect()
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"


@pytest.mark.parametrize(
    "password", ["short", "x" * 41, "has space in it 12345", "has:colon:in:it:12345"]
)
async def test_set_charger_password_refuses_bad_passwords(
    hass: HomeAssistant, connect: Any, password: str
) -> None:
    await connect("CP001")
    with pytest.raises(ServiceValidationError) as error:
        await _set_password(hass, charge_point_id="CP001", password=password)
    assert error.value.translation_key == "invalid_service_data"


def _security_options(**options: Any) -> dict[str, Any]:
    return {
        CONF_CERTIFICATE_SIGNING: "local_ca",
        CONF_MAX_CONNECTIONS: 2000,
        CONF_MAX_FRAME_KIB: 1024,
        **options,
    }


async def _configure_security(
    hass: HomeAssistant, server: MockConfigEntry, options: dict[str, Any]
) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(server.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "security"}
    )
    assert result["step_id"] == "security"
    return await hass.config_entries.options.async_configure(result["flow_id"], options)


async def test_a_tls_port_next_to_the_plain_one(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    charge_points: list[ChargePointCore],
    tmp_path: Path,
) -> None:
    authority = TestAuthority(tmp_path)
    server_files = authority.issue("127.0.0.1", server=True)
    charger_files = authority.issue("TLS01", server=False)
    # Without a client CA file the local CA (that signs chargers' requests) is trusted.
    authority.save_certificate_as(Path(hass.config.path(".storage", "csms_ca", "ca.crt")))
    tls_port = free_port()
    result = await _configure_security(
        hass,
        server_entry,
        _security_options(
            **{
                CONF_TLS_PORT: tls_port,
                CONF_CERTIFICATE_FILE: str(server_files.certificate),
                CONF_PRIVATE_KEY_FILE: str(server_files.key),
            }
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert server_entry.state is ConfigEntryState.LOADED
    assert server_entry.runtime_data.server.tls_port == tls_port
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": "integration_discovery"},
        data={
            "server_entry_id": server_entry.entry_id,
            CONF_CHARGE_POINT_ID: "TLS01",
            "accept": True,
        },
    )
    await hass.async_block_till_done()

    # Security profile 3: the client certificate names the charger.
    charge_point = SimulatedChargePoint("TLS01")
    charge_points.append(charge_point)
    response = await charge_point.connect(
        f"wss://127.0.0.1:{tls_port}",
        ssl_context=authority.client_context(charger_files),
    )
    assert response.status == "Accepted"
    await hass.async_block_till_done()
    assert int(_security(server_entry, "TLS01").profile) == 3
    # From then on the plain port is a downgrade.
    await charge_point.disconnect()
    assert await _refused(server_entry, "TLS01") == 403


async def test_the_tls_port_needs_usable_files(
    hass: HomeAssistant, server_entry: MockConfigEntry, tmp_path: Path
) -> None:
    port = server_entry.runtime_data.server.port
    result = await _configure_security(hass, server_entry, _security_options(tls_port=port))
    assert result["errors"] == {"base": "tls_port_taken"}

    tls_port = free_port()
    result = await _configure_security(hass, server_entry, _security_options(tls_port=tls_port))
    assert result["errors"] == {"base": "no_certificate"}

    missing = str(tmp_path / "missing.crt")
    result = await _configure_security(
        hass, server_entry, _security_options(tls_port=tls_port, certificate_file=missing)
    )
    assert result["errors"] == {"base": "tls_files"}
    assert missing in result["description_placeholders"]["error"]

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    result = await _configure_security(
        hass, server_entry, _security_options(tls_port=tls_port, certificate_file=str(garbage))
    )
    assert result["errors"] == {"base": "tls_files"}

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = await _configure_security(
            hass,
            server_entry,
            _security_options(tls_port=taken.getsockname()[1], certificate_file=str(garbage)),
        )
    assert result["errors"] == {"base": "port_in_use"}

    # Without a TLS port there is nothing to check; the limits are kept.
    result = await _configure_security(
        hass, server_entry, _security_options(max_connections=50, max_frame_kib=64)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert server_entry.runtime_data.server.limits.max_connections == 50
    assert server_entry.runtime_data.server.limits.max_frame_bytes == 64 * 1024


async def test_a_tls_port_whose_certificate_vanished_is_a_repair_issue(
    hass: HomeAssistant, tmp_path: Path, charge_points: list[ChargePointCore]
) -> None:
    authority = TestAuthority(tmp_path)
    files = authority.issue("127.0.0.1", server=True)
    entry = server_config_entry(
        options={
            CONF_TLS_PORT: free_port(),
            CONF_CERTIFICATE_FILE: str(files.certificate),
            CONF_PRIVATE_KEY_FILE: str(files.key),
        }
    )
    files.key.unlink()
    entry.add_to_hass(hass)
    # The plain port still takes chargers.
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.server.tls_port is None
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"tls_unavailable_{entry.entry_id}")
    assert issue is not None
    assert str(files.key) in issue.translation_placeholders["error"]
    charge_point = SimulatedChargePoint("CP001")
    charge_points.append(charge_point)
    await charge_point.connect(server_url(entry))
    assert charge_point.connected


async def test_the_tls_port_uses_home_assistants_certificate_by_default(
    hass: HomeAssistant, server_entry: MockConfigEntry, tmp_path: Path
) -> None:
    authority = TestAuthority(tmp_path)
    files = authority.issue("127.0.0.1", server=True)
    # Home Assistant's http: block with ssl_certificate and ssl_key.
    hass.http = SimpleNamespace(ssl_certificate=str(files.certificate), ssl_key=str(files.key))
    tls_port = free_port()
    result = await _configure_security(hass, server_entry, _security_options(tls_port=tls_port))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert server_entry.runtime_data.server.tls_port == tls_port


async def test_a_tls_port_without_any_certificate_is_a_repair_issue(hass: HomeAssistant) -> None:
    entry = server_config_entry(options={CONF_TLS_PORT: free_port()})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"tls_unavailable_{entry.entry_id}")
    assert issue is not None
    assert "no certificate" in issue.translation_placeholders["error"]
    # Fixed (here: no TLS port any more): the issue goes with the next setup.
    hass.config_entries.async_update_entry(entry, options={})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"tls_unavailable_{entry.entry_id}") is None


async def test_a_charger_without_the_security_profile_key_still_gets_its_password(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[ChargePointCore]
) -> None:
    charge_point = await _open(hass, server_entry, "OLD1", charge_points, cls=LegacyChargePoint)
    flow = await _discovery(hass, "OLD1")
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "Old", CONF_SET_PASSWORD: True}
    )
    # OCPP-J 1.6 chargers log in with Basic auth once they have an AuthorizationKey.
    assert result["step_id"] == "password_sent"
    assert charge_point.password == result["description_placeholders"]["password"]
    await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await charge_point.disconnect()
    assert (await charge_point.connect(server_url(server_entry))).status == "Accepted"


async def test_a_disabled_charger_keeps_its_password(
    hass: HomeAssistant, connect: Any, server_entry: MockConfigEntry
) -> None:
    await connect("CP001")
    await _set_password(hass, charge_point_id="CP001", password=PASSWORD)
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "CP001")
    assert entry is not None
    await hass.config_entries.async_set_disabled_by(entry.entry_id, ConfigEntryDisabler.USER)
    await hass.async_block_till_done()
    # Not admitted while disabled, but stored with its password: no way back to profile 0.
    stored = server_entry.runtime_data.central.as_dict()["charge_points"]
    (charge_point,) = (item for item in stored if item["charge_point_id"] == "CP001")
    assert len(charge_point["security"]["password_hashes"]) == 1
    assert await _refused(server_entry, "CP001") == 401


async def test_an_ignored_charger_is_unknown_to_a_refusing_server(
    hass: HomeAssistant,
) -> None:
    server = await _refusing_server(hass)
    MockConfigEntry(domain=DOMAIN, unique_id="IGN01", source="ignore", data={}).add_to_hass(hass)
    assert await _refused(server, "IGN01") == 404


async def test_adding_a_charger_that_waits_as_discovered(
    hass: HomeAssistant, server_entry: MockConfigEntry, charge_points: list[ChargePointCore]
) -> None:
    await _open(hass, server_entry, "NEW8", charge_points)
    await _open(hass, server_entry, "NEW9", charge_points)
    await _discovery(hass, "NEW8")
    await _discovery(hass, "NEW9")
    result = await hass.config_entries.options.async_init(server_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_charger"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_CHARGE_POINT_ID: "NEW9", CONF_SET_PASSWORD: True}
    )
    assert result["step_id"] == "charger_added"
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "NEW9") is not None
    assert not [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("unique_id") == "NEW9"
    ]
    assert len(_security(server_entry, "NEW9").password_hashes) == 1
    # The other discovered charger still waits for an answer.
    assert await _discovery(hass, "NEW8")
