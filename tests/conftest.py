"""Fixtures: a real csms server inside a test Home Assistant, real charge points."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
import logging
from pathlib import Path
import socket
from typing import TYPE_CHECKING, Any
from unittest.mock import PropertyMock, patch

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import pytest_socket

# Imported before Home Assistant loads integrations (pytest-homeassistant-custom-component).
import custom_components.csms  # noqa: F401
from custom_components.csms.central.authorization import IdTagRecord
from custom_components.csms.const import CONF_CHARGE_POINT_ID, CONF_SERVER_ENTRY_ID, DOMAIN
from custom_components.csms.id_tags import ID_TAGS

if TYPE_CHECKING:
    from simulator import SimulatedChargePoint


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


@pytest.fixture(autouse=True)
def private_config_dir(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Each Home Assistant test gets a configuration directory of its own.

    The energy ledger's SQLite file lives there; the shared test
    configuration directory would carry it from test to test.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("hass").config.config_dir = str(tmp_path)


@pytest.fixture(autouse=True)
def loopback_sockets() -> Generator[None]:
    """Real sockets, to 127.0.0.1 only: chargers connect to the real server."""
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])
    yield
    pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture(autouse=True)
def no_deprecated_api(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail when Home Assistant reports our use of a deprecated API."""
    yield
    reports = [
        record.getMessage()
        for phase in ("setup", "call", "teardown")
        for record in caplog.get_records(phase)
        if record.levelno >= logging.WARNING and "custom integration 'csms'" in record.getMessage()
    ]
    assert not reports, reports


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_config_entry(
    port: int = 0, host: str = "127.0.0.1", *, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """A server entry of the current version (port 0: the system picks a free one)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"OCPP server on port {port}",
        unique_id=str(port),
        data={CONF_HOST: host, CONF_PORT: port},
        options=options or {},
        version=1,
        minor_version=2,
    )


def charge_point_config_entry(
    server: MockConfigEntry, charge_point_id: str, *, title: str | None = None
) -> MockConfigEntry:
    """The entry of an accepted charger of a server."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title or charge_point_id,
        unique_id=charge_point_id,
        data={CONF_SERVER_ENTRY_ID: server.entry_id, CONF_CHARGE_POINT_ID: charge_point_id},
        version=1,
        minor_version=2,
    )


async def add_charge_point(
    hass: HomeAssistant, server: MockConfigEntry, charge_point_id: str, **kwargs: Any
) -> MockConfigEntry:
    """Accept a charger (as if the user had confirmed its discovery)."""
    entry = charge_point_config_entry(server, charge_point_id, **kwargs)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def register_id_tags(hass: HomeAssistant, *id_tags: str) -> None:
    """Let these cards charge (the servers refuse unknown ones)."""
    for id_tag in id_tags:
        await hass.data[ID_TAGS].async_add(IdTagRecord(id_tag), None)


def entry_id_of(hass: HomeAssistant, charge_point_id: str) -> str:
    """The id of a charger's config entry."""
    entry = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id)
    assert entry is not None, charge_point_id
    return entry.entry_id


@pytest.fixture
def enable_all() -> Generator[None]:
    """Create entities that are disabled by default enabled, as if the user had enabled them."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
async def server_entry(hass: HomeAssistant) -> MockConfigEntry:
    """A running server."""
    entry = server_config_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def server_url(entry: MockConfigEntry) -> str:
    """The websocket URL chargers use for a running server entry."""
    return f"ws://127.0.0.1:{entry.runtime_data.server.port}"


@pytest.fixture
async def charge_points() -> AsyncGenerator[list[SimulatedChargePoint]]:
    """Collects simulated charge points and disconnects them after the test."""
    created: list[SimulatedChargePoint] = []
    yield created
    for charge_point in created:
        await charge_point.disconnect()


@pytest.fixture
async def connect(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> Any:
    """Connect (and boot) a simulated charge point to the running server.

    The charger is accepted first unless ``known=False``.
    """

    async def _connect(
        charge_point_id: str = "CP001",
        *,
        connectors: int = 1,
        known: bool = True,
        configuration: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> SimulatedChargePoint:
        from simulator import SimulatedChargePoint  # noqa: PLC0415
        from simulator.configuration import ConfigurationKey  # noqa: PLC0415

        if known and not hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, charge_point_id
        ):
            await add_charge_point(hass, server_entry, charge_point_id)
        charge_point = SimulatedChargePoint(charge_point_id, connectors=connectors)
        # Read-only keys of a charger of another make (e.g. one that takes limits in W only).
        for key, value in (configuration or {}).items():
            charge_point.configuration[key] = ConfigurationKey(value, True)
        charge_points.append(charge_point)
        await charge_point.connect(server_url(server_entry), **kwargs)
        await hass.async_block_till_done()
        return charge_point

    return _connect


async def wait_for(condition: Any, *, attempts: int = 200) -> None:
    """Let the event loop run until ``condition()`` holds (at most ~2 s)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")
