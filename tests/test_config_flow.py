"""Config flow: address and port, test-before-configure, one entry per port."""

from __future__ import annotations

from collections.abc import Generator
import errno
import socket
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.const import DOMAIN

from .conftest import free_port, server_config_entry


@pytest.fixture
def occupied_port() -> Generator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def test_user_step_creates_a_server(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    port = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: " 127.0.0.1 ", CONF_PORT: float(port)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"OCPP server on port {port}"
    assert result["data"] == {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    assert result["result"].unique_id == str(port)
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.runtime_data.server.port == port


@pytest.mark.parametrize(
    ("bind_errno", "error"),
    [(errno.EACCES, "port_forbidden"), (errno.EADDRNOTAVAIL, "cannot_bind")],
)
async def test_bind_errors_then_recover(hass: HomeAssistant, bind_errno: int, error: str) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch.object(socket.socket, "bind", side_effect=OSError(bind_errno, "nope")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: 80}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    port = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_port_in_use_and_invalid_host(hass: HomeAssistant, occupied_port: int) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: occupied_port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "port_in_use"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "charger.local", CONF_PORT: free_port()}
    )
    assert result["errors"] == {"base": "invalid_host"}

    # Every interface: IPv4 too, so the IPv4 listener on the port counts.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "::", CONF_PORT: occupied_port}
    )
    assert result["errors"] == {"base": "port_in_use"}

    port = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "::1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_HOST: "::1", CONF_PORT: port}


async def test_second_server_on_the_same_port_aborts(hass: HomeAssistant) -> None:
    port = free_port()
    MockConfigEntry(
        domain=DOMAIN, unique_id=str(port), data={CONF_HOST: "0.0.0.0", CONF_PORT: port}
    ).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_moves_the_server(hass: HomeAssistant, occupied_port: int) -> None:
    entry = server_config_entry(port=free_port())
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: occupied_port}
    )
    assert result["errors"] == {"base": "port_in_use"}

    # Same port, other host: the running server holds the port, only the host is checked.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "not-an-ip", CONF_PORT: entry.data[CONF_PORT]}
    )
    assert result["errors"] == {"base": "invalid_host"}

    port = free_port()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data == {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    assert entry.unique_id == str(port)
    assert entry.title == f"OCPP server on port {port}"
    assert entry.runtime_data.server.port == port


async def test_reconfigure_keeps_the_port(hass: HomeAssistant) -> None:
    entry = server_config_entry(port=free_port())
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "0.0.0.0", CONF_PORT: entry.data[CONF_PORT]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    # Wait for the reload: a server still starting when the test ends would
    # open its socket after the loopback-only socket guard is gone.
    await hass.async_block_till_done()
    assert entry.data[CONF_HOST] == "0.0.0.0"
    assert entry.runtime_data.server.port == entry.data[CONF_PORT]


async def test_reconfigure_to_a_port_of_another_server_aborts(hass: HomeAssistant) -> None:
    entry = server_config_entry()
    entry.add_to_hass(hass)
    other = server_config_entry(port=free_port())
    other.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: other.data[CONF_PORT]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
